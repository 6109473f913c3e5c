// Volume module

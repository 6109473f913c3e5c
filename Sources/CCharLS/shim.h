// CharLS (libcharls-dev): JPEG-LS decoding through its C API. Debian ships only the shared library.
#include <charls/charls.h>

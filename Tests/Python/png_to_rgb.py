"""Decodes a PNG with Pillow, independently of the engine's libpng writer.

Usage: png_to_rgb.py IMAGE.png OUT.rgb; writes the pixels as raw RGB bytes, rows top to bottom, and prints
"width height mode".
"""
import sys

from PIL import Image

image = Image.open(sys.argv[1])
image.load()
mode = image.mode
with open(sys.argv[2], "wb") as out:
    out.write(image.convert("RGB").tobytes())
print(image.width, image.height, mode)

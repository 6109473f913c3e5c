#!/usr/bin/env bash
# Creates (once) the virtual environment of the Python checkers the DICOM tests compare against:
# pydicom writes test series, SimpleITK reads them as viewers do, highdicom reads DICOM-SEG back.
# Idempotent: reinstalls only when the pinned list below changes. Prints the venv's python on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/checkers-venv
requirements=(
    numpy==2.3.5
    pydicom==3.0.2
    SimpleITK==2.5.7
    highdicom==0.28.2
    pylibjpeg==2.1.0            # the plugin layer through which pydicom finds the two encoders below
    pylibjpeg-openjpeg==2.6.0   # JPEG 2000 encoding for the test series
    pyjpegls==1.5.1             # JPEG-LS encoding for the test series
)
stamp="$venv/.requirements"
wanted=$(printf '%s\n' "${requirements[@]}")

if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >&2
    printf '%s\n' "$wanted" > "$stamp"
fi
echo "$PWD/$venv/bin/python"

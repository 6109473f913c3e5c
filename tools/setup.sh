#!/usr/bin/env bash
# Installs the system packages the engine builds and tests with (Debian 12). Idempotent: installs
# only what is missing. Needs root (or sudo) and a Swift 6 toolchain on PATH.
set -euo pipefail

packages=(
    libvulkan-dev         # Vulkan loader and headers
    mesa-vulkan-drivers   # lavapipe: a Vulkan driver on the CPU (CI's GPU)
    libshaderc-dev        # shaderc, linked statically: GLSL -> SPIR-V at run time
    glslang-dev           # the static glslang libraries shaderc needs
    spirv-tools           # SPIRV-Tools static libraries
    zlib1g-dev            # gzip for .nii.gz
    libpng-dev            # PNG previews (libpng16.a, linked statically)
    libopenjp2-7-dev      # JPEG 2000 DICOM pixel data (OpenJPEG, linked statically)
    libcharls-dev         # JPEG-LS DICOM pixel data (CharLS; Debian ships only the shared library)
    python3-venv          # the tests' Python environment (tools/python-env.sh: numpy, nibabel, Pillow, pydicom, SimpleITK, highdicom)
    dicom3tools           # dciodvfy: the DICOM-SEG tests check written files against the standard
    pkg-config
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
echo "setup: system packages present" >&2

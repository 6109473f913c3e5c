#!/usr/bin/env bash
# Creates (once, and again when tools/python-requirements.txt changes) the Python environment that tests use
# for independent reference computations, under .build/python-env, and prints its python executable.
# Needs python3 with the venv module (Debian: python3-venv, in tools/setup.sh) and access to PyPI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
environment="$root/.build/python-env"
requirements="$root/tools/python-requirements.txt"

mkdir -p "$root/.build"
# Test processes may ask at the same time: one builds, the others wait.
exec 9>"$root/.build/python-env.lock"
flock 9
if ! cmp -s "$requirements" "$environment/requirements.installed" 2>/dev/null; then
    rm -rf "$environment"
    python3 -m venv "$environment" >&2
    "$environment/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$environment/requirements.installed"
fi
echo "$environment/bin/python"

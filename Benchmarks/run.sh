#!/usr/bin/env bash
# Builds the release binary and runs the benchmark suite: kernels on SegVol's shapes beside the CPU
# reference, then the published-size model. Extra arguments go to both (e.g. --json, --device 1).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product segvol
bin="$(swift build -c release --show-bin-path)/segvol"
"$bin" bench kernels "$@"
"$bin" bench model --skip-cpu-reference "$@"

#!/usr/bin/env bash
# Runs the benchmarks and a GPU parity check on a machine with a GPU and no Swift toolchain.
# Build here first:   tools/gpu-bench.sh pack        (release binary, static Swift runtime, into .dist/)
# Then on the GPU box: tools/gpu-bench.sh run OUT_DIR (with .dist/ and the runtime .debs in .gl/: the Vulkan loader,
# libglvnd for NVIDIA's ICD, CharLS)
set -uo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
pack)
    swift build -c release --static-swift-stdlib --product segvol
    # The shared libraries the binary loads beyond libc and libstdc++, for a GPU box without them.
    mkdir -p .gl
    ls .gl/libcharls2_*.deb >/dev/null 2>&1 || (cd .gl && apt-get download libcharls2)
    mkdir -p .dist/fixture
    # Stripped and compressed: the static Swift runtime and shaderc make a large binary.
    cp "$(swift build -c release --show-bin-path)/segvol" .dist/segvol
    strip .dist/segvol
    gzip -9 -f .dist/segvol
    # One fixture model and the shared CT, for an end-to-end check on the GPU.
    cp ../shared/fixtures/official-tiny/text-box/{pytorch_model.bin,vocab.json,tokenizer.json,model-config.json,gt.nii.gz,logits_liver.npy,logits_spleen.npy} .dist/fixture/
    cp ../shared/data/ct/example_ct_sm.nii.gz ../shared/data/ct/example_ct.nii.gz .dist/
    du -sh .dist
    ;;
run)
    out=${2:?usage: tools/gpu-bench.sh run OUT_DIR}
    mkdir -p "$out"
    [[ -x .dist/segvol ]] || { gunzip -c .dist/segvol.gz > /tmp/segvol && chmod +x /tmp/segvol && ln -sf /tmp/segvol .dist/segvol; }
    if ! ldconfig -p | grep -q libvulkan.so.1 || ! ldconfig -p | grep -q libcharls.so.2; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    [[ -f $icd ]] && export VK_DRIVER_FILES=$icd
    export SEGVOL_CACHE_DIR=/tmp/segvol-cache
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt" || true
    .dist/segvol devices | tee "$out/devices.txt"
    .dist/segvol check | tee "$out/check.txt"
    .dist/segvol evaluate --model .dist/fixture --image .dist/example_ct_sm.nii.gz --label .dist/fixture/gt.nii.gz \
        --classes "1=liver,2=spleen" --prompts text,box --window-box user --prompt-tokens first --logits-dir "$out/logits" --json "$out/evaluate.json" \
        | tee "$out/evaluate.txt"
    # The fixture's tolerance (EvaluateFixtureTests): each category's logits within 1e-4 of their largest magnitude.
    for name in liver spleen; do
        python3 -c "import numpy as n; a, b = n.load('$out/logits/$name.npy'), n.load('.dist/fixture/logits_$name.npy'); \
            e = abs(a - b).max() / abs(b).max(); print(f'$name logits against the fixture: {e:.2e}', 'ok' if e <= 1e-4 else 'FAILED')" \
            | tee -a "$out/evaluate.txt"
    done
    .dist/segvol bench kernels --skip-cpu-reference --runs 20 --warmup 3 --json | tee "$out/kernels.jsonl"
    # Issue 7's figures: ten categories against one in fp32 and fp16, then batches end to end (device-busy share).
    .dist/segvol bench model --skip-cpu-reference --runs 5 --warmup 2 --categories 1 --categories 10 --json | tee "$out/model.jsonl"
    .dist/segvol bench model --skip-cpu-reference --runs 5 --warmup 2 --categories 1 --categories 10 --precision fp16 --json \
        | tee "$out/model-fp16.jsonl"
    # A named peer in the same run: PyTorch (cuBLAS, fp32 without TF32) on the GEMM and attention shapes.
    python3 tools/torch_peer.py | tee "$out/torch.jsonl" || true
    # Issue 4's preprocessing on the GPU box's cores, ours beside NumPy's (the published code's way) on the same volume.
    .dist/segvol bench preprocess --runs 3 --warmup 1 --json | tee "$out/preprocess.jsonl"
    python3 Benchmarks/preprocess_peer.py --runs 3 | tee -a "$out/preprocess.jsonl" || true
    # Last, being the longest: two published-size CTs per mode, no separate processes.
    .dist/segvol bench pipeline --json --cases 2 --skip-processes --precision fp32 --ct .dist/example_ct.nii.gz --tokenizer .dist/fixture \
        | tee "$out/pipeline.jsonl"
    ;;
*)
    echo "usage: tools/gpu-bench.sh pack | run OUT_DIR" >&2
    exit 2
    ;;
esac

"""PyTorch on the same GPU, for the benchmark table: fp32 GEMM (TF32 off) and attention on SegVol's shapes."""
import json

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
device = "cuda"


def median_ms(fn, runs=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


name = torch.cuda.get_device_name()
for m, n, k in [(2048, 2304, 768), (2048, 3072, 768), (2048, 768, 3072)]:
    a = torch.randn(m, k, device=device)
    w = torch.randn(n, k, device=device)
    b = torch.randn(n, device=device)
    ms = median_ms(lambda: torch.nn.functional.linear(a, w, b))
    print(json.dumps({"kernel": "gemm", "backend": "torch", "device": name, "m": m, "n": n, "k": k, "ms": ms,
                      "gflops": 2 * m * n * k / ms / 1e6}))
for heads, nq, nk, d in [(12, 2048, 2048, 64), (8, 7, 2048, 48), (8, 2048, 7, 48)]:
    q = torch.randn(1, heads, nq, d, device=device)
    kk = torch.randn(1, heads, nk, d, device=device)
    v = torch.randn(1, heads, nk, d, device=device)
    ms = median_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, kk, v))
    print(json.dumps({"kernel": "attention", "backend": "torch", "device": name, "heads": heads, "queries": nq, "keys": nk,
                      "head_dim": d, "ms": ms, "gflops": 4 * heads * nq * nk * d / ms / 1e6}))

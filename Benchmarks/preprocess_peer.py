#!/usr/bin/env python3
"""The published SegVol preprocessing (spec section 6, steps 1-5) written with NumPy as the published code
does it (np.percentile, mean and std over the foreground, transpose, min-max, symmetric padding, crop to the
foreground), timed on the synthetic CT that `segvol bench preprocess` uses: the peer for that benchmark.

Usage: .build/python-env/bin/python Benchmarks/preprocess_peer.py [--size 512,512,300] [--runs 3]
(tools/python-env.sh builds .build/python-env.)
"""
import argparse
import time

import numpy as np

SPATIAL = (32, 256, 256)


def synthetic_ct(ni, nj, nk):
    """The volume of PreprocessBenchCommand.syntheticCT, indexed a[i, j, k]."""
    state, noise = 5, []
    for _ in range(4096):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        noise.append(float((state >> 33) % 41 - 20))
    noise = np.array(noise, dtype=np.float32)
    radius = min(ni, nj) * 0.39
    i = np.arange(ni) - ni // 2
    j = np.arange(nj) - nj // 2
    disc = (i[:, None] ** 2 + j[None, :] ** 2) < radius * radius       # (i, j)
    n = (np.arange(nk)[None, None, :] * nj + np.arange(nj)[None, :, None]) * ni + np.arange(ni)[:, None, None]
    return np.where(disc[:, :, None], 40 + noise[n & 4095], np.float32(-1000)).astype(np.float32)


def preprocess(a):
    # Foreground normalisation as the published code writes it: a flattened copy, two percentile calls.
    flat = a.copy().flatten()
    t = np.mean(flat)
    foreground = flat[flat > t]
    upper = np.percentile(foreground, 99.95)
    lower = np.percentile(foreground, 0.05)
    mean, std = np.mean(foreground), np.std(foreground)
    a = np.clip(a, lower, upper)
    a = (a - mean) / max(std, 1e-8)
    v = a.transpose(2, 1, 0)
    v = (v - v.min()) / max(v.max() - v.min(), 1e-8)
    pads = [(max(s - d, 0) // 2, max(s - d, 0) - max(s - d, 0) // 2) for s, d in zip(SPATIAL, v.shape)]
    v = np.pad(v, pads)
    nonzero = np.nonzero(v > 0)
    box = [(int(x.min()), int(x.max()) + 1) for x in nonzero]
    return v[box[0][0]:box[0][1], box[1][0]:box[1][1], box[2][0]:box[2][1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512,512,300")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ni, nj, nk = (int(x) for x in args.size.split(","))
    a = synthetic_ct(ni, nj, nk)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        crop = preprocess(a)
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"numpy {np.__version__}: preprocess {ni}x{nj}x{nk}: median {times[len(times) // 2] * 1e3:.0f} ms "
          f"of {args.runs}, crop {'x'.join(map(str, crop.shape))}")


if __name__ == "__main__":
    main()

"""``rnndyn._linalg.matmul_frame`` against ``torch.matmul`` (the reference, same run): ``W @ Q``
for a GRU-sized weight block ``W`` (3000 x 1000) and narrow frames ``Q`` (1000 x k), float64,
single thread, CPU time per product (best of 7 x 10; CPU time, so a shared machine inflates it
less than wall time). Also the unpadded transposed form, to show why the frame is padded.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_matmul_frame.py
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from rnndyn._linalg import matmul_frame


def cpu_ms(fn, n: int = 10, r: int = 7) -> float:  # noqa: ANN001
    fn()
    best = float("inf")
    for _ in range(r):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - t) / n * 1e3)
    return best


def main() -> None:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3000, 1000, generator=g, dtype=torch.float64)
    print(f"# torch {torch.__version__}, 1 thread, W (3000, 1000) float64; CPU ms per product")
    for k in (1, 4, 10, 11, 12, 16, 64):
        q = torch.randn(1, 1000, k, generator=g, dtype=torch.float64)
        ref = cpu_ms(lambda q=q: torch.matmul(w, q))
        raw = cpu_ms(lambda q=q: F.linear(q.mT, w))
        new = cpu_ms(lambda q=q: matmul_frame(w, q))
        err = float((matmul_frame(w, q) - torch.matmul(w, q)).abs().max())
        print(
            f"k={k:3d}: torch.matmul {ref:6.2f}; F.linear(Q^T, W) unpadded {raw:6.2f}; matmul_frame {new:6.2f} "
            f"-> {ref / new:4.2f}x; max |difference| {err:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()

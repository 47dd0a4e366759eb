"""Networks per second for the exact period-3 test (rd.chaos.period3) vs a naive NumPy grid search.

The reference is what the authors' notebooks do, written plainly in NumPy (but with f^3, not
their f^4): per network, evaluate f, f^2, f^3 on a grid and compare the numbers of sign changes
of x - f(x) and x - f^3(x). It is approximate (misses orbits finer than the grid and outside
[-L, L]); rd.chaos.period3 is exact on the whole real line.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_chaos.py [--width 64] [--n 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import rnndyn as rd


def naive_numpy(w1, b1, w2, b2, n_grid: int = 2001, L: float = 6.0) -> np.ndarray:
    x = np.linspace(-L, L, n_grid)
    out = np.zeros(len(w1), dtype=bool)
    for k in range(len(w1)):

        def f(v, k=k):
            return np.maximum(np.outer(v, w1[k]) + b1[k], 0.0) @ w2[k] + b2[k]

        y1 = f(x)
        y3 = f(f(y1))
        c1 = np.count_nonzero(np.diff(np.sign(x - y1)))
        c3 = np.count_nonzero(np.diff(np.sign(x - y3)))
        out[k] = c3 > c1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--n-grid", type=int, default=2001)
    args = ap.parse_args()
    net = rd.chaos.ScalarNetwork.random(args.width, args.n, generator=torch.Generator().manual_seed(0))
    rd.chaos.period3(net.select(slice(0, 16)))  # warm-up
    t0 = time.perf_counter()
    exact = rd.chaos.period3(net).has_period3.numpy()
    t_exact = time.perf_counter() - t0
    arrs = [t.numpy() for t in (net.weight_in, net.bias_in, net.weight_out, net.bias_out)]
    t0 = time.perf_counter()
    grid = naive_numpy(*arrs, n_grid=args.n_grid)
    t_grid = time.perf_counter() - t0
    r_exact, r_grid = args.n / t_exact, args.n / t_grid
    print(
        f"width {args.width}, {args.n} He/ReLU networks, torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    print(
        f"rd.chaos.period3 (exact):      {t_exact:7.3f} s  {r_exact:9.0f} networks/s  period-3: {exact.sum()}"
    )
    print(
        f"naive NumPy grid ({args.n_grid} pts): {t_grid:7.3f} s  {r_grid:9.0f} networks/s  period-3: {grid.sum()}"
    )
    print(f"speed ratio exact / naive: {r_exact / r_grid:.2f}x; disagreements: {(exact != grid).sum()}")


if __name__ == "__main__":
    main()

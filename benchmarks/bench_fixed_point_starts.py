"""Benchmark: the cost of the default start distribution of ``rd.find_fixed_points``.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fixed_point_starts.py [--starts 64] [--repeats 3]

On the default network of ``rnndyn analyze`` (GRU n = 64, g_h = 3, alpha_z = 1, alpha_r = 10, seed 0;
search seed 3, as in ``make demo``), in the same process and alternating: ``starts_from="mixed"``
(the default: half the starts spread over the box of the visited states) against the reference
``starts_from="trajectory"`` (the default before). Prints the wall time of each run, the median
ratio mixed / trajectory, and each census (points, found once, p_new, Chao1, starts converged,
points reached only from spread starts).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import rnndyn as rd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    net = rd.GRU(
        64,
        g_h=3.0,
        alpha_z=1.0,
        alpha_r=10.0,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    rd.find_fixed_points(net, n_initial=4, generator=torch.Generator().manual_seed(0), throw=False)  # warm-up
    times: dict[str, list[float]] = {"trajectory": [], "mixed": []}
    for _ in range(args.repeats):
        for starts_from in ("trajectory", "mixed"):
            t = time.perf_counter()
            res = rd.find_fixed_points(
                net,
                n_initial=args.starts,
                starts_from=starts_from,
                generator=torch.Generator().manual_seed(3),
                throw=False,
            )
            times[starts_from].append(time.perf_counter() - t)
            only = int(((res.hits_spread == res.hits) & (res.hits > 0)).sum())
            print(
                f"{starts_from:10s} {times[starts_from][-1]:6.2f} s  points {res.n_points:3d}  once {res.n_found_once:3d}  "
                f"p_new {res.p_new:.3g}  Chao1 {res.n_points_estimate:.0f}  converged {res.n_converged}/{res.n_initial}  "
                f"only from spread {only}"
            )
    ratios = [m / t for m, t in zip(times["mixed"], times["trajectory"], strict=True)]
    print(f"median time: trajectory {statistics.median(times['trajectory']):.2f} s, mixed {statistics.median(times['mixed']):.2f} s; "
          f"median ratio mixed / trajectory {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

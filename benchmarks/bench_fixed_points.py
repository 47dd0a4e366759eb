"""Benchmark: fixed / slow points of a GRU at large update-gate gain (alpha_z = 20, g_h = 3,
alpha_r = 0), where the plain speed minimisation crawls along the slow manifold of closed gates.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fixed_points.py [--n 512] [--starts 8]

Three runs in the same process, from the same trajectory starts:
* ``rd.find_fixed_points`` (slow-manifold stages on, the default);
* the same with ``slow_manifold=False`` (the plain Levenberg--Marquardt minimisation of before);
* the reference: per start, ``scipy.optimize.root(method="lm")`` (MINPACK lmder) on F(h) - h with
  the analytic Jacobian, ``maxiter`` = 200 Jacobian evaluations like ``max_iter``.

For each: the wall time, what was found, and the residual |F(h) - h| of the points recomputed from
the model (and, for rnndyn's slow points, the residual on the open units z > 1/2, which the slow
manifold drives below tol). The ratio reference time / rnndyn time is printed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.optimize
import torch

import rnndyn as rd

F64 = torch.float64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument(
        "--reference-starts", type=int, default=2, help="starts given to scipy (time per start)"
    )
    args = parser.parse_args()
    n, b = args.n, args.starts
    net = rd.GRU(n, g_h=3.0, alpha_z=20.0, alpha_r=0.0, generator=torch.Generator().manual_seed(0), dtype=F64)
    starts = rd.simulate(
        net, n_steps=1, n_transient=200, batch_shape=(b,), generator=torch.Generator().manual_seed(1)
    )
    starts = starts[:, -1]

    def open_residual(points: torch.Tensor) -> float:
        with torch.no_grad():
            z = torch.sigmoid(points @ net.weight_hz.T + net.bias_z)
            return (
                float(((net(points) - points) * (z > 0.5)).norm(dim=-1).max())
                if points.shape[0]
                else float("nan")
            )

    t0 = time.perf_counter()
    res = rd.find_fixed_points(net, initial_states=starts, throw=False)
    t_new = time.perf_counter() - t0
    speeds = (2 * res.slow_speeds).sqrt()
    with torch.no_grad():
        direct = (net(res.slow_points) - res.slow_points).norm(dim=-1)
    print(f"GRU n = {n}, alpha_z = 20, g_h = 3, alpha_r = 0; {b} starts after 200 steps")
    print(
        f"rnndyn (slow manifold): {t_new:.2f} s ({t_new / b:.2f} s a start), status {res.status}: "
        f"{res.n_points} fixed, {res.slow_points.shape[0]} slow points {sorted(set(res.slow_kind))}, "
        f"|F(h) - h| {float(speeds.min()):.2e}..{float(speeds.max()):.2e} "
        f"(recomputed: max difference {float((direct - speeds).abs().max()):.1e}), open-unit residual "
        f"{open_residual(res.slow_points):.1e} (tol {res.tol:.2e}), slow directions median "
        f"{res.slow_manifold_dimension}"
    )

    # the odd-symmetry probe that every search runs (8 states, matrix-free J(-h) Q = J(h) Q), timed alone
    from rnndyn.fixed_points import _odd_symmetry

    gen = torch.Generator().manual_seed(0)
    probes = torch.randn(8, n, generator=gen, dtype=F64)
    directions = torch.randn(8, n, 3, generator=gen, dtype=F64)
    t0 = time.perf_counter()
    odd, err = _odd_symmetry(net, None, probes, directions / directions.norm(dim=-2, keepdim=True))
    t_probe = time.perf_counter() - t0
    print(
        f"odd-symmetry probe: {1e3 * t_probe:.1f} ms ({100 * t_probe / t_new:.2f}% of the search; odd={odd}, "
        f"error {err:.2g})"
    )

    t0 = time.perf_counter()
    old = rd.find_fixed_points(net, initial_states=starts, slow_manifold=False, throw=False)
    t_old = time.perf_counter() - t0
    print(
        f"rnndyn (slow_manifold=False): {t_old:.2f} s ({t_old / b:.2f} s a start), status {old.status}: "
        f"{old.n_points} fixed, {old.slow_points.shape[0]} slow points"
    )

    eye = np.eye(n)

    def fun(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = torch.from_numpy(v)
        with torch.no_grad():
            return (net(h) - h).numpy(), net.jacobian(h).numpy() - eye

    nb = min(args.reference_starts, b)
    t0 = time.perf_counter()
    found = []
    for i in range(nb):
        sol = scipy.optimize.root(fun, starts[i].numpy(), jac=True, method="lm", options={"maxiter": 200})
        resid = float(np.linalg.norm(fun(sol.x)[0]))
        found.append((sol.success, resid, open_residual(torch.from_numpy(sol.x).unsqueeze(0)), sol.nfev))
    t_ref = (time.perf_counter() - t0) / nb
    print(
        f"scipy.optimize.root(lm): {t_ref:.2f} s a start ({nb} starts): "
        + "; ".join(
            f"success={s}, |F(h) - h| = {r:.2e}, open-unit residual {o:.1e}, nfev {f}" for s, r, o, f in found
        )
    )
    print(
        f"ratio reference / rnndyn, per start: {t_ref / (t_new / b):.1f}; plain / slow-manifold rnndyn: {t_old / t_new:.1f}"
    )


if __name__ == "__main__":
    main()

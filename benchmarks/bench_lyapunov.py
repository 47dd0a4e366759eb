"""Lyapunov spectrum speed: rnndyn vs a plain NumPy QR-every-step loop vs lyapynov (PyPI peer),
on the random-RNN map x' = tanh(g W x), g = 2, all timed in the same run.

For each N and k it prints seconds per run, per-step time, ratios against the NumPy loop, the
achieved fraction of the GEMM-bound limit (2 N^2 k flop per step for J @ Q at the measured float64
matmul peak; 2 N^3 for the full spectrum), and the accuracy: the top-5 and all exponents against a
NumPy QR-every-step reference computed *along the same trajectory* as rnndyn's (a chaotic
trajectory computed with different BLAS round-off decorrelates after a few hundred steps, so
comparing runs with their own trajectories measures statistical spread, not the method; that
spread is printed too, for the NumPy loop and lyapynov).

Usage:
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_lyapunov.py            # N = 100, 400
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_lyapunov.py --sizes 100 --steps 500
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

import rnndyn as rd

F64 = torch.float64


def matmul_peak(sizes: list[int], threads: int) -> float:
    """Best float64 GFLOP/s of torch.matmul over square sizes (the GEMM peak we compare with)."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, dtype=F64)
        b = torch.randn(n, n, dtype=F64)
        a @ b
        reps = max(3, int(2e9 / (2 * n**3)))
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
    return best


def numpy_loop(w: np.ndarray, h0: np.ndarray, k: int, n_steps: int, n_transient: int) -> np.ndarray:
    """The plain 15-line NumPy reference: Q <- J Q, QR every step, own trajectory."""
    n = w.shape[0]
    rng = np.random.default_rng(0)
    q = np.linalg.qr(rng.standard_normal((n, k)))[0]
    h = h0.copy()
    le = np.zeros(k)
    for t in range(n_transient + n_steps):
        h = np.tanh(w @ h)
        jac = (1.0 - h * h)[:, None] * w
        q, r = np.linalg.qr(jac @ q)
        if t >= n_transient:
            le += np.log(np.abs(np.diag(r)))
    return np.sort(le / n_steps)[::-1]


def initial_frame(n: int, k: int, seed: int) -> np.ndarray:
    """The frame rnndyn starts from with ``generator=torch.Generator().manual_seed(seed)``."""
    z = torch.randn(1, n, k, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return torch.linalg.qr(z)[0][0].numpy()


def numpy_reference_on(traj: np.ndarray, w: np.ndarray, q: np.ndarray, n_transient: int) -> np.ndarray:
    """QR-every-step exponents along a given trajectory traj[t] = h_{t+1}, from the frame ``q``
    (untimed reference: same trajectory and same initial frame as rnndyn, so that nearly
    degenerate exponents, whose finite-time values depend on the frame, are compared fairly)."""
    k = q.shape[1]
    le = np.zeros(k)
    for t in range(traj.shape[0]):
        jac = (1.0 - traj[t] ** 2)[:, None] * w
        q, r = np.linalg.qr(jac @ q)
        if t >= n_transient:
            le += np.log(np.abs(np.diag(r)))
    return np.sort(le / (traj.shape[0] - n_transient))[::-1]


def lyapynov_run(w: np.ndarray, h0: np.ndarray, k: int, n_steps: int, n_transient: int) -> np.ndarray | None:
    try:
        import lyapynov
    except ImportError:
        return None
    sys_ = lyapynov.DiscreteDS(
        h0.copy(),
        0.0,
        lambda x, t: np.tanh(w @ x),
        lambda x, t: (1.0 - np.tanh(w @ x) ** 2)[:, None] * w,
    )
    return np.sort(lyapynov.LCE(sys_, k, n_transient, n_steps, False))[::-1]


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--transient", type=int, default=500)
    p.add_argument("--g", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--batch", type=int, default=4, help="trajectories in the batched rnndyn run")
    p.add_argument("--no-peer", action="store_true", help="skip lyapynov")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    peak = matmul_peak(sorted({*args.sizes, 1024}), args.threads)
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"torch threads {args.threads}; float64 matmul peak {peak:.1f} GFLOP/s"
    )
    print(f"# map x' = tanh(g W x), g = {args.g}; {args.steps} steps after {args.transient} transient\n")
    total = args.steps + args.transient
    for n in args.sizes:
        net = rd.VanillaRNN(n, g=args.g, generator=torch.Generator().manual_seed(n), dtype=F64)
        w = net.weight_hh.detach().numpy().copy()
        h0 = net.initial_state((1,), generator=torch.Generator().manual_seed(1))
        traj = rd.simulate(net, h0, n_steps=total)[0].detach().numpy()  # rnndyn's own trajectory
        for k in (n, 10):
            label = "full" if k == n else f"k={k}"
            gemm_limit = 2 * n * n * k / (peak * 1e9)  # seconds per step at the matmul peak
            ref = numpy_reference_on(traj, w, initial_frame(n, k, 2), args.transient)
            np_own, t_np = timed(numpy_loop, w, h0[0].numpy(), k, args.steps, args.transient)
            rows = [("numpy QR every step (own trajectory)", t_np, np_own)]
            settings = [("rnndyn qr_every=1", dict(qr_every=1), 1)]
            if k == n:
                settings += [
                    ("rnndyn qr_every='auto'", dict(qr_every="auto"), 1),
                    ("rnndyn qr_every=4", dict(qr_every=4), 1),
                    ("rnndyn qr_every=8 (top exponents only)", dict(qr_every=8), 1),
                ]
            if n * k <= 100 * 100:  # (the batched full N = 400 run would take minutes)
                settings += [
                    (f"rnndyn qr_every=1, batch {args.batch} (per traj.)", dict(qr_every=1), args.batch)
                ]
            for name, kw, b in settings:
                hb = h0.expand(b, n).clone()
                res, t = timed(
                    rd.lyapunov_spectrum,
                    net,
                    k=k,
                    n_steps=args.steps,
                    n_transient=args.transient,
                    h0=hb,
                    generator=torch.Generator().manual_seed(2),
                    sum_check=False,
                    **kw,
                )
                if "auto" in name:
                    name += f" -> {res.qr_every}"
                rows.append((name, t / b, res.per_trajectory[0].numpy()))
            if not args.no_peer:
                out, t = timed(lyapynov_run, w, h0[0].numpy(), k, args.steps, args.transient)
                if out is not None:
                    rows.append(("lyapynov 1.0.1 LCE (own trajectory)", t, out))
            print(f"## N = {n}, {label}: GEMM-bound limit {gemm_limit * 1e3:.3f} ms/step")
            print(
                f"{'method':48s} {'s/run':>8s} {'ms/step':>8s} {'vs numpy':>8s} {'%GEMM':>6s} "
                f"{'top5 err':>9s} {'max err':>9s}"
            )
            for name, t, lam in rows:
                per = t / total
                err5 = float(np.max(np.abs(lam[:5] - ref[:5])))
                err = float(np.max(np.abs(lam - ref)))
                print(
                    f"{name:48s} {t:8.2f} {per * 1e3:8.3f} {t_np / t:8.2f} {100 * gemm_limit / per:6.1f} "
                    f"{err5:9.1e} {err:9.1e}"
                )
            print(
                f"(reference lambda_1..3 = {', '.join(f'{v:.5f}' for v in ref[:3])}, "
                f"lambda_min = {ref[-1]:.4f})\n",
                flush=True,
            )


if __name__ == "__main__":
    main()

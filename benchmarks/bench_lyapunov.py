"""Lyapunov spectrum speed: rnndyn vs a plain NumPy QR-every-step loop vs lyapynov (PyPI peer),
on the random-RNN map x' = tanh(g W x), g = 2, all timed in the same run.

For each N and k it prints seconds per run, per-step time, ratios against the NumPy loop, the
achieved fraction of the GEMM-bound limit (2 N^2 k flop per step for J @ Q at the measured float64
matmul peak; 2 N^3 for the full spectrum), and the accuracy: the top-5 and all exponents against a
NumPy QR-every-step reference computed *along the same trajectory* as rnndyn's (a chaotic
trajectory computed with different BLAS round-off decorrelates after a few hundred steps, so
comparing runs with their own trajectories measures statistical spread, not the method; that
spread is printed too, for the NumPy loop and lyapynov).

The ``--suite tangent`` run checks the model contract's tangent products (issue targets, each
against a reference timed in the same process in ``--repeats`` interleaved rounds; the verdict
uses the median over the rounds of the within-round ratio, printed with its range):

* ``from_torch(nn.GRU(1, 1000))`` and ``from_torch(nn.LSTM(1, 1000))`` (autonomous): the top-1
  spectrum within 1.5x the time of ``max_lyapunov`` (two trajectories), and the top-10 spectrum at
  least 5x faster than the same engine forming the dense Jacobian at every step (also printed:
  the same with a batch of ``--traj-batch`` trajectories, and the per-step floor: the fused
  ``W_hh @ [h | Q]`` product alone, which bounds the ratio any tangent method can reach);
* the full spectrum of a 256-unit vanilla net (g = 2) with default settings at least 2.5x faster
  than the NumPy QR-every-step loop, all exponents within 1e-6 of QR every step along the same
  trajectory.

Usage:
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_lyapunov.py            # N = 100, 400
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_lyapunov.py --sizes 100 --steps 500
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lyapunov.py --suite tangent --threads 1
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


class DenseOnly(rd.AbstractMap):
    """A map that hides its model's tangent product: the engine then forms the dense Jacobian
    at every step (the contract's default ``_step_and_tangent``), the reference path."""

    def __init__(self, inner: rd.AbstractMap) -> None:
        super().__init__()
        self.inner = inner
        self.state_size, self.input_size, self.dt = inner.state_size, inner.input_size, inner.dt

    def _step(self, h, x):  # noqa: ANN001, ANN202
        return self.inner._step(h, x)

    def _jacobian(self, h, x):  # noqa: ANN001, ANN202
        return self.inner._jacobian(h, x)


def best_of(repeats: int, runs: dict, rounds: dict | None = None) -> dict:  # noqa: ANN001
    """Interleave the runs ``repeats`` times and keep each one's fastest time (loaded machine).

    ``rounds``: if given, filled with every run's time in each round (``name -> [t_1, ...]``), so
    that a ratio can be taken round by round (:func:`ratio_summary`)."""
    out: dict = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            res, t = timed(fn)
            if rounds is not None:
                rounds.setdefault(name, []).append(t)
            if name not in out or t < out[name][1]:
                out[name] = (res, t)
    return out


def ratio_summary(rounds: dict, num: str, den: str) -> tuple[float, str]:
    """Median over the rounds of ``time[num] / time[den]`` within each round, and a ``"median
    (min-max over R rounds)"`` label: the round-by-round spread of the ratio, which on a shared
    machine is as large as the gaps the targets are about, so the verdict uses the median."""
    r = np.asarray(rounds[num]) / np.asarray(rounds[den])
    return float(np.median(r)), f"{np.median(r):.2f} ({r.min():.2f}-{r.max():.2f} over {r.size} rounds)"


def _torch_runs(net: rd.AbstractMap, ref: rd.AbstractMap, steps: int, tr: int, batch: int) -> dict:
    def kw(b: int = 1) -> dict:
        return dict(
            n_steps=steps, n_transient=tr, n_trajectories=b, generator=torch.Generator().manual_seed(0)
        )

    runs = {
        "max_lyapunov": lambda: rd.max_lyapunov(
            net, n_steps=steps, n_transient=tr, generator=torch.Generator().manual_seed(0)
        ),
        "top-1": lambda: rd.lyapunov_spectrum(net, k=1, **kw()),
        "top-10": lambda: rd.lyapunov_spectrum(net, k=10, **kw()),
        "top-10 dense J": lambda: rd.lyapunov_spectrum(ref, k=10, **kw()),
    }
    if batch > 1:
        runs[f"top-10 x{batch}"] = lambda: rd.lyapunov_spectrum(net, k=10, **kw(batch))
        runs[f"top-10 x{batch} dense J"] = lambda: rd.lyapunov_spectrum(ref, k=10, **kw(batch))
    return runs


def per_step_floor(module: torch.nn.Module, k: int, reps: int = 200) -> tuple[float, float]:
    """Seconds per call of the two products no tangent method can avoid for a single trajectory:
    the step's ``W_hh @ h`` (a GEMV that reads the weights once) and the fused step-and-tangent
    product ``W_hh @ [h | Q]`` with ``k`` tangent columns, as the model computes it."""
    from rnndyn._linalg import matmul_frame

    w = module.weight_hh_l0.detach()
    g = torch.Generator().manual_seed(0)
    h = torch.randn(1, w.shape[1], generator=g, dtype=w.dtype)
    cols = torch.randn(1, w.shape[1], k + 1, generator=g, dtype=w.dtype)
    out = []
    for fn in (lambda: h @ w.T, lambda: matmul_frame(w, cols)):
        fn()
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                fn()
            best = min(best, (time.perf_counter() - t) / reps)
        out.append(best)
    return out[0], out[1]


def tangent_suite(args: argparse.Namespace) -> None:
    steps, tr, rep = args.steps, args.transient, args.repeats
    print(
        f"# torch {torch.__version__}, numpy {np.__version__}, threads {args.threads}; times: best of {rep} "
        "interleaved rounds; ratios: median (range) of the ratio within each round\n"
    )
    for cls in (torch.nn.GRU, torch.nn.LSTM):
        torch.manual_seed(0)
        module = cls(1, args.hidden).double()
        net = rd.autonomous(rd.from_torch(module))
        rounds: dict = {}
        out = best_of(rep, _torch_runs(net, DenseOnly(net), steps, tr, args.traj_batch), rounds)
        t = {k: v[1] for k, v in out.items()}
        err = float((out["top-10"][0].exponents - out["top-10 dense J"][0].exponents).abs().max())
        print(f"## from_torch(nn.{cls.__name__}(1, {args.hidden})), {steps} steps after {tr}")
        for name, (res, sec) in out.items():
            print(f"{name:22s} {sec:8.3f} s  lambda_1 = {res.lambda_max:+.6f}")
        top1, top1_label = ratio_summary(rounds, "top-1", "max_lyapunov")
        dense, dense_label = ratio_summary(rounds, "top-10 dense J", "top-10")
        print(
            f"top-1 / max_lyapunov = {top1_label}, target <= 1.5: {'met' if top1 <= 1.5 else 'NOT met'}; "
            f"dense / product (top-10) = {dense_label}, target >= 5: {'met' if dense >= 5 else 'NOT met'}; "
            f"max |top-10 product - dense| = {err:.1e}",
            flush=True,
        )
        if args.traj_batch > 1:
            b = args.traj_batch
            print(
                f"batch of {b} trajectories: dense / product (top-10) = {t[f'top-10 x{b} dense J'] / t[f'top-10 x{b}']:.2f}"
            )
        gemv, fused = per_step_floor(module, 10)
        dense_step = t["top-10 dense J"] / (steps + tr)
        print(
            f"per step: dense engine {dense_step * 1e3:.2f} ms; product engine {t['top-10'] / (steps + tr) * 1e3:.2f} ms; "
            f"its W_hh @ [h | Q] alone {fused * 1e3:.2f} ms; the step's W_hh @ h alone {gemv * 1e3:.2f} ms -> "
            f"ceiling of dense / product for one trajectory = {dense_step / fused:.2f}\n",
            flush=True,
        )
    n = args.vanilla
    net = rd.VanillaRNN(n, g=args.g, generator=torch.Generator().manual_seed(n), dtype=F64)
    w = net.weight_hh.detach().numpy().copy()
    h0 = net.initial_state((1,), generator=torch.Generator().manual_seed(1))
    rounds = {}
    out = best_of(
        rep,
        {
            "numpy QR every step": lambda: numpy_loop(w, h0[0].numpy(), n, steps, tr),
            "rnndyn defaults": lambda: rd.lyapunov_spectrum(
                net, n_steps=steps, n_transient=tr, h0=h0, generator=torch.Generator().manual_seed(2)
            ),
        },
        rounds,
    )
    res, t_rd = out["rnndyn defaults"]
    traj = rd.simulate(net, h0, n_steps=steps + tr)[0].detach().numpy()
    exact = numpy_reference_on(traj, w, initial_frame(n, n, 2), tr)
    err = float(np.max(np.abs(res.per_trajectory[0].numpy() - exact)))
    t_np = out["numpy QR every step"][1]
    print(f"## VanillaRNN({n}, g={args.g}) full spectrum, {steps} steps after {tr}, library defaults")
    print(
        f"numpy QR loop {t_np:8.3f} s; rnndyn {t_rd:8.3f} s (qr_every -> {res.qr_every}, tangent {res.tangent})"
    )
    speed, speed_label = ratio_summary(rounds, "numpy QR every step", "rnndyn defaults")
    print(
        f"numpy / rnndyn = {speed_label}, target >= 2.5: {'met' if speed >= 2.5 else 'NOT met'}; "
        f"max |lambda - QR every step on the same trajectory| = {err:.1e} (target <= 1e-6)\n",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=("vanilla", "tangent"), default="vanilla")
    p.add_argument("--hidden", type=int, default=1000, help="tangent suite: torch GRU/LSTM width")
    p.add_argument("--vanilla", type=int, default=256, help="tangent suite: vanilla net size")
    p.add_argument("--repeats", type=int, default=3, help="tangent suite: interleaved repeats")
    p.add_argument(
        "--traj-batch", type=int, default=8, help="tangent suite: trajectories in the batched rows"
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--transient", type=int, default=500)
    p.add_argument("--g", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--batch", type=int, default=4, help="trajectories in the batched rnndyn run")
    p.add_argument("--no-peer", action="store_true", help="skip lyapynov")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.suite == "tangent":
        tangent_suite(args)
        return
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

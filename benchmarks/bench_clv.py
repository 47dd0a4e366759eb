"""Covariant Lyapunov vectors: rnndyn vs lyapynov (PyPI), and rd.lyapunov_from_data vs nolds.

CLVs (Ginelli's method) of the random-RNN map x' = tanh(g W x), g = 2, N = 400, all N vectors
at every one of n_steps = 2000 steps (the setting in which clvlib needed 5.1 GB), with the same
forward transient, frame transient and backward transient for both. Each run is a fresh Python
process of the same invocation (the reference, lyapynov, runs in the same invocation: the ratio
is what counts on a shared machine), which reports its wall time, its CPU time (time.process_time:
all threads of the process, so rnndyn's I/O thread too; rnndyn's runs also print the main
thread's) and its peak resident memory (ru_maxrss) next to the resident memory after imports and
set-up. rnndyn keeps its R factors and frames in temporary spill files and writes the CLVs to a
Zarr store on disk (on a CPU, both bypassing the page cache: docs/clv.md); lyapynov keeps
everything in lists in memory.

Runs: "equal work" (rnndyn keeps every CLV at every step, no extra angles: what lyapynov does),
"defaults" (the library's defaults: also the unstable-stable angle at every step), and optionally
every --also-record-every-th step. ``--also-qr-every M`` adds the equal-work run with a QR every
``M`` steps (``qr_every=M``, an int dividing --steps, or ``auto``: docs/clv.md, "QR every m steps"),
the same trajectory, generator and transients. ``--also-floor`` adds the bare loop: rnndyn's own dense kernels
in a minimal in-memory Ginelli loop with no I/O, checks or output (about 6 GB), the arithmetic
floor that any CLV code using these kernels pays on this machine.

Accuracy, two ways:
- same trajectory: lyapynov is fed rnndyn's trajectory (the states computed by the same torch
  step that rnndyn's engine calls, bit for bit), and the benchmark prints the largest sin angle
  between rnndyn's and lyapynov's CLV i at check times in the middle of the window, over the top
  half and over all i (the two start their frames and backward iterations from different random
  matrices, so this measures convergence of both, not only round-off);
- covariance: sin angle(J_t v_i(t), v_i(t+1)) at the check times, J_t the exact Jacobian, for each
  run that keeps every step. sqrt(1 - cos^2) cannot resolve angles below ~1e-8 (cos rounds to
  1 - 1e-16), so the norm of the difference of the sign-aligned unit vectors, |a - sign(a.b) b|
  (about the angle, resolved to ~1e-16), is printed next to it.
- qr_every: the CLVs of the ``--also-qr-every`` run against the equal-work run's (QR every step) at
  the check times, as the same difference norm; both start the backward iteration from the same
  random matrix, so this measures what fewer QRs cost, on the CLVs that the equal-work run reports
  converged and over all.

Where the time goes: rnndyn's forward (tangent GEMM + QR + recording) and backward (triangular
solves, V = Q C, angles/IPRs, writing the CLVs) phases are timed through the progress callback,
and the per-step cost of each dense kernel is timed alone in the same process, so the remainder
(I/O waits, Python, elementwise work) is explicit. lyapynov's kernels (its GEMMs, numpy QR, LU
solve) are timed the same way.

The data estimate: lambda_max of the Henon x-series (5000 points, embedding 2) by
rd.lyapunov_from_data and by nolds.lyap_r with the same Theiler window and horizon.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py                      # N=400, 2000 steps
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py --n 100 --steps 300   # quick
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py --also-qr-every 2 --skip-defaults --skip-data
                                                                   # + a QR every 2 steps, equal work
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py --n 100 --steps 300 --also-qr-every 2 \
        --skip-defaults --skip-data                                # quick check of the same
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py --n 30 --steps 60 --skip-lyapynov \
        --skip-defaults --skip-data --qr-accuracy 100              # the qr_every accuracy table of docs/clv.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _weights(n: int, g: float, seed: int) -> np.ndarray:
    return g * np.random.default_rng(seed).normal(size=(n, n)) / np.sqrt(n)


def _covariance_error(w: np.ndarray, h: np.ndarray, v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """sin angle between J(h) v0[:, i] and v1[:, i] for every column i."""
    jac = (1.0 - np.tanh(w @ h) ** 2)[:, None] * w
    a = jac @ v0
    a /= np.linalg.norm(a, axis=0)
    b = v1 / np.linalg.norm(v1, axis=0)
    cos = np.abs((a * b).sum(0)).clip(max=1.0)
    return np.sqrt(1.0 - cos**2)


def _covariance_difference(w: np.ndarray, h: np.ndarray, v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """|a - sign(a.b) b| for a = J(h) v0[:, i] and b = v1[:, i], both normalised, for every column
    i: the same error as :func:`_covariance_error` (about 2 sin(angle / 2)), but resolved down to
    round-off (~1e-16), where sqrt(1 - cos^2) stops at ~1e-8 (cos rounds to 1 - 1e-16)."""
    jac = (1.0 - np.tanh(w @ h) ** 2)[:, None] * w
    return _aligned_difference(jac @ v0, v1)


def _aligned_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per column i: |a_i - sign(a_i . b_i) b_i| of the unit columns (the CLVs' sign is arbitrary)."""
    a = a / np.linalg.norm(a, axis=-2, keepdims=True)
    b = b / np.linalg.norm(b, axis=-2, keepdims=True)
    sign = np.where((a * b).sum(-2, keepdims=True) < 0, -1.0, 1.0)
    return np.linalg.norm(a - sign * b, axis=-2)


def _best_ms(f, reps: int = 15) -> float:  # noqa: ANN001
    f()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def kernels_rnndyn(n: int) -> dict:
    """Per-step cost (ms, best of 15) of each dense kernel of rnndyn's CLV run, alone."""
    import torch

    from rnndyn.clv import _block_edges, _min_angle_unstable_stable, _solve_upper, _times_upper_t

    g = torch.Generator().manual_seed(0)
    z = torch.randn(1, n, n, generator=g, dtype=torch.float64)
    q = torch.linalg.qr(z)[0]
    r = torch.triu(torch.randn(1, n, n, generator=g, dtype=torch.float64)) + 10 * torch.eye(
        n, dtype=torch.float64
    )
    c = torch.triu(torch.randn(1, n, n, generator=g, dtype=torch.float64))
    c2 = torch.cat([c, c], -1)
    e = _block_edges(n)
    qa, tau = torch.geqrf(z)
    qt, vt = q.mT.contiguous(), torch.empty(1, n, n, dtype=torch.float64)
    return {
        "tangent GEMM J Q": _best_ms(lambda: z @ q),
        "QR (geqrf + orgqr)": _best_ms(lambda: torch.linalg.qr(z)),
        "reflector frame: geqrf + J Q by ormqr": _best_ms(
            lambda: (torch.geqrf(z), torch.ormqr(qa, tau, z, left=False))
        ),
        "triangular solve R^-1 C (blocked)": _best_ms(lambda: _solve_upper(r, c, e)),
        "triangular solve, 2 starts (backward transient)": _best_ms(lambda: _solve_upper(r, c2, e)),
        "V = Q C (blocked)": _best_ms(lambda: _times_upper_t(qt, c, e, vt)),
        # the split of the benchmark network: 49 unstable, 5 neutral (a QR of C[u:, s:] needed)
        "hyperbolicity angle (u = k/8, 5 neutral)": _best_ms(
            lambda: _min_angle_unstable_stable(c, n // 8, n // 8 + 5)
        ),
    }


def kernels_lyapynov(n: int) -> dict:
    """The same for lyapynov's per-step NumPy operations."""
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(n, n)), rng.normal(size=n)
    z = rng.normal(size=(n, n))
    q = np.linalg.qr(z)[0]
    r = np.triu(rng.normal(size=(n, n))) + 10 * np.eye(n)
    c = np.triu(rng.normal(size=(n, n)))
    return {
        "Jacobian (1 - tanh^2)[:, None] * W": _best_ms(lambda: (1.0 - np.tanh(w @ x) ** 2)[:, None] * w),
        "tangent GEMM J Q": _best_ms(lambda: z @ q),
        "QR (numpy)": _best_ms(lambda: np.linalg.qr(z)),
        "A @ diag(1/|A_i|) (a dense GEMM)": _best_ms(lambda: c @ np.diag(1.0 / np.linalg.norm(c, axis=0))),
        "LU solve R^-1 B (np.linalg.solve)": _best_ms(lambda: np.linalg.solve(r, c)),
        "V = Q A (GEMM)": _best_ms(lambda: q @ c),
    }


def _trajectory(net, h0, n_steps: int):  # noqa: ANN001, ANN202
    """States h_0 .. h_n_steps by the same torch step the engine calls (bit for bit)."""
    import torch

    out = [h0]
    h = h0
    with torch.no_grad():
        for _ in range(n_steps):
            h = net._step(h, None)
            out.append(h)
    return torch.cat(out).numpy()


def _net(args: argparse.Namespace):  # noqa: ANN202
    import torch

    import rnndyn as rd

    w = _weights(args.n, args.g, args.seed)
    net = rd.VanillaRNN(args.n, dtype=torch.float64)
    with torch.no_grad():
        net.weight_hh.copy_(torch.from_numpy(w))
    h0 = torch.from_numpy(0.5 * np.random.default_rng(args.seed + 1).normal(size=(1, args.n)))
    return w, net, h0


def worker_rnndyn(args: argparse.Namespace) -> dict:
    import torch

    import rnndyn as rd

    w, net, h0 = _net(args)
    base = _rss_now()
    store = Path(tempfile.mkdtemp(prefix="bench-clv-")) / "clv.zarr"
    n_tr = args.transient + args.frame_transient
    n_fwd = n_tr + args.steps + args.backward
    marks: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        if done >= n_tr and "transient" not in marks:
            marks["transient"] = time.perf_counter()
        if done >= n_fwd and "forward" not in marks:
            marks["forward"] = time.perf_counter()

    t, cpu, main_cpu = time.perf_counter(), time.process_time(), time.thread_time()
    res = rd.covariant_lyapunov_vectors(
        net,
        n_steps=args.steps,
        n_transient=n_tr,
        n_backward_transient=args.backward,
        record_every=args.record_every,
        qr_every=int(args.qr_every) if args.qr_every != "auto" else "auto",
        store=None if args.in_memory else store,
        max_memory=2**40 if args.in_memory else None,
        hyperbolicity=args.hyperbolicity,
        h0=h0,
        generator=torch.Generator().manual_seed(args.seed),
        progress=progress,
    )
    end, cpu, main_cpu = time.perf_counter(), time.process_time() - cpu, time.thread_time() - main_cpu
    peak = _peak()
    errs, diffs = [], []
    if args.record_every == 1:
        for j in args.check_times:
            h = res.states[0, j].numpy()
            v0, v1 = res.vectors_at(j)[0].numpy(), res.vectors_at(j + 1)[0].numpy()
            errs.append(_covariance_error(w, h, v0, v1))
            diffs.append(_covariance_difference(w, h, v0, v1))
        if args.save:
            n_total = n_fwd
            np.savez(
                args.save,
                vectors=np.stack([res.vectors_at(j)[0].numpy() for j in args.check_times]),
                states=np.stack([res.states[0, j].numpy() for j in args.check_times]),
                trajectory=_trajectory(net, h0, n_total),
                # CLV i is converged where both checks say so: the two backward starts, and the
                # Gram-Schmidt subspace span(q_1..q_i) of two random initial frames
                converged=np.maximum(
                    res.backward_convergence_per_vector.numpy(), res.forward_convergence_per_vector.numpy()
                ),
            )
    same = {}
    if args.compare:  # the equal-work run (qr_every = 1) saved its CLVs at the check times
        ref = np.load(args.compare)
        d = np.stack(
            [
                _aligned_difference(res.vectors_at(j)[0].numpy(), ref["vectors"][i])
                for i, j in enumerate(args.check_times)
            ]
        ).max(0)  # (n,): worst over the check times
        conv = ref["converged"] < 1e-8  # as in the lyapynov comparison
        same = {
            "states_max_abs_diff": max(
                float(np.abs(res.states[0, j].numpy() - ref["states"][i]).max())
                for i, j in enumerate(args.check_times)
            ),
            "n_converged": int(conv.sum()),
            "diff_converged_max": float(d[conv].max()) if conv.any() else float("nan"),
            "diff_top_half_max": float(d[: args.n // 2].max()),
            "diff_all_median": float(np.median(d)),
            "diff_all_max": float(d.max()),
        }
    import shutil

    shutil.rmtree(store.parent, ignore_errors=True)
    return {
        "time_s": end - t,
        "cpu_s": cpu,
        "main_thread_cpu_s": main_cpu,
        "phases_s": {
            "set-up + transient": marks["transient"] - t,
            "forward (recorded)": marks["forward"] - marks["transient"],
            "backward": end - marks["forward"],
        },
        "kernels_ms": kernels_rnndyn(args.n) if args.kernels else {},
        "peak_rss": peak,
        "rss_after_setup": base,
        "covariance_error": np.stack(errs).tolist() if errs else [],
        "covariance_difference": np.stack(diffs).tolist() if diffs else [],
        "qr_every": res.qr_every,
        "same_trajectory": same,
        "exponents_top3": res.clv_exponents[:3].tolist(),
        "status": str(res.status.value),
        "backward_convergence": res.backward_convergence,
        "forward_convergence": res.forward_convergence,
        "memory": res.memory,
    }


def worker_floor(args: argparse.Namespace) -> dict:
    """The method's arithmetic alone: a bare Ginelli loop in memory with rnndyn's own kernels
    (tangent GEMM + explicit QR forward with Q^T and R kept in preallocated arrays; the blocked
    triangular solve, column normalisation and blocked ``V = Q C`` backward, V into one buffer),
    and nothing else: no spill or Zarr I/O, no IPRs, angles, checks, progress or result. Same
    network, steps and transients as the other runs. What a CLV code cannot go below on this
    machine with these kernels, so the gap between it and a full run is that run's overhead."""
    import torch

    from rnndyn.clv import _block_edges, _normalise_in_place, _solve_upper, _times_upper_t

    f64 = torch.float64
    w, _, h0 = _net(args)
    n, weight, h = args.n, torch.from_numpy(w), h0[0].clone()
    gen = torch.Generator().manual_seed(args.seed)
    q = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=f64))[0]
    n_fwd = args.steps + args.backward
    edges = _block_edges(n)
    base = _rss_now()
    t, cpu = time.perf_counter(), time.process_time()
    with torch.no_grad():
        qts = torch.empty(n_fwd, n, n, dtype=f64)
        rs = torch.empty(n_fwd, n, n, dtype=f64)
        for step in range(args.transient + args.frame_transient + n_fwd):
            h = torch.tanh(weight @ h)
            q, r = torch.linalg.qr(((1.0 - h * h)[:, None] * weight) @ q)
            j = step - args.transient - args.frame_transient
            if j >= 0:
                qts[j].copy_(q.mT)
                rs[j].copy_(r)
        c = torch.triu(torch.randn(1, n, n, generator=gen, dtype=f64))
        c_next, sq, vt = torch.zeros_like(c), torch.empty_like(c), torch.empty_like(c)
        for j in range(n_fwd - 1, -1, -1):
            c, c_next = _solve_upper(rs[j : j + 1], c, edges, out=c_next), c
            _normalise_in_place(c, sq)
            if j < args.steps:
                _times_upper_t(qts[j : j + 1], c, edges, vt)
    return {"time_s": time.perf_counter() - t, "cpu_s": time.process_time() - cpu,
            "peak_rss": _peak(), "rss_after_setup": base, "covariance_error": [],
            "covariance_difference": []}  # fmt: skip


def worker_lyapynov(args: argparse.Namespace) -> dict:
    import lyapynov

    w = _weights(args.n, args.g, args.seed)
    ref = np.load(args.save)
    traj = ref["trajectory"]  # rnndyn's trajectory, bit for bit (saved by its equal-work run)

    def f(x: np.ndarray, t: float) -> np.ndarray:
        return traj[int(round(t)) + 1]

    def jac(x: np.ndarray, t: float) -> np.ndarray:
        return (1.0 - np.tanh(w @ x) ** 2)[:, None] * w

    system = lyapynov.DiscreteDS(traj[0].copy(), 0.0, f, jac)
    np.random.seed(args.seed)  # noqa: NPY002 - lyapynov draws its backward start from the global generator
    base = _rss_now()
    t, cpu = time.perf_counter(), time.process_time()
    # the frame runs through the state transient too, as rnndyn's does (n_forward = 0)
    clv, hist = lyapynov.CLV(
        system, args.n, 0, args.transient + args.frame_transient, args.steps, args.backward, True
    )
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = _peak()
    errs = [_covariance_error(w, hist[j], clv[j], clv[j + 1]) for j in args.check_times]
    diffs = [_covariance_difference(w, hist[j], clv[j], clv[j + 1]) for j in args.check_times]
    states_diff = max(float(np.abs(hist[j] - ref["states"][i]).max()) for i, j in enumerate(args.check_times))
    sines = []
    for i, j in enumerate(args.check_times):
        a = ref["vectors"][i] / np.linalg.norm(ref["vectors"][i], axis=0)
        b = clv[j] / np.linalg.norm(clv[j], axis=0)
        cos = np.abs((a * b).sum(0)).clip(max=1.0)
        sines.append(np.sqrt(1.0 - cos**2))
    sines = np.stack(sines).max(0)  # (n,): worst over the check times
    d = np.stack(
        [_aligned_difference(clv[j], ref["vectors"][i]) for i, j in enumerate(args.check_times)]
    ).max(0)
    conv = ref["converged"] < 1e-8  # rnndyn's two random backward starts agree at the window's end
    same = {
        "n_converged": int(conv.sum()),
        "sin_converged_max": float(sines[conv].max()) if conv.any() else float("nan"),
        "states_max_abs_diff": states_diff,
        "sin_top_half_max": float(sines[: args.n // 2].max()),
        "sin_all_median": float(np.median(sines)),
        "sin_all_max": float(sines.max()),
        "n_within_1e-6": int((sines < 1e-6).sum()),
        "diff_converged_max": float(d[conv].max()) if conv.any() else float("nan"),
        "diff_top_half_max": float(d[: args.n // 2].max()),
        "diff_all_median": float(np.median(d)),
        "diff_all_max": float(d.max()),
    }
    return {
        "time_s": elapsed,
        "cpu_s": cpu,
        "kernels_ms": kernels_lyapynov(args.n) if args.kernels else {},
        "peak_rss": peak,
        "rss_after_setup": base,
        "covariance_error": np.stack(errs).tolist(),
        "covariance_difference": np.stack(diffs).tolist(),
        "same_trajectory": same,
    }


def accuracy_comparison(n: int, g: float, seed: int, n_steps: int, transient: int, backward: int) -> str:
    """rnndyn's and lyapynov's CLVs on the same trajectory (fed to lyapynov), in this process, for
    a network small enough that every CLV converges within the transients: their largest
    difference is the accuracy of both."""
    import lyapynov
    import torch

    import rnndyn as rd

    args = argparse.Namespace(n=n, g=g, seed=seed)
    w, net, h0 = _net(args)
    res = rd.covariant_lyapunov_vectors(
        net, n_steps=n_steps, n_transient=transient, n_backward_transient=backward, h0=h0,
        hyperbolicity=False, generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    traj = _trajectory(net, h0, transient + n_steps + backward)
    system = lyapynov.DiscreteDS(traj[0].copy(), 0.0, lambda x, t: traj[int(round(t)) + 1],
                                 lambda x, t: (1.0 - np.tanh(w @ x) ** 2)[:, None] * w)  # fmt: skip
    np.random.seed(seed)  # noqa: NPY002 - lyapynov's backward start
    clv, hist = lyapynov.CLV(system, n, 0, transient, n_steps, backward, True)
    a = res.vectors[0].numpy()  # (T, n, n), unit columns
    b = np.stack(clv[:n_steps])
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = np.abs((a * b).sum(1)).clip(max=1.0)
    sin = np.sqrt(1.0 - cos**2)
    d = _aligned_difference(a, b)  # resolves below the ~1e-8 floor of sin
    diff = float(np.abs(hist[:n_steps] - res.states[0].numpy()).max())
    return (
        f"accuracy on one trajectory (N = {n}, g = {g}, transient {transient}, backward transient "
        f"{backward}, {n_steps} steps; rnndyn status {res.status.value}, its two backward starts agree to "
        f"{res.backward_convergence:.1e}; states differ by {diff:.1e}): largest sin angle between "
        f"rnndyn's and lyapynov's CLV i over all i and steps {float(sin.max()):.1e} (median {float(np.median(sin)):.1e}; "
        f"|a - sign(a.b) b|: max {float(d.max()):.1e}, median {float(np.median(d)):.1e})"
    )


def qr_every_accuracy(n: int, g: float, seed: int, n_steps: int, transient: int, backward: int) -> list[str]:
    """What a QR every m steps costs in accuracy, in this process: runs with m = 2, 3, 4 and 'auto'
    against m = 1 on the same network, trajectory and backward start (all n CLVs at every step,
    in memory): the error of the smallest exponent, the largest error of a QR event's ln R_ii
    (against the sum of the m one-step values), and |a - sign(a.b) b| of the CLVs (largest over
    the steps, top half and all), next to the ratio e^{m (lambda_1 - lambda_k)} of the mean
    exponents and the run's own estimate, its qr_round_off check (docs/clv.md)."""
    import torch

    import rnndyn as rd

    _, net, h0 = _net(argparse.Namespace(n=n, g=g, seed=seed))

    def run(m: int | str):  # noqa: ANN202
        t = time.perf_counter()
        res = rd.covariant_lyapunov_vectors(
            net, n_steps=n_steps, n_transient=transient, n_backward_transient=backward, qr_every=m,
            hyperbolicity=False, h0=h0, generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip
        return res, time.perf_counter() - t

    ref, t1 = run(1)
    spread = float(ref.exponents[0] - ref.exponents[-1])
    rows = [
        f"qr_every accuracy: tanh({g} W x), N = {n}, {transient} + {n_steps} + {backward} steps, all CLVs at "
        f"every step, against m = 1 ({t1:.1f} s; lambda_1 - lambda_k = {spread:.2f} per step)",
        "| m (used) | ratio e^{m(l_1 - l_k)} | error of l_k | ln R_ii, worst event and i | CLVs top half | CLVs all | "
        "10 largest CLV differences at (1-based) | qr_round_off check: estimate | time s |",
    ]
    for m in (2, 3, 4, "auto"):
        res, dt = run(m)
        mu = res.qr_every
        b, t, k = ref.log_r.shape
        sums = ref.log_r[:, : t // mu * mu].reshape(b, t // mu, mu, k).sum(2)
        d = _aligned_difference(res.vectors[0].numpy(), ref.vectors[0].numpy()).max(0)  # (k,)
        worst = np.sort(np.argsort(d)[-10:] + 1)
        est = [(c.value, "passed" if c.passed else "failed") for c in res.checks if c.name == "qr_round_off"]
        rows.append(
            f"| {m} ({mu}) | {np.exp(mu * spread):.1e} | {float((res.exponents[-1] - ref.exponents[-1]).abs()):.1e} | "
            f"{float((res.log_r - sums).abs().max()):.1e} | {d[: n // 2].max():.1e} | {d.max():.1e} | "
            f"{worst.min()}-{worst.max()} | {f'{est[0][0]:.1e} ({est[0][1]})' if est else 'absent'} | "
            f"{dt:.1f} |"
        )
    return rows


def data_comparison() -> list[str]:
    import nolds
    import torch

    import rnndyn as rd

    x = np.empty((5100, 2))
    x[0] = (0.1, 0.1)
    for t in range(5099):
        x[t + 1] = (1.0 - 1.4 * x[t, 0] ** 2 + x[t, 1], 0.3 * x[t, 0])
    s = x[100:, 0]
    rows = []
    for horizon in (6, 10):
        t0 = time.perf_counter()
        ref = nolds.lyap_r(s, emb_dim=2, lag=1, min_tsep=10, trajectory_len=horizon, fit="poly")
        t1 = time.perf_counter()
        ours = rd.lyapunov_from_data(
            s, embedding_dim=2, theiler=10, horizon=horizon, fit_range=(0, horizon - 1),
            n_reference=len(s), generator=torch.Generator().manual_seed(0),
        )  # fmt: skip
        t2 = time.perf_counter()
        rows.append(
            f"| Henon x, T = 5000, horizon {horizon} | {ours.lambda_max:.5f} | {ref:.5f} | "
            f"{abs(ours.lambda_max - ref) / abs(ref):.1e} | {t2 - t1:.2f} | {t1 - t0:.2f} |"
        )
    return rows


def _print_breakdown(args: argparse.Namespace, name: str, r: dict, lyap: dict | None) -> None:
    """Where rnndyn's time goes: each phase against its dense kernels timed alone."""
    k = r["kernels_ms"]
    n_rec_steps, n_bt = args.steps, args.backward
    ph = r["phases_s"]
    # the recorded window forms Q at every step; the backward transient keeps it as reflectors
    fwd = (k["tangent GEMM J Q"] + k["QR (geqrf + orgqr)"]) * n_rec_steps / 1e3
    fwd += k["reflector frame: geqrf + J Q by ormqr"] * n_bt / 1e3
    bwd = (
        k["triangular solve R^-1 C (blocked)"] * n_rec_steps
        + k["triangular solve, 2 starts (backward transient)"] * n_bt
        + k["V = Q C (blocked)"] * n_rec_steps
    ) / 1e3
    print(f"  where {name}'s {r['time_s']:.1f} s go (kernels timed alone in the same process, best of 15):")
    print("    per-step kernels: " + ", ".join(f"{key} {v:.2f} ms" for key, v in k.items()))
    print(f"    set-up + state/frame transient {ph['set-up + transient']:6.1f} s")
    print(
        f"    forward, {n_rec_steps + n_bt} recorded steps {ph['forward (recorded)']:6.1f} s = GEMM + QR "
        f"{fwd:.1f} s + other {ph['forward (recorded)'] - fwd:.1f} s (recording R and frames, spill "
        "writes, Jacobian, Python)"
    )
    print(
        f"    backward, {n_rec_steps + n_bt} steps         {ph['backward']:6.1f} s = solves + V = Q C "
        f"{bwd:.1f} s + other {ph['backward'] - bwd:.1f} s (spill reads, Zarr writes of the CLVs, "
        "IPRs/angles, Python)"
    )
    if lyap and lyap.get("kernels_ms"):
        lk = lyap["kernels_ms"]
        n_fwd = args.frame_transient + n_rec_steps + n_bt
        lf = (lk["Jacobian (1 - tanh^2)[:, None] * W"] + lk["tangent GEMM J Q"] + lk["QR (numpy)"]) * n_fwd
        lb = (lk["A @ diag(1/|A_i|) (a dense GEMM)"] + lk["LU solve R^-1 B (np.linalg.solve)"]) * (
            n_rec_steps + n_bt
        )
        lb += lk["V = Q A (GEMM)"] * n_rec_steps
        print(
            f"  lyapynov {lyap['time_s']:.1f} s: its kernels alone {(lf + lb) / 1e3:.1f} s (forward {lf / 1e3:.1f} s, "
            "backward "
            + f"{lb / 1e3:.1f} s); per step: "
            + ", ".join(f"{key} {v:.2f} ms" for key, v in lk.items())
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--g", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--transient", type=int, default=100, help="state transient (lyapynov n_forward)")
    p.add_argument("--frame-transient", type=int, default=100, help="frame transient (lyapynov n_A)")
    p.add_argument("--backward", type=int, default=200, help="backward transient (lyapynov n_C)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-lyapynov", action="store_true")
    p.add_argument("--skip-defaults", action="store_true", help="skip the run with the library's defaults")
    p.add_argument("--skip-data", action="store_true", help="skip rd.lyapunov_from_data vs nolds")
    p.add_argument(
        "--acc-n", type=int, default=40, help="network size of the converged same-trajectory comparison"
    )
    p.add_argument("--acc-g", type=float, default=3.0, help="its gain (chaotic: every CLV converges)")
    p.add_argument(
        "--also-record-every",
        type=int,
        default=0,
        help="also time rnndyn keeping the CLVs every this many steps (0: skip); lyapynov keeps every step",
    )
    p.add_argument(
        "--also-qr-every",
        default="0",
        help="also time rnndyn at equal work with a QR every this many steps (an int dividing --steps, "
        "or 'auto'; 0: skip), and compare its CLVs with the equal-work run's (QR every step)",
    )
    p.add_argument(
        "--qr-accuracy",
        type=int,
        default=0,
        help="also print the qr_every accuracy table (m = 2, 3, 4, auto vs 1) for a network of this size "
        "(0: skip; docs/clv.md uses 100)",
    )
    # worker options (internal)
    p.add_argument("--worker", choices=["rnndyn", "lyapynov", "floor"], help=argparse.SUPPRESS)
    p.add_argument("--record-every", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--qr-every", default="1", help=argparse.SUPPRESS)
    p.add_argument("--compare", default="", help=argparse.SUPPRESS)
    p.add_argument("--hyperbolicity", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--kernels", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--save", default="", help=argparse.SUPPRESS)
    p.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--also-in-memory",
        action="store_true",
        help="also time rnndyn at equal work with everything in memory (no disk I/O; ~7 GB, like lyapynov)",
    )
    p.add_argument(
        "--also-floor",
        action="store_true",
        help="also time the bare in-memory Ginelli loop of rnndyn's kernels (no I/O, no checks; ~6 GB)",
    )
    args = p.parse_args()
    mid = args.steps // 2
    args.check_times = [mid - 10, mid, mid + 10]
    if args.worker:
        workers = {"rnndyn": worker_rnndyn, "lyapynov": worker_lyapynov, "floor": worker_floor}
        out = workers[args.worker](args)
        print("RESULT " + json.dumps(out))
        return
    print(f"CLVs of tanh({args.g} W x), N = {args.n}, all {args.n} vectors at {args.steps} steps")
    print(f"transients: state {args.transient}, frame {args.frame_transient}, backward {args.backward}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()[0]:.1f}")
    common = ["--n", str(args.n), "--g", str(args.g), "--steps", str(args.steps), "--seed", str(args.seed)]
    common += ["--transient", str(args.transient), "--frame-transient", str(args.frame_transient)]
    common += ["--backward", str(args.backward)]
    save = str(Path(tempfile.mkdtemp(prefix="bench-clv-")) / "check.npz")
    # (label, worker, extra worker args)
    runs = [("rnndyn equal work", "rnndyn", ["--kernels", "--save", save])]
    if not args.skip_defaults:
        runs.append(("rnndyn defaults", "rnndyn", ["--hyperbolicity"]))
    if args.also_record_every > 1:
        runs.append(
            (
                f"rnndyn every {args.also_record_every}",
                "rnndyn",
                ["--record-every", str(args.also_record_every)],
            )
        )
    if args.also_qr_every not in ("0", "1"):
        # equal work (every CLV at every step, spilled, stored, no hyperbolicity) with fewer QRs
        runs.append(
            (
                f"rnndyn qr_every={args.also_qr_every}",
                "rnndyn",
                ["--qr-every", args.also_qr_every, "--compare", save],
            )
        )
    if args.also_in_memory:
        runs.append(("rnndyn in memory", "rnndyn", ["--in-memory"]))
    if args.also_floor:
        runs.append(("floor (bare loop)", "floor", []))
    if not args.skip_lyapynov:
        runs.append(("lyapynov", "lyapynov", ["--kernels", "--save", save]))
    results = {}
    for label, worker, extra in runs:
        cmd = [sys.executable, __file__, "--worker", worker, *common, *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        results[label] = json.loads(line[7:])
        r = results[label]
        err, dif = np.array(r["covariance_error"]), np.array(r["covariance_difference"])
        if err.size:
            half, dhalf = err[:, : args.n // 2], dif[:, : args.n // 2]
            acc = (
                f"cov. error: top half max {half.max():.1e}, all median {np.median(err):.1e}, max "
                f"{err.max():.1e}; |a - b|: top half max {dhalf.max():.1e}, all median {np.median(dif):.1e}, "
                f"max {dif.max():.1e}"
            )
        else:
            acc = "cov. error: n/a (vectors not at consecutive steps)"
        print(
            f"{label:20s} time {r['time_s']:7.1f} s (CPU {r['cpu_s']:6.1f} s)   peak RSS {r['peak_rss'] / 2**20:6.0f} MiB   "
            f"after set-up {r['rss_after_setup'] / 2**20:5.0f} MiB   "
            f"computation {(r['peak_rss'] - r['rss_after_setup']) / 2**20:6.0f} MiB   {acc}"
        )
        if worker == "rnndyn":
            m = r["memory"]
            print(
                f"{'':21s}main-thread CPU {r['main_thread_cpu_s']:.1f} s (the rest of the CPU: the I/O "
                f"thread); qr_every {r['qr_every']}, status {r['status']}, forward / backward convergence {r['forward_convergence']:.1e} / {r['backward_convergence']:.1e}, "
                f"storage {m['storage']}, CLVs in {m['vectors']}, spilled {m['spilled_bytes'] / 1e9:.2f} GB, "
                f"buffers {m['peak_buffer_bytes'] / 2**20:.0f} MiB; phases "
                + ", ".join(f"{key} {v:.1f} s" for key, v in r["phases_s"].items())
            )
    for label, r in results.items():
        same = r.get("same_trajectory") if label.startswith("rnndyn qr_every") else None
        if same:
            print(
                f"{label} vs rnndyn equal work (QR every step; same trajectory, max |state difference| "
                f"{same['states_max_abs_diff']:.1e}, same generator, so the same backward start): "
                f"|a - sign(a.b) b| between their CLV i at the check times: on the {same['n_converged']} CLVs "
                f"that the equal-work run reports converged (two random initial frames and two backward starts "
                f"within 1e-8) max "
                f"{same['diff_converged_max']:.1e}; over all: top half max {same['diff_top_half_max']:.1e}, "
                f"median {same['diff_all_median']:.1e}, max {same['diff_all_max']:.1e}"
            )
    lyap = results.get("lyapynov")
    if lyap:
        same = lyap["same_trajectory"]
        if same:
            print(
                f"same trajectory (lyapynov fed rnndyn's states; max |difference| {same['states_max_abs_diff']:.1e}): "
                f"sin angle between rnndyn's and lyapynov's CLV i at the check times: on the "
                f"{same['n_converged']} CLVs that rnndyn reports converged (its two random initial frames and "
                f"two random backward starts within 1e-8) max {same['sin_converged_max']:.1e}; over all: top half max "
                f"{same['sin_top_half_max']:.1e}, median {same['sin_all_median']:.1e}, max "
                f"{same['sin_all_max']:.1e}; {same['n_within_1e-6']} of {args.n} CLVs agree within 1e-6 "
                "(the others are not converged by the backward transient, for either method); "
                f"|a - b|: converged max {same['diff_converged_max']:.1e}, top half max "
                f"{same['diff_top_half_max']:.1e}, median {same['diff_all_median']:.1e}, max {same['diff_all_max']:.1e}"
            )
        for label, a in results.items():
            if label != "lyapynov":
                comp = (a["peak_rss"] - a["rss_after_setup"]) / max(
                    lyap["peak_rss"] - lyap["rss_after_setup"], 1
                )
                print(
                    f"{label}: speed-up {lyap['time_s'] / a['time_s']:.2f}x vs lyapynov "
                    f"(CPU time, all threads: {lyap['cpu_s'] / a['cpu_s']:.2f}x), "
                    f"peak-memory ratio {a['peak_rss'] / lyap['peak_rss']:.3f} "
                    f"(computation only {comp:.3f}; clvlib's 5.1 GB: {a['peak_rss'] / 5.1e9:.3f})"
                )
    _print_breakdown(args, "rnndyn equal work", results["rnndyn equal work"], lyap)
    if not args.skip_lyapynov:
        print(accuracy_comparison(args.acc_n, args.acc_g, args.seed, 50, 2000, 2000))
    if args.qr_accuracy:
        print("\n".join(qr_every_accuracy(args.qr_accuracy, args.g, args.seed, 240, 200, 200)))
    if not args.skip_data:
        print("\n| series | rd.lyapunov_from_data | nolds.lyap_r | rel. diff | rnndyn s | nolds s |")
        for row in data_comparison():
            print(row)


if __name__ == "__main__":
    main()

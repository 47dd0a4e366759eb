"""Covariant Lyapunov vectors: rnndyn vs lyapynov (PyPI), and rd.lyapunov_from_data vs nolds.

CLVs (Ginelli's method) of the random-RNN map x' = tanh(g W x), g = 2, N = 400, all N vectors
at every one of n_steps = 2000 steps (the setting in which clvlib needed 5.1 GB), with the same
forward transient, frame transient and backward transient for both. Each implementation runs in
its own fresh Python process (same invocation), which reports its wall time and its peak
resident memory (ru_maxrss) next to the resident memory after imports and set-up, so the memory
of the computation itself is the difference. rnndyn keeps its R factors, frames and vectors in a
Zarr store on disk; lyapynov keeps them in lists in memory.

Accuracy is measured the same way for both, on each one's own trajectory (a chaotic trajectory
computed with different BLAS round-off decorrelates within a few hundred steps): the covariance
error sin angle(J_t v_i(t), v_i(t+1)) at check times in the middle of the window, for every i,
with J_t the exact Jacobian of the map.

The data estimate: lambda_max of the Henon x-series (5000 points, embedding 2) by
rd.lyapunov_from_data and by nolds.lyap_r with the same Theiler window and horizon.

Usage:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py                      # N=400, 2000 steps
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clv.py --n 100 --steps 300   # quick
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


def worker_rnndyn(args: argparse.Namespace) -> dict:
    import torch

    import rnndyn as rd

    w = _weights(args.n, args.g, args.seed)
    net = rd.VanillaRNN(args.n, dtype=torch.float64)
    with torch.no_grad():
        net.weight_hh.copy_(torch.from_numpy(w))
    h0 = torch.from_numpy(0.5 * np.random.default_rng(args.seed + 1).normal(size=(1, args.n)))
    base = _rss_now()
    store = Path(tempfile.mkdtemp(prefix="bench-clv-")) / "clv.zarr"
    t = time.perf_counter()
    res = rd.covariant_lyapunov_vectors(
        net,
        n_steps=args.steps,
        n_transient=args.transient + args.frame_transient,
        n_backward_transient=args.backward,
        record_every=args.record_every,
        store=store,
        hyperbolicity=False,
        h0=h0,
        generator=torch.Generator().manual_seed(args.seed),
    )
    elapsed = time.perf_counter() - t
    peak = _peak()
    errs = []
    if args.record_every == 1:
        for j in args.check_times:
            h = res.states[0, j].numpy()
            errs.append(
                _covariance_error(w, h, res.vectors_at(j)[0].numpy(), res.vectors_at(j + 1)[0].numpy())
            )
    import shutil

    shutil.rmtree(store.parent, ignore_errors=True)
    return {
        "time_s": elapsed,
        "peak_rss": peak,
        "rss_after_setup": base,
        "covariance_error": np.stack(errs).tolist() if errs else [],
        "exponents_top3": res.clv_exponents[:3].tolist(),
        "status": str(res.status.value),
        "backward_convergence": res.backward_convergence,
        "memory": res.memory,
    }


def worker_lyapynov(args: argparse.Namespace) -> dict:
    import lyapynov

    w = _weights(args.n, args.g, args.seed)

    def f(x: np.ndarray, t: float) -> np.ndarray:
        return np.tanh(w @ x)

    def jac(x: np.ndarray, t: float) -> np.ndarray:
        return (1.0 - np.tanh(w @ x) ** 2)[:, None] * w

    x0 = 0.5 * np.random.default_rng(args.seed + 1).normal(size=args.n)
    system = lyapynov.DiscreteDS(x0, 0.0, f, jac)
    np.random.seed(args.seed)  # noqa: NPY002 - lyapynov draws its backward start from the global generator
    base = _rss_now()
    t = time.perf_counter()
    clv, traj = lyapynov.CLV(
        system, args.n, args.transient, args.frame_transient, args.steps, args.backward, True
    )
    elapsed = time.perf_counter() - t
    peak = _peak()
    errs = [_covariance_error(w, traj[j], clv[j], clv[j + 1]) for j in args.check_times]
    # lyapynov leaves the last vector set unnormalised; the growth-based exponents for reference
    return {
        "time_s": elapsed,
        "peak_rss": peak,
        "rss_after_setup": base,
        "covariance_error": np.stack(errs).tolist(),
    }


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
    p.add_argument("--worker", choices=["rnndyn", "lyapynov"])
    p.add_argument("--record-every", type=int, default=1, help="(worker) rnndyn's record_every")
    p.add_argument(
        "--also-record-every",
        type=int,
        default=10,
        help="also time rnndyn keeping the CLVs every this many steps (0: skip); lyapynov keeps every step",
    )
    args = p.parse_args()
    mid = args.steps // 2
    args.check_times = [mid - 10, mid, mid + 10]
    if args.worker:
        out = worker_rnndyn(args) if args.worker == "rnndyn" else worker_lyapynov(args)
        print("RESULT " + json.dumps(out))
        return
    print(f"CLVs of tanh({args.g} W x), N = {args.n}, all {args.n} vectors at {args.steps} steps")
    print(f"transients: state {args.transient}, frame {args.frame_transient}, backward {args.backward}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    results = {}
    runs = [("rnndyn", 1)] + ([("rnndyn", args.also_record_every)] if args.also_record_every > 1 else [])
    runs += [] if args.skip_lyapynov else [("lyapynov", 1)]
    for worker, every in runs:
        name = worker if every == 1 else f"rnndyn/{every}"
        cmd = [sys.executable, __file__, "--worker", worker, "--record-every", str(every)] + [
            a for a in sys.argv[1:] if a != "--skip-lyapynov"
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        results[name] = json.loads(line[7:])
        r = results[name]
        err = np.array(r["covariance_error"])
        if err.size:
            half = err[:, : args.n // 2]
            acc = f"cov. error: top half max {half.max():.1e}, all median {np.median(err):.1e}, max {err.max():.1e}"
        else:
            acc = "cov. error: n/a (vectors not at consecutive steps)"
        print(
            f"{name:11s} time {r['time_s']:8.1f} s   peak RSS {r['peak_rss'] / 2**20:8.0f} MiB   "
            f"after set-up {r['rss_after_setup'] / 2**20:6.0f} MiB   "
            f"computation {(r['peak_rss'] - r['rss_after_setup']) / 2**20:8.0f} MiB   {acc}"
        )
        if worker == "rnndyn":
            print(
                f"            status {r['status']}, backward convergence {r['backward_convergence']:.1e}, "
                f"{r['memory']}"
            )
    if "lyapynov" in results:
        b = results["lyapynov"]
        for name, a in results.items():
            if name != "lyapynov":
                print(
                    f"{name}: speed-up {b['time_s'] / a['time_s']:.2f}x vs lyapynov, "
                    f"peak-memory ratio {a['peak_rss'] / b['peak_rss']:.3f}"
                )
    print("\n| series | rd.lyapunov_from_data | nolds.lyap_r | rel. diff | rnndyn s | nolds s |")
    for row in data_comparison():
        print(row)


if __name__ == "__main__":
    main()

"""Discrete GRU / LSTM DMFT against finite-N networks (the documented runs of docs/meanfield.md).

Simulation: ``rd.GRU`` / ``rd.LSTM`` (float64, zero biases unless given), state ~ N(0, 1) (the LSTM's
``c`` too), ``--transient`` steps discarded, then ``--steps`` steps: C_h(tau) averaged over neurons
and time origins (FFT), and lambda_max per step from ``rd.max_lyapunov`` (two trajectories,
renormalised every step, over the same window). Theory: ``rnndyn.meanfield.gru_dmft`` /
``lstm_dmft`` (wall time per solve reported).

Usage (one JSON line per point, appended to --out):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_discrete_vs_simulation.py sim gru --g-h 3 --alpha-r 5 --n 2000
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_discrete_vs_simulation.py dmft gru --g-h 3 --alpha-r 5
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_discrete_vs_simulation.py sim lstm --g 6 --alpha 2 --n 1000
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_discrete_vs_simulation.py bench gru   # CPU time per solve
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import rnndyn as rd
from rnndyn.meanfield import gru_dmft, lstm_dmft

LAGS = (0, 1, 2, 5, 10, 20)


def build(args: argparse.Namespace, gen: torch.Generator):  # noqa: ANN201
    kw = {"generator": gen, "dtype": torch.float64}
    if args.model == "gru":
        return rd.GRU(
            args.n, g_h=args.g_h, alpha_z=args.alpha_z, alpha_r=args.alpha_r, bias_z=args.bias_z, **kw
        )
    a = args.alpha
    return rd.LSTM(args.n, g=args.g, alpha_f=a, alpha_i=a, alpha_o=a, **kw)


def simulate(args: argparse.Namespace) -> dict:
    gen = torch.Generator().manual_seed(args.seed)
    net = build(args, gen)
    n = args.n
    t0 = time.time()
    with torch.no_grad():
        h = torch.randn(net.state_size, generator=gen, dtype=torch.float64)
        for _ in range(args.transient):
            h = net.step(h)
        traj = torch.empty(args.steps, n, dtype=torch.float64)
        for t in range(args.steps):
            h = net.step(h)
            traj[t] = h[:n]
    x = traj.numpy()
    nfft = 1 << int(np.ceil(np.log2(2 * args.steps)))
    f = np.fft.rfft(x, n=nfft, axis=0)
    ac = np.fft.irfft(f * f.conj(), n=nfft, axis=0)[: max(LAGS) + 1].mean(1)
    ac /= np.arange(args.steps, args.steps - max(LAGS) - 1, -1)
    lam = rd.max_lyapunov(
        net, n_steps=args.steps, n_transient=args.transient, h0=torch.randn(1, net.state_size, generator=gen,
        dtype=torch.float64), generator=gen, throw=False,
    )  # fmt: skip
    return {
        "kind": "sim", "model": args.model, "n": n, "seed": args.seed, "steps": args.steps,
        "c_h": {str(k): float(ac[k]) for k in LAGS}, "lambda_max": float(lam.exponents.reshape(-1)[0]),
        "lambda_status": str(lam.status), "seconds": time.time() - t0,
    }  # fmt: skip


def gru_two_trajectory(args: argparse.Namespace, *, n: int, seed: int) -> dict:
    """lambda_max per step and <h^2> of one GRU network (``rd.GRU(seed)``), ``--n-traj`` trajectories.

    The GRU map of ``rd.GRU`` (h' = (1 - z) h + z tanh(W_h (r * h)), z = sigma(W_z h + b_z),
    r = sigma(W_r h)), written out for a batch of reference and perturbed states so that one matrix
    product serves all of them; a gate product with an exactly-zero weight matrix (alpha = 0) is
    skipped, which changes no bit. Checked against ``net.step`` at the start of every run.
    Two-trajectory renormalisation every step (d0 = 1e-8) over ``--steps`` steps after
    ``--transient``; per-trajectory lambda and its first-/second-half means (a drift check).
    """
    gen = torch.Generator().manual_seed(seed)
    net = rd.GRU(n, g_h=args.g_h, alpha_z=args.alpha_z, alpha_r=args.alpha_r, bias_z=args.bias_z,
                 generator=gen, dtype=torch.float64)  # fmt: skip
    wh, wz, wr = (w.detach() for w in (net.weight_hh, net.weight_hz, net.weight_hr))
    bz, br, bh = (b.detach() for b in (net.bias_z, net.bias_r, net.bias_h))
    zero_z, zero_r = not bool(wz.any()), not bool(wr.any())

    def step(h: torch.Tensor) -> torch.Tensor:
        z = torch.sigmoid(bz.expand_as(h) if zero_z else h @ wz.T + bz)
        r = torch.sigmoid(br.expand_as(h) if zero_r else h @ wr.T + br)
        return (1.0 - z) * h + z * torch.tanh((r * h) @ wh.T + bh)

    b = args.n_traj
    d0 = 1e-8
    with torch.no_grad():
        ref = torch.randn(b, n, generator=gen, dtype=torch.float64)
        d = torch.randn(b, n, generator=gen, dtype=torch.float64)
        x = torch.cat([ref, ref + d0 * d / d.norm(dim=1, keepdim=True)])
        err = float((step(x) - net.step(x)).abs().max())
        if err > 1e-12:
            raise RuntimeError(f"the batched GRU step differs from net.step by {err:.2e}")
        logs, h2 = [], []
        for t in range(args.transient + args.steps):
            x = step(x)
            sep = x[b:] - x[:b]
            dist = sep.norm(dim=1)
            if t >= args.transient:
                logs.append(torch.log(dist / d0).numpy().copy())
                h2.append(float((x[:b] ** 2).mean()))
            x[b:] = x[:b] + sep * (d0 / dist)[:, None]
    lg = np.array(logs)
    half = lg.shape[0] // 2
    lam = lg.mean(0)
    return {
        "lambda_max": float(lam.mean()), "lambda_traj": lam.tolist(),
        "lambda_halves": [float(lg[:half].mean()), float(lg[half:].mean())], "h2": float(np.mean(h2)),
        "transient": args.transient, "steps": args.steps, "n_traj": b, "step_check": err,
    }  # fmt: skip


def fss(args: argparse.Namespace) -> None:
    """Finite-size study: one row per (N, seed) appended to --out, then mean +- se over seeds per N."""
    for n in args.n_list or []:
        for seed in args.seeds or [args.seed]:
            t0 = time.time()
            row = {"kind": "fss", "model": "gru", "params": [args.g_h, args.alpha_z, args.alpha_r, args.bias_z],
                   "n": n, "seed": seed} | gru_two_trajectory(args, n=n, seed=seed)  # fmt: skip
            row["seconds"] = round(time.time() - t0, 1)
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    if not args.out:
        return
    with open(args.out) as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    params = [args.g_h, args.alpha_z, args.alpha_r, args.bias_z]
    rows = [r for r in rows if r.get("kind") == "fss" and r["params"] == params]
    print(fss_table(rows))


def fss_table(rows: list[dict]) -> str:
    """Mean +- standard error over seeds per N, and weighted fits lambda(N) = l_inf + a/N, + a/sqrt(N)."""
    from scipy.optimize import curve_fit

    groups: dict[int, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["n"], []).append(r)
    lines = ["| N | seeds x traj | steps (transient + measured) | lambda_max mean +- se (sd) | <h^2> mean +- se | 1st / 2nd half |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    pts = []
    for n, rs in sorted(groups.items()):
        lam = np.array([r["lambda_max"] for r in rs])
        h2 = np.array([r["h2"] for r in rs])
        hv = np.array([r["lambda_halves"] for r in rs]).mean(0)
        k = len(rs)
        se, sd = (lam.std(ddof=1) / np.sqrt(k), lam.std(ddof=1)) if k > 1 else (float("nan"), float("nan"))
        h2se = h2.std(ddof=1) / np.sqrt(k) if k > 1 else float("nan")
        lines.append(
            f"| {n} | {k} x {rs[0]['n_traj']} | {rs[0]['transient']} + {rs[0]['steps']} | {lam.mean():.4f} +- {se:.4f} "
            f"({sd:.4f}) | {h2.mean():.4f} +- {h2se:.4f} | {hv[0]:.4f} / {hv[1]:.4f} |"
        )
        if k > 1:
            pts.append((n, lam.mean(), se))
    if len(pts) >= 3:
        ns, ys, es = (np.array(v, dtype=float) for v in zip(*pts, strict=True))
        for name, fn in (
            ("a/N", lambda n, l0, a: l0 + a / n),
            ("a/sqrt(N)", lambda n, l0, a: l0 + a / np.sqrt(n)),
        ):
            p, cov = curve_fit(fn, ns, ys, sigma=es, absolute_sigma=True)
            res = (ys - fn(ns, *p)) / es
            lines.append(
                f"fit l_inf + {name}: l_inf = {p[0]:.4f} +- {np.sqrt(cov[0, 0]):.4f}, a = {p[1]:.3g} +- "
                f"{np.sqrt(cov[1, 1]):.2g}, chi2 = {float(res @ res):.2f} (dof {len(ns) - 2})"
            )
    return "\n".join(lines)


def theory(args: argparse.Namespace) -> dict:
    t0 = time.time()
    if args.model == "gru":
        r = gru_dmft(
            args.g_h,
            alpha_z=args.alpha_z,
            alpha_r=args.alpha_r,
            bias_z=args.bias_z,
            n_samples=args.n_samples,
            seed=args.seed,
        )
    else:
        a = args.alpha
        r = lstm_dmft(args.g, alpha_f=a, alpha_i=a, alpha_o=a, n_samples=args.n_samples, seed=args.seed)
    return {
        "kind": "dmft", "model": args.model, "params": r.params, "method": r.method,
        "c_h": {str(k): float(r.c_h[k]) for k in LAGS}, "lambda_max": r.lambda_max, "lambda_method": r.lambda_method,
        "relaxation_time": r.relaxation_time, "residual": r.residual, "residual_fresh": r.residual_fresh,
        "status": str(r.status), "message": r.message, "seconds": time.time() - t0,
    }  # fmt: skip


def bench() -> None:
    """CPU time (``time.process_time``) per solve, next to a reference ``scs_dmft(1.5)`` in the same process."""
    from rnndyn.meanfield import scs_dmft

    def cpu(fn):  # noqa: ANN001, ANN202
        t = time.process_time()
        out = fn()
        return out, time.process_time() - t

    _, ref = cpu(lambda: scs_dmft(1.5))
    runs = {
        "gru_dmft(4.0, bias_z=30.0) (z -> 1: vanilla map)": lambda: gru_dmft(4.0, bias_z=30.0),
        "gru_dmft(3.0) (Gaussian route)": lambda: gru_dmft(3.0),
        "gru_dmft(3.0, alpha_r=5.0) (Gaussian route)": lambda: gru_dmft(3.0, alpha_r=5.0),
        "gru_dmft(3.0, alpha_z=5.0, alpha_r=5.0, lyapunov=False) (sampled, M = 2000)": lambda: gru_dmft(
            3.0, alpha_z=5.0, alpha_r=5.0, lyapunov=False
        ),
        "gru_dmft(3.0, alpha_z=5.0, alpha_r=5.0) (sampled, M = 2000, with lambda)": lambda: gru_dmft(
            3.0, alpha_z=5.0, alpha_r=5.0
        ),
        "lstm_dmft(6.0, alpha_f=alpha_i=alpha_o=2, lyapunov=False) (M = 2000)": lambda: lstm_dmft(
            6.0, alpha_f=2.0, alpha_i=2.0, alpha_o=2.0, lyapunov=False
        ),
    }
    print(f"reference scs_dmft(1.5): {ref:.2f} s CPU")
    for name, fn in runs.items():
        r, t = cpu(fn)
        print(
            f"| `{name}` | C_h(0) {r.c_h0:.4f}, lambda {r.lambda_max:.4f}, {r.iterations} maps, "
            f"status {r.status} | {t:.1f} | {t / ref:.1f} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=("sim", "dmft", "bench", "fss"))
    p.add_argument("model", choices=("gru", "lstm"))
    p.add_argument("--g-h", type=float, default=3.0)
    p.add_argument("--alpha-z", type=float, default=0.0)
    p.add_argument("--alpha-r", type=float, default=0.0)
    p.add_argument(
        "--bias-z", type=float, default=0.0, help="GRU update-gate bias (z = sigma(b_z) at alpha_z = 0)"
    )
    p.add_argument("--g", type=float, default=6.0, help="LSTM candidate gain")
    p.add_argument("--alpha", type=float, default=2.0, help="LSTM gate gains (alpha_f = alpha_i = alpha_o)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--transient", type=int, default=500)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--n-samples", type=int, default=4000)
    p.add_argument("--out", default=None)
    p.add_argument("--n-list", type=int, nargs="+", default=None, help="fss: network sizes")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="fss: network seeds")
    p.add_argument("--n-traj", type=int, default=2, help="fss: trajectories per network")
    args = p.parse_args()
    if args.kind == "fss":
        if args.model != "gru":
            raise ValueError(f"fss: model must be 'gru', got {args.model!r}")
        fss(args)
        return
    if args.kind == "bench":
        bench()
        return
    row = simulate(args) if args.kind == "sim" else theory(args)
    line = json.dumps(row)
    print(line)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()

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
    p.add_argument("kind", choices=("sim", "dmft", "bench"))
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
    args = p.parse_args()
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

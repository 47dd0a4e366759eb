"""Gated-flow DMFT against finite-N simulation (the documented runs of docs/meanfield.md).

Simulation: the continuous-time gated RNN (KCS22, rnndyn.GatedRateRNN's weights), RK4 with
dt = 0.1 from h, z, r ~ N(0, 1); lambda_max by two-trajectory renormalisation of the full
(h, z, r) separation every time unit (d0 = 1e-7); C_h(tau) averaged over neurons and time
origins after the transient. Theory: rnndyn.meanfield.dmft.gated_dmft.

Usage (one line of JSON per point; appends to --out):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_vs_simulation.py sim --g-h 3 --alpha-z 5 --n 1000
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_vs_simulation.py dmft --g-h 3 --alpha-z 5
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_vs_simulation.py dmft --g-h 4 --alpha-z 10 \
      --n-samples 1000 --tau-max 150 --dt 0.2        # window 2 tau_max, burn-in 0.4 tau_max
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

import rnndyn as rd
from rnndyn.meanfield.dmft import gated_dmft

LAGS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0)


def simulate(g_h, alpha_z, alpha_r, *, n, seed, t_transient=200.0, t_measure=300.0, dt=0.1):  # noqa: ANN001, ANN201
    gen = torch.Generator().manual_seed(seed)
    net = rd.GatedRateRNN(n, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, generator=gen, dtype=torch.float64)
    wh = net.weight_hh.detach()
    wzr = torch.cat([net.weight_hz.detach(), net.weight_hr.detach()], 0)  # (2n, n)

    def f(x):  # noqa: ANN001, ANN202 - x: (2, 3n), the (P-1) vector field for two copies
        h, z, r = x[:, :n], x[:, n : 2 * n], x[:, 2 * n :]
        phi = torch.tanh(h)
        u_h = (phi * torch.sigmoid(r)) @ wh.T
        u_zr = phi @ wzr.T
        return torch.cat([torch.sigmoid(z) * (-h + u_h), -z + u_zr[:, :n], -r + u_zr[:, n:]], 1)

    x0 = torch.randn(3 * n, generator=gen, dtype=torch.float64)
    d = torch.randn(3 * n, generator=gen, dtype=torch.float64)
    d0 = 1e-7
    x = torch.stack([x0, x0 + d0 * d / d.norm()])
    steps_unit = int(round(1.0 / dt))
    n_tr = int(round(t_transient / dt))
    n_ms = int(round(t_measure / dt))
    log_sum, t_sum = 0.0, 0.0
    rec = []
    for k in range(n_tr + n_ms):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        k4 = f(x + dt * k3)
        x = x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        if (k + 1) % steps_unit == 0:
            sep = x[1] - x[0]
            dist = float(sep.norm())
            if k >= n_tr:
                log_sum += math.log(dist / d0)
                t_sum += 1.0
            x[1] = x[0] + sep * (d0 / dist)
        if k >= n_tr and (k - n_tr) % 5 == 0:  # every 0.5 time units
            rec.append(x[0, :n].clone())
    hs = torch.stack(rec).numpy()  # (T, n)
    lag_steps = [int(round(lag / 0.5)) for lag in LAGS]
    c = [float(np.mean(hs[: hs.shape[0] - m] * hs[m:])) for m in lag_steps]
    return {"lambda_max": log_sum / t_sum, "c_h": dict(zip(map(str, LAGS), c, strict=True))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("sim", "dmft"))
    ap.add_argument("--g-h", type=float, required=True)
    ap.add_argument("--alpha-z", type=float, default=0.0)
    ap.add_argument("--alpha-r", type=float, default=0.0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--t-measure", type=float, default=300.0)
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--tau-max", type=float, default=None, help="DMFT lag window (default: gated_dmft's)")
    ap.add_argument("--dt", type=float, default=0.1, help="DMFT lag step / Heun step")
    ap.add_argument(
        "--window", type=float, default=None, help="sampled path window (default 100 or 2 tau_max)"
    )
    ap.add_argument("--burn-in", type=float, default=None, help="sampled burn-in (default 30 or 0.4 tau_max)")
    ap.add_argument("--out", default="dmft_vs_simulation.jsonl")
    a = ap.parse_args()
    t0 = time.perf_counter()
    row = {"what": a.what, "g_h": a.g_h, "alpha_z": a.alpha_z, "alpha_r": a.alpha_r}
    if a.what == "sim":
        row |= {"n": a.n, "seed": a.seed} | simulate(
            a.g_h, a.alpha_z, a.alpha_r, n=a.n, seed=a.seed, t_measure=a.t_measure
        )
    else:
        long = a.tau_max is not None and a.tau_max > 50
        window = a.window if a.window is not None else (2 * a.tau_max if long else 100.0)
        burn_in = a.burn_in if a.burn_in is not None else (0.4 * a.tau_max if long else 30.0)
        r = gated_dmft(a.g_h, alpha_z=a.alpha_z, alpha_r=a.alpha_r, n_samples=a.n_samples, seed=a.seed,
                       tau_max=a.tau_max, dt=a.dt, window=window, burn_in=burn_in)  # fmt: skip
        row |= {
            "method": r.method, "lambda_max": r.lambda_max, "relaxation_time": r.relaxation_time,
            "c_h0": r.c_h0, "c_z0": r.c_z0, "tau_max": float(r.tau[-1]),
            "c_h": {str(lag): float(np.interp(lag, r.tau, r.c_h)) for lag in LAGS},
            "residual_fresh": r.residual_fresh, "status": str(r.status), "message": r.message,
        }  # fmt: skip
    row["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(row))
    with open(a.out, "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

"""Adjoint-DMFT gradient norms against backpropagation through time in finite gated flows.

Loss (both sides): the random readout F = (1/N) sum_i v_i h_i(T), v ~ N(0, I) independent of the
network, of the continuous-time gated RNN (KCS22, ``rd.GatedRateRNN`` at zero biases) started on
its stationary state (after a transient) at t = 0. Reported: ||dF/dJ^x||_F^2 for the unit-variance
couplings J^x = W^x / gain (x = h, z, r; the model's weight_hh, weight_hz, weight_hr), and
N ||dF/dh(0)||^2.

Network side (``bptt``): RK4 with step dt, a transient of ``--transient`` time units from
h, z, r ~ N(0, 1) without gradients, then autograd through the RK4 steps of ``rd.GatedRateRNN``'s
vector field up to the largest horizon; one backward pass per (readout, horizon).
Theory side (``theory``): ``rnndyn.meanfield.adjoint_gradient_norms``.

Usage (one JSON line per network / theory point, appended to --out):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/adjoint_vs_bptt.py bptt --g-h 3 --alpha-r 5 --n 1000 --seed 0
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/adjoint_vs_bptt.py theory --g-h 3 --alpha-r 5
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/adjoint_vs_bptt.py table --out adjoint_vs_bptt.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import defaultdict

import numpy as np

from rnndyn.meanfield.adjoint import adjoint_gradient_norms
from rnndyn.reproduce.kcs22 import network_gradient_norms

HORIZONS = (1.0, 2.0, 5.0, 10.0)
KEYS = ("norm_j_h", "norm_j_z", "norm_j_r", "state_norm")


def bptt(g_h, alpha_z, alpha_r, *, n, seed, horizons=HORIZONS, dt=0.1, transient=200.0, readouts=2):  # noqa: ANN001, ANN201
    out = network_gradient_norms(
        g_h,
        alpha_z,
        alpha_r,
        n=n,
        seed=seed,
        horizons=horizons,
        dt=dt,
        transient=transient,
        readouts=readouts,
    )
    return {str(T): v for T, v in out.items()}


def theory(
    g_h,
    alpha_z,
    alpha_r,
    *,
    horizons=HORIZONS,
    n_samples=8000,
    replicas=1,
    seed=0,
    dt=0.1,
    forward_samples=4000,
):  # noqa: ANN001, ANN201
    r = adjoint_gradient_norms(
        g_h, alpha_z=alpha_z, alpha_r=alpha_r, horizon=max(horizons), n_samples=n_samples, replicas=replicas,
        seed=seed, dt=dt, method="sampled" if alpha_z > 0 else "gaussian", forward_samples=forward_samples,
    )  # fmt: skip
    return {
        "status": r.status.value,
        "message": r.message,
        "lambda_max": r.lambda_max,
        "growth_rate": r.growth_rate,
        "points": {str(T): r.at(T) for T in horizons},
        "stderr_w": {
            str(T): [float(getattr(r, f"stderr_w_{x}")[int(round(T / dt))]) for x in "hzr"] for T in horizons
        },
    }


def table(path: str) -> None:
    rows = [json.loads(line) for line in open(path)]
    th = {(r["g_h"], r["alpha_z"], r["alpha_r"]): r for r in rows if r["what"] == "theory"}
    sims = defaultdict(list)
    for r in rows:
        if r["what"] == "bptt":
            sims[(r["g_h"], r["alpha_z"], r["alpha_r"], r["n"])].append(r)
    for key, runs in sorted(sims.items()):
        t = th[key[:3]]["result"] if key[:3] in th else None
        print(f"(g_h, alpha_z, alpha_r) = {key[:3]}, N = {key[3]}, {len(runs)} networks")
        for T in runs[0]["result"]:
            cells = []
            for k in KEYS:
                vals = np.array([r["result"][T][k] for r in runs])
                mean, se = (
                    vals.mean(),
                    vals.std(ddof=1) / math.sqrt(len(vals)) if len(vals) > 1 else float("nan"),
                )
                pred = t["points"][T][k] if t and T in t["points"] else float("nan")
                cells.append(f"{k} {mean:.4g}+-{se:.2g} vs {pred:.4g}")
            print(f"  T={T}: " + "; ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("bptt", "theory", "table"))
    ap.add_argument("--g-h", type=float, default=3.0)
    ap.add_argument("--alpha-z", type=float, default=0.0)
    ap.add_argument("--alpha-r", type=float, default=0.0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--horizons", type=float, nargs="+", default=list(HORIZONS))
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--transient", type=float, default=200.0)
    ap.add_argument("--readouts", type=int, default=2)
    ap.add_argument("--n-samples", type=int, default=8000)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--forward-samples", type=int, default=4000)
    ap.add_argument("--out", default="adjoint_vs_bptt.jsonl")
    a = ap.parse_args()
    if a.what == "table":
        table(a.out)
        return
    t0 = time.process_time()
    if a.what == "bptt":
        res = bptt(a.g_h, a.alpha_z, a.alpha_r, n=a.n, seed=a.seed, horizons=tuple(a.horizons), dt=a.dt,
                   transient=a.transient, readouts=a.readouts)  # fmt: skip
    else:
        res = theory(a.g_h, a.alpha_z, a.alpha_r, horizons=tuple(a.horizons), n_samples=a.n_samples,
                     replicas=a.replicas, seed=a.seed, dt=a.dt, forward_samples=a.forward_samples)  # fmt: skip
    line = {"what": a.what, "g_h": a.g_h, "alpha_z": a.alpha_z, "alpha_r": a.alpha_r, "n": a.n, "seed": a.seed,
            "dt": a.dt, "cpu_s": round(time.process_time() - t0, 1), "result": res}  # fmt: skip
    print(json.dumps(line))
    with open(a.out, "a") as f:
        f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()

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
import time

import numpy as np
import torch

import rnndyn as rd
from rnndyn.meanfield.dmft import gated_dmft

LAGS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0)


def simulate(g_h, alpha_z, alpha_r, *, n, seed, t_transient=200.0, t_measure=300.0, dt=0.1, n_traj=1):  # noqa: ANN001, ANN201, PLR0913
    """One network (seed), ``n_traj`` independent trajectories on it (n_traj = 1: the original run).

    Returns the network's lambda_max (mean over its trajectories), each trajectory's lambda and
    its first-/second-half values (a drift check), and C_h at LAGS from the first trajectory.
    """
    gen = torch.Generator().manual_seed(seed)
    net = rd.GatedRateRNN(n, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, generator=gen, dtype=torch.float64)
    wh = net.weight_hh.detach()
    wzr = torch.cat([net.weight_hz.detach(), net.weight_hr.detach()], 0)  # (2n, n)
    # alpha_z = alpha_r = 0: W_z = W_r = 0 exactly, so phi @ wzr.T is exactly 0 and skipping the
    # product changes no bit of the trajectory (it only saves 2/3 of the matrix work)
    gates_coupled = bool(wzr.any())

    def f(x):  # noqa: ANN001, ANN202 - x: (2B, 3n), the (P-1) vector field for all copies
        h, z, r = x[:, :n], x[:, n : 2 * n], x[:, 2 * n :]
        phi = torch.tanh(h)
        u_h = (phi * torch.sigmoid(r)) @ wh.T
        if not gates_coupled:
            return torch.cat([torch.sigmoid(z) * (-h + u_h), -z, -r], 1)
        u_zr = phi @ wzr.T
        return torch.cat([torch.sigmoid(z) * (-h + u_h), -z + u_zr[:, :n], -r + u_zr[:, n:]], 1)

    d0 = 1e-7
    ref, pert = [], []
    for _ in range(n_traj):  # rows 0..B-1 reference, B..2B-1 perturbed copies
        x0 = torch.randn(3 * n, generator=gen, dtype=torch.float64)
        d = torch.randn(3 * n, generator=gen, dtype=torch.float64)
        ref.append(x0)
        pert.append(x0 + d0 * d / d.norm())
    x = torch.stack(ref + pert)
    b = n_traj
    steps_unit = int(round(1.0 / dt))
    n_tr = int(round(t_transient / dt))
    n_ms = int(round(t_measure / dt))
    rec_every = int(round(0.5 / dt))
    logs = []  # (B,) log growth per time unit over the measured window
    rec, h2 = [], []
    for k in range(n_tr + n_ms):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        k4 = f(x + dt * k3)
        x = x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        if (k + 1) % steps_unit == 0:
            sep = x[b:] - x[:b]
            dist = sep.norm(dim=1)
            if k >= n_tr:
                logs.append(torch.log(dist / d0).numpy().copy())
            x[b:] = x[:b] + sep * (d0 / dist)[:, None]
        if k >= n_tr and (k - n_tr) % rec_every == 0:  # every 0.5 time units
            rec.append(x[0, :n].clone())
            h2.append(float((x[:b, :n] ** 2).mean()))
    hs = torch.stack(rec).numpy()  # (T, n)
    lag_steps = [int(round(lag / 0.5)) for lag in LAGS]
    c = [float(np.mean(hs[: hs.shape[0] - m] * hs[m:])) for m in lag_steps]
    lg = np.array(logs)  # (T, B)
    half = lg.shape[0] // 2
    lam_traj = lg.mean(0)
    return {
        "lambda_max": float(lam_traj.mean()),
        "lambda_traj": lam_traj.tolist(),
        "lambda_halves": [float(lg[:half].mean()), float(lg[half:].mean())],
        "h2": float(np.mean(h2)),
        "c_h": dict(zip(map(str, LAGS), c, strict=True)),
        "t_transient": t_transient, "t_measure": t_measure, "dt": dt, "n_traj": n_traj,
    }  # fmt: skip


def fss_table(rows: list[dict], *, dmft_lambda: float | None = None) -> str:
    """Mean +- standard error over seeds per (N, dt), and weighted fits lambda(N) = l_inf + a N^-b."""
    from scipy.optimize import curve_fit

    groups: dict[tuple[int, float], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["n"], r["dt"]), []).append(r)
    lines = [
        "| N | dt | seeds | T (transient + measured) | lambda_max mean +- se (sd) | <h^2> mean +- se | lambda 1st / 2nd half |"
    ]
    lines.append("|---|---|---|---|---|---|---|")
    pts = []
    for (n, dt), rs in sorted(groups.items()):
        lam = np.array([r["lambda_max"] for r in rs])
        h2 = np.array([r["h2"] for r in rs])
        halves = np.array([r["lambda_halves"] for r in rs]).mean(0)
        se = lam.std(ddof=1) / np.sqrt(len(lam)) if len(lam) > 1 else float("nan")
        h2se = h2.std(ddof=1) / np.sqrt(len(h2)) if len(h2) > 1 else float("nan")
        lines.append(
            f"| {n} | {dt} | {len(rs)} x {rs[0]['n_traj']} traj | {rs[0]['t_transient']:g} + {rs[0]['t_measure']:g} "
            f"| {lam.mean():.4f} +- {se:.4f} ({lam.std(ddof=1) if len(lam) > 1 else float('nan'):.4f}) "
            f"| {h2.mean():.3f} +- {h2se:.3f} | {halves[0]:.4f} / {halves[1]:.4f} |"
        )
        if dt == max(d for (m, d) in groups if m == n) and len(lam) > 1:
            pts.append((n, lam.mean(), se))
    if len(pts) >= 3:
        ns, ys, es = (np.array(v, dtype=float) for v in zip(*pts, strict=True))
        p, cov = curve_fit(lambda n, l0, a: l0 + a / n, ns, ys, sigma=es, absolute_sigma=True)
        resid = (ys - (p[0] + p[1] / ns)) / es
        lines.append(
            f"fit l_inf + a/N: l_inf = {p[0]:.4f} +- {np.sqrt(cov[0, 0]):.4f}, a = {p[1]:.2f} +- {np.sqrt(cov[1, 1]):.2f}, "
            f"chi2 = {float(resid @ resid):.2f} (dof {len(ns) - 2})"
        )
        p, cov = curve_fit(lambda n, l0, a: l0 + a / np.sqrt(n), ns, ys, sigma=es, absolute_sigma=True)
        resid = (ys - (p[0] + p[1] / np.sqrt(ns))) / es
        lines.append(
            f"fit l_inf + a/sqrt(N): l_inf = {p[0]:.4f} +- {np.sqrt(cov[0, 0]):.4f}, a = {p[1]:.3f} +- {np.sqrt(cov[1, 1]):.3f}, "
            f"chi2 = {float(resid @ resid):.2f} (dof {len(ns) - 2})"
        )
        if len(pts) >= 4:
            try:
                p, cov = curve_fit(
                    lambda n, l0, a, b: l0 + a * n ** (-b), ns, ys, p0=(ys[-1], -1.0, 0.5), sigma=es,
                    absolute_sigma=True, maxfev=20000,
                )  # fmt: skip
                err = np.sqrt(np.diag(cov))
                lines.append(
                    f"fit l_inf + a N^-b: l_inf = {p[0]:.4f} +- {err[0]:.4f}, a = {p[1]:.3g} +- {err[1]:.2g}, "
                    f"b = {p[2]:.2f} +- {err[2]:.2f}"
                )
            except RuntimeError as exc:
                lines.append(f"fit l_inf + a N^-b failed: {exc}")
    if dmft_lambda is not None:
        lines.append(f"DMFT lambda_max = {dmft_lambda:.4f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("sim", "dmft", "fss", "table"))
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
    ap.add_argument("--t-transient", type=float, default=200.0, help="sim / fss: transient time units")
    ap.add_argument("--sim-dt", type=float, default=0.1, help="sim / fss: RK4 step")
    ap.add_argument("--n-traj", type=int, default=1, help="sim / fss: trajectories per network")
    ap.add_argument("--n-list", type=int, nargs="+", default=None, help="fss: network sizes")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="fss: network seeds")
    ap.add_argument("--dmft-lambda", type=float, default=None, help="fss / table: DMFT value to print")
    a = ap.parse_args()
    t0 = time.perf_counter()
    row = {"what": a.what, "g_h": a.g_h, "alpha_z": a.alpha_z, "alpha_r": a.alpha_r}
    sim_kw = {"t_transient": a.t_transient, "t_measure": a.t_measure, "dt": a.sim_dt, "n_traj": a.n_traj}
    if a.what in ("fss", "table"):  # one "sim" row per (N, seed), then the table over seeds
        if a.what == "fss":
            for n in a.n_list or [a.n]:
                for seed in a.seeds or [a.seed]:
                    t1 = time.perf_counter()
                    r = row | {"what": "sim", "n": n, "seed": seed}
                    r |= simulate(a.g_h, a.alpha_z, a.alpha_r, n=n, seed=seed, **sim_kw)
                    r["seconds"] = round(time.perf_counter() - t1, 1)
                    print(json.dumps(r), flush=True)
                    with open(a.out, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
        with open(a.out) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        keys = ("g_h", "alpha_z", "alpha_r")
        rows = [r for r in rows if r["what"] == "sim" and "h2" in r and all(r[k] == row[k] for k in keys)]
        print(fss_table(rows, dmft_lambda=a.dmft_lambda))
        return
    if a.what == "sim":
        row |= {"n": a.n, "seed": a.seed} | simulate(
            a.g_h, a.alpha_z, a.alpha_r, n=a.n, seed=a.seed, **sim_kw
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

"""Two-time DMFT (``rnndyn.meanfield.gated_dmft_ageing``) against finite gated flows started from
the same Gaussian initial condition: C_h(t_w, t_w + tau) at several ages t_w.

Network side (``sim``): ``rd.GatedRateRNN(N, g_h, alpha_z, alpha_r)`` (zero biases), state
``(h, z, r)`` drawn i.i.d. N(0, 1) at t = 0 (no transient: the age is counted from the start),
RK4 with step ``--dt``, ``h`` recorded every ``--record`` time units; the population average
``C_h(t, t') = (1/N) sum_i h_i(t) h_i(t')`` is the quantity the DMFT predicts (no time average).
Theory side (``dmft``): ``gated_dmft_ageing`` with ``init_var = (1, 1, 1)`` on the same grid.
``table`` prints both at the ages and lags requested, with the networks' mean and spread.

Usage (one .npz per run in --dir):
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_ageing_vs_simulation.py sim --g-h 4 --alpha-z 10 --n 2000 --t-max 150 --seed 0
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_ageing_vs_simulation.py dmft --g-h 4 --alpha-z 10 --t-max 150
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_ageing_vs_simulation.py table --g-h 4 --alpha-z 10
  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dmft_ageing_vs_simulation.py lyapunov --g-h 4 --alpha-z 10
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import rnndyn as rd
from rnndyn.meanfield.dmft_ageing import gated_dmft_ageing


def _tag(a: argparse.Namespace) -> str:
    return f"g{a.g_h:g}_az{a.alpha_z:g}_ar{a.alpha_r:g}"


def sim(a: argparse.Namespace) -> None:
    gen = torch.Generator().manual_seed(a.seed)
    net = rd.GatedRateRNN(
        a.n, g_h=a.g_h, alpha_z=a.alpha_z, alpha_r=a.alpha_r, generator=gen, dtype=torch.float64
    )
    fmap = rd.discretise(net, dt=a.dt, method="rk4")
    every = int(round(a.record / a.dt))
    n_rec = int(round(a.t_max / a.record)) + 1
    x = torch.randn(1, 3 * a.n, generator=gen, dtype=torch.float64)
    # a tangent vector along the orbit (the exact RK4 tangent), renormalised every step: its
    # accumulated log-norm gives the finite-time Lyapunov exponent over any window of ages
    q = torch.randn(1, 3 * a.n, 1, generator=gen, dtype=torch.float64)
    q = q / q.norm()
    log_norm, logs = 0.0, np.empty(n_rec)
    hs = np.empty((n_rec, a.n))
    t0 = time.process_time()
    with torch.no_grad():
        for k in range((n_rec - 1) * every + 1):
            if k % every == 0:
                hs[k // every] = x[0, : a.n].numpy()
                logs[k // every] = log_norm
            if k < (n_rec - 1) * every:
                x, q = fmap.step_and_tangent(x, None, q)
                nq = float(q.norm())
                log_norm += np.log(nq)
                q = q / nq
    c_h = hs @ hs.T / a.n
    out = Path(a.dir) / f"sim_{_tag(a)}_n{a.n}_s{a.seed}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, c_h=c_h, t=np.arange(n_rec) * a.record, log_norm=logs, cpu=time.process_time() - t0)
    print(f"{out}: C_h(t_max, t_max) = {c_h[-1, -1]:.4f}, {time.process_time() - t0:.0f} s CPU")


def dmft(a: argparse.Namespace) -> None:
    t0 = time.process_time()
    r = gated_dmft_ageing(
        a.g_h, alpha_z=a.alpha_z, alpha_r=a.alpha_r, t_max=a.t_max, dt=a.record, n_samples=a.n_samples,
        seed=a.seed, max_iter=a.max_iter,
    )  # fmt: skip
    out = Path(a.dir) / f"dmft_{_tag(a)}_m{a.n_samples}_s{a.seed}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, c_h=r.c_h, t=r.t, log_norm=r.log_tangent_norm, cpu=time.process_time() - t0,
             residual=r.residual, iterations=r.iterations)  # fmt: skip
    print(r.summary())
    print(f"{out}: {time.process_time() - t0:.0f} s CPU")


def table(a: argparse.Namespace) -> None:
    d = Path(a.dir)
    th = sorted(d.glob(f"dmft_{_tag(a)}_*.npz"))
    nets = sorted(d.glob(f"sim_{_tag(a)}_*.npz"))
    if not th or not nets:
        raise SystemExit(f"need dmft_{_tag(a)}_*.npz and sim_{_tag(a)}_*.npz in {d}")
    T = np.load(th[0])
    sims = [np.load(f) for f in nets]
    dt = float(T["t"][1] - T["t"][0])
    print(f"## (g_h, alpha_z, alpha_r) = ({a.g_h:g}, {a.alpha_z:g}, {a.alpha_r:g}); theory {th[0].name}; "
          f"networks: {', '.join(f.name for f in nets)}")  # fmt: skip
    print("| t_w | tau | DMFT C_h(t_w, t_w+tau) | networks (mean; each) |")
    print("|---|---|---|---|")
    for t_w in a.ages:
        for tau in a.lags:
            i, j = int(round(t_w / dt)), int(round((t_w + tau) / dt))
            if j >= T["t"].size:
                continue
            vals = []
            for s in sims:
                ds = float(s["t"][1] - s["t"][0])
                ii, jj = int(round(t_w / ds)), int(round((t_w + tau) / ds))
                if jj < s["t"].size:
                    vals.append(float(s["c_h"][ii, jj]))
            each = ", ".join(f"{v:.3f}" for v in vals)
            print(f"| {t_w:g} | {tau:g} | {float(T['c_h'][i, j]):.3f} | {np.mean(vals):.3f}; {each} |")


def lyapunov_table(a: argparse.Namespace) -> None:
    """Finite-time Lyapunov exponents over windows of age: DMFT tangent vs the networks' tangent."""
    d = Path(a.dir)
    T = np.load(sorted(d.glob(f"dmft_{_tag(a)}_*.npz"))[0])
    sims = [np.load(f) for f in sorted(d.glob(f"sim_{_tag(a)}_*.npz"))]
    sims = [s for s in sims if "log_norm" in s.files]

    def rate(f, lo: float, hi: float) -> float:
        dt = float(f["t"][1] - f["t"][0])
        return float((f["log_norm"][int(round(hi / dt))] - f["log_norm"][int(round(lo / dt))]) / (hi - lo))

    print(f"## lambda over windows of age, (g_h, alpha_z, alpha_r) = ({a.g_h:g}, {a.alpha_z:g}, {a.alpha_r:g}); "
          f"{len(sims)} networks")  # fmt: skip
    print("| window | DMFT (two-time) | networks (mean; each) |")
    print("|---|---|---|")
    for lo, hi in a.windows:
        vals = [rate(s, lo, hi) for s in sims]
        each = ", ".join(f"{v:.4f}" for v in vals)
        print(f"| [{lo:g}, {hi:g}] | {rate(T, lo, hi):.4f} | {np.mean(vals):.4f}; {each} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("sim", "dmft", "table", "lyapunov"))
    p.add_argument("--g-h", type=float, default=4.0)
    p.add_argument("--alpha-z", type=float, default=10.0)
    p.add_argument("--alpha-r", type=float, default=0.0)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--n-samples", type=int, default=2000)
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--t-max", type=float, default=150.0)
    p.add_argument("--dt", type=float, default=0.1, help="RK4 step of the networks")
    p.add_argument("--record", type=float, default=0.2, help="grid step (network records, DMFT grid)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ages", type=float, nargs="+", default=[10.0, 25.0, 50.0, 100.0])
    p.add_argument("--lags", type=float, nargs="+", default=[0.0, 2.0, 5.0, 10.0, 20.0, 40.0])
    p.add_argument("--dir", default="ageing_runs")
    p.add_argument(
        "--windows", type=lambda s: tuple(float(v) for v in s.split(",")), nargs="+",
        default=[(10.0, 30.0), (30.0, 60.0), (60.0, 100.0), (100.0, 150.0)], help="lyapunov: windows lo,hi",
    )  # fmt: skip
    a = p.parse_args()
    {"sim": sim, "dmft": dmft, "table": table, "lyapunov": lyapunov_table}[a.what](a)


if __name__ == "__main__":
    main()

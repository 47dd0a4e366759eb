"""Mean-field speed: a 100 x 100 (g_h, alpha_r) MFT phase diagram and one DMFT lambda_max.

Reference run in the same process: the same fixed-point roots and rho computed pointwise with
scipy.integrate.quad + brentq on a 5 x 5 sub-grid (timed, extrapolated per point), printed as a
ratio. Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_meanfield.py
Gated-flow DMFT timings: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_meanfield.py dmft [GRID]
Sampled gated-flow solve against the code of a git revision, same frozen noise, same process:
OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_meanfield.py sampled [REV] [REPEATS]
The same for the sampled discrete GRU / LSTM DMFT:
OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_meanfield.py discrete [REV] [REPEATS]
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

import rnndyn as rd
from rnndyn import meanfield as mf


def _e(f, var):
    if var == 0:
        return float(f(0.0))
    sd = math.sqrt(var)
    pts = [p for p in (-12, -5, -2, 0, 2, 5, 12) if -12 * sd < p < 12 * sd]
    return quad(lambda u: f(u) * math.exp(-0.5 * (u / sd) ** 2) / (math.sqrt(2 * math.pi) * sd), -12 * sd, 12 * sd,
                points=pts or None, limit=200)[0]  # fmt: skip


def _ref_point(g, a):
    """Upper-branch root and rho by adaptive quadrature (the reference)."""
    sig = lambda u: 0.5 * (1 + math.tanh(0.5 * u))  # noqa: E731

    def G(d):
        c = _e(lambda u: math.tanh(u) ** 2, d)
        return d / (c * _e(lambda u: sig(u) ** 2, a * a * c))

    if g * g <= G(1e-8):
        return None
    d = brentq(lambda d: G(d) - g * g, 1e-8, 4 * g * g + 10, xtol=1e-12)
    return d


def main() -> None:
    gh = np.linspace(1.2, 8.0, 100)
    ar = np.linspace(0.0, 30.0, 100)
    t0 = time.perf_counter()
    ds = rd.phase_diagram("gru", g_h=gh, alpha_r=ar)
    t_pd = time.perf_counter() - t0
    sub_g, sub_a = np.linspace(2.2, 8.0, 5), np.linspace(0.0, 2.0, 5)
    t0 = time.perf_counter()
    worst = 0.0
    for g in sub_g:
        for a in sub_a:
            d = _ref_point(g, a)
            ours = mf.fixed_points(float(g), float(a)).delta[-1]
            worst = max(worst, abs(ours - d) / d)
    t_ref = (time.perf_counter() - t0) / sub_g.size / sub_a.size * gh.size * ar.size
    print(f"phase diagram 100x100 (rnndyn): {t_pd:.2f} s; regions {np.unique(ds.region.values).tolist()}")
    print(f"pointwise quad+brentq reference (extrapolated from 5x5, upper branch only): {t_ref:.1f} s")
    print(
        f"speed-up: {t_ref / t_pd:.1f}x; max rel. difference of the FP variance on the sub-grid: {worst:.1e}"
    )
    for g in (2.0, 5.0, 10.0):
        t0 = time.perf_counter()
        r = mf.scs_dmft(g)
        dt = time.perf_counter() - t0
        print(f"SCS DMFT g={g:g}: lambda_max={r.lambda_max:.4f}, E1={r.neutral_energy:.6f}, {dt:.3f} s")


def bench_dmft(grid: int = 3) -> None:
    """Time one gated-flow DMFT solve per route, and a grid x grid (g_h, alpha_r) DMFT phase diagram.

    Reference in the same process: the SCS DMFT (scs_dmft, ODE + Schroedinger) at g = 1.5, which
    the gated DMFT reproduces at alpha_z = alpha_r = 0, g_h = 3. Prints wall and CPU (process) time:
    on a shared machine the CPU time is the one to compare with the 10 s target.
    """
    from rnndyn.meanfield.dmft import dmft_phase_point, gated_dmft

    def timed(fn):  # noqa: ANN001, ANN202
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - w0, time.process_time() - c0

    _, w_ref, c_ref = timed(lambda: mf.scs_dmft(1.5))
    print(f"reference scs_dmft(1.5): {w_ref:.2f} s wall, {c_ref:.2f} s CPU")
    for kw in ({"g_h": 3.0}, {"g_h": 3.0, "alpha_r": 5.0}, {"g_h": 1.9, "alpha_r": 20.0}):
        r, w, c = timed(lambda kw=kw: gated_dmft(**kw))
        print(f"gated DMFT (gaussian) {kw}: C_h(0)={r.c_h0:.4f} lambda={r.lambda_max:.4f}: {w:.2f} s wall, "
              f"{c:.2f} s CPU ({c / c_ref:.1f}x scs_dmft CPU)")  # fmt: skip
    r, w, c = timed(lambda: gated_dmft(3.0, alpha_z=5.0, n_samples=2000, lyapunov=False))
    print(f"gated DMFT (sampled, M=2000, no lambda) alpha_z=5: C_h(0)={r.c_h0:.4f}: {w:.2f} s wall, {c:.2f} s CPU "
          f"({c / c_ref:.1f}x), {r.iterations} maps, fresh residual {r.residual_fresh:.3f}, {r.status}")  # fmt: skip
    r, w, c = timed(lambda: gated_dmft(3.0, alpha_z=5.0, n_samples=2000))
    print(f"gated DMFT (sampled, M=2000, with the sampled tangent lambda) alpha_z=5: lambda={r.lambda_max:.4f}: "
          f"{w:.2f} s wall, {c:.2f} s CPU")  # fmt: skip
    bench_sampled_map()
    gh = np.linspace(1.6, 2.4, grid)
    ar = np.linspace(0.0, 20.0, grid)
    pts, w, c = timed(lambda: [[dmft_phase_point(float(g), float(a))["chaotic"] for g in gh] for a in ar])
    print(f"DMFT phase diagram {grid}x{grid} (alpha_z = 0): {w:.1f} s wall, {c:.1f} s CPU, "
          f"{c / grid**2:.2f} s CPU/point; chaotic points {int(np.sum(pts))}")  # fmt: skip


def _previous_forward(smp, c_phi: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """The sampled map as it was before the scan (reference): complex64 noise converted per map,
    path-major paths, the step-by-step Heun loop on strided columns, one inverse FFT per path.
    Started from the sampler's own h(0) = g eta(0) so that both compute the same numbers."""
    import torch

    sp = smp._spectra(c_phi)
    gen = torch.Generator().manual_seed(smp.seed * 1_000_003)
    half = (smp.M + 1) // 2
    ws = []
    for _ in ("eta", "z"):
        re = torch.randn(half, smp.P, generator=gen, dtype=torch.float32)
        im = torch.randn(half, smp.P, generator=gen, dtype=torch.float32)
        ws.append(torch.complex(re, im))

    def paths(sq, w):  # noqa: ANN001, ANN202
        y = torch.fft.fft(w.to(torch.complex128) * torch.as_tensor(sq))
        return torch.cat([y.real, y.imag], 0)[: smp.M, : smp.n_t]

    eta, z = paths(sp["eta"], ws[0]), paths(sp["z"], ws[1])
    s, ge, dt = torch.sigmoid(z), smp.g_h * eta, smp.grid.dt
    h = ge[:, 0].clone()
    out = torch.empty(smp.M, smp.n_win, dtype=torch.float64)
    for k in range(smp.n_t - 1):
        if k >= smp.n_burn:
            out[:, k - smp.n_burn] = h
        k1 = s[:, k] * (ge[:, k] - h)
        hp = h + dt * k1
        h = h + 0.5 * dt * (k1 + s[:, k + 1] * (ge[:, k + 1] - hp))
    out[:, -1] = h
    nfft = 1 << int(np.ceil(np.log2(smp.n_win + smp.grid.K + 1)))
    f = torch.fft.rfft(torch.tanh(out), n=nfft)
    ac = torch.fft.irfft(f * f.conj(), n=nfft)[:, : smp.grid.K + 1]
    denom = torch.arange(smp.n_win, smp.n_win - smp.grid.K - 1, -1, dtype=torch.float64)
    return (ac / denom).sum(0).numpy() / smp.M


def bench_sampled_map(n_maps: int = 5) -> None:
    """One map of the sampled route (M = 2000, alpha_z = 5, default grid): now vs the previous code."""
    import torch

    from rnndyn.meanfield._numerics import Grid
    from rnndyn.meanfield.dmft import _Sampler

    grid = Grid(0.1, 50.0)
    smp = _Sampler(grid, g_h=3.0, alpha_z=5.0, alpha_r=0.0, n_samples=2000, burn_in=30.0, window=100.0,
                   seed=0, device=torch.device("cpu"), chunk=2000, degree=40)  # fmt: skip
    c_phi = 0.4 * np.exp(-grid.tau / 10.0)
    new = smp.forward(c_phi)["c_phi"]  # draws and caches the frozen noise
    ref = _previous_forward(smp, c_phi)
    c0 = time.process_time()
    for _ in range(n_maps):
        smp.forward(c_phi)
    c_new = (time.process_time() - c0) / n_maps
    c0 = time.process_time()
    for _ in range(n_maps):
        _previous_forward(smp, c_phi)
    c_old = (time.process_time() - c0) / n_maps
    print(f"sampled map M=2000 alpha_z=5: {c_new:.3f} s CPU vs previous code {c_old:.3f} s CPU "
          f"({c_old / c_new:.2f}x); max |difference| {np.max(np.abs(new - ref)):.1e}")  # fmt: skip


def _module_at(rev: str, path: str, name: str):  # noqa: ANN202
    """The module ``path`` as it was at git revision ``rev`` (the reference of an A/B run)."""
    import importlib.util
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=root, check=True, capture_output=True, text=True
    )
    tmp = Path(tempfile.mkdtemp()) / f"{name}.py"
    tmp.write_text(src.stdout)
    spec = importlib.util.spec_from_file_location(name, tmp)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def bench_sampled(rev: str | None = None, repeats: int = 2) -> None:
    """``gated_dmft(3, alpha_z=5)`` (sampled route, defaults: M = 2000, dt = 0.1, tau_max = 50), with
    and without the sampled lambda_max, CPU time; with ``rev`` the module at that git revision runs
    interleaved in the same process on the same seed (frozen noise) and the results are compared."""
    from rnndyn.meanfield import dmft

    mods = [("now", dmft)] + (
        [(rev, _module_at(rev, "src/rnndyn/meanfield/dmft.py", "dmft_ref"))] if rev else []
    )
    res: dict = {}
    for rep in range(repeats):
        for name, mod in mods:
            c0 = time.process_time()
            r0 = mod.gated_dmft(3.0, alpha_z=5.0, lyapunov=False)
            t0 = time.process_time() - c0
            c0 = time.process_time()
            r = mod.gated_dmft(3.0, alpha_z=5.0)
            t = time.process_time() - c0
            res[name] = r
            print(f"[{rep}] {name}: without lambda {t0:.2f} s CPU ({r0.iterations} maps), with lambda {t:.2f} s CPU; "
                  f"C_h(0) {r.c_h0:.6f}, lambda {r.lambda_max:.6f}, fresh residual {r.residual_fresh:.4f}, {r.status}")  # fmt: skip
    if rev:
        a, b = res["now"], res[rev]
        print(f"now vs {rev}: max|dC_h|/C_h(0) = {np.max(np.abs(a.c_h - b.c_h)) / b.c_h0:.1e}, "
              f"|d lambda| = {abs(a.lambda_max - b.lambda_max):.1e}")  # fmt: skip


def bench_discrete(rev: str | None = None, repeats: int = 1) -> None:
    """Sampled discrete DMFT at the defaults (M = 2000, 200 + 1000 steps, tau_max = 100):
    ``gru_dmft(3, alpha_z=5, alpha_r=5)`` and ``lstm_dmft(6, alpha_f=alpha_i=alpha_o=2)``, with and
    without the sampled lambda_max, CPU time; with ``rev`` the module at that git revision runs
    interleaved in the same process (same seed, frozen noise) and the results are compared."""
    from rnndyn.meanfield import dmft_discrete

    mods = [("now", dmft_discrete)]
    if rev:
        mods.append((rev, _module_at(rev, "src/rnndyn/meanfield/dmft_discrete.py", "dmft_discrete_ref")))
    cases = (
        ("gru_dmft", (3.0,), {"alpha_z": 5.0, "alpha_r": 5.0}),
        ("lstm_dmft", (6.0,), {"alpha_f": 2.0, "alpha_i": 2.0, "alpha_o": 2.0}),
    )
    for fn, args, kw in cases:
        res: dict = {}
        for rep in range(repeats):
            for name, mod in mods:
                c0 = time.process_time()
                r0 = getattr(mod, fn)(*args, lyapunov=False, **kw)
                t0 = time.process_time() - c0
                c0 = time.process_time()
                r = getattr(mod, fn)(*args, **kw)
                t = time.process_time() - c0
                res[name] = r
                print(f"[{rep}] {name} {fn}{args} {kw}: without lambda {t0:.2f} s CPU ({r0.iterations} maps), with "
                      f"lambda {t:.2f} s CPU; C_h(0) {r.c_h0:.6f}, lambda {r.lambda_max:.6f}, fresh residual "
                      f"{r.residual_fresh:.4f}, {r.status}")  # fmt: skip
        if rev:
            a, b = res["now"], res[rev]
            print(f"{fn} now vs {rev}: max|dC_h|/C_h(0) = {np.max(np.abs(a.c_h - b.c_h)) / b.c_h0:.1e}, "
                  f"|d lambda| = {abs(a.lambda_max - b.lambda_max):.1e}")  # fmt: skip


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "map":
        bench_sampled_map()
    elif len(sys.argv) > 1 and sys.argv[1] == "sampled":
        bench_sampled(
            sys.argv[2] if len(sys.argv) > 2 else None, int(sys.argv[3]) if len(sys.argv) > 3 else 2
        )
    elif len(sys.argv) > 1 and sys.argv[1] == "discrete":
        bench_discrete(
            sys.argv[2] if len(sys.argv) > 2 else None, int(sys.argv[3]) if len(sys.argv) > 3 else 1
        )
    elif len(sys.argv) > 1 and sys.argv[1] == "dmft":
        bench_dmft(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    else:
        main()

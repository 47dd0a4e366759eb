"""Figures for :class:`rnndyn.lyapunov.LyapunovResult`: the spectrum with error bars and the
convergence of the running estimates."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rnndyn.plotting import _plt, check_result, figure_path, flag_result, save


def _run_line(res: Any) -> str:
    """One line with the run's settings, for the title."""
    traj = f"{res.n_trajectories} trajector{'y' if res.n_trajectories == 1 else 'ies'}"
    dt = f" (dt = {res.dt:g})" if res.dt is not None else ""
    return f"{traj} × {res.n_steps} steps{dt} after {res.n_transient}, QR every {res.qr_every}"


def plot_spectrum(res: Any, path: str | Path, *, title: str = "") -> Path:
    """Spectrum ``lambda_i`` vs ``i`` with ±2 stderr bars (a band for long spectra), each
    trajectory's own spectrum faint behind it (two attractors show as two families), the zero
    line, the positive part shaded, D_KY marked, the summary (lambda_max, regime, entropy rate)
    inset, the run's settings under the title, and a banner when the status is not ``success``."""
    check_result(
        res,
        "res",
        ("exponents", "stderr", "units"),
        "a LyapunovResult (rd.lyapunov_spectrum or rd.max_lyapunov)",
    )
    path = figure_path(path)
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    from rnndyn.report import fmt

    plt = _plt()
    lam = res.exponents.numpy()
    se = np.nan_to_num(res.stderr.numpy(), nan=0.0)
    k = lam.size
    i = np.arange(1, k + 1)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    finite = np.isfinite(lam)
    ax.axhline(0.0, color="0.5", lw=0.8, zorder=0)
    per = res.per_trajectory.numpy() if getattr(res, "per_trajectory", None) is not None else None
    if per is not None and per.ndim == 2 and per.shape[0] > 1:
        for b, row in enumerate(per):
            ok = np.isfinite(row)
            ax.plot(i[ok], row[ok], "." if k <= 40 else "-", ms=2.5, lw=0.5, color="0.55", alpha=0.6,
                    zorder=1, label="each trajectory" if b == 0 else None)  # fmt: skip
    if k > 40:
        ax.fill_between(
            i[finite],
            (lam - 2 * se)[finite],
            (lam + 2 * se)[finite],
            color="C0",
            alpha=0.3,
            lw=0,
            label="±2 stderr",
        )
        ax.plot(i[finite], lam[finite], color="C0", lw=1.4, label="lambda_i")
    else:
        ax.errorbar(
            i[finite],
            lam[finite],
            yerr=2 * se[finite],
            fmt="o",
            ms=4,
            capsize=2.5,
            color="C0",
            label="lambda_i ± 2 stderr",
        )
    pos = finite & (lam > 0)
    if pos.any() and k > 40:
        ax.fill_between(
            i,
            0,
            np.where(pos, lam, 0),
            color="C3",
            alpha=0.25,
            lw=0,
            step="mid",
            label="positive (entropy rate)",
        )
    elif pos.any():  # few exponents: the positive ones as red markers (a shaded step would span half-indices)
        ax.plot(i[pos], lam[pos], "o", ms=6, mfc="none", mec="C3", mew=1.4, zorder=4,
                label="positive (sum = entropy rate)")  # fmt: skip
    kyd = res.kaplan_yorke_dimension
    if math.isfinite(kyd) and 0 < kyd < k:
        ax.axvline(kyd, color="C2", ls="--", lw=1.0, label=f"D_KY = {kyd:.3g}")
    ax.set_xlabel("index i" + (f" (of n = {res.state_size})" if res.k < res.state_size else ""))
    ax.set_ylabel(
        f"lambda_i [{res.units}"
        + ("" if abs(res.log_base - math.e) < 1e-12 else f", log base {res.log_base:g}")
        + "]"
    )
    lo = np.nanmin(lam[finite]) if finite.any() else -1.0
    hi = np.nanmax(lam[finite]) if finite.any() else 1.0
    cut = False
    if k > 40 and lo < -10 * max(abs(hi), 1e-3):
        # keep the informative top of a long spectrum readable: the tail is summarised in the text
        ax.set_ylim(max(lo, np.quantile(lam[finite], 0.1)) * 1.1, hi + 0.15 * (hi - lo) * 0.2 + 0.05)
        cut = ax.get_ylim()[0] > lo
    se0 = res.stderr[0].item()
    txt = (
        f"lambda_max = {fmt(float(lam[0]), se0)}"
        + f" {res.units}\nregime: {res.regime}\nentropy rate = {res.entropy_rate:.3g} {res.units}"
        + f"\nmin lambda = {lo:.3g}"
        + (" (below the axis)" if cut else "")
    )
    ax.text(
        0.98,
        0.97,
        txt,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8.5,
        bbox=dict(boxstyle="round", fc="white", ec="0.7"),
    )
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title((title or "Lyapunov spectrum") + "\n" + _run_line(res), fontsize=9)
    ax.grid(alpha=0.25)
    flag_result(fig, res)
    return save(fig, path)


def plot_convergence(res: Any, path: str | Path, *, title: str = "", n_show: int = 5) -> Path:
    """Running estimates of the top ``n_show`` exponents vs averaged time (one thin line per
    trajectory, their mean bold) with the final value ± 2 stderr as a band: flat lines mean
    converged; a drift means ``n_steps`` or ``n_transient`` is too short."""
    check_result(
        res,
        "res",
        ("running", "running_steps", "exponents"),
        "a LyapunovResult (rd.lyapunov_spectrum or rd.max_lyapunov)",
    )
    path = figure_path(path)
    import numpy as np

    plt = _plt()
    run = res.running.numpy()  # (B, C, k)
    steps = res.running_steps.numpy().astype(float)
    t = steps * (res.dt or 1.0)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    show = min(n_show, res.k)
    for j in range(show):
        color = f"C{j}"
        if run.shape[0] > 1:
            for b in range(run.shape[0]):
                ax.plot(t, run[b, :, j], color=color, lw=0.5, alpha=0.35)
        ax.plot(t, run[:, :, j].mean(0), color=color, lw=1.6, label=f"lambda_{j + 1}")
        lam, se = res.exponents[j].item(), res.stderr[j].item()
        if math.isfinite(se):
            ax.axhspan(lam - 2 * se, lam + 2 * se, color=color, alpha=0.12, lw=0)
    if t.size:
        ax.set_xscale("log")
    ax.axhline(0.0, color="0.5", lw=0.8)
    if show and t.size > 4:
        # the early estimates swing widely; frame the converged part
        tail = run[:, t.size // 4 :, :show]
        lo, hi = np.nanmin(tail), np.nanmax(tail)
        pad = 0.25 * (hi - lo) + 1e-3
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("averaging " + ("time" if res.dt is not None else "steps") + " (log scale)")
    ax.set_ylabel(f"running estimate [{res.units}]")
    ax.set_title(
        (title or "convergence of the Lyapunov exponents") + "\n" + _run_line(res)
        + "; bands: final value ± 2 stderr", fontsize=9,
    )  # fmt: skip
    ax.legend(fontsize=8, ncol=min(show, 5), loc="best", frameon=False)
    ax.grid(alpha=0.25, which="both")
    flag_result(fig, res)
    return save(fig, path)


__all__ = ["plot_convergence", "plot_spectrum"]

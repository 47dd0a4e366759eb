"""Figures for :mod:`rnndyn.chaos`: probability vs width, scrambling distance, lap growth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnndyn.plotting import _plt, check_result, figure_path, flag_status, save


def plot_chaos_probability(results: Sequence[Any], path: str | Path, *, title: str = "") -> Path:
    """Probability of chaos vs width (log2 x axis) with 95 % Wilson intervals.

    One panel per model kind (scalar feedback networks, vector RNNs), each with its own y scale,
    one line per (init, activation).
    """
    plt = _plt()
    models = list(dict.fromkeys(r.model for r in results))
    fig, axes = plt.subplots(1, len(models), figsize=(6.5 * len(models), 4.2), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        group = [r for r in results if r.model == model]
        for k, r in enumerate(group):
            w = np.asarray(r.widths, dtype=float) * (1.0 + 0.04 * (k - (len(group) - 1) / 2))
            p = 100 * np.asarray(r.probability)
            lo, hi = 100 * np.asarray(r.ci_low), 100 * np.asarray(r.ci_high)
            label = f"{r.init}, {r.activation}"
            ax.errorbar(w, p, yerr=[p - lo, hi - p], marker="o", ms=4, capsize=3, lw=1.2, label=label)
        r0 = group[0]
        what = "1 -> n -> 1 feedback network" if model == "scalar" else "vector RNN h' = phi(W h + b)"
        ax.set_title(title or f"{what}\ncriterion {r0.criterion}, {r0.n_networks[0]} networks per width")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width n")
        ax.set_ylabel("P(chaotic) [%]  (95% Wilson interval)")
        top = ax.get_ylim()[1]
        ax.set_ylim(-0.04 * top, top)  # a probability of 0 sits above the axis, not on it
        ax.axhline(0.0, color="0.5", lw=0.8, zorder=0)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    from rnndyn._results import Status

    worst = Status.worst(*(r.status for r in results)) if results else Status.SUCCESS
    bad = [f"{r.model} {r.init}/{r.activation}: {r.message}" for r in results if r.status != "success"]
    flag_status(fig, worst, "; ".join(bad))
    return save(fig, path)


def plot_scrambling(
    result: Any, path: str | Path, *, title: str = "", n_show: int = 3, label: str = ""
) -> Path:
    """Distance ``d_t`` of pairs started ``eps`` apart (log scale), with the low/high thresholds
    and the averaging window shaded. ``label`` names the system in the default title."""
    check_result(result, "result", ("distance",), "a ScramblingResult (rd.chaos.scrambling)")
    path = figure_path(path)
    plt = _plt()
    d = result.distance.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    t = np.arange(1, d.shape[1] + 1)
    for i in range(min(n_show, d.shape[0])):
        ax.plot(t, d[i], lw=0.8, label=f"pair {i}")
    ax.axhline(result.low * result.diameter, color="k", ls=":", lw=1, label=f"low = {result.low:g} diam")
    ax.axhline(result.high * result.diameter, color="k", ls="--", lw=1, label=f"high = {result.high:g} diam")
    lam = result.lambda_max
    # the linear regime: d_t = eps e^{lambda t}, up to the diameter
    if math.isfinite(lam) and lam > 0 and 0 < result.eps < result.diameter:
        t_lin = t[t <= math.log(result.diameter / result.eps) / lam]  # no exp overflow
        if t_lin.size:
            ax.plot(t_lin, result.eps * np.exp(lam * t_lin), color="k", ls="-.", lw=0.9,
                    label="eps·exp(lambda_max t)")  # fmt: skip
    ax.axvspan(result.window[0], result.window[1], color="0.9", zorder=-1, label="window scored")
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"distance $|h_t - h'_t|$")
    ax.set_title(
        title
        or (f"{label}: " if label else "")
        + f"pairs started {result.eps:g} apart; {100 * result.fraction_scrambled:.0f}% of "
        f"{result.distance.shape[0]} pairs scrambled in the window\n"
        f"lambda_max = {lam:.3f}/step ({result.lambda_source})",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="lower right")
    flag_status(fig, result.status, result.message)
    return save(fig, path)


def plot_lap_growth(result: Any, path: str | Path, *, title: str = "") -> Path:
    """Lap count of the t-fold composition vs t (log scale): shared weights (RNN) vs independent (FNN)."""
    check_result(result, "result", ("t", "rnn_laps"), "a PersistenceResult (rd.chaos.persistence)")
    path = figure_path(path)
    plt = _plt()
    t = result.t.cpu().numpy()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, laps, color in (
        ("RNN (shared weights)", result.rnn_laps, "C3"),
        ("FNN (independent layers)", result.fnn_laps, "C0"),
    ):
        a = laps.detach().cpu().numpy()
        med = np.nanmedian(a, 0)
        q1, q3 = np.nanpercentile(a, 25, 0), np.nanpercentile(a, 75, 0)
        ax.plot(t, med, marker="o", color=color, label=f"{name}: median")
        ax.fill_between(t, q1, q3, color=color, alpha=0.2, label="interquartile range")
    ax.plot(t, result.base_laps.cpu().numpy(), "k--", lw=1, label="unperturbed map")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("number of compositions t")
    ax.set_ylabel("laps (monotone pieces) on " + f"[{result.domain[0]:g}, {result.domain[1]:g}]")
    ax.set_title(
        title
        or f"persistence under N(0, {result.std:g}^2) noise: period 3 kept in {100 * result.fraction_period3:.0f}% (RNN)"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    flag_status(fig, result.status, result.message)
    return save(fig, path)


__all__ = ["plot_chaos_probability", "plot_lap_growth", "plot_scrambling"]

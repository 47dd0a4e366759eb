"""Figures for :mod:`rnndyn.chaos`: probability vs width, scrambling distance, lap growth."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnndyn.plotting import _plt, save


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
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def plot_scrambling(result: Any, path: str | Path, *, title: str = "", n_show: int = 3) -> Path:
    """Distance ``d_t`` of pairs started ``eps`` apart (log scale), with the low/high thresholds."""
    plt = _plt()
    d = result.distance.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    t = np.arange(1, d.shape[1] + 1)
    for i in range(min(n_show, d.shape[0])):
        ax.plot(t, d[i], lw=0.8, label=f"pair {i}")
    ax.axhline(result.low * result.diameter, color="k", ls=":", lw=1, label=f"low = {result.low:g} diam")
    ax.axhline(result.high * result.diameter, color="k", ls="--", lw=1, label=f"high = {result.high:g} diam")
    ax.axvspan(result.window[0], result.window[1], color="0.9", zorder=-1)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$|h_t - h'_t|$")
    lam = result.lambda_max
    ax.set_title(
        title
        or f"scrambling: {100 * result.fraction_scrambled:.0f}% of pairs scrambled in the grey window, "
        f"lambda_max = {lam:.3f}/step"
    )
    ax.legend(fontsize=7, loc="lower right")
    return save(fig, path)


def plot_lap_growth(result: Any, path: str | Path, *, title: str = "") -> Path:
    """Lap count of the t-fold composition vs t (log scale): shared weights (RNN) vs independent (FNN)."""
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
    return save(fig, path)


__all__ = ["plot_chaos_probability", "plot_lap_growth", "plot_scrambling"]

"""Figures for Jacobian spectra (with the random-matrix curve) and fixed points."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnndyn.plotting import _plt, save

if TYPE_CHECKING:
    from rnndyn.fixed_points import FixedPointResult
    from rnndyn.spectra import SpectrumResult


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def plot_spectrum(result: SpectrumResult, path: str | Path, *, title: str = "") -> Path:
    """Eigenvalue cloud in the complex plane with the theory's support over it, and the
    slow-mode curve (fraction of eigenvalues within eps of 1 against eps).

    Left: all states' eigenvalues (grey), the state the theory was evaluated at (blue), the
    predicted boundary (red) and atoms (red crosses), the unit circle (maps) or the imaginary
    axis (vector fields). Right: the pooled fraction with |lambda - 1| < eps on log axes, with
    the chosen ``eps_slow`` marked and, where the theory has one, its prediction (the weight of
    the gates closer than eps to closing, P(z < eps) for the GRU, docs/theory/gated.md §5.3).
    """
    plt = _plt()
    ev = _np(result.eigenvalues)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.0), gridspec_kw={"width_ratios": [1.15, 1]})
    ax = axes[0]
    if ev.size:
        pooled = ev.reshape(-1)
        ax.scatter(
            pooled.real,
            pooled.imag,
            s=2,
            c="0.6",
            alpha=0.35,
            lw=0,
            label=f"{result.n_states} states",
            rasterized=True,
        )
        k = result.theory_index if result.theory is not None else 0
        ax.scatter(ev[k].real, ev[k].imag, s=5, c="tab:blue", lw=0, label=f"state {k}", rasterized=True)
    if result.continuous:
        ax.axvline(0.0, color="k", lw=0.8, ls="--", label="Re = 0")
    else:
        t = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(t), np.sin(t), "k--", lw=0.8, label="unit circle")
    th = result.theory
    if th is not None:
        b = np.append(th.boundary, th.boundary[:1])
        ax.plot(b.real, b.imag, color="tab:red", lw=1.6, label=f"theory ({th.formula.split('(')[0].strip()})")
        for loc, mass in th.atoms:
            if mass > 0:
                c = complex(loc)
                ax.plot(c.real, c.imag, "x", color="tab:red", ms=9, mew=2)
                ax.annotate(
                    f"mass {mass:.2g}",
                    (c.real, c.imag),
                    xytext=(6, 6),
                    textcoords="offset points",
                    color="tab:red",
                    fontsize=8,
                )
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    sub = f"mean spectral radius {result.mean_spectral_radius:.3f}"
    if th is not None and th.rho is not None:
        sub += f", ρ = {th.rho:.3f}"
    ax.set_title((title + "\n" if title else "") + sub, fontsize=10)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)

    ax = axes[1]
    eps = np.logspace(-4, 0, 60)
    frac = _np(result.slow_fraction_curve(eps)) if ev.size else np.zeros_like(eps)
    near = "0" if result.continuous else "1"
    ax.semilogx(eps, frac, color="tab:blue", lw=1.8, label="Jacobian eigenvalues (all states)")
    if th is not None and th.poles is not None:
        small = eps <= 0.3  # P(z < eps) describes eigenvalues pinned near 1, not the bulk
        ax.semilogx(
            eps[small],
            th.predicted_slow_fraction(eps[small]),
            color="tab:red",
            lw=1.4,
            ls="--",
            label="theory: closing gates, P(z < ε) (§5.3)",
        )
    ax.axvline(result.eps_slow, color="0.4", ls=":", lw=1)
    ax.axhline(result.mean_slow_fraction, color="0.4", ls=":", lw=1)
    ax.annotate(
        f"{result.mean_slow_fraction:.3f} within {result.eps_slow:g}",
        (result.eps_slow, result.mean_slow_fraction),
        xytext=(8, -14),
        textcoords="offset points",
        fontsize=9,
    )
    ax.set_xlabel("ε")
    ax.set_ylabel(f"fraction of eigenvalues with |λ − {near}| < ε")
    ax.set_ylim(0, 1.02)
    ax.set_title("slow modes", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", fontsize=8)
    return save(fig, path)


def plot_fixed_points(result: FixedPointResult, path: str | Path, *, title: str = "") -> Path:
    """Fixed points in the plane of their first two principal components (coloured by stability,
    slow points hollow), and the eigenvalues at every fixed point with the unit circle."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.0))
    colours = {"stable": "tab:green", "saddle": "tab:orange", "unstable": "tab:red", "marginal": "tab:purple"}
    pts = _np(result.points)
    spts = _np(result.slow_points)
    allp = np.concatenate([pts, spts]) if spts.size else pts
    ax = axes[0]
    if allp.shape[0]:
        mean = allp.mean(0)
        if allp.shape[1] >= 2 and allp.shape[0] >= 2:
            _, sv, vt = np.linalg.svd(allp - mean, full_matrices=False)
            # a direction whose variance is round-off (e.g. two points: one real direction) is
            # not drawn as an axis: it would only show 1e-16 noise
            n_real = int(np.sum(sv**2 > 1e-12 * max(float(np.sum(sv**2)), 1e-300)))
            basis = vt[: max(1, min(2, n_real))].T
        else:
            basis = np.eye(allp.shape[1])[:, :1]
        proj = (pts - mean) @ basis if pts.size else np.zeros((0, basis.shape[1]))
        if proj.shape[1] == 1:
            proj = np.concatenate([proj, np.zeros_like(proj)], 1)
        for lab, col in colours.items():
            sel = np.array([s == lab for s in result.stability], dtype=bool)
            if sel.any():
                ax.scatter(
                    proj[sel, 0],
                    proj[sel, 1],
                    s=28,
                    c=col,
                    label=f"{lab} ({int(sel.sum())})",
                    edgecolor="k",
                    lw=0.4,
                )
        if spts.size:
            sp = (spts - mean) @ basis
            if sp.shape[1] == 1:
                sp = np.concatenate([sp, np.zeros_like(sp)], 1)
            ax.scatter(
                sp[:, 0],
                sp[:, 1],
                s=28,
                facecolors="none",
                edgecolors="k",
                label=f"slow points ({spts.shape[0]})",
            )
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no fixed points found", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("PC 1")
    one_dim = bool(allp.shape[0]) and basis.shape[1] == 1
    ax.set_ylabel("(the points span one direction)" if one_dim else "PC 2")
    summary = f"{result.n_points} fixed points, slow-manifold dim {result.slow_manifold_dimension}"
    if result.line_attractor:
        summary += " (line attractor)"
    ax.set_title((title + "\n" if title else "") + summary, fontsize=10)

    ax = axes[1]
    ev = _np(result.eigenvalues)
    for i, lab in enumerate(result.stability):
        ax.scatter(ev[i].real, ev[i].imag, s=6, c=colours[lab], alpha=0.6, lw=0, rasterized=True)
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(t), np.sin(t), "k--", lw=0.8)
    ax.add_patch(plt.Circle((1.0, 0.0), result.eps_slow, fill=False, color="tab:blue", lw=1))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title(
        f"Jacobian eigenvalues at the fixed points (blue circle: |λ − 1| < {result.eps_slow:g})", fontsize=10
    )
    return save(fig, path)


__all__ = ["plot_fixed_points", "plot_spectrum"]

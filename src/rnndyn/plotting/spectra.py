"""Figures for Jacobian spectra (with the random-matrix curve) and fixed points."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnndyn.plotting import _plt, check_result, figure_path, flag_result, save

if TYPE_CHECKING:
    from rnndyn.fixed_points import FixedPointResult
    from rnndyn.spectra import SpectrumResult


#: at most this many fixed points get their hit count written next to them
_HIT_LABELS = 30


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def plot_spectrum(result: SpectrumResult, path: str | Path, *, title: str = "") -> Path:
    """Eigenvalue cloud in the complex plane with the theory's support over it, and the
    slow-mode curve (fraction of eigenvalues within eps of 1 against eps).

    Left: all states' eigenvalues (grey), the state the theory was evaluated at (blue), the
    predicted boundary (red) and atoms (red crosses), the unit circle (maps) or the imaginary
    axis (vector fields). Right: the pooled fraction with |lambda - 1| < eps on log-log axes
    (values below one eigenvalue in all are drawn at that floor), with
    the chosen ``eps_slow`` marked and, where the theory has one, its prediction (the weight of
    the gates closer than eps to closing, P(z < eps) for the GRU, docs/theory/gated.md §5.3).
    """
    check_result(
        result, "result", ("eigenvalues", "spectral_radius"), "a SpectrumResult (rd.jacobian_spectrum)"
    )
    path = figure_path(path)
    plt = _plt()
    ev = _np(result.eigenvalues)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.0), gridspec_kw={"width_ratios": [1.15, 1]})
    ax = axes[0]
    k = result.theory_index if result.theory is not None else 0
    where = {"fixed_points": "fixed points", "matrices": "matrices"}.get(result.at, "states")
    if ev.size:
        pooled = ev.reshape(-1)
        ax.scatter(
            pooled.real,
            pooled.imag,
            s=4,
            c="0.45",
            alpha=0.45,
            lw=0,
            label=f"all {result.n_states} {where} ({pooled.size} eigenvalues)",
            rasterized=True,
        )
        ax.scatter(
            ev[k].real,
            ev[k].imag,
            s=7,
            c="tab:blue",
            lw=0,
            label=f"{where[:-1]} {k}" + (" (theory evaluated here)" if result.theory is not None else ""),
            rasterized=True,
        )
    if result.continuous:
        ax.axvline(0.0, color="k", lw=0.8, ls="--", label="Re λ = 0 (stability edge)")
    else:
        t = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(t), np.sin(t), "k--", lw=0.8, label="unit circle |λ| = 1")
    th = result.theory
    if th is not None:
        b = np.append(th.boundary, th.boundary[:1])
        ax.plot(
            b.real, b.imag, color="tab:red", lw=1.6,
            label=f"random-matrix support ({th.formula.split('(')[0].strip()})", gid="rnndyn-theory",
        )  # fmt: skip
        for loc, mass in th.atoms:
            if mass > 0:
                c = complex(loc)
                ax.plot(c.real, c.imag, "x", color="tab:red", ms=9, mew=2)
                ax.annotate(
                    f"atom, mass {mass:.2g}",
                    (c.real, c.imag),
                    xytext=(6, 6),
                    textcoords="offset points",
                    color="tab:red",
                    fontsize=8,
                )
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    sub = f"Jacobian eigenvalues at {result.n_states} {where}: mean spectral radius {result.mean_spectral_radius:.3f}"
    if th is not None:
        r_k = float(_np(result.spectral_radius).reshape(-1)[k]) if ev.size else float("nan")
        sub += f"\ntheory radius {th.radius:.3f} vs {r_k:.3f} measured at {where[:-1]} {k}" + (
            f", ρ = {th.rho:.3f}" if th.rho is not None else ""
        )
    ax.set_title((title + "\n" if title else "") + sub, fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, fontsize=7.5, frameon=False)

    ax = axes[1]
    eps = np.logspace(-4, 0, 60)
    frac = _np(result.slow_fraction_curve(eps)) if ev.size else np.zeros_like(eps)
    near = "0" if result.continuous else "1"
    floor = 0.5 / max(int(ev.size), 1)  # below one eigenvalue in all: drawn at the floor
    ax.loglog(
        eps, np.maximum(frac, floor), color="tab:blue", lw=1.8, label="Jacobian eigenvalues (all states)"
    )
    bottom = floor
    if th is not None and th.poles is not None:
        small = eps <= 0.3  # P(z < eps) describes eigenvalues pinned near 1, not the bulk
        pred = np.asarray(th.predicted_slow_fraction(eps[small]), dtype=float)
        ax.loglog(
            eps[small],
            np.where(pred > 0, pred, np.nan),
            color="tab:red",
            lw=1.4,
            ls="--",
            marker=".",
            ms=4,
            label="theory: closing gates, P(z < ε) (§5.3)" + ("" if np.any(pred > 0) else ": 0 here"),
        )
        if np.any(pred > 0):
            bottom = min(floor, max(float(pred[pred > 0].min()), 1e-6))
    ax.axvline(result.eps_slow, color="0.4", ls=":", lw=1)
    ax.axhline(max(result.mean_slow_fraction, floor), color="0.4", ls=":", lw=1)
    ax.set_xlabel("ε")
    ax.set_ylabel(f"fraction of eigenvalues with |λ − {near}| < ε")
    ax.set_ylim(bottom * 0.8, 1.3)
    ax.set_title(
        f"slow modes: {result.mean_slow_fraction:.3g} of the eigenvalues within ε = {result.eps_slow:g} of {near}"
        f"\n(log-log; values below one eigenvalue in all drawn at {floor:.1g})",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", fontsize=8)
    flag_result(fig, result)
    return save(fig, path)


def plot_fixed_points(
    result: FixedPointResult, path: str | Path, *, title: str = "", show_hits: bool = True
) -> Path:
    """Fixed points in the plane of their first two principal components, and the eigenvalues at
    every fixed point with the unit circle.

    Left panel: points coloured by stability; points found by the search are discs, points added
    by odd symmetry (``from_symmetry``: the mirror image -h* of a found point of an odd map, found
    by no start) are squares with their own legend entry; slow points are hollow circles. With
    ``show_hits`` a disc's area grows with its ``hits`` (starts that converged to it), and with at
    most 30 points each is labelled with its count (0 for points added by symmetry). The title
    gives the census (complete / incomplete, points found by a single start, the Chao1 estimate;
    docs/spectra.md, "How complete is a search?"); a non-success status is written on the figure.

    Args:
        result: a :class:`~rnndyn.FixedPointResult`.
        path: PNG file to write.
        title: first title line. show_hits: size and label the points by their hits.

    Returns:
        The path written.

    Raises:
        TypeError: ``show_hits`` not a bool.
    """
    check_result(
        result, "result", ("points", "eigenvalues", "stability"), "a FixedPointResult (rd.find_fixed_points)"
    )
    path = figure_path(path)
    if not isinstance(show_hits, bool):
        raise TypeError(f"`show_hits` must be a bool; got {type(show_hits).__name__} {show_hits!r}")
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.0))
    colours = {"stable": "tab:green", "saddle": "tab:orange", "unstable": "tab:red", "marginal": "tab:purple"}
    pts = _np(result.points)
    spts = _np(result.slow_points)
    allp = np.concatenate([pts, spts]) if spts.size else pts
    hits = _np(result.hits).astype(float) if result.n_points else np.zeros(0)
    sym = _np(result.from_symmetry).astype(bool) if result.n_points else np.zeros(0, dtype=bool)
    ax = axes[0]
    if allp.shape[0]:
        mean = allp.mean(0)
        if allp.shape[1] >= 2 and allp.shape[0] >= 2:
            _, sv, vt = np.linalg.svd(allp - mean, full_matrices=False)
            # a direction whose variance is round-off (e.g. two points: one real direction) is
            # not drawn as an axis: it would only show 1e-16 noise
            n_real = int(np.sum(sv**2 > 1e-12 * max(float(np.sum(sv**2)), 1e-300)))
            basis = vt[: max(1, min(2, n_real))].T
            var_frac = sv**2 / max(float(np.sum(sv**2)), 1e-300)
        else:
            basis = np.eye(allp.shape[1])[:, :1]
            var_frac = np.ones(1)
        proj = (pts - mean) @ basis if pts.size else np.zeros((0, basis.shape[1]))
        if proj.shape[1] == 1:
            proj = np.concatenate([proj, np.zeros_like(proj)], 1)
        # marker area: 28 for one start, growing like sqrt(hits) (a point 100 starts reached: 10x)
        size = 28 * np.sqrt(np.maximum(hits, 1.0)) if show_hits else np.full(hits.shape, 28.0)
        for lab, col in colours.items():
            sel = np.array([s == lab for s in result.stability], dtype=bool)
            if sel.any():
                found = sel & ~sym
                ax.scatter(
                    proj[found, 0],
                    proj[found, 1],
                    s=size[found],
                    c=col,
                    label=f"{lab} ({int(sel.sum())})",
                    edgecolor="k",
                    lw=0.4,
                    gid=f"rnndyn-fixed-points-{lab}",
                )
        if sym.any():
            ax.scatter(
                proj[sym, 0],
                proj[sym, 1],
                s=28,
                c=[colours[result.stability[i]] for i in np.flatnonzero(sym)],
                marker="s",
                edgecolor="k",
                lw=0.8,
                linestyle="--",
                gid="rnndyn-fixed-points-symmetry",
            )
            ax.scatter([], [], s=28, marker="s", facecolors="none", edgecolors="k", lw=0.8,
                       label=f"added by symmetry: -h* of a found point ({int(sym.sum())}, no start)")  # fmt: skip
        if show_hits and 0 < result.n_points <= _HIT_LABELS:
            for i in range(result.n_points):
                ax.annotate(str(int(hits[i])), (proj[i, 0], proj[i, 1]), xytext=(4, 4),
                            textcoords="offset points", fontsize=7, gid="rnndyn-hits")  # fmt: skip
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
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no fixed points found", ha="center", va="center", transform=ax.transAxes)
        var_frac = np.zeros(2)
    one_dim = bool(allp.shape[0]) and basis.shape[1] == 1

    def _pc(j: int) -> str:
        return (
            f"PC {j + 1} ({100 * var_frac[j]:.0f}% of the points' variance)"
            if j < var_frac.size
            else f"PC {j + 1}"
        )

    ax.set_xlabel(_pc(0) if allp.shape[0] >= 2 else "PC 1")
    ax.set_ylabel(
        "(the points span one direction)" if one_dim else (_pc(1) if allp.shape[0] >= 2 else "PC 2")
    )
    summary = f"{result.n_points} fixed points, slow-manifold dim {result.slow_manifold_dimension}"
    if result.line_attractor:
        summary += " (line attractor)"
    census = [c for c in result.checks if c.name == "completeness"]
    if census:
        summary += (
            f"\n{'complete' if census[0].passed else 'incomplete'} census: {result.n_found_once}"
            f"{' pair(s) ±h*' if result.odd_map else ''} found by one start, about {result.n_points_estimate:.0f} estimated (p_new {result.p_new:.2g})"
        )
    if show_hits and result.n_points:
        summary += "\nmarker area ∝ √hits (starts that reached the point)"
    ax.set_title((title + "\n" if title else "") + summary, fontsize=10)

    ax = axes[1]
    ev = _np(result.eigenvalues)
    seen: set[str] = set()
    for i, lab in enumerate(result.stability):
        ax.scatter(ev[i].real, ev[i].imag, s=8, c=colours[lab], alpha=0.7, lw=0, rasterized=True,
                   label=None if lab in seen else f"at {lab} points")  # fmt: skip
        seen.add(lab)
    sev = _np(getattr(result, "slow_eigenvalues", np.zeros((0, 0))))
    if sev.size:  # slow points only (e.g. a GRU with large alpha_z): their spectra, hollow
        ax.scatter(sev.real.ravel(), sev.imag.ravel(), s=10, facecolors="none", edgecolors="0.25", lw=0.5,
                   alpha=0.7, rasterized=True, gid="rnndyn-slow-eigenvalues",
                   label=f"at the {sev.shape[0]} slow points (not fixed points)")  # fmt: skip
    if not ev.size and not sev.size:
        ax.text(0.5, 0.5, "no fixed or slow points: no eigenvalues", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)  # fmt: skip
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(t), np.sin(t), "k--", lw=0.8, label="unit circle |λ| = 1")
    ax.add_patch(plt.Circle((1.0, 0.0), result.eps_slow, fill=False, color="tab:blue", lw=1,
                            label=f"slow: |λ − 1| < {result.eps_slow:g}"))  # fmt: skip
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title(
        "Jacobian eigenvalues at the fixed points" + (" and slow points" if sev.size else ""), fontsize=10
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, fontsize=8, frameon=False)
    flag_result(fig, result)
    return save(fig, path)


__all__ = ["plot_fixed_points", "plot_spectrum"]

"""Figures of :func:`rnndyn.analyze`: trajectories in principal-component space with fixed points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnndyn.plotting import _plt, figure_path, save

_COLOURS = {"stable": "tab:green", "saddle": "tab:orange", "unstable": "tab:red", "marginal": "tab:purple"}
_MARKERS = {"stable": "o", "saddle": "X", "unstable": "D", "marginal": "s"}


def plot_pca_trajectories(
    trajectories: Any,
    path: str | Path,
    *,
    fixed_points: Any = None,
    title: str = "",
    inputs_note: str = "",
) -> Path:
    """Trajectories projected on their first principal components, fixed points overlaid.

    The principal axes are those of the trajectory states (all sequences pooled), so the fixed
    points appear where they sit relative to the dynamics (the FixedPointFinder picture). Left:
    PC 1 vs PC 2; right: PC 1 vs PC 3 (or PC 1 over time when the states span fewer than three
    directions). Axes carry their explained-variance fraction; an axis whose variance is below
    1e-12 of the total is not drawn as a direction (it would only show round-off).

    Args:
        trajectories: ``(B, T, n)`` states (tensor or array).
        path: PNG file to write.
        fixed_points: a :class:`~rnndyn.FixedPointResult` (its points and slow points are projected;
            points added by odd symmetry, ``from_symmetry``, are drawn hollow with their own legend
            entry; the right panel's title says whether the census is complete).
        title: figure title. inputs_note: what drove the trajectories (shown under the title).
    """
    x = (
        trajectories.detach().cpu().double().numpy()
        if hasattr(trajectories, "detach")
        else np.asarray(trajectories)
    )
    if x.ndim == 2:  # one trajectory (T, n)
        x = x[None]
    if x.ndim != 3 or x.size == 0 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(
            f"`trajectories` must be states of shape (B, T, n) or (T, n); got shape {x.shape} of {x.dtype}"
        )
    if not np.isfinite(x).all():  # the principal axes of NaN/inf states are NaN: an empty figure
        raise ValueError(
            f"`trajectories` must be finite; got {int((~np.isfinite(x)).sum())} NaN/inf entries "
            "(a diverged run has no principal components)"
        )
    path = figure_path(path)
    B, T, n = x.shape
    flat = x.reshape(-1, n)
    mean = flat.mean(0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    var = s**2
    total = var.sum()
    frac = var / total if total > 0 else np.zeros_like(var)
    n_real = int(np.sum(frac > 1e-12))
    k = max(1, min(3, n_real))
    proj = (x - mean) @ vt[:k].T
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.8))
    pairs = [(0, 1), (0, 2)] if k >= 3 else ([(0, 1), None] if k == 2 else [None, None])
    for ax, pair in zip(axes, pairs, strict=True):
        for b in range(B):
            if pair is None:
                ax.plot(np.arange(T), proj[b, :, 0], lw=0.7, alpha=0.8)
            else:
                ax.plot(proj[b, :, pair[0]], proj[b, :, pair[1]], lw=0.6, alpha=0.75)
                ax.plot(proj[b, 0, pair[0]], proj[b, 0, pair[1]], ".", color="0.3", ms=5,
                        label="start of a trajectory")  # fmt: skip
        if fixed_points is not None and pair is not None:
            _overlay(ax, fixed_points, mean, vt[:k], pair)
        if pair is None:
            ax.set_xlabel("step")
            ax.set_ylabel(f"PC 1 ({100 * frac[0]:.1f}% var.)")
            if fixed_points is not None and fixed_points.n_points:
                pts = (fixed_points.points.detach().cpu().double().numpy() - mean) @ vt[:1].T
                sym = fixed_points.from_symmetry.cpu().tolist()
                for p, lab, added in zip(pts[:, 0], fixed_points.stability, sym, strict=True):
                    ax.axhline(p, color=_COLOURS[lab], lw=1.2, ls=":" if added else "--",
                               label=f"{lab} fixed point" + (" added by symmetry (-h*)" if added else ""))  # fmt: skip
        else:
            ax.set_xlabel(f"PC {pair[0] + 1} ({100 * frac[pair[0]]:.1f}% var.)")
            ax.set_ylabel(f"PC {pair[1] + 1} ({100 * frac[pair[1]]:.1f}% var.)")
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            uniq = dict(zip(labels, handles, strict=True))
            ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="best")
    sub = inputs_note or f"{B} trajectories × {T} steps"
    fig.suptitle(
        (title + "\n" if title else "") + "trajectories in principal-component space", fontsize=11, y=1.03
    )
    axes[0].set_title(sub, fontsize=8)
    census = ""
    if fixed_points is not None and fixed_points.n_points:
        check = [c for c in fixed_points.checks if c.name == "completeness"]
        if check and not check[0].passed:
            census = f", incomplete: about {fixed_points.n_points_estimate:.0f} estimated"
        elif check:
            census = ", complete census"
    axes[1].set_title(
        "fixed points: "
        + ("none found" if fixed_points is None or not fixed_points.n_points else f"{fixed_points.n_points}")
        + census
        + " (marker = stability)",
        fontsize=8,
    )
    return save(fig, path)


def _overlay(ax: Any, fp: Any, mean: np.ndarray, basis: np.ndarray, pair: tuple[int, int]) -> None:
    pts = fp.points.detach().cpu().double().numpy()
    if pts.shape[0]:
        proj = (pts - mean) @ basis.T
        sym = fp.from_symmetry.cpu().numpy().astype(bool)
        for lab, col in _COLOURS.items():
            sel = np.array([s == lab for s in fp.stability], dtype=bool)
            if (sel & ~sym).any():
                ax.scatter(
                    proj[sel & ~sym, pair[0]],
                    proj[sel & ~sym, pair[1]],
                    s=70,
                    c=col,
                    marker=_MARKERS[lab],
                    edgecolor="k",
                    lw=0.8,
                    zorder=5,
                    label=f"{lab} fixed point",
                )
            if (sel & sym).any():  # the mirror image -h* of a found point of an odd map: hollow
                ax.scatter(
                    proj[sel & sym, pair[0]],
                    proj[sel & sym, pair[1]],
                    s=70,
                    facecolors="none",
                    edgecolors=col,
                    marker=_MARKERS[lab],
                    lw=1.4,
                    zorder=5,
                    gid="rnndyn-fixed-points-symmetry",
                    label=f"{lab} fixed point added by symmetry (-h*)",
                )
    slow = fp.slow_points.detach().cpu().double().numpy()
    if slow.shape[0]:
        sp = (slow - mean) @ basis.T
        ax.scatter(
            sp[:, pair[0]],
            sp[:, pair[1]],
            s=40,
            facecolors="none",
            edgecolors="k",
            zorder=5,
            label="slow point",
        )


__all__ = ["plot_pca_trajectories"]

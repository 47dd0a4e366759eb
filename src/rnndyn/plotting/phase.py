"""Figures of the mean-field phase diagram and of the DMFT (matplotlib, lazy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnndyn.plotting import _plt, check_result, figure_path, flag_status, save
from rnndyn.report import fmt

#: One colour per region (0 = failed point): blue, green, teal, orange, black-ish (CKS20 Fig. 2).
REGION_COLOURS = ["#bbbbbb", "#8fb8de", "#9fd49a", "#5fb3a8", "#f2a65a", "#3a3a3a"]


def plot_phase_diagram(ds: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Regions 1-5 over (alpha_r, g_h) with the critical lines and, when present, the simulated
    lambda_max as markers (filled: sustained chaos, open: decay / no chaos; squares: region 3),
    annotated with their values ± standard error when there are few of them.

    On a fine grid (>= 25 x 25) the background is the dataset's own ``region``; on a coarse grid
    (a simulation overlay) it is drawn from the critical lines on a fine grid instead (the MFT
    rules of :mod:`rnndyn.meanfield.phase`: 1 below g*, 2 between g* and 2, 5 between 2 and g_ms,
    4 above), so that the boundaries sit where the theory puts them rather than half-way between
    grid points."""
    check_result(
        ds,
        "ds",
        ("g_h", "alpha_r", "region"),
        "the phase-diagram Dataset of rd.phase_diagram or rd.meanfield.phase_diagram",
    )
    path = figure_path(path)
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from rnndyn.meanfield.gated import bifurcation_gain, marginal_stability_gain

    plt = _plt()
    gh = ds.g_h.values
    ar = ds.alpha_r.values
    region = ds.region.values
    theta = float(ds.attrs.get("theta", 0.5))
    fig, ax = plt.subplots(figsize=(7.6, 5.4))
    cmap = ListedColormap(REGION_COLOURS)
    norm = BoundaryNorm(np.arange(-0.5, 6.5, 1.0), cmap.N)
    # critical lines on a fine alpha_r grid (the data grid may be coarse)
    if ar.size == 1:  # one column: draw the lines across a window around it
        half = max(1.0, 0.15 * float(ar[0]))
        fine = np.linspace(max(0.0, ar[0] - half), ar[0] + half, 25)
    else:
        fine = np.linspace(ar.min(), ar.max(), 25) if ar.size < 25 else ar
    dense = ar.size < 25
    g_star = np.array([bifurcation_gain(float(a)) for a in fine]) if dense else ds.g_star.values
    gms = (
        np.array([marginal_stability_gain(float(a), theta=theta) for a in fine]) if dense else ds.g_ms.values
    )
    pad_g = 0.03 * max(float(np.ptp(gh)), 0.1)
    drawn: set[int] = set()  # the regions the background shows (for the legend)
    if gh.size >= 25 and ar.size >= 25:
        ax.pcolormesh(ar, gh, region, cmap=cmap, norm=norm, shading="nearest", alpha=0.9)
        drawn |= set(np.unique(region).tolist())
    else:
        fg = np.linspace(gh.min() - pad_g, gh.max() + pad_g, 300)[:, None]
        bg = np.where(
            fg < 2.0,
            np.where(fg < g_star[None, :], 1, 2),
            np.where(np.isfinite(gms)[None, :] & (fg < np.nan_to_num(gms, nan=-1.0)[None, :]), 5, 4),
        )
        ax.pcolormesh(fine, fg[:, 0], bg, cmap=cmap, norm=norm, shading="nearest", alpha=0.9)
        drawn |= set(np.unique(bg).tolist())
        bad = region == 0
        if bad.any():  # failed points stay visible
            aa, gg = np.meshgrid(ar, gh)
            ax.scatter(aa[bad], gg[bad], c=REGION_COLOURS[0], s=300, marker="s", zorder=4)
    ax.axhline(2.0, color="k", lw=1.6, ls="-", label="zero FP unstable ($g_h=2$)")
    ax.plot(fine, g_star, color="crimson", lw=2.0, label=r"FP bifurcation $g^*(\alpha_r)$")
    if np.isfinite(gms).any():
        ax.plot(
            fine, gms, color="gold", lw=2.0, ls="--", label=r"marginal edge $g_{ms}$ ($\rho(1-\theta)=1$)"
        )
    astar = float(ds.attrs.get("alpha_r_star", 2 * np.sqrt(2)))
    if ar.min() <= astar <= ar.max():
        ax.axvline(astar, color="0.35", lw=0.9, ls=":", label=r"$\alpha_r^*=2\sqrt{2}$")
    if "lambda_max_sim" in ds:
        lam = ds.lambda_max_sim.values
        aa, gg = np.meshgrid(ar, gh)
        if "chaotic_sim" in ds:
            chaotic = ds.chaotic_sim.values.astype(bool)
        else:
            chaotic = np.isfinite(lam) & (lam > 0)
        pos = lam[chaotic & np.isfinite(lam)]
        vmax = max(float(pos.max()) if pos.size else 0.1, 1e-3)
        sc = ax.scatter(aa[chaotic], gg[chaotic], c=lam[chaotic], cmap="magma_r", vmin=0, vmax=vmax,
                        s=60, edgecolors="white", linewidths=0.8, zorder=5,
                        label=r"simulation: sustained chaos")  # fmt: skip
        ax.scatter(aa[~chaotic], gg[~chaotic], facecolors="white", edgecolors="k", s=60,
                   linewidths=1.0, zorder=5, label=r"simulation: decay / no chaos")  # fmt: skip
        if "region_sim" in ds and (ds.region_sim.values == 3).any():
            r3 = ds.region_sim.values == 3
            ax.scatter(aa[r3], gg[r3], marker="s", s=190, facecolors="none", edgecolors=REGION_COLOURS[3],
                       linewidths=2.4, zorder=6, label="simulation: region 3 (stable FP & chaos)")  # fmt: skip
        if lam.size <= 40:  # few points: print the numbers next to the markers
            nfp = ds.n_fixed_points_sim.values if "n_fixed_points_sim" in ds else None
            for (i, j), v in np.ndenumerate(lam):
                if not np.isfinite(v):
                    continue
                se = (
                    float(ds.lambda_max_sim_stderr.values[i, j])
                    if "lambda_max_sim_stderr" in ds
                    else float("nan")
                )
                txt = r"$\lambda$=" + ("+" if v > 0 else "") + fmt(float(v), se)
                if "activity_sim" in ds and chaotic[i, j]:
                    txt += "\n" + rf"$\langle h^2\rangle$={float(ds.activity_sim.values[i, j]):.2f}"
                if nfp is not None and nfp[i, j] >= 0:
                    txt += f"\n{int(nfp[i, j])} FP"
                right = ar.size > 1 and ar[j] > 0.5 * (ar.min() + ar.max())
                ax.annotate(txt, (ar[j], gh[i]), xytext=(-9 if right else 9, 0), textcoords="offset points",
                            fontsize=7, va="center", ha="right" if right else "left", zorder=7,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
        cb = fig.colorbar(sc, ax=ax, pad=0.02)
        unit = "1/time" if ds.attrs.get("model") == "gated_flow" else "1/step"
        cb.set_label(
            rf"simulated $\lambda_{{max}}$ ({unit}), chaotic points (N={ds.attrs.get('sim_n', '?')})"
        )
    names = {1: "1 stable FP", 2: "2 stable & unstable FPs", 3: "3 stable FP & chaos",
             4: "4 chaos", 5: "5 marginal stability"}  # fmt: skip
    present = set(np.unique(region).tolist()) | drawn
    if "region_sim" in ds:
        present |= set(np.unique(ds.region_sim.values).tolist())
    handles = [Patch(color=REGION_COLOURS[k], label=v) for k, v in names.items() if k in present]
    h2, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles + h2,
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=2,
        frameon=False,
    )
    ax.set_xlabel(r"reset-gate gain $\alpha_r$")
    ax.set_ylabel(r"candidate gain $g_h$")
    pad_a = 0.03 * max(float(np.ptp(ar)), 0.1) if ar.size > 1 else 0.0
    ax.set_ylim(gh.min() - pad_g, gh.max() + pad_g)
    ax.set_xlim(min(ar.min(), fine.min()) - pad_a, max(ar.max(), fine.max()) + pad_a)
    model = ds.attrs.get("model", "")
    sub = f"alpha_z = {float(ds.attrs.get('alpha_z', 0.0)):g}, theta = {theta:g}, zero bias; theory: {ds.attrs.get('theory_name', 'mft')}"
    if "lambda_max_sim" in ds:
        sub += (
            f"\nsimulation: N = {ds.attrs.get('sim_n', '?')}, {ds.attrs.get('sim_n_steps', '?')} steps after "
            f"{ds.attrs.get('sim_n_transient', '?')}, lambda_max by {ds.attrs.get('sim_lyapunov', '?')}"
        )
    ax.set_title(title or f"Mean-field phase diagram ({model})\n{sub}", fontsize=10)
    notes = []
    if "status" in ds:
        n_bad = int((ds.status.values != "success").sum())
        if n_bad:
            notes.append(f"{n_bad} of {ds.status.size} grid points not solved (grey squares)")
    if "sim_status" in ds:
        n_bad = int((ds.sim_status.values != "success").sum())
        if n_bad:
            notes.append(f"{n_bad} of {ds.sim_status.size} simulated points not 'success' (see sim_message)")
    if notes:
        flag_status(fig, "warning", "; ".join(notes))
    return save(fig, path)


def plot_dmft(result: Any, path: str | Path) -> Path:
    """SCS DMFT autocorrelation Delta(tau)/Delta_0 with lambda_max in the title."""
    check_result(
        result, "result", ("tau", "delta", "delta0", "g"), "an SCSDMFTResult (rd.meanfield.scs_dmft)"
    )
    path = figure_path(path)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(result.tau, result.delta / max(result.delta0, 1e-300), color="k")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel(r"lag $\tau$ (units of the time constant)")
    ax.set_ylabel(r"$\Delta(\tau)/\Delta_0$ (autocorrelation of $h$)")
    ax.set_xlim(0, min(float(result.tau[-1]), 30.0))
    ax.set_title(
        rf"SCS DMFT, g={result.g:g}: $\Delta_0$={result.delta0:.4g}, "
        rf"$\lambda_{{max}}$={result.lambda_max:.4g} (1/time)"
    )
    flag_status(fig, getattr(result, "status", None), getattr(result, "message", ""))
    return save(fig, path)


__all__ = ["plot_dmft", "plot_phase_diagram"]

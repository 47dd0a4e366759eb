"""Figures of training runs: loss curves, attractors, the tau sweep, gradients vs horizon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnndyn.plotting import _plt, flag_result, log_ticks, save


def _integer_locator() -> object:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def plot_losses(result: Any, path: str | Path, *, title: str = "") -> Path:
    """Training loss per epoch (and validation loss) on a log axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ep = np.arange(1, len(result.losses) + 1)
    ax.semilogy(ep, result.losses, lw=1.2, label="train (forced MSE)")
    if result.val_losses:
        e, v = zip(*result.val_losses, strict=True)
        ax.semilogy(e, v, "o-", ms=3, lw=1, label="validation")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(_integer_locator())
    ax.set_ylabel("loss (log scale)")
    ax.set_title(title or f"tau = {result.tau}")
    ax.legend(frameon=False, loc="best")
    ax.grid(alpha=0.3, which="both")
    log_ticks(ax)
    flag_result(fig, result)
    return save(fig, path)


def plot_attractor(
    true: Any, generated: Any, path: str | Path, *, title: str = "", n_points: int = 5000
) -> Path:
    """True vs generated orbit: 3-D views (first three coordinates) and a time-series snippet."""
    plt = _plt()
    a, b = np.asarray(true)[:n_points], np.asarray(generated)[:n_points]
    fig = plt.figure(figsize=(14, 4.4), layout="constrained")
    for i, (x, lab, col) in enumerate(((a, "true (test data)", "k"), (b, "generated (free run)", "C3"))):
        ax = fig.add_subplot(1, 3, i + 1, projection="3d" if x.shape[1] >= 3 else None)
        if x.shape[1] >= 3:
            ax.plot(x[:, 0], x[:, 1], x[:, 2], lw=0.4, color=col)
            ax.set_xlabel("x_1")
            ax.set_ylabel("x_2")
            ax.set_zlabel("x_3")
        else:
            ax.plot(x[:, 0], x[:, -1], lw=0.4, color=col)
            ax.set_xlabel("x_1")
            ax.set_ylabel(f"x_{x.shape[1]}")
        ax.set_title(lab)
        lo, hi = a.min(0), a.max(0)  # same axes for both: a collapsed orbit shows as one point
        pad = 0.05 * (hi - lo)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        if x.shape[1] >= 3:
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            ax.set_zlim(lo[2] - pad[2], hi[2] + pad[2])
        else:
            ax.set_ylim(lo[-1] - pad[-1], hi[-1] + pad[-1])
    ax = fig.add_subplot(1, 3, 3)
    m = min(len(a), len(b), 1000)
    ax.plot(a[:m, 0], color="k", lw=1, label="true")
    ax.plot(b[:m, 0], color="C3", lw=1, label="generated")
    ax.set_xlabel("step")
    ax.set_ylabel("x_1 (standardised)")
    ax.legend(frameon=False, loc="best")
    ax.set_title("first coordinate")
    fig.suptitle(title)
    return save(fig, path)


def plot_tau_sweep(result: Any, path: str | Path, *, title: str = "") -> Path:
    """D_stsp and D_H vs tau (log x), clipped-BPTT baseline dashed, tau_pred marked."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    taus = [t for t in result.taus if t is not None]
    for ax, vals, lab in (
        (axes[0], result.d_stsp, "D_stsp (state-space divergence; lower is better)"),
        (axes[1], result.d_h, "D_H (power-spectrum distance; lower is better)"),
    ):
        xs = [t for t, v in zip(result.taus, vals, strict=True) if t is not None]
        ys = [v for t, v in zip(result.taus, vals, strict=True) if t is not None]
        order = np.argsort(xs)
        ax.plot(np.asarray(xs)[order], np.asarray(ys)[order], "o-", color="C0", label="sparse forcing")
        for t, v in zip(result.taus, vals, strict=True):
            if t is None:
                ax.axhline(v, ls="--", color="C3", label="BPTT + clipping")
        if result.tau_pred is not None:
            ax.axvline(result.tau_pred, color="0.4", ls=":", label=f"tau_pred = {result.tau_pred:.0f}")
        if taus:
            ax.set_xscale("log")
            ticks = sorted(
                {float(t) for t in taus} | ({float(round(result.tau_pred))} if result.tau_pred else set())
            )
            ax.xaxis.set_major_locator(FixedLocator(ticks))  # the taus run, labelled plainly
            ax.xaxis.set_major_formatter(plt_formatter())
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("forcing interval tau (samples)")
        ax.set_ylabel(lab)
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False, fontsize=8, loc="best")
    fig.suptitle(title)
    flag_result(fig, result)
    return save(fig, path)


def plt_formatter() -> object:
    """Plain tick labels (``5``, ``20``, ``77``) instead of ``2 × 10^1``."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:g}")


def plot_gradient_horizon(result: Any, path: str | Path, *, title: str = "") -> Path:
    """ln |dL_T/dtheta| and ln |prod J| vs T, each trajectory faint, with slope lambda_max."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    T = np.asarray(result.horizons)
    for row in result.log_grad_per_trajectory:
        ax.plot(T, row, color="C0", alpha=0.2, lw=0.8)
    for row in result.log_tangent_per_trajectory:
        ax.plot(T, row, color="C1", alpha=0.2, lw=0.8)
    u = result.units
    ax.plot(
        T, result.log_grad_norm, "o-", color="C0", label=f"ln|dL_T/dtheta| (rate {result.grad_rate:.3f} {u})"
    )
    ax.plot(
        T, result.log_tangent_norm, "s-", color="C1",
        label=f"ln|J_T...J_1| (rate {result.tangent_rate:.3f} {u})",
    )  # fmt: skip
    if result.lambda_max is not None:
        # lambda_max is the growth rate of the tangent product (its definition): the reference
        # line goes through the tangent norm's first point; the gradient follows it only when
        # the recent steps do not dominate it (chaotic or marginal dynamics)
        base = result.log_tangent_norm[0] - result.lambda_max * T[0]
        lse = result.lambda_max_stderr
        se = f" ± {lse:.2g}" if lse is not None and np.isfinite(lse) and lse > 0 else ""
        ax.plot(T, base + result.lambda_max * T, "k--", gid="rnndyn-theory",
                label=f"slope lambda_max = {result.lambda_max:.3f}{se} {u}")  # fmt: skip
    ax.set_xlabel("horizon T (steps)")
    ax.set_ylabel("natural log of the norm")
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    flag_result(fig, result)
    return save(fig, path)


def plot_accuracy(
    result: Any,
    path: str | Path,
    *,
    title: str = "",
    target: float | None = None,
    chance: float | None = None,
) -> Path:
    """Classification run: training loss per epoch (left), test accuracy per epoch (right) with
    the ``target`` and the ``chance`` level (``1/n_classes``) as reference lines."""
    plt = _plt()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    a0.semilogy(np.arange(1, len(result.losses) + 1), result.losses, lw=1.2)
    a0.set_xlabel("epoch")
    a0.set_ylabel("training cross-entropy (nats)")
    a0.grid(alpha=0.3, which="both")
    log_ticks(a0)
    recs = result.history.get("test_accuracy", [])
    if recs:
        a1.plot([r["epoch"] for r in recs], [r["accuracy"] for r in recs], "o-", ms=3, color="C2")
    if target is not None:
        a1.axhline(target, ls="--", color="0.5", label=f"target {target:.0%}")
    if chance is not None:
        a1.axhline(chance, ls=":", color="C3", label=f"chance {chance:.2g}")
    if target is not None or chance is not None:
        a1.legend(frameon=False, loc="best")
    a1.set_ylim(0, 1)
    for a in (a0, a1):
        a.xaxis.set_major_locator(_integer_locator())
    a1.set_xlabel("epoch")
    a1.set_ylabel("test accuracy")
    a1.grid(alpha=0.3)
    fig.suptitle(title)
    flag_result(fig, result)
    return save(fig, path)


def plot_gru_sweep(ds: Any, path: str | Path, *, title: str = "") -> Path:
    """(alpha_z, g_h) grid of a GRU sweep: epochs to target (seed mean; never = blank, marked x),
    final training accuracy, and lambda_max at initialisation (autonomous and digit-driven)."""
    plt = _plt()
    az = np.asarray(ds["alpha_z"].values, dtype=float)
    gh = np.asarray(ds["g_h"].values, dtype=float)
    ett = np.asarray(ds["epochs_to_target"].values, dtype=float)  # (alpha_z, g_h, seed)
    panels = [
        (
            "epochs to target (mean; x = not reached by a seed)",
            np.where(np.isinf(ett), np.nan, ett).mean(-1),
            "viridis_r",
        ),
        ("final training accuracy", np.nanmean(ds["train_acc"].values, -1), "viridis"),
        ("lambda_max at init (autonomous, 1/step)", np.nanmean(ds["lambda_max_auto"].values, -1), "coolwarm"),
        (
            "lambda_max at init (digit-driven, 1/step)",
            np.nanmean(ds["lambda_max_driven"].values, -1),
            "coolwarm",
        ),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4))
    for ax, (lab, val, cmap) in zip(axes, panels, strict=True):
        kw = {}
        if cmap == "coolwarm":
            m = float(np.nanmax(np.abs(val))) or 1.0
            kw = {"vmin": -m, "vmax": m}
        im = ax.imshow(val, origin="lower", aspect="auto", cmap=cmap, **kw)
        for i in range(len(az)):
            for j in range(len(gh)):
                v = val[i, j]
                txt = "x" if lab.startswith("epochs") and np.isinf(ett[i, j]).any() else ""
                ax.text(
                    j,
                    i,
                    (f"{v:.2f}" if np.isfinite(v) else "") + (" " + txt if txt else ""),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="k",
                )
        ax.set_xticks(range(len(gh)), [f"{v:g}" for v in gh])
        ax.set_yticks(range(len(az)), [f"{v:g}" for v in az])
        ax.set_xlabel("g_h (candidate gain; zero FP unstable for g_h > 2)")
        ax.set_ylabel("alpha_z (update-gate gain)")
        ax.set_title(lab, fontsize=9)
        fig.colorbar(im, ax=ax)
    fig.suptitle(title)
    return save(fig, path)


def plot_trainability(lam: Any, loss: Any, size: Any, path: str | Path, *, title: str = "") -> Path:
    """Final validation loss vs lambda_max at initialisation, one colour per network size."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    lam, loss, size = (np.asarray(v, dtype=float) for v in (lam, loss, size))
    for k, s in enumerate(np.unique(size)):
        sel = size == s
        ax.plot(lam[sel], loss[sel], "o", color=f"C{k}", label=f"{s:g} units")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("lambda_max at initialisation (1/step)")
    ax.set_ylabel("final validation loss")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return save(fig, path)


__all__ = [
    "plot_accuracy",
    "plot_attractor",
    "plot_gradient_horizon",
    "plot_gru_sweep",
    "plot_losses",
    "plot_tau_sweep",
    "plot_trainability",
]

"""Figures (matplotlib, imported lazily so the library works without a display).

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never through
``pyplot``: plotting never selects or changes the user's backend (a notebook keeps its inline
backend) and opens no windows; files are written by the Agg renderer that ``Figure.savefig``
picks for PNG/PDF/SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnndyn._display import (  # noqa: F401 - re-exported: the plotting modules import them from here
    STATUS_COLOURS,
    _Figures,
    _plt,
    check_result,
    figure_path,
    flag_result,
    flag_status,
    log_ticks,
    save,
    status_text,
)


def plot_trajectory(
    traj: Any, path: str | Path, *, title: str = "", max_units: int = 8, dt: float | None = None
) -> Path:
    """Time series of the first ``max_units`` state components (and a 2-D/3-D phase portrait).

    ``traj``: array ``(T, n)`` (one trajectory).
    """
    import numpy as np

    x = traj.detach().cpu().numpy() if hasattr(traj, "detach") else np.asarray(traj)
    if x.ndim == 1:  # a scalar series (T,)
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or not np.issubdtype(x.dtype, np.number):
        raise ValueError(
            f"`traj` must be one trajectory of shape (T, n) or (T,) (for a batch pass traj[0]); got "
            f"shape {x.shape} of {x.dtype}"
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"`traj` must be finite; got {int((~np.isfinite(x)).sum())} NaN/inf entries of {x.size} "
            "(a diverged run: plot the steps before it, e.g. traj[:t])"
        )
    path = figure_path(path)
    plt = _plt()
    t = np.arange(x.shape[0]) * (dt or 1.0)
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [2, 1]}, layout="constrained"
    )
    for i in range(min(max_units, x.shape[1])):
        axes[0].plot(t, x[:, i], lw=0.8)
    axes[0].set_xlabel("time" if dt else "step")
    axes[0].set_ylabel("state h_i")
    axes[0].set_title(f"first {min(max_units, x.shape[1])} of {x.shape[1]} units", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    if x.shape[1] >= 2:
        axes[1].plot(x[:, 0], x[:, 1], lw=0.5, color="k")
        axes[1].set_xlabel("h[0]")
        axes[1].set_ylabel("h[1]")
        axes[1].set_title("phase portrait (first two units)", fontsize=10)
    else:
        axes[1].plot(x[:-1, 0], x[1:, 0], ".", ms=1.5, color="k")
        axes[1].set_xlabel("h_t")
        axes[1].set_ylabel("h_{t+1}")
        axes[1].set_title("return map", fontsize=10)
    return save(fig, path)


def plot_sweep(ds: Any, path: str | Path, *, var: str = "lambda_max") -> Path:
    """``var`` against the first grid axis: the mean over seeds with its standard error, each
    seed's value behind it (points whose ``status`` is not ``success`` as red crosses, and a
    banner counting them); a heat map of the seed mean over the first two axes when the grid has
    two or more. The title gives the model, its size and the run's settings."""
    if not hasattr(ds, "data_vars"):
        raise TypeError(f"`ds` must be an xarray.Dataset from rd.sweep; got {type(ds).__name__}")
    outputs = sorted(
        str(v) for v in ds.data_vars if v not in ("status", "message", "point_seed", "digest", "done")
    )
    if var not in ds.data_vars:
        raise ValueError(f"`var` must be one of the sweep's outputs {outputs}; got {var!r}")
    path = figure_path(path)
    import json

    import numpy as np

    plt = _plt()
    da = ds[var]
    axes = [d for d in da.dims if d != "seed"]
    mean = da.mean("seed")
    n_seeds = int(da.sizes.get("seed", 1))
    units = da.attrs.get("units", "")
    label = var + (f" [{units}]" if units else "")
    status = np.asarray(ds["status"].values).astype(str) if "status" in ds else None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if len(axes) == 1:
        x = da[axes[0]].values
        sem = da.std("seed") / np.sqrt(max(n_seeds, 1))
        vals = (
            np.asarray(da.transpose(axes[0], "seed").values)
            if "seed" in da.dims
            else np.asarray(da.values)[:, None]
        )
        bad = (
            np.asarray(ds["status"].transpose(axes[0], "seed").values).astype(str) != "success"
            if status is not None and "seed" in da.dims
            else np.zeros(vals.shape, dtype=bool)
        )
        xx = np.repeat(np.asarray(x, dtype=float)[:, None], vals.shape[1], axis=1)
        ax.plot(xx[~bad], vals[~bad], ".", color="0.55", ms=4, label="each seed")
        if bad.any():
            ax.plot(xx[bad], vals[bad], "x", color="tab:red", ms=7, mew=1.5, label="seed not 'success'")
        ax.errorbar(
            x,
            mean.values,
            yerr=sem.values,
            marker="o",
            capsize=3,
            label=f"mean ± s.e.m. over {n_seeds} seeds",
        )
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xlabel(axes[0])
        ax.set_ylabel(label)
        ax.legend(fontsize=8, loc="best", frameon=False)
    else:
        other = [d for d in axes[2:]]
        m = mean.isel({d: 0 for d in other}) if other else mean
        m = m.transpose(axes[1], axes[0])
        vmax = float(np.nanmax(np.abs(m.values))) or 1.0
        im = ax.pcolormesh(
            da[axes[0]].values,
            da[axes[1]].values,
            m.values,
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
            shading="nearest",
        )
        fig.colorbar(im, ax=ax, label=f"{label} (mean over {n_seeds} seeds)")
        ax.set_xlabel(axes[0])
        ax.set_ylabel(axes[1])
    settings = ""
    try:
        kw = json.loads(ds.attrs.get("sweep_spec", "{}")).get("function", {}).get("keywords", {})
        if "n_steps" in kw:
            settings = f"\n{kw['n_steps']} steps after {kw.get('n_transient', '?')} per point"
    except (TypeError, ValueError):
        settings = ""
    n = ds.attrs.get("n", "")
    ax.set_title(
        f"{ds.attrs.get('model', '')}" + (f" (n = {n})" if n else "") + f" sweep: {var}{settings}",
        fontsize=10,
    )
    if status is not None:
        n_bad = int((status != "success").sum())
        if n_bad:
            kinds = ", ".join(
                f"{int((status == k).sum())} {k}" for k in sorted(set(status.ravel()) - {"success"})
            )
            flag_status(
                fig,
                "warning",
                f"{n_bad} of {status.size} points are not 'success' ({kinds}); see the store's status and message",
            )
    return save(fig, path)


__all__ = ["flag_result", "flag_status", "log_ticks", "plot_sweep", "plot_trajectory", "save", "status_text"]

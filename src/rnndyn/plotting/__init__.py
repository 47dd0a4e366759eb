"""Figures (matplotlib, imported lazily so the library works without a display).

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never through
``pyplot``: plotting never selects or changes the user's backend (a notebook keeps its inline
backend) and opens no windows; files are written by the Agg renderer that ``Figure.savefig``
picks for PNG/PDF/SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class _Figures:
    """The few ``pyplot`` calls the plotting modules use, done on ``Figure`` objects."""

    _FIG_KW = ("figsize", "dpi", "layout", "constrained_layout", "tight_layout", "facecolor")

    def subplots(self, nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
        fig = self.figure(**{k: kwargs.pop(k) for k in self._FIG_KW if k in kwargs})
        axes = fig.subplots(nrows, ncols, **kwargs)
        return fig, axes

    def figure(self, **kwargs: Any) -> Any:
        from matplotlib.figure import Figure

        return Figure(**kwargs)

    @property
    def Circle(self) -> Any:  # noqa: N802 - mirrors pyplot's name
        from matplotlib.patches import Circle

        return Circle

    def close(self, fig: Any) -> None:
        """Nothing to release: a ``Figure`` without pyplot is garbage-collected normally."""


def _plt() -> Any:
    return _Figures()


def save(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` (creating parent folders)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    return path


def plot_trajectory(
    traj: Any, path: str | Path, *, title: str = "", max_units: int = 8, dt: float | None = None
) -> Path:
    """Time series of the first ``max_units`` state components (and a 2-D/3-D phase portrait).

    ``traj``: array ``(T, n)`` (one trajectory).
    """
    import numpy as np

    plt = _plt()
    x = np.asarray(traj)
    t = np.arange(x.shape[0]) * (dt or 1.0)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    for i in range(min(max_units, x.shape[1])):
        axes[0].plot(t, x[:, i], lw=0.8)
    axes[0].set_xlabel("time" if dt else "step")
    axes[0].set_ylabel("state")
    axes[0].set_title(title or f"first {min(max_units, x.shape[1])} of {x.shape[1]} units")
    if x.shape[1] >= 2:
        axes[1].plot(x[:, 0], x[:, 1], lw=0.5, color="k")
        axes[1].set_xlabel("h[0]")
        axes[1].set_ylabel("h[1]")
        axes[1].set_title("phase portrait")
    else:
        axes[1].plot(x[:-1, 0], x[1:, 0], ".", ms=1.5, color="k")
        axes[1].set_xlabel("h_t")
        axes[1].set_ylabel("h_{t+1}")
        axes[1].set_title("return map")
    return save(fig, path)


def plot_sweep(ds: Any, path: str | Path, *, var: str = "lambda_max") -> Path:
    """``var`` (mean over seeds, with the seeds' spread) against the first grid axis; a heat map
    over the first two axes when the grid has two or more."""
    import numpy as np

    plt = _plt()
    da = ds[var]
    axes = [d for d in da.dims if d != "seed"]
    mean = da.mean("seed")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if len(axes) == 1:
        x = da[axes[0]].values
        sem = da.std("seed") / np.sqrt(max(da.sizes["seed"], 1))
        ax.errorbar(x, mean.values, yerr=sem.values, marker="o", capsize=3)
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_xlabel(axes[0])
        ax.set_ylabel(var)
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
        fig.colorbar(im, ax=ax, label=f"{var} (mean over seeds)")
        ax.set_xlabel(axes[0])
        ax.set_ylabel(axes[1])
    ax.set_title(f"{ds.attrs.get('model', '')} sweep: {var}")
    return save(fig, path)


__all__ = ["plot_sweep", "plot_trajectory", "save"]

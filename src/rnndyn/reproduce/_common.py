"""Helpers shared by the claim modules: grids through rd.sweep, errors of means and fits."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def run_grid(
    fn: Callable[[dict[str, Any], int], dict[str, Any]],
    grid: Mapping[str, Sequence[Any]],
    *,
    workdir: Path,
    name: str,
    settings: Mapping[str, Any],
    scheduler: str | None,
    n_seeds: int = 1,
    base_seed: int = 0,
) -> Any:
    """Evaluate ``fn`` over ``grid`` x seeds with :func:`rnndyn.sweep` into a Zarr store in
    ``workdir`` named after the settings (so a re-run with the same settings resumes, and other
    settings never collide). ``scheduler=None`` runs in this process (``"sync"``); pass a Dask
    address (or ``"local"`` for a local cluster) to distribute."""
    import rnndyn as rd

    key = hashlib.sha1(
        json.dumps(
            {
                "grid": {k: list(map(str, v)) for k, v in grid.items()},
                "settings": {k: str(v) for k, v in settings.items()},
                "n_seeds": n_seeds,
                "base_seed": base_seed,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:10]
    store = Path(workdir) / f"{name}-{key}.zarr"
    sched = "sync" if scheduler is None else (None if scheduler == "local" else scheduler)
    ds = rd.sweep(
        fn, grid, store=store, n_seeds=n_seeds, base_seed=base_seed, scheduler=sched, progress=False
    )
    bad = [str(s) for s in np.asarray(ds["status"].values).ravel() if str(s) not in ("ok", "success")]
    if bad:
        raise RuntimeError(f"{len(bad)} sweep point(s) failed in {store}: {bad[0]}")
    return ds


def mean_sem(x: Any) -> tuple[float, float]:
    """Mean and standard error of the finite entries (SEM 0 for a single value)."""
    a = np.asarray(x, dtype=float).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, 0.0
    if a.size == 1:
        return float(a[0]), 0.0
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size))


def binomial(k: int, n: int) -> tuple[float, float]:
    """Fraction k/n and its standard error sqrt(p(1-p)/n)."""
    p = k / n
    return p, math.sqrt(max(p * (1 - p), 0.0) / n)


def bootstrap_median(x: Any, *, seed: int, n_boot: int = 500) -> tuple[float, float]:
    """Median of the finite entries and its bootstrap standard error."""
    a = np.asarray(x, dtype=float).ravel()
    a = a[np.isfinite(a)]
    rng = np.random.default_rng(seed)
    boots = np.median(rng.choice(a, size=(n_boot, a.size), replace=True), axis=1)
    return float(np.median(a)), float(boots.std(ddof=1))


def crossing(xs: Sequence[float], ys: Sequence[float], level: float) -> float:
    """First x where the piecewise-linear curve (xs, ys) crosses ``level`` upwards (NaN if none)."""
    for i in range(len(xs) - 1):
        if ys[i] < level <= ys[i + 1]:
            return float(xs[i] + (level - ys[i]) * (xs[i + 1] - xs[i]) / (ys[i + 1] - ys[i]))
    return math.nan

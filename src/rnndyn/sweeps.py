"""Parameter sweeps: grid x seeds -> Dask -> Zarr, resumable.

Each (grid point, seed) is one task. Results are written to a Zarr store (one chunk per point)
as soon as each task finishes, by the single process that drives the sweep, so a killed sweep
loses nothing that had finished, and re-running the same call resumes where it stopped. Every
point's seed derives from ``(base_seed, point index)`` (NumPy ``SeedSequence``), so a resumed or
redistributed sweep gives the same numbers.

A failing point never aborts the sweep (``throw=False``, the default): its outputs stay NaN and
its ``status`` variable holds the error message, so nothing turns into NaN silently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnndyn._checks import check_positive_int

SweepFn = Callable[[dict[str, Any], int], Mapping[str, Any]]

_STATUS_LEN = 200


def point_seed(base_seed: int, index: int) -> int:
    """The seed of grid point ``index``: a pure function of ``(base_seed, index)``."""
    return int(np.random.SeedSequence([int(base_seed), int(index)]).generate_state(1, dtype=np.uint32)[0])


def _run_point(fn: SweepFn, params: dict[str, Any], seed: int) -> tuple[dict[str, np.ndarray], str]:
    try:
        out = fn(dict(params), seed)
        if not isinstance(out, Mapping):
            raise TypeError(
                f"the sweep function must return a mapping name -> value; got {type(out).__name__}"
            )
        return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}, "ok"
    except Exception as exc:  # recorded per point, by design (sweeps never abort)
        return {}, f"error: {type(exc).__name__}: {exc}"[:_STATUS_LEN]


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"`grid` must be a non-empty mapping name -> sequence of values; got {grid!r}")
    out: dict[str, np.ndarray] = {}
    for name, values in grid.items():
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"`grid[{name!r}]` must be a non-empty 1-D sequence; got shape {arr.shape}")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"`grid[{name!r}]` must be finite; got {values!r}")
        out[str(name)] = arr
    return out


def _template(grid: dict[str, np.ndarray], n_seeds: int, schema: dict[str, np.ndarray]) -> Any:
    import xarray as xr

    dims = [*grid, "seed"]
    shape = [len(v) for v in grid.values()] + [n_seeds]
    coords: dict[str, Any] = {k: v for k, v in grid.items()}
    coords["seed"] = np.arange(n_seeds)
    data_vars: dict[str, Any] = {}
    for name, value in schema.items():
        extra = [f"{name}_dim{i}" for i in range(value.ndim)]
        data_vars[name] = (dims + extra, np.full(shape + list(value.shape), np.nan))
    data_vars["status"] = (dims, np.full(shape, "", dtype=f"<U{_STATUS_LEN + 7}"))
    data_vars["point_seed"] = (dims, np.zeros(shape, dtype=np.int64))
    data_vars["done"] = (dims, np.zeros(shape, dtype=bool))
    return xr.Dataset(data_vars, coords=coords)


def sweep(
    fn: SweepFn,
    grid: Mapping[str, Sequence[Any]],
    *,
    store: str | Path,
    n_seeds: int = 1,
    base_seed: int = 0,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    attrs: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate ``fn(params, seed)`` on every grid point and seed, in parallel, into Zarr.

    Args:
        fn: picklable function ``(params: dict, seed: int) -> {name: scalar or fixed-shape array}``.
        grid: ``{parameter: values}``; the Cartesian product is swept.
        store: path of the Zarr store. If it exists, finished points are skipped (resume).
        n_seeds: repetitions per grid point (independent seeds).
        base_seed: seeds are ``point_seed(base_seed, flat index)``.
        scheduler: ``None`` starts a local Dask cluster (processes); ``"threads"`` a local
            in-process cluster; ``"sync"`` runs in this process without Dask; any other string
            is the address of an existing Dask scheduler (``tcp://host:8786``).
        n_workers: workers of the local cluster (default: all cores).
        progress: show a progress bar.
        attrs: attributes stored with the dataset (e.g. the model settings).

    Returns:
        The finished ``xarray.Dataset`` (opened from the store), with dims ``(*grid, seed)``,
        one variable per output, ``status`` ("ok" or the error), ``point_seed`` and ``done``.

    Example:
        >>> import tempfile, rnndyn as rd
        >>> def f(p, seed):
        ...     return {"y": p["a"] * 2.0}
        >>> ds = rd.sweep(f, {"a": [1.0, 2.0]}, store=tempfile.mkdtemp() + "/s.zarr",
        ...               scheduler="sync", progress=False)
        >>> ds["y"].values[:, 0].tolist()
        [2.0, 4.0]
    """
    import xarray as xr

    grid_arrays = _check_grid(grid)
    n_seeds = check_positive_int(n_seeds, "n_seeds")
    store = Path(store)
    names = list(grid_arrays)
    shape = tuple(len(v) for v in grid_arrays.values()) + (n_seeds,)
    tasks = []
    for flat, idx in enumerate(itertools.product(*[range(s) for s in shape])):
        params = {k: grid_arrays[k][i].item() for k, i in zip(names, idx[:-1], strict=True)}
        tasks.append((idx, params, point_seed(base_seed, flat)))

    done = None
    if store.exists():
        existing = xr.open_zarr(store, consolidated=False)
        if tuple(existing["done"].shape) != shape or list(existing["done"].dims) != [*names, "seed"]:
            raise ValueError(
                f"`store` {store} holds a sweep of shape {dict(existing['done'].sizes)}; this call asks for "
                f"{dict(zip([*names, 'seed'], shape, strict=True))}. Use another path to start afresh."
            )
        done = existing["done"].values
    pending = [t for t in tasks if done is None or not done[t[0]]]

    var_info: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
    point_dims = [*names, "seed"]
    ones = (1,) * len(shape)

    def write(idx: tuple[int, ...], outputs: dict[str, np.ndarray], status: str, seed: int) -> None:
        nonlocal done
        if not var_info:
            if done is None:
                tmpl = _template(grid_arrays, n_seeds, outputs)
                if attrs:
                    tmpl.attrs.update({k: str(v) for k, v in attrs.items()})
                encoding = {v: {"chunks": ones + tmpl[v].shape[len(shape) :]} for v in tmpl.data_vars}
                # Zarr format 2: fixed-width strings (the status) have a stable encoding there.
                tmpl.to_zarr(store, mode="w", encoding=encoding, zarr_format=2, consolidated=False)
                done = np.zeros(shape, dtype=bool)
            else:
                tmpl = xr.open_zarr(store, consolidated=False)
            for name in tmpl.data_vars:
                if name not in ("status", "point_seed", "done"):
                    var_info[str(name)] = (
                        tuple(map(str, tmpl[name].dims)),
                        tuple(tmpl[name].shape[len(shape) :]),
                    )
        upd: dict[str, Any] = {}
        for name, (dims, extra) in var_info.items():
            value = outputs.get(name, np.full(extra, np.nan))
            if np.shape(value) != extra:
                value, status = (
                    np.full(extra, np.nan),
                    f"error: output {name!r} has shape {np.shape(value)}, expected {extra}",
                )
            upd[name] = (dims, np.reshape(value, ones + extra))
        upd["status"] = (point_dims, np.full(ones, status, dtype=f"<U{_STATUS_LEN + 7}"))
        upd["point_seed"] = (point_dims, np.full(ones, seed, dtype=np.int64))
        upd["done"] = (point_dims, np.ones(ones, dtype=bool))
        region = {d: slice(i, i + 1) for d, i in zip(point_dims, idx, strict=True)}
        xr.Dataset(upd).to_zarr(store, region=region, consolidated=False)
        done[idx] = True

    failed_before_schema: list[tuple[tuple[int, ...], str, int]] = []

    from rich.progress import Progress

    with Progress(disable=not progress, transient=False) as bar:
        task_id = bar.add_task("sweep", total=len(tasks), completed=len(tasks) - len(pending))
        if scheduler == "sync":
            for idx, params, seed in pending:
                outputs, status = _run_point(fn, params, seed)
                _record(write, failed_before_schema, lambda: done, idx, outputs, status, seed)
                bar.advance(task_id)
        else:
            from dask.distributed import Client, LocalCluster, as_completed

            if scheduler in (None, "threads"):
                cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=scheduler is None,
                    dashboard_address=None,
                )
                client = Client(cluster)
            else:
                cluster = None
                client = Client(scheduler)
            try:
                futures = {
                    client.submit(_run_point, fn, params, seed, pure=False): (idx, seed)
                    for idx, params, seed in pending
                }
                for fut in as_completed(futures):
                    idx, seed = futures[fut]
                    outputs, status = fut.result()
                    _record(write, failed_before_schema, lambda: done, idx, outputs, status, seed)
                    bar.advance(task_id)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    if done is None:
        msgs = sorted({s for _, s, _ in failed_before_schema})
        raise RuntimeError(f"every sweep point failed; no results to store. Errors: {msgs[:3]}")
    return xr.open_zarr(store, consolidated=False).load()


def _record(write, backlog, get_done, idx, outputs, status, seed) -> None:
    # Failed points that arrive before any success wait until a success fixes the schema.
    if get_done() is None and not outputs:
        backlog.append((idx, status, seed))
        return
    write(idx, outputs, status, seed)
    while backlog:
        b_idx, b_status, b_seed = backlog.pop()
        write(b_idx, {}, b_status, b_seed)


def lyapunov_point(
    params: dict[str, Any],
    seed: int,
    *,
    model: str,
    n: int | None,
    n_steps: int,
    n_transient: int,
    k: int | None = None,
    n_trajectories: int = 2,
    dt: float = 0.05,
    method: str = "rk4",
    fixed: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """One sweep point: build the named model with ``params`` (+ ``fixed``) and seed, return its
    Lyapunov summary (``lambda_max``, its stderr, Kaplan--Yorke dimension, entropy rate, sum).

    Module-level so that ``functools.partial(lyapunov_point, model=..., ...)`` pickles to Dask
    workers. ``n`` in ``params`` overrides the fixed ``n`` (so ``n`` can be a grid axis).
    """
    import torch

    from rnndyn.lyapunov import lyapunov_spectrum
    from rnndyn.models.registry import build_model

    params = dict(params)
    n_point = int(params.pop("n", n)) if ("n" in params or n is not None) else None
    all_params = {**dict(fixed or {}), **params}
    system = build_model(model, n=n_point, params=all_params, seed=seed, dt=dt, method=method, device=device)
    res = lyapunov_spectrum(
        system,
        k=k,
        n_steps=n_steps,
        n_transient=n_transient,
        n_trajectories=n_trajectories,
        generator=torch.Generator().manual_seed(seed + 1),
    )
    return {
        "lambda_max": res.lambda_max,
        "lambda_max_stderr": float(res.stderr[0]),
        "kaplan_yorke_dimension": res.kaplan_yorke_dimension,
        "entropy_rate": res.entropy_rate,
        "exponent_sum": float(res.exponents.sum()),
    }


__all__ = ["lyapunov_point", "point_seed", "sweep"]

"""`rnndyn sweep`: Lyapunov summaries over a parameter grid x seeds, on Dask, into Zarr."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnndyn.cli._common import (
    DeviceOpt,
    DtOpt,
    JsonOpt,
    MethodOpt,
    ModelOpt,
    NOpt,
    OutOpt,
    ParamOpt,
    SeedOpt,
    console,
    fail,
    write_json,
)


def _parse_grid(items: list[str]) -> dict[str, list[float]]:
    from rnndyn.models.registry import parse_params

    grid: dict[str, list[float]] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"`--grid` must look like name=v1,v2,... or name=start:stop:num; got {item!r}")
        name, raw = item.split("=", 1)
        if raw.count(":") == 2:
            import numpy as np

            start, stop, num = raw.split(":")
            values = np.linspace(float(start), float(stop), int(num)).tolist()
        else:
            values = [parse_params([f"v={v}"])["v"] for v in raw.split(",") if v.strip()]
        grid[name.strip().replace("-", "_")] = values
    return grid


def sweep_cmd(
    grid: Annotated[
        list[str],
        typer.Option("--grid", "-g", help="Grid axis: name=v1,v2,... or name=start:stop:num (repeatable)."),
    ],
    store: Annotated[
        Path,
        typer.Option(
            "--store", help="Zarr store (re-run the same command to resume; a different sweep is refused)."
        ),
    ],
    model: ModelOpt = "vanilla",
    n: NOpt = 64,
    param: ParamOpt = None,
    n_seeds: Annotated[int, typer.Option("--seeds", help="Independent networks per grid point.")] = 1,
    n_steps: Annotated[int, typer.Option("--steps")] = 500,
    n_transient: Annotated[int, typer.Option("--transient")] = 200,
    k: Annotated[int | None, typer.Option("--k", help="Number of exponents (default: all).")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Dask scheduler address; default: a local cluster; 'sync' for none."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local cluster workers.")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard an existing store at --store and start a new one.")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Recompute points recorded as failed.")
    ] = False,
    max_retries: Annotated[
        int, typer.Option("--max-retries", help="Retries of a point whose worker died, then it is failed.")
    ] = 2,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds per point; longer points are failed.")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for another sweep writing the same store.")
    ] = 0.0,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", help="Seconds to wait for a remote --scheduler.")
    ] = 5.0,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = 0.05,
    method: MethodOpt = "rk4",
    json_path: JsonOpt = None,
    out: OutOpt = None,
) -> None:
    """Sweep lambda_max (and D_KY, entropy rate) of a model over a parameter grid."""
    import functools

    from rnndyn.models.registry import parse_params
    from rnndyn.sweeps import lyapunov_point, sweep

    try:
        axes = _parse_grid(grid)
        fixed = parse_params(param)
        fn = functools.partial(
            lyapunov_point,
            model=model,
            n=n,
            n_steps=n_steps,
            n_transient=n_transient,
            k=k,
            dt=dt,
            method=method,
            fixed=fixed,
            device=device,
        )
        ds = sweep(
            fn,
            axes,
            store=store,
            n_seeds=n_seeds,
            base_seed=seed,
            scheduler=scheduler,
            n_workers=workers,
            attrs={"model": model, "n": n, "fixed": fixed},
            fresh=fresh,
            retry_failed=retry_failed,
            max_retries=max_retries,
            time_limit=time_limit,
            wait=wait,
            connect_timeout=connect_timeout,
        )
    except (TypeError, ValueError, RuntimeError) as exc:
        raise fail(str(exc)) from None
    import collections

    counts = collections.Counter(ds["status"].values.ravel().tolist())
    n_ok = counts.pop("success", 0)
    others = "".join(f", {v} {k}" for k, v in sorted(counts.items()))
    console.print(f"wrote {store}: {n_ok}/{ds['status'].size} points success{others}")
    mean = ds["lambda_max"].mean("seed")
    console.print(mean.to_dataframe().to_string(max_rows=40))
    if json_path is not None:
        write_json(
            json_path,
            {
                "store": str(store),
                "grid": axes,
                "lambda_max": ds["lambda_max"].values,
                "status": ds["status"].values,
                "message": ds["message"].values,
            },
        )
    if out is not None:
        from rnndyn.plotting import plot_sweep

        console.print(f"wrote {plot_sweep(ds, out / 'sweep.png')}")

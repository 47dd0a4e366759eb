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
    store: Annotated[Path, typer.Option("--store", help="Zarr store (re-run the same command to resume).")],
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
        )
    except (TypeError, ValueError, RuntimeError) as exc:
        raise fail(str(exc)) from None
    n_ok = int((ds["status"].values == "ok").sum())
    console.print(f"wrote {store}: {n_ok}/{ds['status'].size} points ok")
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
            },
        )
    if out is not None:
        from rnndyn.plotting import plot_sweep

        console.print(f"wrote {plot_sweep(ds, out / 'sweep.png')}")

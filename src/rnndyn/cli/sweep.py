"""`rnndyn sweep`: Lyapunov summaries over a parameter grid x seeds, on Dask, into Zarr."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn.cli._common import (
    DEFAULT_DT,
    DEFAULT_METHOD,
    DEFAULT_N,
    ArchOpt,
    DeviceOpt,
    DtOpt,
    JsonOpt,
    LstmStateOpt,
    MethodOpt,
    ModulePathOpt,
    NOpt,
    OutOpt,
    ParamOpt,
    SeedOpt,
    TorchModelOpt,
    TrustPickleOpt,
    check_device,
    check_model_flags,
    check_outputs,
    check_zarr_target,
    console,
    fail_from,
    named_params,
    progress_display,
    write_json,
)


def _check_k(k: int | None, size: int | None, where: str) -> None:
    """Refuse ``-k`` above the number of exponents the network has (its tangent size)."""
    if k is not None and size is not None and k > size:
        raise ValueError(f"`-k` must be <= the state size ({size}, {where}); got -k {k}")


def _smallest_tangent_size(
    model: str, n: int | None, fixed: dict[str, Any], axes: dict[str, list[Any]]
) -> tuple[int | None, str]:
    """Tangent size of ``model`` at the grid's smallest state size (``-n`` or an ``n=`` axis), built
    once with the first value of every other axis; ``None`` when it cannot be built here (each point
    then reports its own error, as before)."""
    from rnndyn.models.registry import build_model

    sizes = [int(v) for v in axes.get("n", [])] or ([n] if n is not None else [None])
    n_min = min(sizes) if sizes != [None] else None
    params = {**fixed, **{a: v[0] for a, v in axes.items() if a != "n" and v}}
    try:
        size = build_model(model, n=n_min, params=params).tangent_size
    except Exception:  # noqa: BLE001 -- a bad parameter is each point's error, reported per point
        return None, ""
    if n_min is None:
        return size, model
    where = f"{model} at the grid's smallest n={n_min}" if "n" in axes else f"{model} at -n {n_min}"
    return size, where


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
            try:
                values = np.linspace(float(start), float(stop), int(num)).tolist()
            except ValueError:
                raise ValueError(
                    f"`--grid` name=start:stop:num needs two numbers and an int count; got {item!r}"
                ) from None
            if int(num) < 1:
                raise ValueError(f"`--grid` name=start:stop:num needs a count >= 1; got {item!r}")
        else:
            values = [parse_params([f"v={v}"])["v"] for v in raw.split(",") if v.strip()]
        key = name.strip().replace("-", "_")
        if key in grid:  # before: the last -g of a name silently replaced the earlier ones
            raise ValueError(
                f"`--grid` must name each axis once; got {key!r} twice (one -g {key}=v1,v2,... per axis)"
            )
        if not values:
            raise ValueError(f"`--grid` axis {key!r} must have at least one value; got {item!r}")
        grid[key] = values
    return grid


#: rd.sweep's arguments -> the options of `rnndyn sweep`
OPTIONS = {
    "store": "--store",
    "n_seeds": "--seeds",
    "scheduler": "--scheduler",
    "n_workers": "--workers",
    "max_retries": "--max-retries",
    "time_limit": "--time-limit",
    "wait": "--wait",
    "connect_timeout": "--connect-timeout",
}


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
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model name or preset (see `rnndyn models`); default: vanilla.",
            show_default=False,
        ),
    ] = None,
    n: NOpt = None,
    param: ParamOpt = None,
    torch_model: TorchModelOpt = None,
    arch: ArchOpt = None,
    module_path: ModulePathOpt = None,
    trust_pickle: TrustPickleOpt = False,
    lstm_state: LstmStateOpt = "full",
    n_seeds: Annotated[int, typer.Option("--seeds", help="Independent networks per grid point.")] = 1,
    n_steps: Annotated[int, typer.Option("--steps", help="Averaged steps per point.")] = 500,
    n_transient: Annotated[int, typer.Option("--transient", help="Discarded steps per point.")] = 200,
    k: Annotated[int | None, typer.Option("--k", "-k", help="Number of exponents (default: all).")] = None,
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
    dt: DtOpt = None,
    method: MethodOpt = None,
    json_path: JsonOpt = None,
    out: OutOpt = None,
) -> None:
    """Sweep lambda_max (and D_KY, entropy rate) of a model over a parameter grid.

    With --torch-model the network is the trained one from the file and the grid axis is
    weight_scale (its recurrent weights times the value); seeds then draw initial states only.
    """
    # a re-run of the same command resumes the store, so its summary (--json, sweep.png) is
    # rewritten from the store without --force; the paths are still checked before the run
    check_outputs(json_path=json_path, out=out, force=True)  # before any long computation
    check_zarr_target(store, "--store")  # --fresh deletes it: never a folder of other files
    import functools

    from rnndyn._checks import check_positive_int
    from rnndyn.sweeps import TORCH_MODEL_AXES, file_digest, lyapunov_point, sweep, torch_model_point

    check_device(device)
    check_model_flags(
        model,
        n,
        param,
        torch_model,
        lstm_state=lstm_state,
        arch=arch,
        module_path=module_path,
        trust_pickle=trust_pickle,
    )
    given = [f"{flag} {v}" for flag, v in (("--dt", dt), ("--method", method)) if v is not None]
    try:
        check_positive_int(n_seeds, "--seeds")
        check_positive_int(n_steps, "--steps")
        check_positive_int(n_transient, "--transient", minimum=0)
        if k is not None:
            check_positive_int(k, "--k")
        axes = _parse_grid(grid)
        if torch_model is not None:
            if given:  # the same refusal as the other commands' (resolve_model)
                raise ValueError(
                    "`--dt`/`--method` apply only to flows (ODE models such as rate, gated, lorenz63); a "
                    f"--torch-model is a map; got {', '.join(given)}"
                )
            unknown = sorted(set(axes) - set(TORCH_MODEL_AXES))
            if unknown:
                raise ValueError(
                    f"`--grid` over a --torch-model varies {', '.join(TORCH_MODEL_AXES)}; got {', '.join(unknown)}"
                )
            if not torch_model.is_file():
                raise ValueError(f"`--torch-model` must be an existing file; got {torch_model}")
            from rnndyn.io import load_model

            loaded = load_model(
                torch_model,
                arch=arch,
                module_path=module_path,
                lstm_state=lstm_state,
                trust_pickle=trust_pickle,
            )  # fail early
            _check_k(k, loaded.tangent_size, f"{torch_model.name}")
            digest = file_digest(torch_model)
            fixed = {"torch_model": str(torch_model.resolve()), "sha256": digest}
            fn = functools.partial(
                torch_model_point,
                path=str(torch_model.resolve()),
                digest=digest,
                n_steps=n_steps,
                n_transient=n_transient,
                k=k,
                arch=arch,
                module_path=module_path,
                lstm_state=lstm_state,
                trust_pickle=trust_pickle,
                device=device,
            )
            model_label, n_label = torch_model.name, None
        else:
            from rnndyn.models.base import AbstractFlow
            from rnndyn.models.registry import MODELS, model_parameters

            # the model, its preset and -p checked here, the grid's names too: every point
            # failed with the same error before (after the cluster had started)
            model_label, fixed, _ = named_params(model or "vanilla", param)
            if given and not issubclass(MODELS[model_label].load(), AbstractFlow):
                # a map has nothing to discretise: --dt/--method were silently ignored before
                raise ValueError(
                    "`--dt`/`--method` apply only to flows (ODE models such as rate, gated, lorenz63); "
                    f"{model_label!r} is a map; got {', '.join(given)}"
                )
            n_label = (DEFAULT_N if n is None else n) if MODELS[model_label].takes_n else None
            if n is not None and n_label is None:
                raise ValueError(f"`--n` does not apply to {model_label!r} (fixed state size); got -n {n}")
            if n is not None and n < 1:
                raise ValueError(f"`--n` must be a positive int; got {n}")
            bad_n = [
                v for v in axes.get("n", []) if isinstance(v, bool) or not float(v).is_integer() or v < 1
            ]
            if bad_n and n_label is not None:
                raise ValueError(
                    f"`--grid` n= must list ints >= 1 (state sizes); got {', '.join(map(str, bad_n))}"
                )
            takes = [*model_parameters(model_label), *(["n"] if n_label is not None else [])]
            unknown = sorted(set(axes) - set(takes))
            if unknown:
                raise ValueError(
                    f"`--grid` axes must be parameters of {model_label}: {', '.join(takes)}; "
                    f"got {', '.join(unknown)}"
                )
            if k is not None:  # k > n failed at every point, after the cluster had started
                _check_k(k, *_smallest_tangent_size(model_label, n_label, fixed, axes))
            fn = functools.partial(
                lyapunov_point,
                model=model_label,
                n=n_label,
                n_steps=n_steps,
                n_transient=n_transient,
                k=k,
                dt=DEFAULT_DT if dt is None else dt,  # the values stored stores were made with
                method=DEFAULT_METHOD if method is None else method,
                fixed=fixed,
                device=device,
            )
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        with progress_display(
            TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as bar:  # on stderr, transient (the library's own bar would print to stdout)
            task = bar.add_task("sweep", total=None)
            ds = sweep(
                fn,
                axes,
                store=store,
                n_seeds=n_seeds,
                base_seed=seed,
                scheduler=scheduler,
                n_workers=workers,
                attrs={"model": model_label, "n": n_label, "fixed": fixed},
                fresh=fresh,
                retry_failed=retry_failed,
                max_retries=max_retries,
                time_limit=time_limit,
                wait=wait,
                connect_timeout=connect_timeout,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except typer.Exit:  # a clean error already printed (named_params)
        raise
    except (TypeError, ValueError, RuntimeError) as exc:
        raise fail_from(exc, OPTIONS) from None
    import collections

    import numpy as np

    counts = collections.Counter(ds["status"].values.ravel().tolist())
    n_ok = counts.pop("success", 0)
    others = "".join(f", {v} {k}" for k, v in sorted(counts.items()))
    console.print(f"wrote {store}: {n_ok}/{ds['status'].size} points success{others}")
    for status in sorted(counts):  # what each non-success status means here: its first point's message
        first = tuple(int(i[0]) for i in np.nonzero(ds["status"].values == status))
        where = ", ".join(f"{d}={ds[d].values[i].item()}" if d != "seed" else f"seed {i}"
                          for d, i in zip(ds["status"].dims, first, strict=True))  # fmt: skip
        console.print(f"  {status} (e.g. {where}): {ds['message'].values[first]}", soft_wrap=True)
    # over all seeds: a seed without a value (failed, diverged) makes its point's mean NaN instead
    # of being left out silently (xarray's default skips NaN)
    mean = ds["lambda_max"].mean("seed", skipna=False)
    console.print(mean.to_dataframe().to_string(max_rows=40))
    if ds.sizes["seed"] > 1 and bool(mean.isnull().any()):
        console.print("(NaN: a seed of that point has no lambda_max; see the statuses above)")
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

"""`rnndyn phase-diagram`: the (g_h, alpha_r) mean-field phase diagram (+ finite-N overlay)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnndyn.cli._common import (
    DEFAULT_N,
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    OutOpt,
    ProgressOpt,
    SeedOpt,
    check_device,
    check_outputs,
    check_zarr_target,
    console,
    fail,
    fail_from,
    write_json,
)

RangeOpt = str


def _range(spec: str, name: str):
    """'start:stop:num' (linspace) or a comma list."""
    import numpy as np

    try:
        if ":" in spec:
            a, b, k = spec.split(":")
            return np.linspace(float(a), float(b), int(k))
        return np.array([float(v) for v in spec.split(",")])
    except ValueError:
        raise fail(f"`--{name}` must be 'start:stop:num' or a comma list; got {spec!r}") from None


#: phase_diagram's arguments -> the options of `rnndyn phase-diagram`
OPTIONS = {
    "model": "--model",
    "g_h": "--g-h",
    "alpha_r": "--alpha-r",
    "alpha_z": "--alpha-z",
    "theory": "--theory",
    "n": "--n",
    "n_steps": "--steps",
    "n_transient": "--transient",
    "dt": "--dt",
    "lyapunov": "--lyapunov",
    "fixed_point_starts": "--fp-starts",
    "fp_starts": "--fp-starts",
    "store": "--store",
    "scheduler": "--scheduler",
    "n_workers": "--workers",
}


def phase_diagram_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="gru or gated_flow.")] = "gru",
    g_h: Annotated[str, typer.Option("--g-h", help="g_h grid: 'start:stop:num' or 'a,b,c'.")] = "1.2:8:100",
    alpha_r: Annotated[
        str, typer.Option("--alpha-r", help="alpha_r grid: 'start:stop:num' or list.")
    ] = "0:30:100",
    alpha_z: Annotated[float, typer.Option("--alpha-z", help="Update-gate gain.")] = 0.0,
    theory: Annotated[
        str, typer.Option("--theory", help="Theory over the grid: mft, or dmft (see rnndyn.phases.THEORIES).")
    ] = "mft",
    simulate: Annotated[bool, typer.Option("--simulate/--no-simulate", help="Finite-N overlay.")] = False,
    n: Annotated[
        int,
        typer.Option("--n", "-n", help=f"Units per simulated network (default {DEFAULT_N}, as everywhere)."),
    ] = DEFAULT_N,
    n_steps: Annotated[int, typer.Option("--steps", help="Lyapunov steps per point.")] = 1000,
    n_transient: Annotated[int, typer.Option("--transient", help="Transient steps per point.")] = 500,
    dt: Annotated[float, typer.Option("--dt", help="RK4 step for the gated flow.")] = 0.1,
    lyapunov: Annotated[
        str, typer.Option("--lyapunov", help="auto (= two_trajectory, the cheaper), two_trajectory or qr.")
    ] = "auto",
    fixed_points: Annotated[
        bool,
        typer.Option("--fixed-points/--no-fixed-points", help="Overlay: fixed points found, slow modes."),
    ] = False,
    fp_starts: Annotated[int, typer.Option("--fp-starts", help="Starts for the fixed-point search.")] = 8,
    zarr: Annotated[Path | None, typer.Option("--zarr", help="Write the Dataset as Zarr here.")] = None,
    netcdf: Annotated[Path | None, typer.Option("--netcdf", help="Write the Dataset as NetCDF here.")] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Zarr store of the overlay sweep (re-run to resume after a kill)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Overlay: 'sync' (default), 'local' (Dask processes), 'threads' or an address.",
        ),
    ] = "sync",
    workers: Annotated[int | None, typer.Option("--workers", help="Local cluster workers.")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard an existing --store and start a new one.")
    ] = False,
    progress: ProgressOpt = True,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Mean-field phase diagram of the GRU / gated flow: regions 1-5 and critical lines."""
    # every output checked before any long computation (a Zarr store is a folder: existing -> --force)
    check_outputs(
        json_path=json_path,
        out=out,
        out_files=(f"phase_diagram_{model}.png",),
        files={"--netcdf": netcdf},
        force=force,
    )
    check_zarr_target(zarr, "--zarr")
    check_zarr_target(store, "--store")
    if zarr is not None and zarr.exists() and not force:
        raise fail(f"`--zarr` {str(zarr)!r} exists; pass --force to overwrite it")
    import numpy as np
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from rnndyn.cli._common import progress_display
    from rnndyn.meanfield.phase import REGION_NAMES
    from rnndyn.phases import phase_diagram

    # mean-field numerics run on the CPU in float64, simulations on float64 CPU models: a GPU asked
    # for is refused, not silently replaced by the CPU (before: --device cuda ran on the CPU, exit 0)
    if check_device(device) != "cpu":
        raise fail(f"`--device` must be cpu for phase-diagram (its numerics run on the CPU); got {device!r}")
    from rnndyn._checks import check_real

    try:  # --dt 0 was accepted when no flow was simulated
        check_real(dt, "--dt", low=0.0, low_open=True)
    except ValueError as exc:
        raise fail(str(exc)) from None
    gh = _range(g_h, "g-h")
    ar = _range(alpha_r, "alpha-r")
    with progress_display(
        TextColumn("[bold]phase diagram"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), enabled=progress,
    ) as bar:  # fmt: skip
        task = bar.add_task("pd", total=None)

        def cb(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            ds = phase_diagram(model, g_h=gh, alpha_r=ar, alpha_z=alpha_z, theory=theory, simulate=simulate, n=n,
                               n_steps=n_steps, n_transient=n_transient, dt=dt, seed=seed, lyapunov=lyapunov,
                               fixed_points=fixed_points, fixed_point_starts=fp_starts, store=store,
                               scheduler=None if scheduler == "local" else scheduler, n_workers=workers,
                               fresh=fresh, progress=cb)  # fmt: skip
        except (TypeError, ValueError, RuntimeError) as exc:
            raise fail_from(exc, OPTIONS) from None
    counts = {
        REGION_NAMES[int(k)]: int(v)
        for k, v in zip(*np.unique(ds.region.values, return_counts=True), strict=True)
    }
    console.print(f"{model}: {gh.size} x {ar.size} points; regions: {counts}")
    if simulate:
        from rich.table import Table

        tab = Table(title=f"finite-N overlay (N = {n}, {ds.attrs['sim_lyapunov']})")
        for col in ("g_h", "alpha_r", "MFT region", "lambda_max", "late lambda", "<h^2>", "region_sim"):
            tab.add_column(col, justify="right")
        for i, g in enumerate(gh):
            for j, a in enumerate(ar):
                tab.add_row(f"{g:g}", f"{a:g}", str(int(ds.region.values[i, j])),
                            f"{ds.lambda_max_sim.values[i, j]:+.4f}", f"{ds.lambda_late_sim.values[i, j]:+.4f}",
                            f"{ds.activity_sim.values[i, j]:.3g}", str(int(ds.region_sim.values[i, j])))  # fmt: skip
        console.print(tab)
    n_failed = int((ds.status.values != "success").sum())
    if n_failed:
        console.print(
            f"{n_failed} point(s) not solved; see the `status` and `message` variables", style="yellow"
        )
    if zarr is not None:
        ds.to_zarr(
            zarr, mode="w", zarr_format=2, consolidated=True
        )  # xr.open_zarr(path) reads it without a warning
        console.print(f"wrote {zarr}")
    if netcdf is not None:
        from rnndyn.cli._common import write_netcdf

        console.print(f"wrote {write_netcdf(ds, netcdf)}")
    if out is not None:
        from rnndyn.plotting.phase import plot_phase_diagram

        p = plot_phase_diagram(ds, Path(out) / f"phase_diagram_{model}.png")
        console.print(f"wrote {p}")
    if json_path is not None:
        payload = {
            "model": model,
            "g_h": gh,
            "alpha_r": ar,
            "region": ds.region.values,
            "g_star": ds.g_star.values,
            "g_ms": ds.g_ms.values,
            "status": ds.status.values,
            "region_names": REGION_NAMES,
        }
        if simulate:
            for name in ("lambda_max_sim", "lambda_max_sim_stderr", "lambda_late_sim", "activity_sim",
                         "chaotic_sim", "region_sim", "sim_status", "sim_message", "n_fixed_points_sim",
                         "n_stable_fixed_points_sim", "fp_activity_sim", "slow_fraction_sim"):  # fmt: skip
                if name in ds:
                    payload[name] = ds[name].values
        write_json(json_path, payload)

"""`rnndyn analyze`: the main job. (Grows into the full Lyapunov/spectrum/fixed-point report.)"""

from __future__ import annotations

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
    build,
    console,
    fail,
    write_json,
)


def analyze_cmd(
    model: ModelOpt = "vanilla",
    n: NOpt = 64,
    param: ParamOpt = None,
    n_steps: Annotated[int, typer.Option("--steps")] = 1000,
    n_transient: Annotated[int, typer.Option("--transient")] = 200,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = 0.05,
    method: MethodOpt = "rk4",
    json_path: JsonOpt = None,
    out: OutOpt = None,
) -> None:
    """Analyse a model (default: a built-in network) and print a summary table."""
    import torch
    from rich.table import Table

    from rnndyn.simulate import simulate

    system = build(model, n, param, seed, device, dt, method)
    try:
        traj = simulate(
            system,
            n_steps=n_steps,
            n_transient=n_transient,
            generator=torch.Generator().manual_seed(seed + 1),
        )
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"rnndyn analyze: {model}")
    table.add_column("quantity")
    table.add_column("value")
    table.add_row("state size", str(system.state_size))
    table.add_row("mean |h|", f"{traj.abs().mean().item():.4g}")
    table.add_row("temporal std", f"{traj.std(dim=-2).mean().item():.4g}")
    console.print(table)
    if json_path is not None:
        write_json(json_path, {"model": model, "mean_abs_h": traj.abs().mean().item()})
    _ = out

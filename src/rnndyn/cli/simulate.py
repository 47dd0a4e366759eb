"""`rnndyn simulate`: roll a model out and save the trajectory."""

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
    build,
    console,
    fail,
    write_json,
)


def simulate_cmd(
    model: ModelOpt = "vanilla",
    n: NOpt = 64,
    param: ParamOpt = None,
    n_steps: Annotated[int, typer.Option("--steps", help="Recorded steps.")] = 1000,
    n_transient: Annotated[int, typer.Option("--transient", help="Discarded steps.")] = 200,
    batch: Annotated[int, typer.Option("--batch", help="Independent trajectories.")] = 1,
    npz: Annotated[Path | None, typer.Option("--npz", help="Write the trajectory (.npz).")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = 0.05,
    method: MethodOpt = "rk4",
    json_path: JsonOpt = None,
    out: OutOpt = None,
) -> None:
    """Simulate a model; write the trajectory (.npz / .json) and, with --out, a plot."""
    import numpy as np
    import torch

    from rnndyn.simulate import simulate

    system = build(model, n, param, seed, device, dt, method)
    gen = torch.Generator().manual_seed(seed + 1)
    try:
        traj = simulate(system, n_steps=n_steps, n_transient=n_transient, batch_shape=(batch,), generator=gen)
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    arr = traj.detach().cpu().numpy()
    console.print(
        f"[bold]{model}[/] state_size={system.state_size} trajectory {tuple(arr.shape)} "
        f"(batch, T, n); mean |h| = {np.abs(arr).mean():.4g}, std = {arr.std():.4g}"
    )
    if npz is not None:
        npz.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(npz, trajectory=arr, dt=system.dt or 1.0, model=model)
        console.print(f"wrote {npz}")
    if json_path is not None:
        write_json(
            json_path, {"model": model, "state_size": system.state_size, "dt": system.dt, "trajectory": arr}
        )
    if out is not None:
        from rnndyn.plotting import plot_trajectory

        path = plot_trajectory(arr[0], out / "trajectory.png", title=f"{model}", dt=system.dt)
        console.print(f"wrote {path}")

"""`rnndyn simulate`: roll a model out and save the trajectory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnndyn.cli._common import (
    BatchFirstOpt,
    DeviceOpt,
    DtOpt,
    ForceOpt,
    InputsOpt,
    JsonOpt,
    MethodOpt,
    ModelFlags,
    OutOpt,
    SeedOpt,
    check_outputs,
    console,
    fail,
    fail_from,
    read_inputs,
    resolve_model,
    takes_model,
    write_json,
)


@takes_model
def simulate_cmd(
    flags: ModelFlags,
    inputs: InputsOpt = None,
    batch_first: BatchFirstOpt = None,
    n_steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            help="Recorded steps (default 1000, or T - transient with --inputs).",
            show_default=False,
        ),
    ] = None,
    n_transient: Annotated[int, typer.Option("--transient", help="Discarded steps.")] = 200,
    batch: Annotated[int, typer.Option("--batch", help="Independent trajectories (without --inputs).")] = 1,
    npz: Annotated[Path | None, typer.Option("--npz", help="Write the trajectory (.npz).")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = None,
    method: MethodOpt = None,
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Simulate a model (default: the chaotic GRU, n = 64) or a --torch-model, with zero input or
    --inputs; write the trajectory (.npz / .json) and, with --out, a plot."""
    import numpy as np
    import torch

    from rnndyn.simulate import simulate

    if batch < 1:
        raise fail(f"`--batch` must be an int >= 1; got {batch}")
    if n_steps is not None and n_steps < 1:
        raise fail(f"`--steps` must be an int >= 1; got {n_steps}")
    if n_transient < 0:
        raise fail(f"`--transient` must be an int >= 0; got {n_transient}")
    if npz is not None and npz.suffix != ".npz":  # before: NumPy wrote t.txt.npz and we said 'wrote t.txt'
        raise fail(f"`--npz` must end in .npz; got {str(npz)!r} (NumPy would write {str(npz) + '.npz'!r})")
    check_outputs(
        json_path=json_path,
        out=out,
        out_files=("trajectory.png",) if out is not None else (),
        files={"--npz": npz},
        force=force,
    )
    choice = resolve_model(flags, seed=seed, device=device, dt=dt, method=method)
    system, label = choice.system, choice.label
    x, hint = read_inputs(inputs, batch_first, choice, device)
    gen = torch.Generator().manual_seed(seed + 1)
    try:
        if x is None:
            traj = simulate(
                system,
                n_steps=1000 if n_steps is None else n_steps,
                n_transient=n_transient,
                batch_shape=(batch,),
                generator=gen,
            )
        else:
            x = x if x.ndim == 3 else x.unsqueeze(0)
            total = x.shape[1] if n_steps is None else n_transient + n_steps
            if total > x.shape[1]:  # with --steps given
                raise ValueError(
                    f"`--inputs` must cover --transient + --steps = {total} steps; got T = {x.shape[1]}"
                )
            if n_transient >= x.shape[1]:  # without --steps: the transient alone is too long
                raise ValueError(
                    f"`--transient` must be shorter than the --inputs' T = {x.shape[1]} steps; got "
                    f"{n_transient} (pass --transient N with N < {x.shape[1]})"
                )
            h0 = torch.zeros(x.shape[0], system.state_size, dtype=torch.float64, device=device)
            traj = simulate(system, h0, inputs=x[:, :total], n_transient=n_transient)
    except (TypeError, ValueError) as exc:
        raise fail_from(
            exc,
            {
                "n_steps": "--steps",
                "n_transient": "--transient",
                "batch_shape": "--batch",
                "inputs": "--inputs",
            },
            inputs_hint=hint,
        ) from None
    arr = traj.detach().cpu().numpy()
    console.print(
        f"{label} state_size={system.state_size} trajectory {tuple(arr.shape)} "
        f"(batch, T, n); mean |h| = {np.abs(arr).mean():.4g}, std = {arr.std():.4g}"
    )
    if npz is not None:
        npz.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(npz, trajectory=arr, dt=system.dt or 1.0, model=label)
        console.print(f"wrote {npz}")
    if json_path is not None:  # status and checks like every other command's JSON (they were absent)
        from rnndyn._results import Check, Status

        finite = Check(
            name="finite",
            passed=True,  # rd.simulate stops with an error at a non-finite value (check_divergence)
            detail=f"every value of the {arr.shape[1]} recorded steps is finite (checked by rnndyn.simulate)",
            status=Status.DIVERGED,
        )
        write_json(
            json_path,
            {
                "model": label,
                "status": Status.SUCCESS.value,
                "message": "trajectory simulated; only its finiteness is checked",
                "checks": [finite.to_dict()],
                "state_size": system.state_size,
                "dt": system.dt,
                "trajectory": arr,
            },
        )
    if out is not None:
        from rnndyn.plotting import plot_trajectory

        path = plot_trajectory(arr[0], out / "trajectory.png", title=label, dt=system.dt)
        console.print(f"wrote {path}")


__all__ = ["simulate_cmd"]

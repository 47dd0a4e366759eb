"""`rnndyn chaos`: probability of chaos at initialisation vs width, scrambling and persistence figures."""

from __future__ import annotations

from typing import Annotated

import typer

from rnndyn.cli._common import (
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    OutOpt,
    SeedOpt,
    check_device,
    check_outputs,
    console,
    fail,
    progress_display,
    with_overall_status,
    write_json,
)


def _ints(text: str, name: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise fail(f"`{name}` must be a comma-separated list of integers; got {text!r}") from None


def _check_options(
    ws: list[int],
    vws: list[int],
    combos: list[tuple[str, str]],
    n_networks: int,
    vector_networks: int,
    criterion: str,
    out_activation: str,
    persistence_std: float,
    scrambling_steps: int,
    persistence_trials: int,
) -> None:
    """The options, in the command line's names, checked before any network is drawn."""
    from rnndyn._checks import check_choice, check_nonnegative, check_positive_int
    from rnndyn.chaos import ACTIVATIONS, CRITERIA, OUT_ACTIVATIONS, SCALAR_INITS

    try:
        if not ws:
            raise ValueError("`--widths` must list at least one width; got none")
        for flag, values in (("--widths", ws), ("--vector-widths", vws)):
            bad = [w for w in values if w < 1]
            if bad:
                raise ValueError(f"`{flag}` must be ints >= 1; got {', '.join(map(str, bad))}")
        for init, act in combos:
            check_choice(init, "--init", SCALAR_INITS)
            check_choice(act, "--activation", ACTIVATIONS)
        check_positive_int(n_networks, "--n-networks")
        check_positive_int(vector_networks, "--vector-networks")
        check_choice(criterion, "--criterion", CRITERIA)
        check_choice(out_activation, "--out-activation", OUT_ACTIVATIONS)
        check_nonnegative(persistence_std, "--persistence-std")
        check_positive_int(scrambling_steps, "--scrambling-steps", minimum=2)
        check_positive_int(persistence_trials, "--persistence-trials")
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None


def chaos_cmd(
    widths: Annotated[
        str, typer.Option("--widths", help="Comma-separated widths.")
    ] = "2,4,8,16,32,64,128,256,512,1024",
    inits: Annotated[
        str, typer.Option("--init", help="Comma-separated inits: he, xavier, glorot, lecun, normal.")
    ] = "he,xavier",
    activations: Annotated[
        str, typer.Option("--activation", help="Comma-separated: relu, tanh.")
    ] = "relu,tanh",
    n_networks: Annotated[int, typer.Option("--n-networks", help="Networks per width.")] = 1000,
    criterion: Annotated[str, typer.Option("--criterion", help="period3, entropy or lyapunov.")] = "period3",
    out_activation: Annotated[str, typer.Option("--out-activation", help="identity or relu.")] = "identity",
    vector_widths: Annotated[
        str, typer.Option("--vector-widths", help="Widths for vector RNNs h'=phi(Wh+b) (empty: skip).")
    ] = "",
    vector_networks: Annotated[int, typer.Option("--vector-networks", help="Vector RNNs per width.")] = 50,
    persistence_std: Annotated[
        float, typer.Option("--persistence-std", help="Weight noise for the persistence test.")
    ] = 0.1,
    scrambling_steps: Annotated[
        int, typer.Option("--scrambling-steps", help="Steps of the scrambling pairs.")
    ] = 2000,
    persistence_trials: Annotated[
        int, typer.Option("--persistence-trials", help="Perturbed maps in the persistence test.")
    ] = 500,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Probability of Li-Yorke chaos vs width for random feedback networks (+ scrambling, persistence)."""
    check_outputs(
        json_path=json_path,
        out=out,
        out_files=("chaos_probability.png", "scrambling.png", "lap_growth.png"),
        force=force,
    )  # before any long computation
    check_device(device)  # named --device (was the library's `device`)
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from rnndyn import chaos
    from rnndyn._results import AnalysisError

    ws = _ints(widths, "--widths")
    vws = _ints(vector_widths, "--vector-widths")
    combos = [(i.strip(), a.strip()) for i in inits.split(",") for a in activations.split(",")]
    _check_options(  # every option before the first network: the scrambling and persistence
        ws, vws, combos, n_networks, vector_networks, criterion, out_activation,  # runs come last
        persistence_std, scrambling_steps, persistence_trials,
    )  # fmt: skip
    results = []
    try:
        with progress_display(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as bar:
            for init, act in combos:
                task = bar.add_task(f"{init}/{act}", total=n_networks * len(ws))
                results.append(
                    chaos.chaos_probability(
                        ws,
                        init=init,
                        activation=act,
                        n_networks=n_networks,
                        criterion=criterion,
                        out_activation=out_activation,
                        seed=seed,
                        device=device,
                        progress=lambda d, t, task=task: bar.update(task, completed=d),
                    )
                )
            for init in sorted({i for i, _ in combos} & set(chaos.VECTOR_INITS)) if vws else []:
                for act in sorted({a for _, a in combos}):
                    task = bar.add_task(f"vector {init}/{act}", total=vector_networks * len(vws))
                    results.append(
                        chaos.vector_chaos_probability(
                            vws,
                            init=init,
                            activation=act,
                            n_networks=vector_networks,
                            seed=seed,
                            device=device,
                            progress=lambda d, t, task=task: bar.update(task, completed=d),
                        )
                    )
        gen = torch.Generator().manual_seed(seed)
        scalar = chaos.ScalarNetwork.from_weights([1.0, 1.0], [1e-5, -0.502], [1.9999, -4.0])
        scr = chaos.scrambling(scalar, n_pairs=16, n_steps=scrambling_steps, generator=gen)
        per = chaos.persistence(std=persistence_std, depth=8, n_trials=persistence_trials, generator=gen)
    except (TypeError, ValueError, AnalysisError) as exc:
        raise fail(str(exc)) from None

    for r in results:
        table = Table(title=f"{r.model} {r.init}/{r.activation}: P({r.criterion})")
        for col in ("width", "networks", "chaotic", "P [%]", "95% CI [%]", "seconds"):
            table.add_column(col, justify="right")
        for row, sec in zip(r.table(), r.seconds, strict=True):
            table.add_row(
                str(row["width"]),
                str(row["n"]),
                str(row["chaotic"]),
                f"{100 * row['p']:.2f}",
                f"[{100 * row['ci_low']:.2f}, {100 * row['ci_high']:.2f}]",
                f"{sec:.1f}",
            )
        console.print(table)
        console.print(f"status: {r.status.value} ({r.message})")
    console.print(
        f"scrambling (perturbed tent map, eps = {scr.eps:g}): {100 * scr.fraction_scrambled:.0f}% of pairs "
        f"scrambled, lambda_max = {scr.lambda_max:.3f}/step"
    )
    console.print(
        f"persistence (std {per.std:g}): period 3 kept by {100 * per.fraction_period3:.1f}% of perturbed maps; "
        f"lap growth rate RNN {per.rnn_growth:.3f} vs FNN {per.fnn_growth:.3f} (tent: ln 2 = 0.693)"
    )
    for name, r in (("scrambling", scr), ("persistence", per)):
        console.print(f"{name} status: {r.status.value} ({r.message})")
    if json_path is not None:
        write_json(
            json_path,
            with_overall_status(  # one status for scripts (the sections keep theirs)
                {
                    "probability": [r.to_dict() for r in results],
                    "scrambling": {k: v for k, v in scr.to_dict().items() if k != "distance"},
                    "persistence": per.to_dict(),
                }
            ),
        )
    if out is not None:
        from rnndyn.plotting.chaos import plot_chaos_probability, plot_lap_growth, plot_scrambling

        for p in (
            plot_chaos_probability(results, out / "chaos_probability.png"),
            plot_scrambling(scr, out / "scrambling.png", label="perturbed tent map"),
            plot_lap_growth(per, out / "lap_growth.png"),
        ):
            console.print(f"wrote {p}")

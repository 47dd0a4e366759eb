"""`rnndyn fixed-points`: fixed points, slow points and the slow manifold of a model."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from rnndyn import _fixed_point_defaults as _D  # find_fixed_points' defaults, without torch
from rnndyn.cli._common import (
    DeviceOpt,
    DtOpt,
    ForceOpt,
    JsonOpt,
    MethodOpt,
    ModelFlags,
    OutOpt,
    ProgressOpt,
    SeedOpt,
    check_outputs,
    console,
    fail_from,
    print_summary,
    report_status,
    resolve_model,
    takes_model,
    write_json,
)
from rnndyn.cli.lyapunov import progress_bar
from rnndyn.cli.spectrum import parse_constant_input

#: rows of the per-point table shown
MAX_ROWS = 12
#: find_fixed_points' arguments -> the options of `rnndyn fixed-points`
OPTIONS = {
    "n_initial": "--starts",
    "tol": "--tol",
    "inputs": "--input",
    "n_transient": "--transient",
    "noise": "--noise",
    "max_iter": "--max-iter",
    "slow_tol": "--slow-tol",
    "eps_slow": "--eps-slow",
    "method": "--optimiser",
    "freeze_tol": "--freeze-tol",
    "slow_manifold": "--slow-manifold",
    "completeness_tol": "--completeness-tol",
    "starts_from": "--starts-from",
}


@takes_model
def fixed_points_cmd(
    flags: ModelFlags,
    n_initial: Annotated[int, typer.Option("--starts", help="Number of starting states.")] = _D.N_INITIAL,
    starts_from: Annotated[
        str,
        typer.Option(
            "--starts-from",
            help="Where the starts come from, and so what the completeness census refers to: "
            "'trajectory' (states after --transient steps: on the attractor), 'spread' (uniform in the "
            "box of the visited states: unstable points off the attractor too) or 'mixed' (half each).",
        ),
    ] = _D.STARTS_FROM,
    tol: Annotated[
        float | None, typer.Option("--tol", help="Residual tolerance |F(h) - h| (default: 1e-10 sqrt(n)).")
    ] = None,
    constant_input: Annotated[
        str | None, typer.Option("--input", help="Constant input, comma-separated (e.g. 0.5,-1).")
    ] = None,
    n_transient: Annotated[
        int, typer.Option("--transient", help="Steps run to sample starts.")
    ] = _D.N_TRANSIENT,
    noise: Annotated[float, typer.Option("--noise", help="Std of noise added to the starts.")] = _D.NOISE,
    max_iter: Annotated[int, typer.Option("--max-iter", help="Minimiser iterations.")] = _D.MAX_ITER,
    slow_tol: Annotated[
        float, typer.Option("--slow-tol", help="Largest speed q of a slow point.")
    ] = _D.SLOW_TOL,
    eps_slow: Annotated[
        float, typer.Option("--eps-slow", help="Slow directions: |lambda - 1| < eps.")
    ] = _D.EPS_SLOW,
    optimiser: Annotated[
        str, typer.Option("--optimiser", help="'lm' (Levenberg-Marquardt) or 'adam'.")
    ] = _D.METHOD,
    slow_manifold: Annotated[
        bool,
        typer.Option(
            "--slow-manifold/--no-slow-manifold",
            help="Converge starts that crawl along flat directions (rows of J - I below --freeze-tol, "
            "e.g. closed update gates) onto the slow manifold and report them as slow points.",
        ),
    ] = _D.SLOW_MANIFOLD,
    freeze_tol: Annotated[
        float | None,
        typer.Option(
            "--freeze-tol",
            help="Rows of J - I with norm below this are held free on the slow manifold (default: --eps-slow).",
        ),
    ] = None,
    completeness_tol: Annotated[
        float,
        typer.Option(
            "--completeness-tol",
            help="Largest Good-Turing probability p_new (that one more start finds a new fixed "
            "point) for which the search counts as complete; in [0, 1], 1 never downgrades the status.",
        ),
    ] = _D.COMPLETENESS_TOL,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = None,
    method: MethodOpt = None,
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Fixed points by speed minimisation from many starts, Newton-polished, with their stability
    and the slow-manifold summary; slow points (ghosts, points on a slow manifold such as the
    closed-gate manifolds of gated networks at large alpha_z) with their speed and slow
    directions; how complete the list is (Good-Turing, --completeness-tol), for the start
    distribution of --starts-from (default: half on trajectories, half spread over the box of the
    visited states); --json, --out figure."""
    import torch
    from rich.table import Table

    from rnndyn.fixed_points import find_fixed_points, fixed_point_summary

    check_outputs(json_path=json_path, out=out, out_files=("fixed_points.png",) if out else (), force=force)
    choice = resolve_model(flags, seed=seed, device=device, dt=dt, method=method)
    system, label = choice.system, choice.label
    x = parse_constant_input(constant_input, device, system)
    analysed = "zero input" if x is None else f"constant input {constant_input}"
    with progress_bar(progress, "fixed points"):
        try:
            res = find_fixed_points(
                system,
                n_initial=n_initial,
                starts_from=starts_from,
                tol=tol,
                inputs=x,
                n_transient=n_transient,
                noise=noise,
                max_iter=max_iter,
                slow_tol=slow_tol,
                eps_slow=eps_slow,
                method=optimiser,
                slow_manifold=slow_manifold,
                freeze_tol=freeze_tol,
                completeness_tol=completeness_tol,
                generator=torch.Generator().manual_seed(seed + 1),
                throw=False,
            )
        except (TypeError, ValueError) as exc:
            raise fail_from(exc, OPTIONS) from None
    import dataclasses

    # the message in the options typed here (was 'more starts (n_initial=32) may find more')
    words = (
        res.message.replace("(n_initial=", "(--starts ")
        .replace("completeness_tol =", "--completeness-tol =")
        .replace("starts_from='mixed'", "--starts-from mixed")
    )
    res = dataclasses.replace(res, message=words)
    console.print(f"analysed: fixed points at {analysed}")  # after the run: an error comes alone
    console.print(f"fixed points: {label}")  # a line, not a title wrapped to the table
    print_summary(fixed_point_summary(res), res)
    if res.n_points:
        table = Table("#", "stability", "speed q", "spectral radius", "unstable dirs", "slow dirs", "|h|")
        for i in range(min(res.n_points, MAX_ROWS)):
            table.add_row(
                str(i),
                res.stability[i],
                f"{float(res.speeds[i]):.2e}",
                f"{float(res.spectral_radius[i]):.4g}",
                str(int(res.n_unstable[i])),
                str(int(res.n_slow[i])),
                f"{float(res.points[i].norm()):.4g}",
            )
        if res.n_points > MAX_ROWS:
            table.add_row("…", f"{res.n_points - MAX_ROWS} more", "", "", "", "", "")
        console.print(table)
    n_slow_points = int(res.slow_points.shape[0])
    if n_slow_points:
        table = Table("#", "slow point", "speed q", "|F(h) - h| / |h|", "slow dirs", "free rows", "|h|")
        for i in range(min(n_slow_points, MAX_ROWS)):
            norm = float(res.slow_points[i].norm())
            speed = math.sqrt(2 * float(res.slow_speeds[i]))
            table.add_row(
                str(i),
                res.slow_kind[i],
                f"{float(res.slow_speeds[i]):.2e}",
                f"{speed / norm:.2e}" if norm > 0 else "-",
                str(int(res.slow_n_slow[i])),
                str(int(res.slow_n_frozen[i])),
                f"{norm:.4g}",
            )
        if n_slow_points > MAX_ROWS:
            table.add_row("…", f"{n_slow_points - MAX_ROWS} more", "", "", "", "", "")
        console.print(table)
    console.print(res.message)
    if json_path is not None:
        write_json(json_path, {"model": label, "analysed": analysed, **res.to_dict()})
    if out is not None:
        from rnndyn.plotting.spectra import plot_fixed_points

        console.print(f"wrote {plot_fixed_points(res, out / 'fixed_points.png', title=label)}")
    report_status(res)  # exit 0 with a visible warning, 1 for "failed"


__all__ = ["fixed_points_cmd"]

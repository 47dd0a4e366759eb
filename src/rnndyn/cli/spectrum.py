"""`rnndyn spectrum`: eigenvalues of the state-to-state Jacobian, with the random-matrix curve."""

from __future__ import annotations

from typing import Annotated, Any

import typer

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
    fail,
    fail_from,
    print_summary,
    report_status,
    resolve_model,
    takes_model,
    write_json,
)
from rnndyn.cli.lyapunov import progress_bar


def parse_constant_input(value: str | None, device: str, system: Any = None) -> Any:
    """``--input "0.5,-1"`` -> a float64 tensor ``(d,)``; with ``system``, ``d`` must be its
    ``input_size`` (a model without inputs takes no ``--input``)."""
    if value is None:
        return None
    import torch

    try:
        vals = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise fail(f"`--input` must be comma-separated numbers, e.g. 0.5,-1; got {value!r}") from None
    if not vals:
        raise fail("`--input` must hold at least one number")
    d = getattr(system, "input_size", None)
    if d == 0:
        raise fail(
            f"`--input` applies only to a model with inputs; this one has input_size 0 (a named model "
            f"takes -p input_size=D); got --input {value!r}"
        )
    if d is not None and len(vals) != d:
        raise fail(f"`--input` must hold {d} numbers (the model's input_size); got {len(vals)}: {value!r}")
    return torch.tensor(vals, dtype=torch.float64, device=device)


#: `rnndyn spectrum`'s and `rnndyn fixed-points`' options by the library's argument names
SPECTRUM_OPTIONS = {
    "at": "--at",
    "n_states": "--states",
    "n_steps": "--steps",
    "n_transient": "--transient",
    "n_trajectories": "--trajectories",
    "inputs": "--input",
    "eps_slow": "--eps-slow",
    "continuous=True": "--continuous",  # before: the error named the library's `continuous=True`
}


def _is_gru(system: object) -> bool:
    """Whether ``system`` is a :class:`~rnndyn.GRU`, bare or wrapped (discretised, input held at
    zero): the one model whose spectral theory takes ``factorised``."""
    from rnndyn.models.gru import GRU

    for _ in range(8):  # wrappers hold their model as .inner (autonomous) or .flow (discretised)
        if isinstance(system, GRU):
            return True
        system = getattr(system, "inner", None) or getattr(system, "flow", None)
    return False


@takes_model
def spectrum_cmd(
    flags: ModelFlags,
    at: Annotated[str, typer.Option("--at", help="'trajectory' or 'fixed-points'.")] = "trajectory",
    n_states: Annotated[int, typer.Option("--states", help="States per trajectory.")] = 10,
    n_steps: Annotated[int, typer.Option("--steps", help="Steps the states are spread over.")] = 200,
    n_transient: Annotated[int, typer.Option("--transient", help="Discarded steps.")] = 500,
    n_trajectories: Annotated[int, typer.Option("--trajectories", help="Independent trajectories.")] = 1,
    constant_input: Annotated[
        str | None, typer.Option("--input", help="Constant input, comma-separated (e.g. 0.5,-1).")
    ] = None,
    eps_slow: Annotated[float, typer.Option("--eps-slow", help="Slow modes: |lambda - 1| < eps.")] = 0.05,
    singular_values: Annotated[
        bool, typer.Option("--singular-values/--no-singular-values", help="Also singular values.")
    ] = False,
    theory: Annotated[bool, typer.Option("--theory/--no-theory", help="Random-matrix curve.")] = True,
    exact: Annotated[
        bool, typer.Option("--exact/--factorised", help="GRU: unfactorised boundary or Theorem 4.1's.")
    ] = False,
    continuous: Annotated[
        bool, typer.Option("--continuous", help="Discretised flows: eigenvalues of the vector field.")
    ] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = None,
    method: MethodOpt = None,
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Jacobian eigenvalue spectrum along trajectories (or at fixed points): spectral radius,
    slow-mode fraction, theory curve; --json, --out figure."""
    import torch

    from rnndyn.spectra import jacobian_spectrum, spectrum_summary

    check_outputs(
        json_path=json_path, out=out, out_files=("jacobian_spectrum.png",) if out else (), force=force
    )
    choice = resolve_model(flags, seed=seed, device=device, dt=dt, method=method)
    system, label = choice.system, choice.label
    if at not in ("trajectory", "fixed-points", "fixed_points"):
        raise fail(f"`--at` must be 'trajectory' or 'fixed-points'; got {at!r}")
    if exact and not _is_gru(system):  # before: ignored without a word (only the GRU theory has two forms)
        raise fail(
            "`--exact` applies only to -m gru (the unfactorised boundary of its Theorem 4.1 theory; "
            f"no other model's theory, nor a trained --torch-model's, has two forms); got --exact with {label}"
        )
    if exact and not theory:
        raise fail("`--exact` chooses the theory curve's form; got --exact with --no-theory")
    x = parse_constant_input(constant_input, device, system)
    where = "states along trajectories" if at == "trajectory" else "the fixed points"
    analysed = ("zero input" if x is None else f"constant input {constant_input}") + f"; Jacobians at {where}"
    with progress_bar(progress, "Jacobian spectrum"):
        try:
            res = jacobian_spectrum(
                system,
                at=at.replace("-", "_"),
                n_states=n_states,
                n_steps=n_steps,
                n_transient=n_transient,
                n_trajectories=n_trajectories,
                inputs=x,
                singular_values=singular_values,
                eps_slow=eps_slow,
                continuous=continuous,
                theory="auto" if theory else False,  # the default --theory: a curve where a model has one
                factorised=not exact,
                generator=torch.Generator().manual_seed(seed + 1),
            )
        except (TypeError, ValueError) as exc:
            raise fail_from(exc, SPECTRUM_OPTIONS) from None
    console.print(f"analysed: {analysed}")  # after the run: an error comes alone
    console.print(f"Jacobian spectrum: {label}")  # a line, not a title wrapped to the table
    print_summary(spectrum_summary(res), res)
    if json_path is not None:
        write_json(json_path, {"model": label, "analysed": analysed, **res.to_dict()})
    report_status(res)  # exit 0 with a visible warning (nothing here is "failed")
    if out is not None:
        from rnndyn.plotting.spectra import plot_spectrum

        console.print(f"wrote {plot_spectrum(res, out / 'jacobian_spectrum.png', title=label)}")


__all__ = ["SPECTRUM_OPTIONS", "parse_constant_input", "spectrum_cmd"]

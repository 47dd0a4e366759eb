"""`rnndyn analyze` and `rnndyn report`: parse the options, call :func:`rnndyn.analyze`, save.

With no arguments ``analyze`` studies the built-in default network (a CKS20 GRU, n = 64,
g_h = 3, alpha_z = 1, alpha_r = 10: chaotic, driven by the reset gate) and prints one table that
says what each section analysed. ``report`` is the same run written up as ``report.html`` (plain-
language verdict, full exponent table, figures) plus ``result.json`` in ``--out``.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn._lyapunov_defaults import DEFAULTS  # = rnndyn.lyapunov.DEFAULTS, without torch
from rnndyn.cli._common import (
    DEFAULT_N,
    LYAPUNOV_OPTIONS,
    BatchFirstOpt,
    DeviceOpt,
    DtOpt,
    ForceOpt,
    InputsOpt,
    JsonOpt,
    MethodOpt,
    ModelFlags,
    ProgressOpt,
    SeedOpt,
    check_outputs,
    console,
    fail,
    fail_from,
    flag_of_layout,
    layout_hint,
    load_inputs,
    resolve_model,
    takes_model,
)

SKIP_NAMES = {"lyapunov": "lyapunov", "spectrum": "jacobian_spectrum", "fixed-points": "fixed_points"}
FIGURES = (
    "lyapunov_spectrum.png",
    "lyapunov_convergence.png",
    "trajectories_pca.png",
    "jacobian_spectrum.png",
)

KOpt = Annotated[int | None, typer.Option("--k", "-k", help="Number of exponents (default: all).")]
StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps",
        help=f"Averaged steps (default {DEFAULTS.analyze_n_steps}, or T - transient with --inputs).",
        show_default=False,
    ),
]
TransientOpt = Annotated[
    int | None,
    typer.Option(
        "--transient", help="Discarded steps (default 500; with --inputs at most T/3).", show_default=False
    ),
]
TrajOpt = Annotated[int, typer.Option("--trajectories", help="Random starts without --inputs (stderr).")]
QrOpt = Annotated[str, typer.Option("--qr-every", help="Steps between QR decompositions, or 'auto'.")]
LogBaseOpt = Annotated[str, typer.Option("--log-base", help="'e' (nats) or a number, e.g. 2 (bits).")]
FullOpt = Annotated[
    bool, typer.Option("--full", help="JSON: also the convergence history, all eigenvalues, trajectories.")
]
SkipOpt = Annotated[
    list[str] | None,
    typer.Option("--skip", help="Sections to leave out: lyapunov, spectrum, fixed-points (repeatable)."),
]
ClvOpt = Annotated[
    bool,
    typer.Option(
        "--clv",
        help="Also compute covariant Lyapunov vectors (Ginelli): growth rates, hyperbolicity angle, "
        "localisation (docs/clv.md).",
    ),
]
NetcdfOpt = Annotated[Path | None, typer.Option("--netcdf", help="Also write the result as NetCDF.")]


def parse_qr_every(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        out = int(value)
    except ValueError:
        out = 0
    if out < 1:
        raise fail(f"`--qr-every` must be an int >= 1 or 'auto'; got {value!r}")
    return out


def parse_log_base(value: str) -> float:
    import math

    if value.lower() == "e":
        return math.e
    try:
        out = float(value)
    except ValueError:
        out = math.nan
    if not (out > 1 and math.isfinite(out)):
        raise fail(f"`--log-base` must be 'e' or a number > 1; got {value!r}")
    return out


def _positive(value: int | None, flag: str, minimum: int = 1) -> None:
    if value is not None and value < minimum:
        raise fail(f"`{flag}` must be an int >= {minimum}; got {value}")


def run_analysis(
    *,
    report: bool,
    flags: ModelFlags,
    inputs: Path | None,
    batch_first: bool | None,
    k: int | None,
    n_steps: int | None,
    n_transient: int | None,
    n_trajectories: int,
    qr_every: str,
    log_base: str,
    seed: int,
    device: str,
    dt: float | None,
    method: str | None,
    json_path: Path | None,
    out: Path | None,
    netcdf: Path | None,
    full: bool,
    force: bool,
    progress: bool,
    skip: list[str] | None,
    clv: bool,
    fixed_point_starts: int,
    spectrum_states: int,
) -> None:
    """Shared body of ``analyze`` and ``report``: checks, one :func:`rnndyn.analyze` call, output."""
    from rich.table import Table

    from rnndyn.analysis import LAYOUT_HINT, LAYOUT_WARNING, analyze
    from rnndyn.report import command_line

    skipped = set()
    for item in skip or []:
        if item not in SKIP_NAMES:
            raise fail(f"`--skip` must be one of {', '.join(SKIP_NAMES)}; got {item!r}")
        skipped.add(SKIP_NAMES[item])
    sections = [s for s in SKIP_NAMES.values() if s not in skipped]
    if not sections:
        raise fail("`--skip` must leave at least one section; got all three skipped")
    if clv:
        sections.append("clv")
    for value, flag, minimum in (
        (k, "--k", 1),
        (n_steps, "--steps", 1),
        (n_transient, "--transient", 0),
        (n_trajectories, "--trajectories", 1),
        (fixed_point_starts, "--fp-starts", 1),
        (spectrum_states, "--spectrum-states", 1),
    ):
        _positive(value, flag, minimum)
    qr = parse_qr_every(qr_every)
    base = parse_log_base(log_base)
    out_files: tuple[str, ...] = (*FIGURES, "report.html") if out is not None else ()
    if report and out is not None and json_path is None:
        json_path = out / "result.json"
        out_files = (*out_files, "result.json")
        given_json = None
    else:
        given_json = json_path
    check_outputs(
        json_path=given_json,
        out=out,
        out_files=out_files,
        files={"--netcdf": netcdf},
        force=force,
    )
    choice = resolve_model(flags, seed=seed, device=device, dt=dt, method=method)
    if inputs is not None and n_trajectories != 4:  # before: ignored (each input sequence is one trajectory)
        raise fail(
            "`--trajectories` applies only without --inputs (each input sequence is one trajectory); "
            f"got --trajectories {n_trajectories} with --inputs"
        )
    if inputs is None and batch_first is not None:  # before: ignored without a word
        raise fail(
            f"`--batch-first/--time-first` applies only with --inputs; got {flag_of_layout(batch_first)}"
        )
    x = load_inputs(inputs, device)
    with _progress(progress) as step, warnings.catch_warnings():
        # the library's warning names batch_first=; here the table's "inputs" row says how the
        # inputs were read, and an error about their length ends with the --batch-first hint
        warnings.filterwarnings("ignore", message=LAYOUT_WARNING, category=UserWarning)
        try:
            res = analyze(
                choice.system,
                x,
                batch_first=batch_first,
                sections=sections,
                k=k,
                n_steps=n_steps,
                n_transient=n_transient,
                n_trajectories=n_trajectories,
                qr_every=qr,
                log_base=base,
                spectrum_states=spectrum_states,
                fixed_point_starts=fixed_point_starts,
                seed=seed,
                label=choice.label,
                progress=step,
            )
        except (TypeError, ValueError) as exc:
            hint = layout_hint(x, batch_first, choice.batch_first)
            if hint:  # the command line's own hint (--batch-first/--time-first) replaces the library's
                exc = type(exc)(str(exc).split(LAYOUT_HINT)[0])
            raise fail_from(exc, LYAPUNOV_OPTIONS, inputs_hint=hint) from None
    if choice.load_info is not None or choice.params:
        res = _with_provenance(res, choice)
    for title, rows in res.sections():
        table = Table(title=f"{title}", title_justify="left", show_header=False)
        table.add_column("quantity", style="bold")
        table.add_column("value")
        for key, value in rows:
            table.add_row(key, value)
        console.print(table)
    from rnndyn.report import status_line

    console.print(status_line(res.status.value, res.message))
    if json_path is not None:
        res.to_json(json_path, full=full)
        console.print(f"wrote {json_path}")
    if netcdf is not None:
        console.print(f"wrote {res.to_netcdf(netcdf)}")
    if out is not None:
        path = res.report(out / "report.html", figures_dir=out, full=full, command=command_line())
        for name in FIGURES:
            if (out / name).exists():
                console.print(f"wrote {out / name}")
        console.print(f"wrote {path}")


def _with_provenance(res: Any, choice: Any) -> Any:
    """Add where the model came from (file, format, preset parameters) to the result's model."""
    import dataclasses

    model = dict(res.model)
    if choice.load_info is not None and "loaded_from" not in model:  # the library's, when it has one:
        # it drops the loader's 'assumed batch_first=False' when --batch-first/--time-first was given
        model["loaded_from"] = {k: v for k, v in choice.load_info.items() if k != "architecture"}
    if choice.params:
        model["cli_params"] = dict(choice.params)
    return dataclasses.replace(res, model=model)


class _progress:
    """A transient spinner naming the running section (or nothing with --no-progress)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._prog: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        from rnndyn.cli._common import progress_display

        self._prog = progress_display(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn()
        )
        self._prog.__enter__()
        self._task = self._prog.add_task("starting", total=None)

        def step(name: str) -> None:
            self._prog.update(self._task, description=name)

        return step

    def __exit__(self, *exc: Any) -> None:
        if self._prog is not None:
            self._prog.__exit__(*exc)


@takes_model
def analyze_cmd(
    flags: ModelFlags,
    inputs: InputsOpt = None,
    batch_first: BatchFirstOpt = None,
    k: KOpt = None,
    n_steps: StepsOpt = None,
    n_transient: TransientOpt = None,
    n_trajectories: TrajOpt = 4,
    qr_every: QrOpt = str(DEFAULTS.qr_every),
    log_base: LogBaseOpt = "e",
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = None,
    method: MethodOpt = None,
    json_path: JsonOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for figures and a self-contained report.html.")
    ] = None,
    netcdf: NetcdfOpt = None,
    full: FullOpt = False,
    force: ForceOpt = False,
    progress: ProgressOpt = True,
    skip: SkipOpt = None,
    clv: ClvOpt = False,
    fixed_point_starts: Annotated[
        int, typer.Option("--fp-starts", help="Starts of the fixed-point search.")
    ] = 64,
    spectrum_states: Annotated[
        int, typer.Option("--spectrum-states", help="States whose Jacobian spectra are pooled.")
    ] = 20,
) -> None:
    """Analyse a model (default: a chaotic GRU, n = 64): Lyapunov spectrum, Jacobian spectrum
    against random-matrix theory, fixed points; says what each section analysed. --json, --netcdf,
    and with --out figures and report.html."""
    run_analysis(report=False, **{name: value for name, value in locals().items()})


def _report_signature() -> inspect.Signature:
    sig = inspect.signature(analyze_cmd.__wrapped__, eval_str=True)  # with `flags: ModelFlags`
    params = []
    for p in sig.parameters.values():
        if p.name == "out":
            p = p.replace(
                annotation=Annotated[
                    Path, typer.Option("--out", help="Folder for report.html, result.json and the figures.")
                ],
                default=Path("rnndyn-report"),
            )
        params.append(p)
    return sig.replace(parameters=params)


def report_cmd(**options: Any) -> None:
    """`rnndyn analyze` written up: a self-contained report.html (plain-language verdict, what was
    analysed, full exponent table, trajectories with fixed points, spectrum vs theory, references),
    result.json and the figures in --out (default ./rnndyn-report)."""
    run_analysis(report=True, **options)


report_cmd.__signature__ = _report_signature()  # type: ignore[attr-defined]
report_cmd = takes_model(report_cmd)


__all__ = ["DEFAULT_N", "analyze_cmd", "report_cmd", "run_analysis"]

"""`rnndyn analyze`: the main job.

With no arguments it analyses a built-in default gated network (a CKS20 GRU, n = 64, g_h = 3,
alpha_z = 1, alpha_r = 10: chaotic, lambda_max ~ 0.15 per step, driven by the reset gate) and prints
one summary table. The report is a list of
*sections* (:data:`SECTIONS`): each takes the shared :class:`Analysis` context, runs one library
call and returns table rows, a JSON payload and figures. New analyses (Jacobian spectrum, fixed
points) are added by appending a section function; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn.cli._common import (
    DeviceOpt,
    DtOpt,
    JsonOpt,
    MethodOpt,
    NOpt,
    OutOpt,
    ParamOpt,
    SeedOpt,
    console,
    fail,
    write_json,
)
from rnndyn.cli.lyapunov import (
    DEFAULT_MODEL,
    DEFAULT_N,
    InputsOpt,
    KOpt,
    LogBaseOpt,
    LstmStateOpt,
    ProgressOpt,
    QrOpt,
    StepsOpt,
    TorchModelOpt,
    TrajOpt,
    TransientOpt,
    default_steps,
    load_inputs,
    load_system,
    parse_log_base,
    parse_qr_every,
    progress_bar,
    run_spectrum,
    save_figures,
    summary_rows,
)


@dataclass
class Analysis:
    """What every section sees: the system, the run settings and the results so far."""

    system: Any
    label: str
    inputs: Any
    settings: dict[str, Any]
    progress: bool
    out: Path | None
    seed: int = 0
    spectrum_states: int = 20
    fixed_point_starts: int = 64
    results: dict[str, Any] = field(default_factory=dict)


@dataclass
class SectionOutput:
    """What a section hands back: table rows, a JSON payload (under the section's name), figures."""

    rows: list[tuple[str, str]]
    payload: dict[str, Any]
    figures: list[Path] = field(default_factory=list)


def lyapunov_section(ctx: Analysis) -> SectionOutput:
    """Lyapunov spectrum (QR method), regime, D_KY, entropy rate, slow modes, predictability."""
    with progress_bar(ctx.progress, "Lyapunov spectrum") as cb:
        res = run_spectrum(ctx.system, cb, inputs=ctx.inputs, **ctx.settings)
    ctx.results["lyapunov"] = res
    figures = save_figures(res, ctx.out, ctx.label) if ctx.out is not None else []
    return SectionOutput(summary_rows(res), res.to_dict(), figures)


def spectrum_section(ctx: Analysis) -> SectionOutput:
    """Jacobian eigenvalues along the trajectory, with the random-matrix prediction where known."""
    import torch

    from rnndyn.spectra import jacobian_spectrum, spectrum_summary

    x = ctx.inputs
    kwargs: dict[str, Any] = {}
    if x is not None:
        kwargs["inputs"] = x if x.ndim == 2 else x[0]
    with progress_bar(ctx.progress, "Jacobian spectrum") as _:
        res = jacobian_spectrum(
            ctx.system,
            n_states=ctx.spectrum_states,
            n_steps=max(ctx.spectrum_states, 50),
            n_transient=ctx.settings["n_transient"],
            theory=True,
            generator=torch.Generator().manual_seed(ctx.seed + 2),
            **kwargs,
        )
    ctx.results["spectrum"] = res
    figures: list[Path] = []
    if ctx.out is not None:
        from rnndyn.plotting.spectra import plot_spectrum

        figures.append(plot_spectrum(res, ctx.out / "jacobian_spectrum.png", title=ctx.label))
    return SectionOutput(spectrum_summary(res), res.to_dict(), figures)


def fixed_point_section(ctx: Analysis) -> SectionOutput:
    """Fixed and slow points from trajectory starts, their stability and the slow manifold."""
    import torch

    from rnndyn.fixed_points import find_fixed_points, fixed_point_summary

    x = ctx.inputs
    const = None
    if x is not None:  # input-conditioned fixed points at the mean input
        const = x.reshape(-1, x.shape[-1]).mean(0)
    with progress_bar(ctx.progress, "fixed points") as _:
        res = find_fixed_points(
            ctx.system,
            n_initial=ctx.fixed_point_starts,
            inputs=const,
            generator=torch.Generator().manual_seed(ctx.seed + 3),
            throw=False,
        )
    ctx.results["fixed_points"] = res
    figures: list[Path] = []
    if ctx.out is not None and res.points.shape[0] > 0:
        from rnndyn.plotting.spectra import plot_fixed_points

        figures.append(plot_fixed_points(res, ctx.out / "fixed_points.png", title=ctx.label))
    return SectionOutput(fixed_point_summary(res), res.to_dict(), figures)


#: The report, in order: (name, section). Append (name, fn) to add an analysis.
SECTIONS: list[tuple[str, Callable[[Analysis], SectionOutput]]] = [
    ("lyapunov", lyapunov_section),
    ("jacobian spectrum", spectrum_section),
    ("fixed points", fixed_point_section),
]


def analyze_cmd(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model name (see `rnndyn models`); default: a chaotic GRU.")
    ] = DEFAULT_MODEL,
    n: NOpt = DEFAULT_N,
    param: ParamOpt = None,
    torch_model: TorchModelOpt = None,
    lstm_state: LstmStateOpt = "full",
    inputs: InputsOpt = None,
    k: KOpt = None,
    n_steps: StepsOpt = None,
    n_transient: TransientOpt = 300,
    n_trajectories: TrajOpt = 4,
    qr_every: QrOpt = "auto",
    log_base: LogBaseOpt = "e",
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = 0.05,
    method: MethodOpt = "rk4",
    json_path: JsonOpt = None,
    out: OutOpt = None,
    progress: ProgressOpt = True,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", help="Sections to leave out: lyapunov, spectrum, fixed-points (repeatable)."),
    ] = None,
    fixed_point_starts: Annotated[
        int, typer.Option("--fp-starts", help="Starts of the fixed-point search.")
    ] = 64,
    spectrum_states: Annotated[
        int, typer.Option("--spectrum-states", help="States whose Jacobian spectra are pooled.")
    ] = 20,
) -> None:
    """Analyse a model (default: a built-in chaotic GRU): Lyapunov spectrum, Jacobian spectrum
    against random-matrix theory, fixed points. Prints a summary table; with --out, figures and a
    self-contained report.html."""
    import torch
    from rich.table import Table

    system, label = load_system(model, n, param, seed, device, dt, method, torch_model, lstm_state)
    x = load_inputs(inputs, device)
    settings = dict(
        k=k,
        n_steps=default_steps(n_steps, x, 1000),
        n_transient=n_transient,
        qr_every=parse_qr_every(qr_every),
        n_trajectories=n_trajectories if x is None or x.ndim == 2 else 1,
        generator=torch.Generator().manual_seed(seed + 1),
        log_base=parse_log_base(log_base),
    )
    ctx = Analysis(system, label, x, settings, progress, out, seed, spectrum_states, fixed_point_starts)
    names = {"lyapunov": "lyapunov", "spectrum": "jacobian spectrum", "fixed-points": "fixed points"}
    skipped = set()
    for item in skip or []:
        if item not in names:
            raise fail(f"`--skip` must be one of {', '.join(names)}; got {item!r}")
        skipped.add(names[item])
    table = Table(title=f"rnndyn analyze: {label}", title_justify="left", show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value")
    payload: dict[str, Any] = {"model": label, "state_size": system.state_size, "dt": system.dt}
    figures: list[Path] = []
    report_sections = []
    for name, section in SECTIONS:
        if name in skipped:
            continue
        try:
            output = section(ctx)
        except (TypeError, ValueError) as exc:
            raise fail(f"{name}: {exc}") from None
        report_sections.append((name, output))
        table.add_section()
        table.add_row(f"[underline]{name}[/]", "")
        for key, value in output.rows:
            table.add_row(key, value)
        payload[name] = output.payload
        figures += output.figures
    console.print(table)
    if json_path is not None:
        write_json(json_path, payload)
    for path in figures:
        console.print(f"wrote {path}")
    if out is not None:
        from rnndyn.report import Section, command_line, write_report

        cites = {
            "lyapunov": ["lyapunov_qr", "lyapunov_rnn", "kaplan_yorke"],
            "jacobian spectrum": ["gated_rmt"],
            "fixed points": ["fixed_points"],
        }
        sections = [
            Section(
                name.capitalize(),
                rows=[(k, _plain(v)) for k, v in o.rows],
                figures=o.figures,
                cite=cites.get(name, []),
            )
            for name, o in report_sections
        ]
        path = write_report(
            out / "report.html", title=f"rnndyn analyze: {label}", sections=sections, command=command_line()
        )
        console.print(f"wrote {path}")


def _plain(value: str) -> str:
    """Strip rich markup from a table cell for the HTML report."""
    from rich.text import Text

    return Text.from_markup(value).plain


__all__ = [
    "SECTIONS",
    "Analysis",
    "SectionOutput",
    "analyze_cmd",
    "fixed_point_section",
    "lyapunov_section",
    "spectrum_section",
]

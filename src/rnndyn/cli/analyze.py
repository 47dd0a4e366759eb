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


#: The report, in order: (name, section). Append (name, fn) to add an analysis.
SECTIONS: list[tuple[str, Callable[[Analysis], SectionOutput]]] = [("lyapunov", lyapunov_section)]


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
) -> None:
    """Analyse a model (default: a built-in chaotic GRU) and print a summary table."""
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
    ctx = Analysis(system, label, x, settings, progress, out)
    table = Table(title=f"rnndyn analyze: {label}", title_justify="left", show_header=False)
    table.add_column("quantity", style="bold")
    table.add_column("value")
    payload: dict[str, Any] = {"model": label, "state_size": system.state_size, "dt": system.dt}
    figures: list[Path] = []
    for name, section in SECTIONS:
        output = section(ctx)
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


__all__ = ["SECTIONS", "Analysis", "SectionOutput", "analyze_cmd", "lyapunov_section"]

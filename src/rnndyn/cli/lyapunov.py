"""`rnndyn lyapunov`: the Lyapunov spectrum of a named or saved model (table, JSON, figures).

The model-loading and progress helpers here are shared with `rnndyn analyze`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn._lyapunov_defaults import DEFAULTS  # = rnndyn.lyapunov.DEFAULTS, without torch
from rnndyn.cli._clv import (
    CLV_FIGURES,
    BackwardOpt,
    ClvOpt,
    QrEveryOpt,
    RecordOpt,
    StoreOpt,
    WindowOpt,
    clv_qr_every,
    clv_report,
)
from rnndyn.cli._common import (
    DEFAULT_MODEL,
    DEFAULT_N,
    DEFAULT_PARAMS,
    LYAPUNOV_OPTIONS,
    BatchFirstOpt,
    DeviceOpt,
    DtOpt,
    ForceOpt,
    InputsOpt,
    JsonOpt,
    MethodOpt,
    ModelFlags,
    OutOpt,
    ProgressOpt,
    SeedOpt,
    check_outputs,
    console,
    err_console,
    fail,
    fail_from,
    given,
    load_inputs,
    only_with,
    print_summary,
    progress_display,
    read_inputs,
    report_status,
    resolve_model,
    takes_model,
    write_json,
)
from rnndyn.cli.analyze import (
    KOpt,
    LogBaseOpt,
    TrajOpt,
    parse_log_base,
    parse_qr_every,
)

#: `rnndyn lyapunov` averages DEFAULTS.n_steps steps (rd.analyze, hence `rnndyn analyze`, 1000)
StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps",
        help=f"Averaged steps (default {DEFAULTS.n_steps}, or T - transient with --inputs).",
        show_default=False,
    ),
]
TransientOpt = Annotated[int, typer.Option("--transient", help="Discarded steps (state and frame).")]


def load_system(
    model: str | None,
    n: int | None,
    param: list[str] | None,
    seed: int,
    device: str,
    dt: float | None,
    method: str | None,
    torch_model: Path | None,
    lstm_state: str = "full",
    *,
    arch: str | None = None,
    module_path: str | None = None,
    trust_pickle: bool = False,
) -> tuple[Any, str]:
    """The system to analyse (float64) and a label for tables; user errors exit cleanly."""
    flags = ModelFlags(model, n, param, torch_model, arch, module_path, trust_pickle, lstm_state)
    choice = resolve_model(flags, seed=seed, device=device, dt=dt, method=method)
    return choice.system, choice.label


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Any]:
    """A rich progress bar; yields ``callback(done, total)`` (or ``None`` when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    with progress_display(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
    ) as prog:
        task = prog.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total)

        yield update


def run_spectrum(system: Any, progress: Any, *, inputs_hint: str = "", **kwargs: Any) -> Any:
    """One library call; user errors (bad shapes, divergence) exit cleanly."""
    import torch

    from rnndyn.lyapunov import lyapunov_spectrum

    try:
        return lyapunov_spectrum(system, progress=progress, **kwargs)
    except (TypeError, ValueError) as exc:
        raise fail_from(exc, LYAPUNOV_OPTIONS, inputs_hint=inputs_hint) from None
    except torch.OutOfMemoryError:  # pragma: no cover - hardware dependent
        raise fail("out of memory: lower --k, --trajectories or --n") from None


def default_steps(n_steps: int | None, x: Any, default: int) -> int | None:
    """``--steps`` default: ``default`` without inputs; with inputs the library uses T - transient."""
    if n_steps is not None:
        return n_steps
    return default if x is None else None


def summary_rows(res: Any) -> list[tuple[str, str]]:
    """Rows (quantity, value) describing a LyapunovResult (formatting only, no numerics)."""
    from rnndyn.report import lyapunov_rows

    return lyapunov_rows(res)


def save_figures(res: Any, out: Path, label: str) -> list[Path]:
    from rnndyn.plotting.lyapunov import plot_convergence, plot_spectrum

    return [
        plot_spectrum(res, out / "lyapunov_spectrum.png", title=label),
        plot_convergence(res, out / "lyapunov_convergence.png", title=label),
    ]


@takes_model
def lyapunov_cmd(
    flags: ModelFlags,
    ctx: typer.Context = None,  # type: ignore[assignment]  # typer passes it (only_with): no option
    inputs: InputsOpt = None,
    batch_first: BatchFirstOpt = None,
    k: KOpt = None,
    n_steps: StepsOpt = None,
    n_transient: TransientOpt = DEFAULTS.n_transient,
    n_trajectories: TrajOpt = 4,
    qr_every: QrEveryOpt = str(DEFAULTS.qr_every),
    log_base: LogBaseOpt = "e",
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = None,
    method: MethodOpt = None,
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
    progress: ProgressOpt = True,
    clv: ClvOpt = False,
    backward_transient: BackwardOpt = None,
    record_every: RecordOpt = 10,
    ftle_window: WindowOpt = 50,
    store: StoreOpt = None,
) -> None:
    """Lyapunov spectrum (QR method) of a model: exponents table, summary, --json, --out figures.

    With --clv: covariant Lyapunov vectors (angles, hyperbolicity, localisation, finite-time
    exponents) instead."""
    import torch
    from rich.table import Table

    from rnndyn.report import fmt

    only_with(  # before: ignored without --clv (--store wrote nothing, without a word)
        ctx,
        clv,
        "--clv",
        {
            "backward_transient": "--backward-transient",
            "record_every": "--record-every",
            "ftle_window": "--ftle-window",
            "store": "--store",
        },
    )
    qr = parse_qr_every(qr_every)
    base = parse_log_base(log_base)
    check_outputs(
        json_path=json_path,
        out=out,
        out_files=(CLV_FIGURES if clv else ("lyapunov_spectrum.png", "lyapunov_convergence.png"))
        if out is not None
        else (),
        force=force,
    )
    choice = resolve_model(flags, seed=seed, device=device, dt=dt, method=method)
    system, label = choice.system, choice.label
    x, hint = read_inputs(inputs, batch_first, choice, device)
    only_with(  # before: ignored for 3-D inputs (one trajectory per input sequence)
        ctx,
        x is None or x.ndim == 2,
        "no --inputs or 2-D (T, d) ones (3-D inputs: one trajectory per sequence)",
        {"n_trajectories": "--trajectories"},
        got=f"--trajectories {n_trajectories} with 3-D --inputs",
    )
    if clv:
        with progress_bar(progress, "covariant Lyapunov vectors") as cb:
            clv_report(
                system,
                label,
                inputs=x,
                k=k,
                n_steps=default_steps(n_steps, x, DEFAULTS.n_steps),
                n_transient=n_transient,
                n_backward_transient=backward_transient,
                record_every=record_every,
                qr_every=clv_qr_every(ctx, qr),
                ftle_window=ftle_window,
                ftle_window_given=given(ctx, "ftle_window"),
                n_trajectories=n_trajectories if x is None or x.ndim == 2 else 1,
                store=store,
                seed=seed,
                json_path=json_path,
                out=out,
                progress=cb,
            )
        return
    kwargs: dict[str, Any] = dict(
        k=k,
        n_steps=default_steps(n_steps, x, DEFAULTS.n_steps),
        n_transient=n_transient,
        qr_every=qr,
        inputs=x,
        n_trajectories=n_trajectories if x is None or x.ndim == 2 else 1,
        generator=torch.Generator().manual_seed(seed + 1),
        log_base=base,
        throw=False,
    )
    with progress_bar(progress, "Lyapunov spectrum") as cb:
        res = run_spectrum(system, cb, inputs_hint=hint, **kwargs)
    if x is None:
        analysed = (
            f"zero input; {res.n_trajectories} trajector{'y' if res.n_trajectories == 1 else 'ies'} from "
            f"random initial states (seed {seed + 1})"
        )
    else:
        seqs = 1 if x.ndim == 2 else x.shape[0]
        analysed = f"--inputs: {seqs} sequence(s) of {x.shape[-2]} steps, one trajectory each (rnndyn layout (B, T, d))"
    analysed += f"; {res.n_transient} transient + {res.n_steps} averaged steps"
    console.print(f"analysed: {analysed}")
    console.print(f"Lyapunov exponents: {label}")  # a line, not a title wrapped to the narrow table
    table = Table()
    table.add_column("i", justify="right")
    table.add_column(f"lambda_i [{res.units}]", justify="right")
    table.add_column("stderr", justify="right")
    lam, se = res.exponents.tolist(), res.stderr.tolist()
    shown = list(range(len(lam))) if len(lam) <= 12 else [*range(8), *range(len(lam) - 3, len(lam))]
    for j, i in enumerate(shown):
        if j > 0 and i != shown[j - 1] + 1:
            table.add_row("…", "…", "…")
        table.add_row(str(i + 1), fmt(lam[i]), fmt(se[i]) if se[i] == se[i] else "-")
    console.print(table)
    print_summary(summary_rows(res), res, title="summary")
    if json_path is not None:
        write_json(
            json_path, {"model": label, "analysed": analysed, "model_params": choice.params, **res.to_dict()}
        )
    if out is not None and res.status != "diverged":
        for path in save_figures(res, out, label):
            console.print(f"wrote {path}")
    elif out is not None:  # say so rather than leave --out empty without a word
        err_console.print(
            f"--out {str(out)!r}: no figures written: the run diverged (no exponents to plot)", markup=False
        )
    report_status(res)  # exit 0 with a visible warning, 1 for "failed" (docs/lyapunov.md)


__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_N",
    "DEFAULT_PARAMS",
    "load_inputs",
    "load_system",
    "lyapunov_cmd",
    "progress_bar",
    "run_spectrum",
    "summary_rows",
]

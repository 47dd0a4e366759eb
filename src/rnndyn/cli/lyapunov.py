"""`rnndyn lyapunov`: the Lyapunov spectrum of a named or saved model (table, JSON, figures).

The model-loading and progress helpers here are shared with `rnndyn analyze`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    build,
    console,
    fail,
    write_json,
)

#: The built-in default: a chaotic GRU (theory/gated.md §5.2: the zero state is unstable for g_h > 2).
DEFAULT_MODEL = "gru"
DEFAULT_N = 64
DEFAULT_PARAMS = ["g_h=3", "alpha_z=1", "alpha_r=10"]

LstmStateOpt = Annotated[
    str,
    typer.Option(
        "--lstm-state",
        help="For a --torch-model LSTM: 'full' (h, c) tangent space (2n exponents) or 'h' "
        "(dh/dh at fixed c, the VPSL22 convention; n exponents).",
    ),
]
TorchModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--torch-model",
        help="A saved torch.nn RNN/GRU/LSTM (torch.save(module, path)); trusted files only.",
    ),
]
InputsOpt = Annotated[
    Path | None,
    typer.Option(
        "--inputs", help="Input sequences .npy of shape (B, T, d) or (T, d) (input-driven spectra)."
    ),
]
KOpt = Annotated[int | None, typer.Option("--k", "-k", help="Number of exponents (default: all).")]
StepsOpt = Annotated[
    int | None,
    typer.Option("--steps", help="Averaged steps (default 2000, or T - transient with --inputs)."),
]
TransientOpt = Annotated[int, typer.Option("--transient", help="Discarded steps (state and frame).")]
TrajOpt = Annotated[int, typer.Option("--trajectories", help="Independent trajectories (stderr).")]
QrOpt = Annotated[str, typer.Option("--qr-every", help="Steps between QR decompositions, or 'auto'.")]
LogBaseOpt = Annotated[str, typer.Option("--log-base", help="'e' (nats) or a number, e.g. 2 (bits).")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]


def load_system(
    model: str,
    n: int | None,
    param: list[str] | None,
    seed: int,
    device: str,
    dt: float,
    method: str,
    torch_model: Path | None,
    lstm_state: str = "full",
) -> tuple[Any, str]:
    """The system to analyse (float64) and a label for tables; user errors exit cleanly.

    The default model without ``--param`` gets the default chaotic parameters.
    """
    import torch

    if param is None and model == DEFAULT_MODEL and torch_model is None:
        param = list(DEFAULT_PARAMS)

    if torch_model is None:
        system = build(model, n, param, seed, device, dt, method)
        label = f"{model} (n={system.state_size}" + (f", {' '.join(param)}" if param else "") + ")"
        return system, label
    from rnndyn.models.torch_interop import load_torch_model

    try:
        system = load_torch_model(torch_model, map_location="cpu", lstm_state=lstm_state)
    except (FileNotFoundError, TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    system = system.to(dtype=torch.float64, device=device)
    return system, f"{torch_model.name} ({type(system).__name__}, n={system.state_size})"


def load_inputs(path: Path | None, device: str) -> Any:
    """Inputs from ``.npy`` as a float64 tensor (shape checked by the library)."""
    if path is None:
        return None
    import numpy as np
    import torch

    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise fail(f"`--inputs` must be a readable .npy file; {exc}") from None
    if not np.issubdtype(arr.dtype, np.number):
        raise fail(f"`--inputs` must hold numbers; got dtype {arr.dtype}")
    return torch.as_tensor(np.asarray(arr, dtype=np.float64), device=device)


def parse_qr_every(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise fail(f"`--qr-every` must be an int >= 1 or 'auto'; got {value!r}") from None


def parse_log_base(value: str) -> float:
    import math

    if value.lower() == "e":
        return math.e
    try:
        return float(value)
    except ValueError:
        raise fail(f"`--log-base` must be 'e' or a number > 1; got {value!r}") from None


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Any]:
    """A rich progress bar; yields ``callback(done, total)`` (or ``None`` when disabled)."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as prog:
        task = prog.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            prog.update(task, completed=done, total=total)

        yield update


def run_spectrum(system: Any, progress: Any, **kwargs: Any) -> Any:
    """One library call; user errors (bad shapes, divergence) exit cleanly."""
    import torch

    from rnndyn.lyapunov import lyapunov_spectrum

    try:
        return lyapunov_spectrum(system, progress=progress, **kwargs)
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    except torch.OutOfMemoryError:  # pragma: no cover - hardware dependent
        raise fail("out of memory: lower --k, --trajectories or --n") from None


def default_steps(n_steps: int | None, x: Any, default: int) -> int | None:
    """``--steps`` default: ``default`` without inputs; with inputs the library uses T - transient."""
    if n_steps is not None:
        return n_steps
    return default if x is None else None


def fmt(v: float, se: float | None = None) -> str:
    import math

    if not math.isfinite(v):
        return str(v)
    s = f"{v:.4g}"
    if se is not None and math.isfinite(se):
        s += f" ± {se:.2g}"
    return s


def summary_rows(res: Any) -> list[tuple[str, str]]:
    """Rows (quantity, value) describing a LyapunovResult (formatting only, no numerics)."""
    u = res.units
    rows = [
        ("lambda_max", f"{fmt(res.lambda_max, float(res.stderr[0]))} {u}"),
        ("regime", res.regime),
    ]
    lam = res.exponents.tolist()
    se = res.stderr.tolist()
    head = ", ".join(fmt(v) for v in lam[:4]) + (" …" if len(lam) > 4 else "")
    rows.append((f"spectrum ({res.k} exponents; state size {res.state_size})", head))
    if len(lam) > 4:
        rows.append(("smallest exponent", f"{fmt(lam[-1], se[-1])} {u}"))
    rows.append(("positive exponents", f"{sum(v > res.near_zero_tolerance for v in lam)} of {res.k}"))
    rows.append(("Kaplan–Yorke dimension", fmt(res.kaplan_yorke_dimension)))
    rows.append(("entropy rate (sum of positive)", f"{fmt(res.entropy_rate)} {u}"))
    rows.append(("slow modes |lambda| <= tol", f"{res.n_near_zero} (tol {res.near_zero_tolerance:.2g})"))
    t_unit = "time" if res.dt is not None else "steps"
    rows.append(("predictability time ln2/lambda_max", f"{fmt(res.predictability_time)} {t_unit}"))
    if res.sum_check is not None:
        sc = res.sum_check
        rows.append(("sum rule: sum vs <ln|det J|>", f"{fmt(sc['sum'])} vs {fmt(sc['expected'])}"))
    rows.append(
        (
            "run",
            f"{res.n_trajectories} traj × {res.n_steps} steps (+{res.n_transient}), QR every "
            f"{res.qr_every}, stderr from {res.stderr_method.replace('_', ' ')}",
        )
    )
    return rows


def save_figures(res: Any, out: Path, label: str) -> list[Path]:
    from rnndyn.plotting.lyapunov import plot_convergence, plot_spectrum

    return [
        plot_spectrum(res, out / "lyapunov_spectrum.png", title=label),
        plot_convergence(res, out / "lyapunov_convergence.png", title=label),
    ]


def lyapunov_cmd(
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
    n_transient: TransientOpt = 500,
    n_trajectories: TrajOpt = 4,
    qr_every: QrOpt = "1",
    log_base: LogBaseOpt = "e",
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    dt: DtOpt = 0.05,
    method: MethodOpt = "rk4",
    json_path: JsonOpt = None,
    out: OutOpt = None,
    progress: ProgressOpt = True,
) -> None:
    """Lyapunov spectrum (QR method) of a model: exponents table, summary, --json, --out figures."""
    import torch
    from rich.table import Table

    system, label = load_system(model, n, param, seed, device, dt, method, torch_model, lstm_state)
    x = load_inputs(inputs, device)
    kwargs: dict[str, Any] = dict(
        k=k,
        n_steps=default_steps(n_steps, x, 2000),
        n_transient=n_transient,
        qr_every=parse_qr_every(qr_every),
        inputs=x,
        n_trajectories=n_trajectories if x is None or x.ndim == 2 else 1,
        generator=torch.Generator().manual_seed(seed + 1),
        log_base=parse_log_base(log_base),
    )
    with progress_bar(progress, "Lyapunov spectrum") as cb:
        res = run_spectrum(system, cb, **kwargs)
    table = Table(title=f"Lyapunov exponents: {label}", title_justify="left")
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
    summary = Table(show_header=False, title="summary", title_justify="left")
    for key, value in summary_rows(res):
        summary.add_row(key, value)
    console.print(summary)
    if json_path is not None:
        write_json(json_path, {"model": label, **res.to_dict()})
    if out is not None:
        for path in save_figures(res, out, label):
            console.print(f"wrote {path}")


__all__ = ["load_inputs", "load_system", "lyapunov_cmd", "progress_bar", "run_spectrum", "summary_rows"]

"""Shared CLI plumbing: option types, model construction from flags, JSON output, progress."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (see `rnndyn models`).")]
NOpt = Annotated[
    int | None, typer.Option("--n", "-n", help="Number of units (state size for models that take one).")
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Model parameter key=value, repeatable (e.g. -p g_h=3 -p alpha_z=5)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for weights and initial states.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="torch device, e.g. cpu or cuda.")]
DtOpt = Annotated[float, typer.Option("--dt", help="Time step used to discretise flows.")]
MethodOpt = Annotated[str, typer.Option("--method", help="Integrator for flows: euler, heun, rk4.")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the machine-readable result here.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Folder for figures.")]


def to_jsonable(obj: Any) -> Any:
    """Convert tensors/arrays/NaN into JSON-friendly values (NaN and inf become strings)."""
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(payload), indent=2))
    console.print(f"wrote {path}")


def fail(message: str) -> typer.Exit:
    """Print a clean error (no traceback) and return an exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def build(
    model: str, n: int | None, params: list[str] | None, seed: int, device: str, dt: float, method: str
):
    """Model from CLI flags; user errors become a clean exit."""
    from rnndyn.models.registry import build_model, parse_params

    try:
        return build_model(
            model, n=n, params=parse_params(params), seed=seed, device=device, dt=dt, method=method
        )
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None

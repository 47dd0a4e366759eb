"""Named models for the command line and configs: ``build_model("gru", n=64, params={...})``.

Each entry maps a name to a constructor and says whether it is a flow (then it is discretised
with ``dt`` and ``method``) and whether it takes ``n``. New models add one line here.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import torch

from rnndyn._checks import check_choice, check_real
from rnndyn.models.base import AbstractFlow, AbstractMap


@dataclass(frozen=True)
class ModelEntry:
    target: str  # "module:Class"
    takes_n: bool = True
    description: str = ""

    def load(self) -> type:
        mod, cls = self.target.split(":")
        return getattr(importlib.import_module(mod), cls)


MODELS: dict[str, ModelEntry] = {
    "vanilla": ModelEntry("rnndyn.models.vanilla:VanillaRNN", description="h' = phi(W h + U x + b)"),
    "rate": ModelEntry("rnndyn.models.vanilla:RateRNN", description="SCS flow dh/dt = -h + W phi(h)"),
    "gru": ModelEntry("rnndyn.models.gru:GRU", description="CKS20 GRU map (z = 0 is memory)"),
    "lstm": ModelEntry("rnndyn.models.lstm:LSTM", description="CKS20 LSTM map on (h, c)"),
    "gated": ModelEntry("rnndyn.models.gated:GatedRateRNN", description="KCS22 gated flow on (h, z, r)"),
    "plrnn": ModelEntry("rnndyn.models.plrnn:PLRNN", description="PLRNN z' = A z + W relu(z) + h"),
    "lorenz63": ModelEntry("rnndyn.systems:Lorenz63", takes_n=False, description="Lorenz-63 flow"),
    "rossler": ModelEntry("rnndyn.systems:Rossler", takes_n=False, description="Rössler flow"),
    "lorenz96": ModelEntry("rnndyn.systems:Lorenz96", description="Lorenz-96 flow"),
    "henon": ModelEntry("rnndyn.systems:Henon", takes_n=False, description="Hénon map"),
    "logistic": ModelEntry("rnndyn.systems:Logistic", takes_n=False, description="logistic map"),
    "tent": ModelEntry("rnndyn.systems:Tent", takes_n=False, description="tent map (exponent ln mu)"),
}


def register_model(name: str, entry: ModelEntry) -> None:
    """Add a named model (used by model modules and plug-ins)."""
    MODELS[name] = entry


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """Parse ``["g_h=3", "activation=relu"]`` into ``{"g_h": 3.0, "activation": "relu"}``."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"`--param` must look like key=value; got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip().replace("-", "_")
        value: Any
        low = raw.strip().lower()
        if low in ("true", "false"):
            value = low == "true"
        else:
            try:
                value = int(raw) if raw.strip().lstrip("-").isdigit() else float(raw)
            except ValueError:
                value = raw.strip()
        out[key] = value
    return out


def model_parameters(name: str) -> dict[str, Any]:
    """The constructor parameters of a named model with their defaults (``n``, ``generator``,
    ``dtype``, ``device`` left out; a parameter without a default shows as ``"required"``).

    Example:
        >>> model_parameters("gru")["g_h"]
        2.0
    """
    check_choice(name, "model", MODELS)
    sig = inspect.signature(MODELS[name].load().__init__)
    out: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.name in ("self", "n", "generator", "dtype", "device") or p.kind in (
            p.VAR_POSITIONAL,
            p.VAR_KEYWORD,
        ):
            continue
        out[p.name] = "required" if p.default is inspect.Parameter.empty else p.default
    return out


def build_model(
    name: str,
    *,
    n: int | None = None,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    dt: float = 0.05,
    method: str = "rk4",
) -> AbstractMap:
    """Build a named model as a map (flows are discretised with ``dt`` and ``method``).

    Raises:
        ValueError: unknown name. TypeError: a parameter the model does not take (the message
        lists the ones it does).
    """
    check_choice(name, "model", MODELS)
    entry = MODELS[name]
    cls = entry.load()
    params = dict(params or {})
    sig = inspect.signature(cls.__init__)
    accepted = [p for p in sig.parameters if p not in ("self", "n")]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(f"model {name!r} does not take {unknown}; it takes {accepted}")
    if "generator" in sig.parameters:
        params["generator"] = torch.Generator().manual_seed(int(seed))
    for key in ("dtype", "device"):
        if key in sig.parameters:
            params[key] = dtype if key == "dtype" else device
    args = (n,) if entry.takes_n and n is not None else ()
    model = cls(*args, **params)
    model = model.to(dtype=dtype, device=device)
    if isinstance(model, AbstractFlow):
        from rnndyn.discretise import discretise

        model = discretise(model, dt=check_real(dt, "dt", low=0.0, low_open=True), method=method)
    return model


__all__ = ["MODELS", "ModelEntry", "build_model", "model_parameters", "parse_params", "register_model"]

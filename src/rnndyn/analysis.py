r"""One call for a whole analysis: :func:`analyze` -> :class:`AnalysisResult`.

``rd.analyze(model, inputs)`` runs the three standard analyses of a recurrent network as a
dynamical system and says, for each, exactly what it analysed:

* the **Lyapunov spectrum** (QR method; Benettin et al. 1980; Vogt et al. 2020, arXiv:2006.14123):
  :math:`\lambda_i = \lim_T \tfrac1T \sum_t \ln R_{t,ii}` with :math:`Q_{t+1}R_{t+1} = J_t Q_t`,
  driven by the given input sequences (one trajectory per sequence) or, without inputs, by zero
  input from ``n_trajectories`` random initial states;
* the **Jacobian eigenvalue spectrum** :math:`\operatorname{eig} \partial h_{t+1}/\partial h_t`
  at states along trajectories, next to the random-matrix prediction where one exists (Can,
  Krishnamurthy & Schwab 2020, arXiv:2002.00025, Sec. 4-5);
* **fixed and slow points** :math:`F(h^*, \bar x) = h^*` at a constant input :math:`\bar x`
  (zero, or the mean of the given inputs over sequences and time), found by minimising
  :math:`q(h) = \tfrac12\lVert F(h, \bar x) - h\rVert^2` (Sussillo & Barak 2013), and their
  stability from the Jacobian's eigenvalues.

It also records trajectories for a principal-component picture with the fixed points overlaid.
The model can be an rnndyn model, a ``torch.nn`` ``RNN/GRU/LSTM`` (or cell), a module that
contains one (found automatically, or ``module_path="rnn"``), or a path to a saved model (see
:func:`rnndyn.load_model`). The model is copied and converted to ``dtype`` (float64 by default);
the caller's module is never changed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnndyn._checks import check_choice, check_device, check_positive_int
from rnndyn._display import param_text
from rnndyn._results import Result, Status, status_rows
from rnndyn.report import census_status_clause, clv_rows, fixed_point_census, lyapunov_rows, status_line

SECTIONS = ("lyapunov", "jacobian_spectrum", "fixed_points")


_SECTION_ALIASES = {
    "lyapunov": "lyapunov",
    "spectrum": "jacobian_spectrum",
    "jacobian_spectrum": "jacobian_spectrum",
    "jacobian-spectrum": "jacobian_spectrum",
    "fixed_points": "fixed_points",
    "fixed-points": "fixed_points",
    # not in the default SECTIONS: covariant Lyapunov vectors only when asked (they cost a backward pass)
    "clv": "clv",
    "covariant_lyapunov_vectors": "clv",
}

_CITES = {
    "lyapunov": ["lyapunov_qr", "lyapunov_rnn", "kaplan_yorke"],
    "jacobian_spectrum": ["gated_rmt"],
    "fixed_points": ["fixed_points"],
}


# ----------------------------------------------------------------------------- JSON helpers
def snake(key: str) -> str:
    """``"Kaplan–Yorke dimension"`` -> ``"kaplan_yorke_dimension"``."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(key)).strip("_").lower()
    return s or "value"


_REASONS = {
    "predictability_time": "lambda_max <= 0: perturbations do not grow, so there is no predictability horizon",
    "kaplan_yorke_dimension": "not defined for this spectrum",
    "stderr": "one trajectory/block: no spread to estimate a standard error from",
}


def jsonable(obj: Any, *, where: str = "", reasons: dict[str, str] | None = None) -> Any:
    """Tensors/arrays -> lists, snake_case keys, non-finite floats -> ``None`` (reason recorded)."""
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu()
        if obj.is_complex():
            obj = torch.stack([obj.real, obj.imag], -1)
        obj = obj.numpy()
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), where=where, reasons=reasons)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {
            snake(k): jsonable(v, where=f"{where}.{snake(k)}" if where else snake(k), reasons=reasons)
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [jsonable(v, where=where, reasons=reasons) for v in obj]
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), where=where, reasons=reasons)
    if isinstance(obj, complex):
        return [
            jsonable(obj.real, where=where, reasons=reasons),
            jsonable(obj.imag, where=where, reasons=reasons),
        ]
    if isinstance(obj, float) and not math.isfinite(obj):
        if reasons is not None and where not in reasons:
            leaf = where.rsplit(".", 1)[-1]
            what = "nan" if math.isnan(obj) else ("+inf" if obj > 0 else "-inf")
            reasons[where] = f"{what}: {_REASONS.get(leaf, 'not a finite number')}"
        return None
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.dtype | torch.device):
        return str(obj).replace("torch.", "")
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


# ----------------------------------------------------------------------------- the model
def _describe_rnndyn(model: Any) -> dict[str, Any]:
    import inspect

    out: dict[str, Any] = {"type": type(model).__name__, "state_size": int(model.state_size)}
    target = getattr(model, "flow", model)
    if target is not model:  # a discretised flow: say which (before: only 'Discretised')
        out["flow"] = type(target).__name__
    sig = inspect.signature(type(target).__init__)
    for name in sig.parameters:
        if name in ("self", "generator", "dtype", "device"):
            continue
        if hasattr(target, name):
            v = getattr(target, name)
            if isinstance(v, bool | int | float | str) or v is None:
                out[name] = v
    dt = getattr(model, "dt", None)
    if dt is not None:
        out["dt"] = dt
        out["method"] = getattr(model, "method", None)
    return out


def prepare_model(
    model: Any,
    *,
    module_path: str | None = None,
    lstm_state: str = "full",
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    batch_first: bool | None = None,
) -> tuple[Any, dict[str, Any], bool | None]:
    """The map to analyse, a description of it, and the module's ``batch_first`` (torch models).

    Accepts an rnndyn map, a flow (raises: discretise it first), a ``torch.nn`` RNN/GRU/LSTM or a
    module containing one, or a path (:func:`rnndyn.load_model`). The model is copied before it is
    converted to ``dtype``/``device``.
    """
    from rnndyn.checks import check_finite_parameters
    from rnndyn.io import describe_module, find_recurrent, from_script_module, load_model
    from rnndyn.models.base import AbstractFlow, AbstractMap
    from rnndyn.models.torch_interop import _AbstractTorchRNN, from_torch

    if dtype not in (torch.float32, torch.float64):  # the dtypes QR, eigvals and slogdet have kernels for
        raise TypeError(f"`dtype` must be torch.float64 (recommended) or torch.float32; got {dtype!r}")
    info: dict[str, Any] = {}
    if isinstance(model, str | os.PathLike):
        # batch_first given here is the file's layout too: no 'assumed' note contradicting it
        model = load_model(model, module_path=module_path, lstm_state=lstm_state, batch_first=batch_first)
        info["loaded_from"] = dict(model.load_info)
    elif isinstance(model, torch.jit.ScriptModule):  # before: "contains none" (its submodules are scripted)
        model = from_script_module(model, module_path=module_path, lstm_state=lstm_state)
    if isinstance(model, AbstractFlow):
        raise TypeError(
            f"`model` must be a map; got the flow {type(model).__name__}: discretise it first, e.g. "
            "rd.discretise(flow, dt=0.05, method='rk4')"
        )
    if isinstance(model, _AbstractTorchRNN):
        module = model.module
        system = copy.deepcopy(model)
        info.update(describe_module(module))
        if getattr(model, "load_info", None) and "loaded_from" not in info:
            info["loaded_from"] = {k: v for k, v in model.load_info.items() if k != "architecture"}
        info["lstm_state"] = getattr(model, "lstm_state", None)
        batch_first: bool | None = bool(getattr(module, "batch_first", False))
    elif isinstance(model, AbstractMap):
        system = copy.deepcopy(model)
        info.update(_describe_rnndyn(model))
        batch_first = None
    elif isinstance(model, nn.Module):
        sub, where = find_recurrent(model, module_path=module_path)
        for pname, p in sub.named_parameters():
            if not p.dtype.is_floating_point:
                raise TypeError(
                    f"`model` parameters must be real floating point; got {pname} of dtype {p.dtype}"
                )
        sub = copy.deepcopy(sub).eval()
        info.update(describe_module(sub))
        if where:
            info["module_path"] = where
        batch_first = bool(getattr(sub, "batch_first", False))
        system = from_torch(sub, lstm_state=lstm_state)
        if isinstance(sub, nn.LSTM | nn.LSTMCell):
            info["lstm_state"] = lstm_state
    else:
        raise TypeError(
            "`model` must be an rnndyn model, a torch.nn RNN/GRU/LSTM (or a module containing one) or a "
            f"path to a saved model; got {type(model).__name__}"
        )
    ref = next(iter(system.parameters()), None)
    src_dtype = ref.dtype if ref is not None else None
    if src_dtype is not None and src_dtype != dtype:
        info["converted_from_dtype"] = str(src_dtype).replace("torch.", "")
    system = system.to(dtype=dtype, device=device)
    # every section, not only the Lyapunov one: before, NaN/inf weights reached the fixed-point
    # search as numpy's LinAlgError and the spectrum and CLVs as a 'diverged trajectory'
    check_finite_parameters(system, "model")
    info["analysed_dtype"] = str(dtype).replace("torch.", "")
    info["state_size"] = int(system.state_size)
    info["tangent_size"] = int(getattr(system, "tangent_size", system.state_size))
    info["input_size"] = int(getattr(system, "input_size", 0) or 0)
    return system, info, batch_first


def prepare_inputs(
    inputs: Any,
    *,
    input_size: int,
    batch_first: bool | None,
    module_batch_first: bool | None,
    dtype: torch.dtype,
    device: Any,
    layout_assumed: bool = False,
    cell: bool = False,
) -> tuple[torch.Tensor | None, dict[str, Any]]:
    """Inputs as a ``(B, T, d)`` tensor in the model's dtype, and how they were read.

    ``inputs``: ``None``, a numpy array or tensor of any real dtype, ``(T, d)`` (one sequence) or
    3-D, read as ``(B, T, d)`` when ``batch_first`` (given, else the torch module's, else ``True``:
    rnndyn's own layout) and as ``(T, B, d)`` otherwise. ``layout_assumed``: the module's
    ``batch_first`` was assumed by the loader (a state dict), so a 3-D array read as more sequences
    than steps gets a ``UserWarning`` naming the ``batch_first=`` that reads it the other way.
    """
    if inputs is None:
        return None, {"kind": "none", "description": "no inputs: every step gets zero input"}
    if isinstance(inputs, np.ndarray):
        if not (np.issubdtype(inputs.dtype, np.floating) or np.issubdtype(inputs.dtype, np.integer)):
            raise TypeError(f"`inputs` must hold real numbers; got a numpy array of dtype {inputs.dtype}")
        x = torch.as_tensor(np.ascontiguousarray(inputs))
    elif isinstance(inputs, torch.Tensor):
        if inputs.is_complex() or inputs.dtype == torch.bool:
            raise TypeError(f"`inputs` must hold real numbers; got a tensor of dtype {inputs.dtype}")
        x = inputs.detach()
    else:
        raise TypeError(f"`inputs` must be a numpy array or a torch tensor; got {type(inputs).__name__}")
    if input_size == 0:
        raise ValueError(
            f"`inputs` must be None: the model takes no inputs (input_size 0); got shape {tuple(x.shape)}"
        )
    if x.ndim not in (2, 3) or x.shape[-1] != input_size:
        raise ValueError(
            f"`inputs` must have shape (T, {input_size}), (B, T, {input_size}) or (T, B, {input_size}); "
            f"got {tuple(x.shape)}. They go straight into the recurrent network (input_size "
            f"{input_size}): if your model transforms its inputs first (an embedding of token ids, an "
            "encoder), pass the transformed inputs, e.g. model.embedding(tokens)"
        )
    if x.numel() == 0:
        raise ValueError(f"`inputs` must not be empty; got shape {tuple(x.shape)}")
    x = x.to(dtype=dtype, device=device)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("`inputs` must be finite; got NaN or inf entries")
    bf = (
        batch_first
        if batch_first is not None
        else (module_batch_first if module_batch_first is not None else True)
    )
    if batch_first is not None:
        source = "given (batch_first argument)"
    elif cell:  # nn.*Cell has no batch_first; a sequence for it is time-first (rd.rollout_like_torch)
        source = "a cell has no batch_first: time-first, as rd.rollout_like_torch"
    elif layout_assumed:
        source = "batch_first=False assumed: a state dict does not record it"
    elif module_batch_first is not None:
        source = "the module's batch_first"
    else:
        source = "rnndyn's layout (batch first)"
    if x.ndim == 2:
        x = x.unsqueeze(0)
        layout = "(T, d): one sequence"
    elif bf:
        layout = "(B, T, d)"
    else:
        x = x.transpose(0, 1).contiguous()
        layout = "(T, B, d)"
    B, T, d = x.shape
    flipped = "(T, B, d)" if layout == "(B, T, d)" else "(B, T, d)"
    if layout_assumed and layout != "(T, d): one sequence" and batch_first is None and T < B:
        # the layout came from the loader's default (a state dict records no batch_first): a
        # (B, T, d) array read time-first analyses B steps of T sequences without a word
        warnings.warn(
            f"`inputs` of shape {tuple(inputs.shape)} were read as {layout} ({source}): {B} sequences "
            f"of only {T} steps each. If the array is {flipped}, pass batch_first={not bf}; pass "
            f"batch_first={bf} to keep this reading without the warning",
            UserWarning,
            stacklevel=3,
        )
    desc = {
        "kind": "sequences",
        "layout": layout,
        "layout_from": source if layout != "(T, d): one sequence" else "2-D array",
        "n_sequences": int(B),
        "n_steps": int(T),
        "input_size": int(d),
        "description": f"{B} sequence(s) of {T} steps, {d} features, read as {layout}"
        + ("" if layout == "(T, d): one sequence" else f" ({source})"),  # a 2-D array has one reading
    }
    return x, desc


#: the start of the warning about inputs read with a default layout (a ``warnings`` filter regex)
LAYOUT_WARNING = r"`inputs` of shape .* were read as"
#: where an error about the inputs' length starts its hint on reading them the other way
LAYOUT_HINT = "; if the array is "


def _layout_hint(desc: dict[str, Any], *, given: bool) -> str:
    """For an error about the inputs' length: how to read a 3-D array the other way, when its
    layout came from a default rather than from ``batch_first``."""
    layout = desc.get("layout")
    if layout not in ("(B, T, d)", "(T, B, d)") or given:
        return ""
    other = layout == "(T, B, d)"
    flipped = "(B, T, d)" if other else "(T, B, d)"
    return f"{LAYOUT_HINT}{flipped}, pass batch_first={other}"


# ----------------------------------------------------------------------------- the result
@dataclass(frozen=True, kw_only=True)
class AnalysisResult(Result):
    """What :func:`analyze` found, and exactly what it analysed.

    Attributes:
        label: the model's name in titles.
        model: the model's description (type, all parameters, sizes, dtype, where it was loaded from).
        inputs: how the inputs were read (layout, number of sequences, steps).
        analysed: per section, in words, which inputs/states it used.
        settings: every run setting (steps, transient, trajectories, seeds, ...).
        lyapunov: :class:`~rnndyn.LyapunovResult` or ``None`` (skipped).
        jacobian_spectrum: :class:`~rnndyn.SpectrumResult` or ``None``.
        fixed_points: :class:`~rnndyn.FixedPointResult` or ``None``.
        clv: :class:`~rnndyn.CLVResult` when ``"clv"`` was asked for, else ``None``.
        trajectories: ``(B, T, n)`` states used for the principal-component picture.
        verdict: plain-language summary (regime, memory and trainability, fixed points).
        errors: ``{section: message}`` for sections that could not run.
        status: the worst status of the sections (:class:`~rnndyn.Status`); message: why (a
            fixed-point search whose only failed check is its census, ``completeness``, is named
            in one clause with its counts: docs/spectra.md, "The census in ``rd.analyze``").
    """

    label: str
    model: dict[str, Any]
    inputs: dict[str, Any]
    analysed: dict[str, str]
    settings: dict[str, Any]
    lyapunov: Any
    jacobian_spectrum: Any
    fixed_points: Any
    trajectories: torch.Tensor | None = field(repr=False)
    verdict: tuple[str, ...]
    errors: dict[str, str] = field(default_factory=dict)
    clv: Any = None

    # ------------------------------------------------------------------ views
    def __repr__(self) -> str:
        parts = [f"status={self.status.value!r}"]
        if self.lyapunov is not None:
            parts.append(f"lambda_max={self.lyapunov.lambda_max:.4g} {self.lyapunov.units}")
            parts.append(f"regime={self.lyapunov.regime!r}")
        if self.fixed_points is not None:
            parts.append(f"fixed_points={self.fixed_points.n_points}")
        return f"AnalysisResult({self.label!r}, {', '.join(parts)})"

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The summary table as ``[(section title, [(quantity, value), ...]), ...]``."""
        from rnndyn.fixed_points import fixed_point_summary
        from rnndyn.spectra import spectrum_summary

        out: list[tuple[str, list[tuple[str, str]]]] = [("model", _model_rows(self))]
        if self.lyapunov is not None:
            rows = [("analysed", self.analysed["lyapunov"]), *lyapunov_rows(self.lyapunov)]
            out.append(("lyapunov", [*rows, *status_rows(self.lyapunov)]))
        if self.jacobian_spectrum is not None:
            rows = [
                ("analysed", self.analysed["jacobian_spectrum"]),
                *spectrum_summary(self.jacobian_spectrum),
                *status_rows(self.jacobian_spectrum),
            ]
            out.append(("jacobian spectrum", rows))
        if self.fixed_points is not None:
            rows = [
                ("analysed", self.analysed["fixed_points"]),
                *fixed_point_summary(self.fixed_points),
                *status_rows(self.fixed_points),
            ]
            out.append(("fixed points", rows))
        if self.clv is not None:
            out.append(
                ("covariant lyapunov vectors", [("analysed", self.analysed["clv"]), *clv_rows(self.clv)])
            )
        for name, err in self.errors.items():
            out.append((name.replace("_", " "), [("failed", err)]))
        out.append(("verdict", [(f"{i + 1}", line) for i, line in enumerate(self.verdict)]))
        return out

    def summary(self) -> str:
        """The summary table as plain text (what ``rnndyn analyze`` prints)."""
        head = status_line(self.status.value, self.message)
        lines = [f"rnndyn analyze: {self.label}", head]
        for title, rows in self.sections():
            lines.append("")
            lines.append(f"[{title}]")
            width = max((len(k) for k, _ in rows), default=0)
            lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
        return "\n".join(lines)

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """JSON-ready dict: snake_case keys, JSON numbers, ``null`` for non-finite values with the
        reason under ``non_finite``. Convergence histories (``running``), all Jacobian eigenvalues and
        the trajectories only with ``full=True``."""
        _check_flag(full, "full")
        omitted: list[str] = []
        payload: dict[str, Any] = {
            "label": self.label,
            "status": self.status.value,
            "message": self.message,
            "verdict": list(self.verdict),
            "model": self.model,
            "inputs": self.inputs,
            "analysed": self.analysed,
            "settings": self.settings,
        }
        if self.lyapunov is not None:
            d = self.lyapunov.to_dict()
            if not full:
                for key in ("running", "running_steps"):
                    d.pop(key, None)
                omitted.append("lyapunov.running (convergence history)")
            payload["lyapunov"] = d
        if self.jacobian_spectrum is not None:
            d = self.jacobian_spectrum.to_dict()
            if not full:
                for key in ("eigenvalues", "singular_values", "states", "inputs"):
                    d.pop(key, None)
                omitted.append("jacobian_spectrum.eigenvalues")
            th = self.jacobian_spectrum.theory
            if th is not None:
                d["theory"] = {
                    "model": th.model,
                    "formula": th.formula,
                    "radius": th.radius,
                    "rightmost": th.rightmost,
                    "rho": th.rho,
                }
            payload["jacobian_spectrum"] = d
        if self.fixed_points is not None:
            payload["fixed_points"] = self.fixed_points.to_dict()
        if self.clv is not None:
            payload["clv"] = self.clv.to_dict()
        if self.errors:
            payload["errors"] = dict(self.errors)
        if full and self.trajectories is not None:
            payload["trajectories"] = self.trajectories
        elif self.trajectories is not None:
            omitted.append("trajectories")
        if omitted:
            payload["omitted"] = omitted + ["(pass full=True / --full to include)"]
        reasons: dict[str, str] = {}
        for name in (*SECTIONS, "clv"):  # section results that already replaced non-finite values
            inner = (
                payload.get(name, {}).pop("non_finite", None) if isinstance(payload.get(name), dict) else None
            )
            for key, what in (inner or {}).items():
                leaf = str(key).rsplit(".", 1)[-1]
                reasons[f"{name}.{key}"] = f"{what}: {_REASONS.get(leaf, 'not a finite number')}"
        out = jsonable(payload, reasons=reasons)
        if reasons:
            out["non_finite"] = reasons
        return out

    def to_json(self, path: str | os.PathLike[str] | None = None, *, full: bool = False) -> str:
        """:meth:`to_dict` as JSON text (strict: no NaN/Infinity); written to ``path`` if given."""
        if path is not None:
            path = _output_file(path, "path", example="result.json")
        text = json.dumps(self.to_dict(full=full), indent=2, allow_nan=False)
        if path is not None:
            _atomic_write(path, text.encode("utf-8"))
        return text

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset``: exponents, Jacobian spectra, fixed points (with their hits and
        whether each was added by symmetry; the census in ``attrs``), trajectories' principal
        components; the descriptions are JSON strings in ``attrs``."""
        import xarray as xr

        data: dict[str, Any] = {}
        coords: dict[str, Any] = {}
        if self.lyapunov is not None:
            units = {"units": self.lyapunov.units, "log_base": float(self.lyapunov.log_base)}
            data["lyapunov_exponent"] = ("exponent", self.lyapunov.exponents.cpu().numpy(), units)
            data["lyapunov_stderr"] = ("exponent", self.lyapunov.stderr.cpu().numpy(), units)
            # lambda_1 >= lambda_2 >= ...: the index a reader selects by (before: none, 0-based)
            coords["exponent"] = np.arange(1, int(self.lyapunov.exponents.numel()) + 1)
        if self.jacobian_spectrum is not None and self.jacobian_spectrum.n_states:
            ev = self.jacobian_spectrum.eigenvalues.detach().cpu().numpy()
            data["jacobian_eigenvalue_real"] = (("jacobian_state", "eigenvalue"), ev.real)
            data["jacobian_eigenvalue_imag"] = (("jacobian_state", "eigenvalue"), ev.imag)
            data["jacobian_spectral_radius"] = (
                "jacobian_state",
                self.jacobian_spectrum.spectral_radius.cpu().numpy(),
            )
        fp = self.fixed_points
        if fp is not None and fp.n_points:
            from rnndyn.fixed_points import STABILITY

            codes = {lab: i for i, lab in enumerate(STABILITY)}
            data["fixed_point"] = (("fixed_point", "unit"), fp.points.detach().cpu().numpy())
            data["fixed_point_spectral_radius"] = ("fixed_point", fp.spectral_radius.cpu().numpy())
            data["fixed_point_stability"] = (
                "fixed_point",
                np.array([codes[s] for s in fp.stability], dtype=np.int32),
                {"codes": json.dumps(codes)},
            )
            data["fixed_point_hits"] = (
                "fixed_point",
                fp.hits.cpu().numpy().astype(np.int64),
                {"description": "starts that converged to the point (0: added by symmetry)"},
            )
            data["fixed_point_from_symmetry"] = (
                "fixed_point",
                fp.from_symmetry.cpu().numpy().astype(np.int8),
                {
                    "description": "1: found by no start, added as the mirror image -h* of a found point (odd map)"
                },
            )
        if self.trajectories is not None:
            proj, var = pca_projection(self.trajectories)
            data["trajectory_pc"] = (("sequence", "step", "pc"), proj)
            data["pc_explained_variance"] = ("pc", var)
            coords["pc"] = np.arange(1, proj.shape[-1] + 1)  # PC 1, 2, 3
        attrs = {
            "label": self.label,
            "status": self.status.value,
            "message": self.message,
            "verdict": "\n".join(self.verdict),
            "model": json.dumps(jsonable(self.model)),
            "inputs": json.dumps(jsonable(self.inputs)),
            "analysed": json.dumps(jsonable(self.analysed)),
            "settings": json.dumps(jsonable(self.settings)),
        }
        if self.lyapunov is not None:
            attrs["lyapunov_units"] = self.lyapunov.units
        if fp is not None and fp.n_isolated:  # the census (docs/spectra.md, "How complete is a search?")
            attrs["fixed_point_census"] = fixed_point_census(fp)
            attrs["fixed_point_p_new"] = float(fp.p_new)
            attrs["fixed_point_n_points_estimate"] = float(fp.n_points_estimate)
            attrs["fixed_point_complete"] = int(fp.complete)
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_netcdf(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_xarray` to a NetCDF file (atomically: a failure leaves no partial file)."""
        path = _output_file(path, "path", example="result.nc")
        ds = self.to_xarray()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _new_temp_file(path)
        os.close(fd)
        try:
            ds.to_netcdf(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def figures(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write the report's figures as PNGs into ``folder``; returns their paths."""
        from rnndyn.plotting.analysis import plot_pca_trajectories
        from rnndyn.plotting.lyapunov import plot_convergence
        from rnndyn.plotting.lyapunov import plot_spectrum as plot_lyap
        from rnndyn.plotting.spectra import plot_spectrum

        folder = Path(folder)
        out: list[Path] = []
        if self.lyapunov is not None and self.lyapunov.status != "diverged":
            out.append(plot_lyap(self.lyapunov, folder / "lyapunov_spectrum.png", title=self.label))
            out.append(plot_convergence(self.lyapunov, folder / "lyapunov_convergence.png", title=self.label))
        if self.trajectories is not None:
            out.append(
                plot_pca_trajectories(
                    self.trajectories,
                    folder / "trajectories_pca.png",
                    fixed_points=self.fixed_points,
                    title=self.label,
                    inputs_note=self.analysed.get("trajectories", ""),
                )
            )
        if self.jacobian_spectrum is not None and self.jacobian_spectrum.n_states:
            out.append(
                plot_spectrum(self.jacobian_spectrum, folder / "jacobian_spectrum.png", title=self.label)
            )
        return out

    def report(
        self,
        path: str | os.PathLike[str],
        *,
        figures_dir: str | os.PathLike[str] | None = None,
        full: bool = False,
        command: str | None = None,
    ) -> Path:
        """Write a self-contained ``report.html`` (figures embedded): the verdict in words, what was
        analysed, the full exponent table, trajectories in principal-component space with the fixed
        points, the Jacobian spectrum against theory, and the references.

        Args:
            path: the HTML file. figures_dir: also keep the PNGs there (default: not kept).
            full: unused by the HTML (kept for symmetry with ``to_dict``). command: the command
                line, for provenance.
        """
        from rnndyn.report import build_analysis_report

        path = _output_file(path, "path", example="report.html")  # before the figures are drawn
        _check_flag(full, "full")
        if figures_dir is not None:
            if not isinstance(figures_dir, str | os.PathLike) or Path(figures_dir).is_file():
                raise TypeError(
                    f"`figures_dir` must be a folder path (str or pathlib.Path) or None; got {figures_dir!r}"
                )
            figs = self.figures(figures_dir)
            return build_analysis_report(self, path, figs, command=command)
        with tempfile.TemporaryDirectory(prefix="rnndyn-report-") as tmp:
            figs = self.figures(tmp)
            return build_analysis_report(self, path, figs, command=command)


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be True or False; got {type(value).__name__} {value!r}")
    return value


def _output_file(path: Any, name: str, *, example: str) -> Path:
    """An output file's path, checked before any work: a str or ``os.PathLike``, not a folder."""
    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise TypeError(
            f"`{name}` must be a file path (str or pathlib.Path); got {type(path).__name__} {path!r}"
        )
    out = Path(path)
    if out.is_dir():
        raise ValueError(
            f"`{name}` must be a file path; got {str(out)!r}, an existing folder (give a file in it, "
            f"e.g. {str(out / example)!r})"
        )
    return out


def _new_temp_file(path: Path) -> tuple[int, str]:
    """A new, empty temporary file beside ``path`` (for an atomic ``os.replace``), open for writing.

    Created with mode 0o666 under a unique name (``O_EXCL``: never an existing file), so the kernel
    applies the process umask and the result gets a new file's usual mode. Never ``os.umask``
    (process-global: reading it means setting it, a race with other threads creating files), nor
    ``tempfile.mkstemp`` (its files are private, 0600).
    """
    import secrets

    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.parent / f"{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # a 48-bit name taken: draw another
            continue
    raise FileExistsError(f"no free temporary file name beside {path} after 100 tries")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _new_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def pca_projection(traj: torch.Tensor, n_pc: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Project ``(B, T, n)`` states on their first ``n_pc`` principal components.

    Returns ``((B, T, n_pc) projections, (n_pc,) explained-variance fractions)``.
    """
    x = traj.detach().cpu().double().numpy()
    flat = x.reshape(-1, x.shape[-1])
    mean = flat.mean(0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(n_pc, vt.shape[0])
    var = s**2
    frac = var[:k] / var.sum() if var.sum() > 0 else np.zeros(k)
    return (x - mean) @ vt[:k].T, frac


def _model_rows(res: AnalysisResult) -> list[tuple[str, str]]:
    skip = {"loaded_from", "cli_params"}
    params = ", ".join(f"{k}={param_text(v)}" for k, v in res.model.items() if k not in skip)
    rows = [("model", params), ("inputs", res.inputs["description"])]
    lf = res.model.get("loaded_from")
    if lf:
        rows.append(("loaded from", f"{lf.get('path')} ({lf.get('format')})"))
        for a in lf.get("assumed", []):
            rows.append(("assumed", a))
    s = res.settings
    rows.append(("seeds", ", ".join(f"{k}={v}" for k, v in s["seeds"].items())))
    return rows


# ----------------------------------------------------------------------------- verdict
def _cluster_kind(lam: float, sem: float) -> str:
    """Sign of one cluster's lambda_max against its own error (floor 1e-3)."""
    tol = max(1e-3, 3.0 * sem) if math.isfinite(sem) else 1e-3
    if lam > tol:
        return "chaotic: > 0"
    if lam < -tol:
        return "stable: < 0"
    return f"zero within {tol:.2g}: marginal"


def _lyapunov_verdict(res_l: Any, cond: str) -> list[str]:
    """The Lyapunov part of :func:`verdict`: the regime of the mean only where the run supports one.

    ``multistable``: the trajectories reached different attractors; each cluster is described with
    its own ``lambda_max`` (the mean over trajectories describes none of them and its error, from
    the spread between trajectories, is inflated by the disagreement). ``not_converged`` /
    ``failed``: the reading is marked provisional / unusable. Every non-success status is named,
    with the details of the checks that did not pass.
    """
    out: list[str] = []
    u = "per unit time" if res_l.units == "1/time" else "per step"
    tu = "time units" if res_l.dt else "steps"
    lam = res_l.lambda_max
    status = Status.coerce(res_l.status)
    if res_l.regime == "diverged":
        out.append(f"The trajectories diverged (inf/NaN) {cond}: no exponents could be measured.")
    elif res_l.regime == "multistable":
        per = res_l.per_trajectory[:, 0].double()
        parts = []
        for c in res_l.clusters:
            vals = per[list(c["trajectories"])]
            sem = float(vals.std() / math.sqrt(len(vals))) if len(vals) > 1 else math.nan
            parts.append(
                f"{c['count']} trajector{'ies' if c['count'] > 1 else 'y'} {list(c['trajectories'])} at "
                f"lambda_max {c['lambda_max']:.3g} ({_cluster_kind(c['lambda_max'], sem)})"
            )
        out.append(
            f"Multistable {cond} (status {status.value}): the trajectories disagree beyond their errors, so "
            f"they settled on {len(res_l.clusters)} different attractors (more than one attractor): "
            + "; ".join(parts)
            + f" ({u}). The mean over trajectories ({lam:.3g} {u}) mixes these attractors and describes "
            "none of them, so no single regime is given; analyse each attractor separately (its "
            "trajectories as starts, or more trajectories to see how often each is reached)."
        )
    else:
        if res_l.regime == "chaotic":
            t = res_l.predictability_time
            lines = [
                f"Chaotic {cond}: the largest Lyapunov exponent is {lam:.3g} {u} > 0, so nearby states "
                f"separate by a factor 2 every {t:.3g} {tu}. The network "
                "forgets its initial state (and small input differences) over that horizon, and gradients "
                "propagated back through time grow exponentially over longer horizons (exploding "
                "gradients; Mikhaeil, Monfared & Durstewitz 2022, arXiv:2110.07238, Thm. 2).",
                f"{sum(v > res_l.near_zero_tolerance for v in res_l.exponents.tolist())} of {res_l.k} exponents are "
                f"positive; the attractor's Kaplan–Yorke dimension is {res_l.kaplan_yorke_dimension:.3g} and "
                f"the entropy rate {res_l.entropy_rate:.3g} {u} (Pesin bound).",
            ]
        elif res_l.regime == "stable":
            horizon = 1.0 / abs(lam) if lam != 0 else math.inf
            lines = [
                f"Stable {cond}: every Lyapunov exponent is negative (largest {lam:.3g} {u}), so "
                f"perturbations shrink by a factor e about every {horizon:.3g} "
                f"{tu}. Memory of past inputs fades on that time scale, "
                "and gradients through time vanish over much longer horizons."
            ]
        else:
            lines = [
                f"Marginal {cond}: the largest exponent {lam:.3g} {u} is zero within its tolerance "
                f"({res_l.near_zero_tolerance:.2g}); {res_l.n_near_zero} slow mode(s). Such networks keep "
                "information for long times (slow manifolds, line attractors) and their gradients neither "
                "explode nor vanish quickly (the 'edge of chaos')."
            ]
        if status == Status.NOT_CONVERGED:
            lines[0] = "Provisional, the exponents have not converged: " + lines[0]
        elif status == Status.FAILED:
            lines[0] = "Not usable, a self-check failed: " + lines[0]
        out.extend(lines)
    if status != Status.SUCCESS:
        failed = [
            c
            for c in res_l.failed_checks
            if not (c.name == "multistability" and res_l.regime == "multistable")
        ]
        if failed or status != Status.WARNING:
            details = "; ".join(f"{c.name}: {c.detail}" for c in failed) or res_l.message
            out.append(f"The Lyapunov run's status is '{status.value}' ({status.explanation}): {details}.")
    return out


def verdict(res_l: Any, res_s: Any, res_f: Any, *, driven: bool, fp_input: str) -> tuple[str, ...]:
    """Plain-language reading of the three analyses (what the numbers mean for the user).

    The fixed-point line ends with the census (:func:`rnndyn.report.fixed_point_census`: complete
    or not, points found by a single start, the Chao1 estimate, points added by symmetry); the
    lines on the dynamics do not depend on it, and with a Lyapunov result the line says so."""
    out: list[str] = []
    cond = "driven by the given inputs" if driven else "running on its own (zero input)"
    if res_l is not None:
        out.extend(_lyapunov_verdict(res_l, cond))
    if res_s is not None and res_s.n_states:
        line = (
            f"The state-to-state Jacobian has mean spectral radius {res_s.mean_spectral_radius:.3g}; "
            f"{100 * res_s.mean_slow_fraction:.3g}% of its eigenvalues lie within {res_s.eps_slow:g} of 1 "
            "(slow modes created by closed update/forget gates; Can, Krishnamurthy & Schwab 2020, arXiv:2002.00025)."
        )
        th = res_s.theory
        if th is not None:
            k = res_s.theory_index
            line += (
                f" Random-matrix theory ({th.model}), evaluated at state {k}, predicts spectral radius "
                f"{th.spectral_radius:.3g}; measured there: {float(res_s.spectral_radius[k]):.3g}."
            )
            bad = [c for c in res_s.checks if c.name.startswith("theory_") and not c.passed]
            if bad:
                line += (
                    " The theory does not describe that state, so its prediction is not a check of the "
                    "network: " + "; ".join(c.detail for c in bad) + "."
                )
        out.append(line)
    if res_f is not None:
        if res_f.n_points == 0:
            n_manifold = res_f.slow_kind.count("manifold")
            if n_manifold:
                # closed update gates (large alpha_z): the points converge onto a slow manifold
                out.append(
                    f"No fixed point was found at {fp_input} from {res_f.n_initial} starts, but "
                    f"{n_manifold} slow point(s) on a slow manifold of dimension about "
                    f"{res_f.slow_manifold_dimension} (eigenvalues with |lambda - 1| < {res_f.eps_slow:g}; "
                    "closed update gates freeze one direction each): the dynamics there drift slowly "
                    "along it rather than settling on fixed points."
                )
            else:
                out.append(
                    f"No fixed point was found at {fp_input} from {res_f.n_initial} starts"
                    + (f" ({res_f.slow_points.shape[0]} slow points)" if res_f.slow_points.shape[0] else "")
                    + ": the dynamics there are organised by something other than fixed points (chaos, cycles)."
                )
        else:
            counts = {s: res_f.stability.count(s) for s in dict.fromkeys(res_f.stability)}
            desc = ", ".join(f"{v} {k}" for k, v in counts.items())
            line = f"{res_f.n_points} fixed point(s) at {fp_input}: {desc}."
            if counts.get("stable"):
                line += " A stable fixed point is an attractor: states near it settle there (a memory)."
            if counts.get("saddle"):
                line += " Saddles route trajectories between regions of state space."
            if res_f.slow_manifold_dimension:
                line += (
                    f" Slow-manifold dimension {res_f.slow_manifold_dimension} (continuous attractor-like)."
                )
            census = fixed_point_census(res_f)
            if census:
                line += " " + census
                if res_l is not None and not res_f.complete and getattr(res_f, "n_isolated", 0):
                    line += " The reading of the dynamics above does not rest on this list."
            out.append(line)
    return tuple(out)


def _problem(name: str, res: Any, st: str, *, others: bool) -> str:
    """A non-success section in the analysis's status message. A fixed-point result whose only
    failed check is the census (``completeness``) gets one clause that says so; every other case
    keeps the section's own message."""
    failed = [c.name for c in getattr(res, "failed_checks", ())]
    if name == "fixed points" and failed == ["completeness"] and st == Status.WARNING.value:
        return census_status_clause(res, others=others)  # one clause, no nested parentheses
    return f"{name}: {st}" + (f" ({res.message})" if res.message else "")


# ----------------------------------------------------------------------------- analyze
def analyze(
    model: Any,
    inputs: Any = None,
    *,
    batch_first: bool | None = None,
    module_path: str | None = None,
    lstm_state: str = "full",
    sections: Sequence[str] = SECTIONS,
    k: int | None = None,
    n_steps: int | None = None,
    n_transient: int | None = None,
    n_trajectories: int = 4,
    qr_every: int | str = "auto",
    log_base: float = math.e,
    spectrum_states: int = 20,
    fixed_point_starts: int = 64,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    label: str | None = None,
    progress: Callable[[str], Any] | None = None,
) -> AnalysisResult:
    r"""Lyapunov spectrum, Jacobian spectrum against theory and fixed points of a recurrent network.

    Lyapunov exponents by the QR method,
    :math:`\lambda_i = \tfrac{1}{T}\sum_t \ln R_{t,ii}` with :math:`Q_{t+1}R_{t+1} = J_t Q_t` and
    :math:`J_t = \partial h_{t+1}/\partial h_t`; the eigenvalues of :math:`J_t` along trajectories
    with the random-matrix prediction; fixed points :math:`F(h^*, \bar x) = h^*` and the
    eigenvalues of :math:`J(h^*)`; and trajectories for a principal-component picture.

    What each section analyses (stated again in the result's ``analysed``):

    * without ``inputs``: all sections use zero input; Lyapunov and trajectories start from
      ``n_trajectories`` random states (seeded by ``seed``);
    * with ``inputs`` (``B`` sequences of ``T`` steps): Lyapunov runs one trajectory per sequence
      (from zero state; ``n_steps`` defaults to ``T - n_transient``); the Jacobian spectrum uses the
      first ``min(B, 4)`` sequences; fixed points use the mean input over all sequences and steps.

    Args:
        model: an rnndyn map, a ``torch.nn`` RNN/GRU/LSTM or cell, a module containing one
            (``module_path`` picks it when there are several), or a path to a saved model.
        inputs: ``None``, or a numpy array / tensor of any real dtype: ``(T, d)``, or 3-D read as
            ``(B, T, d)`` or ``(T, B, d)`` according to ``batch_first``.
        batch_first: layout of 3-D ``inputs``; default the torch module's ``batch_first``
            (time-first for a cell), ``True`` for rnndyn models. A module loaded from a state dict
            without ``batch_first`` is time-first by assumption: when that reads the array as more
            sequences than steps, a ``UserWarning`` names the ``batch_first=`` that reads it the
            other way.
        module_path: the recurrent submodule of a wrapper (``"rnn"``), or inside a saved file.
        lstm_state: LSTM tangent space, ``"full"`` (h, c) or ``"h"`` (see :func:`rnndyn.from_torch`).
        sections: any of ``"lyapunov"``, ``"jacobian_spectrum"`` (or ``"spectrum"``),
            ``"fixed_points"``.
        k: number of Lyapunov exponents (default all). n_steps: averaged steps (default
            ``DEFAULTS.analyze_n_steps`` = 1000, or ``T - n_transient`` with inputs). n_transient:
            discarded steps (default ``DEFAULTS.n_transient`` = 500; with inputs at most ``T // 3``). n_trajectories: random starts without inputs.
        qr_every, log_base: as :func:`rnndyn.lyapunov_spectrum`.
        spectrum_states: states whose Jacobian spectra are pooled.
        fixed_point_starts: starts of the fixed-point search.
        seed: base seed; Lyapunov uses ``seed + 1``, the spectrum ``seed + 2``, fixed points
            ``seed + 3``, the trajectories ``seed + 4`` (all recorded in ``settings["seeds"]``).
        dtype: dtype of the analysis (the model is copied and converted; default float64).
        device: device of the analysis (default: the model's).
        label: name in titles (default from the model).
        progress: ``progress(section_name)`` called before each section (for progress bars).

    Returns:
        :class:`AnalysisResult`. A section that fails on the model (e.g. a diverged trajectory) is
        reported in ``status``/``message``/``errors``; the others still run.

    Raises:
        TypeError: unsupported model or inputs type, a dtype other than float32/float64, a flag
            that is not a bool, a non-callable ``progress``. ValueError: bad shapes, non-finite
            inputs or weights, unknown or no section names, non-positive counts, a negative seed,
            a device this machine does not have.

    References:
        Benettin et al., Meccanica 15, 9 (1980); Vogt et al., arXiv:2006.14123; Can, Krishnamurthy &
        Schwab, arXiv:2002.00025; Sussillo & Barak, Neural Computation 25, 626 (2013). See
        ``docs/torch_interop.md``.

    Example:
        >>> import torch, rnndyn as rd
        >>> gru = torch.nn.GRU(2, 8, batch_first=True)
        >>> res = rd.analyze(gru, torch.zeros(1, 120, 2), sections=["lyapunov"], n_transient=20)
        >>> res.lyapunov.k, res.inputs["layout"]
        (8, '(B, T, d)')
    """
    if isinstance(sections, str):  # one name, not its letters
        sections = (sections,)
    if not isinstance(sections, Sequence | set | frozenset) or not sections:
        raise ValueError(
            f"`sections` must name at least one of {sorted(set(_SECTION_ALIASES))}; got {sections!r}"
        )
    chosen: list[str] = []
    for s in sections:
        if s not in _SECTION_ALIASES:
            raise ValueError(f"`sections` must be among {sorted(set(_SECTION_ALIASES))}; got {s!r}")
        if _SECTION_ALIASES[s] not in chosen:
            chosen.append(_SECTION_ALIASES[s])
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    spectrum_states = check_positive_int(spectrum_states, "spectrum_states")
    fixed_point_starts = check_positive_int(fixed_point_starts, "fixed_point_starts")
    if k is not None:
        k = check_positive_int(k, "k")
        if "lyapunov" not in chosen and "clv" not in chosen:  # before: ignored without a word
            raise ValueError(
                f"`k` applies to the 'lyapunov' and 'clv' sections (the number of exponents); got k={k} "
                f"with sections {chosen}"
            )
    if n_steps is not None:
        n_steps = check_positive_int(n_steps, "n_steps")
    if n_transient is not None:
        n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    # an int >= 0 as everywhere else (rd.sweep's base_seed, rd.reproduce), NumPy ints from a loop
    # included; the section seeds seed + 1 .. seed + 5 must fit torch's 64-bit seed (before: torch's
    # "Overflow when unpacking long long" for 2**70)
    seed = check_positive_int(seed, "seed", minimum=0)
    if seed > 2**63 - 6:
        raise ValueError(f"`seed` must be an int in [0, 2**63 - 6] (torch's 64-bit seeds); got {seed}")
    check_choice(lstm_state, "lstm_state", ("full", "h"))
    if batch_first is not None and not isinstance(batch_first, bool):
        raise TypeError(
            f"`batch_first` must be True, False or None; got {type(batch_first).__name__} {batch_first!r}"
        )
    if module_path is not None and not isinstance(module_path, str):
        raise TypeError(f"`module_path` must be a str (e.g. 'rnn') or None; got {type(module_path).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"`progress` must be a callable progress(section_name) or None; got {type(progress).__name__}"
        )
    if progress is not None:
        from rnndyn.sweeps import _accepts

        if not _accepts(progress, 1):  # before: a TypeError from inside, once the first section began
            raise TypeError(f"`progress` must take one argument, progress(section_name); got {progress!r}")
    if device is not None:
        device = check_device(device)

    system, info, module_bf = prepare_model(
        model,
        module_path=module_path,
        lstm_state=lstm_state,
        dtype=dtype,
        device=device,
        batch_first=batch_first,
    )
    from rnndyn.io import BATCH_FIRST_ASSUMED

    loaded = info.get("loaded_from") or {}
    if batch_first is not None and BATCH_FIRST_ASSUMED in loaded.get("assumed", ()):
        # the loader's assumption is overridden by the argument: the inputs row says which
        loaded["assumed"] = [a for a in loaded["assumed"] if a != BATCH_FIRST_ASSUMED]
        if not loaded["assumed"]:
            del loaded["assumed"]
    ref = next(iter(system.parameters()), None)
    dev = ref.device if ref is not None else torch.device(device or "cpu")
    x, in_desc = prepare_inputs(
        inputs,
        input_size=info["input_size"],
        batch_first=batch_first,
        module_batch_first=module_bf,
        dtype=dtype,
        device=dev,
        # a live module's batch_first is its own; a state dict's was assumed by the loader
        layout_assumed=BATCH_FIRST_ASSUMED in info.get("loaded_from", {}).get("assumed", ()),
        cell=str(info.get("type", "")).endswith("Cell"),
    )
    if label is None:
        loaded = info.get("loaded_from")
        if "hidden_size" in info:  # a torch module
            layers = info.get("num_layers", 1)
            arch = f"nn.{info['type']}, hidden {info['hidden_size']}" + (
                f" x {layers} layers" if layers > 1 else ""
            )
        else:
            from rnndyn.checks import model_name

            arch = f"{model_name(system)}, n={info['state_size']}"  # Discretised(Lorenz63, dt=0.01, rk4)
        label = f"{Path(loaded['path']).name} ({arch})" if loaded else arch
    from rnndyn.lyapunov import DEFAULTS

    if x is not None:
        T = x.shape[1]
        if n_transient is None:
            n_transient = min(DEFAULTS.n_transient, T // 3)
        if n_transient >= T:
            raise ValueError(
                f"`n_transient` must be smaller than the inputs' length T = {T}; got {n_transient} "
                f"(inputs: {in_desc['description']})" + _layout_hint(in_desc, given=batch_first is not None)
            )
    elif n_transient is None:
        n_transient = DEFAULTS.n_transient
    default_steps = DEFAULTS.analyze_n_steps if x is None else x.shape[1] - n_transient
    steps = n_steps if n_steps is not None else default_steps
    seeds = {
        "lyapunov": seed + 1,
        "jacobian_spectrum": seed + 2,
        "fixed_points": seed + 3,
        "trajectories": seed + 4,
        "clv": seed + 5,
    }
    settings: dict[str, Any] = {
        "sections": chosen,
        "k": k,
        "n_steps": steps,
        "n_transient": n_transient,
        "n_trajectories": n_trajectories if x is None else x.shape[0],
        "qr_every": qr_every,
        "log_base": log_base,
        "spectrum_states": spectrum_states,
        "fixed_point_starts": fixed_point_starts,
        "dtype": str(dtype).replace("torch.", ""),
        "device": str(dev),
        "seed": seed,
        "seeds": seeds,
    }
    analysed: dict[str, str] = {}
    errors: dict[str, str] = {}
    res_l = res_s = res_f = res_c = None
    fp_input_desc = "zero input"
    if x is not None:
        fp_input_desc = "the mean input (averaged over all sequences and steps)"

    def gen(name: str) -> torch.Generator:
        return torch.Generator(device="cpu").manual_seed(seeds[name])

    if "lyapunov" in chosen:
        if progress is not None:
            progress("lyapunov")
        from rnndyn.lyapunov import lyapunov_spectrum

        if x is None:
            analysed["lyapunov"] = (
                f"zero input; {n_trajectories} trajectories from random initial states "
                f"(seed {seeds['lyapunov']}); {n_transient} transient + {steps} averaged steps"
            )
        else:
            analysed["lyapunov"] = (
                f"all {x.shape[0]} input sequence(s), one trajectory each from the zero state; "
                f"{n_transient} transient + {steps} averaged steps"
            )
        try:
            res_l = lyapunov_spectrum(
                system,
                k=k,
                n_steps=steps,
                n_transient=n_transient,
                qr_every=qr_every,
                inputs=x,
                h0=None if x is None else torch.zeros(x.shape[0], system.state_size, dtype=dtype, device=dev),
                n_trajectories=n_trajectories if x is None else 1,
                generator=gen("lyapunov"),
                log_base=log_base,
                throw=False,
                # discretised flows: rerun at dt/2 and flag a time-step bias (docs/lyapunov.md)
                check_dt=getattr(system, "flow", None) is not None
                and getattr(system, "dt", None) is not None,
            )
        except (TypeError, ValueError):
            raise
        except RuntimeError as exc:  # pragma: no cover - numerical/library failure
            errors["lyapunov"] = str(exc).splitlines()[0]
    if "jacobian_spectrum" in chosen:
        if progress is not None:
            progress("jacobian spectrum")
        res_s = _spectrum(system, x, n_transient, spectrum_states, gen("jacobian_spectrum"), analysed, errors)
    if "fixed_points" in chosen:
        if progress is not None:
            progress("fixed points")
        from rnndyn.fixed_points import find_fixed_points

        const = None if x is None else x.reshape(-1, x.shape[-1]).mean(0)
        fp_where = f"{fp_input_desc}" + (
            ""
            if const is None
            else f" = [{', '.join(f'{v:.3g}' for v in const[:6].tolist())}{', …' if const.numel() > 6 else ''}]"
        )
        analysed["fixed_points"] = f"{fp_where}; {fixed_point_starts} starts (seed {seeds['fixed_points']})"
        try:
            res_f = find_fixed_points(
                system, n_initial=fixed_point_starts, inputs=const, generator=gen("fixed_points"), throw=False
            )
        except RuntimeError as exc:  # pragma: no cover
            errors["fixed_points"] = str(exc).splitlines()[0]
        else:  # the search's own words for its starts (its census counts for starts drawn like these)
            analysed["fixed_points"] = (
                f"{fp_where}; {res_f.n_initial} starts: {res_f.starts} (seed {seeds['fixed_points']})"
            )
    if "clv" in chosen:
        if progress is not None:
            progress("covariant Lyapunov vectors")
        res_c = _clv(system, x, k, steps, n_transient, gen("clv"), analysed, errors)
    if info.get("lstm_state") == "h":  # say which Jacobian the spectrum and the stability used
        note = (
            "; h-only tangent space (lstm_state='h'): the leading L*H x L*H block of the Jacobian, at "
            "fixed c (docs/torch_interop.md; 'full' gives the true linearisation)"
        )
        for name in ("jacobian_spectrum", "fixed_points"):
            if name in analysed:
                analysed[name] += note
    traj, traj_note = _trajectories(system, x, n_transient, n_trajectories, gen("trajectories"), dtype, dev)
    if traj is not None:
        analysed["trajectories"] = traj_note

    statuses: list[Any] = []
    problems = []
    sections_run = (
        ("lyapunov", res_l),
        ("jacobian spectrum", res_s),
        ("fixed points", res_f),
        ("clv", res_c),
    )
    for name, res in sections_run:
        if res is None:
            continue
        st = str(getattr(res.status, "value", res.status))
        statuses.append(st if st in {m.value for m in Status} else "warning")
        if st != "success":
            problems.append(_problem(name, res, st, others=sum(r is not None for _, r in sections_run) > 1))
    for k_, v in errors.items():
        statuses.append("failed" if len(errors) == len(chosen) else "warning")
        problems.append(f"{k_}: failed ({v})")
    status = Status.worst(*statuses)
    message = "; ".join(problems)
    return AnalysisResult(
        label=label,
        model=info,
        inputs=in_desc,
        analysed=analysed,
        settings=settings,
        lyapunov=res_l,
        jacobian_spectrum=res_s,
        fixed_points=res_f,
        clv=res_c,
        trajectories=traj,
        verdict=verdict(res_l, res_s, res_f, driven=x is not None, fp_input=fp_input_desc),
        status=status,
        message=message,
        errors=errors,
    )


def _clv(
    system: Any,
    x: torch.Tensor | None,
    k: int | None,
    steps: int,
    n_transient: int,
    generator: torch.Generator,
    analysed: dict[str, str],
    errors: dict[str, str],
) -> Any:
    from rnndyn.clv import covariant_lyapunov_vectors

    k_clv = min(k or system.tangent_size, system.tangent_size, 16)  # the leading 16 at most
    n_fwd = min(steps, 1000)
    n_back = max(300, n_fwd // 2)  # the backward iteration converges at the exponent gaps
    kwargs: dict[str, Any] = {}
    where = "zero input; one trajectory from a random initial state"
    if x is not None:
        need = n_transient + n_fwd + n_back
        if x.shape[1] < need:
            n_fwd = max(1, x.shape[1] - n_transient - n_back)
            if x.shape[1] - n_transient - n_back < 1:
                errors["clv"] = (
                    f"the inputs (T = {x.shape[1]}) are too short for a forward and a backward pass: "
                    f"Ginelli's method needs at least n_transient + 1 + {n_back} backward-transient steps "
                    f"= {n_transient + 1 + n_back}; give longer inputs or a shorter n_transient"
                )
                return None
        kwargs["inputs"] = x[:1, : n_transient + n_fwd + n_back]
        where = "the first input sequence, from the zero state"
        kwargs["h0"] = torch.zeros(1, system.state_size, dtype=x.dtype, device=x.device)
    analysed["clv"] = (
        f"{where}; leading {k_clv} vectors; {n_transient} transient + {n_fwd} recorded steps, "
        f"{n_back} backward-transient steps (Ginelli's method)"
    )
    try:
        return covariant_lyapunov_vectors(
            system,
            k=k_clv,
            n_steps=n_fwd,
            n_transient=n_transient,
            n_backward_transient=n_back,
            record_every=max(1, n_fwd // 100),
            generator=generator,
            keep_vectors=False,
            throw=False,
            **kwargs,
        )
    except (ValueError, RuntimeError) as exc:
        errors["clv"] = str(exc).splitlines()[0]
        return None


def _spectrum(
    system: Any,
    x: torch.Tensor | None,
    n_transient: int,
    n_states: int,
    generator: torch.Generator,
    analysed: dict[str, str],
    errors: dict[str, str],
) -> Any:
    from rnndyn.spectra import jacobian_spectrum

    kwargs: dict[str, Any] = {}
    n_steps = max(n_states, 50)
    transient = n_transient
    if x is None:
        analysed["jacobian_spectrum"] = (
            f"zero input; {n_states} states evenly spaced over {n_steps} steps of one trajectory from a "
            f"random initial state after {transient} transient steps"
        )
    else:
        B, T, _ = x.shape
        n_seq = min(B, 4)
        transient = min(n_transient, max(0, T - 1 - n_states))
        n_steps = min(n_steps, T - 1 - transient)
        if n_steps < 1:
            errors["jacobian_spectrum"] = f"the inputs (T = {T}) are too short for {n_states} states"
            return None
        n_states = min(n_states, n_steps)
        kwargs.update(inputs=x[:n_seq, : transient + n_steps + 1], n_trajectories=n_seq)
        analysed["jacobian_spectrum"] = (
            f"the first {n_seq} of {B} input sequence(s) (steps {transient}..{transient + n_steps}); "
            f"{n_states} states per sequence, {n_seq * n_states} in all, after {transient} transient steps"
        )
    try:
        return jacobian_spectrum(
            system,
            n_states=n_states,
            n_steps=n_steps,
            n_transient=transient,
            theory="auto",  # the random-matrix curve where the model has one, silent otherwise
            generator=generator,
            **kwargs,
        )
    except (ValueError, RuntimeError) as exc:
        errors["jacobian_spectrum"] = str(exc).splitlines()[0]
        return None


def _trajectories(
    system: Any,
    x: torch.Tensor | None,
    n_transient: int,
    n_trajectories: int,
    generator: torch.Generator,
    dtype: torch.dtype,
    dev: torch.device,
) -> tuple[torch.Tensor | None, str]:
    from rnndyn.simulate import simulate

    try:
        if x is None:
            steps = 300
            h0 = torch.randn(n_trajectories, system.state_size, generator=generator, dtype=dtype).to(dev)
            traj = simulate(system, h0, n_steps=steps, n_transient=n_transient, check_divergence=False)
            note = f"zero input; {n_trajectories} trajectories from random initial states, {steps} steps after {n_transient}"
        else:
            n_seq = min(x.shape[0], 8)
            h0 = torch.zeros(n_seq, system.state_size, dtype=dtype, device=dev)
            keep = min(x.shape[1] - n_transient, 500)
            traj = simulate(
                system,
                h0,
                inputs=x[:n_seq, : n_transient + keep],
                n_transient=n_transient,
                check_divergence=False,
            )
            note = (
                f"the first {n_seq} input sequence(s) from the zero state, {keep} steps after {n_transient}"
            )
    except (ValueError, RuntimeError):
        return None, ""
    if not bool(torch.isfinite(traj).all()):
        return None, ""
    return traj.detach(), note


__all__ = ["SECTIONS", "AnalysisResult", "analyze", "jsonable", "pca_projection", "snake"]

"""Validation helpers for the public boundary.

Every message names the argument, what was expected and what was received, e.g.
"`h0` must have shape (*batch, 256); got (32, 128)". Internal invariants may use ``assert``;
user input never does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch


def _shape(x: Any) -> str:
    return str(tuple(x.shape)) if hasattr(x, "shape") else type(x).__name__


def check_tensor(x: Any, name: str) -> torch.Tensor:
    """Require a ``torch.Tensor`` (NumPy arrays and lists are not silently converted here: the
    dtype and device to convert to are the model's, which the caller knows; the error says how)."""
    if not isinstance(x, torch.Tensor):
        hint = (
            f": convert it first, e.g. torch.as_tensor({name}, dtype=model.dtype, device=model.device) "
            "(rd.analyze converts NumPy inputs itself)"
            if isinstance(x, np.ndarray | list | tuple)
            else ""
        )
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(x).__name__}{hint}")
    return x


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Reject NaN/inf entries, saying how many there are."""
    if not torch.is_floating_point(x) and not torch.is_complex(x):
        return x
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        raise ValueError(
            f"`{name}` must be finite; got {int(bad.sum())} non-finite entries (NaN or inf) "
            f"in a tensor of shape {_shape(x)}"
        )
    return x


def check_finite_parameters(model: Any, name: str = "system") -> None:
    """Reject models with NaN/inf parameters or buffers before any analysis runs (one pass over the
    parameters, never over a trajectory; re-exported as ``rnndyn.checks.check_finite_parameters``).

    Raises:
        ValueError: naming the first offending parameter and how many entries are NaN / inf.
    """
    if not isinstance(model, torch.nn.Module):
        return
    items = list(model.named_parameters()) + list(model.named_buffers())
    for pname, p in items:
        if not (p.is_floating_point() or p.is_complex()):
            continue
        bad = ~torch.isfinite(p.detach())
        if bool(bad.any()):
            n_nan = int(torch.isnan(p.detach()).sum())
            n_inf = int(bad.sum()) - n_nan
            raise ValueError(
                f"`{name}` has non-finite parameters: {type(model).__name__}.{pname} contains "
                f"{n_nan} NaN and {n_inf} inf of {p.numel()} entries; this is bad input (e.g. weights "
                "from a diverged training run), not a dynamical regime: fix or reload the weights"
            )


def check_state(h: Any, n: int, name: str = "h") -> torch.Tensor:
    """Check a flat state of shape ``(*batch, n)``: a floating tensor, finite, last axis ``n``."""
    check_tensor(h, name)
    if h.ndim < 1 or h.shape[-1] != n:
        raise ValueError(f"`{name}` must have shape (*batch, {n}); got {_shape(h)}")
    if not torch.is_floating_point(h):
        raise TypeError(f"`{name}` must be a floating-point tensor; got dtype {h.dtype}")
    return check_finite(h, name)


def broadcast_shapes(*shapes: Sequence[int]) -> torch.Size:
    """``torch.broadcast_shapes`` by NumPy's rule (the same rule), raising ``RuntimeError`` as torch's.

    torch 2.13's ``broadcast_shapes`` imports ``torch.fx.experimental.symbolic_shapes`` (and with
    it sympy, about 1.5 s) on its first call in a process; every analysis broadcasts batch shapes,
    so that cost landed on the first analysis of every command. NumPy's gives the same shape.

    Example:
        >>> broadcast_shapes((2, 1), (3,))
        torch.Size([2, 3])
    """
    try:
        return torch.Size(np.broadcast_shapes(*(tuple(s) for s in shapes)))
    except ValueError as exc:
        raise RuntimeError(f"shapes cannot be broadcast: {exc}") from None


def check_input(x: Any, d: int, batch_shape: torch.Size | None, name: str = "x") -> torch.Tensor | None:
    """Check an input of shape ``(*batch, d)``; ``None`` is allowed and means zero input."""
    if x is None:
        return None
    check_tensor(x, name)
    if d == 0:
        raise ValueError(f"`{name}` must be None for a system with input_size 0; got shape {_shape(x)}")
    if x.ndim < 1 or x.shape[-1] != d:
        raise ValueError(f"`{name}` must have shape (*batch, {d}); got {_shape(x)}")
    if batch_shape is not None:
        try:
            broadcast_shapes(x.shape[:-1], batch_shape)
        except RuntimeError:
            raise ValueError(
                f"`{name}` batch shape {tuple(x.shape[:-1])} does not broadcast with the state's "
                f"batch shape {tuple(batch_shape)}"
            ) from None
    return check_finite(x, name)


def check_positive_int(v: Any, name: str, *, minimum: int = 1) -> int:
    """Require an integer ``>= minimum``: a Python or NumPy int (``np.arange(...)[i]`` in a notebook
    loop), not a bool or a float; returned as a Python ``int``."""
    if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Integral):
        raise TypeError(f"`{name}` must be an int >= {minimum}; got {type(v).__name__} {v!r}")
    v = int(v)
    if v < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}; got {v}")
    return v


def check_real(
    v: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Require a finite real number in an interval; returns it as ``float``."""
    if (
        isinstance(v, bool | np.bool_)
        or not isinstance(v, numbers.Real)  # Python and NumPy ints and floats
        and not (isinstance(v, torch.Tensor) and v.ndim == 0)
    ):
        raise TypeError(f"`{name}` must be a real number; got {type(v).__name__} {v!r}")
    f = float(v)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if not math.isfinite(f):
        raise ValueError(f"`{name}` must be a finite number in {interval}; got {v!r}")
    if low is not None and (f < low or (low_open and f == low)):
        raise ValueError(f"`{name}` must be in {interval}; got {v!r}")
    if high is not None and (f > high or (high_open and f == high)):
        raise ValueError(f"`{name}` must be in {interval}; got {v!r}")
    return f


def check_nonnegative(v: Any, name: str) -> float:
    """A finite real ``>= 0`` (gains, standard deviations)."""
    return check_real(v, name, low=0.0)


def check_choice(v: Any, name: str, choices: Iterable[str]) -> str:
    """Require one of a fixed set of strings."""
    options: Sequence[str] = tuple(choices)
    if v not in options:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, options))}; got {v!r}")
    return v


def check_compute_dtype(dtype: torch.dtype, name: str = "system") -> None:
    """float32 or float64, the dtypes the linear algebra (QR, Cholesky, eigenvalues, slogdet) has
    kernels for; ``name`` is ``"system"`` (the model's dtype) or a tensor argument."""
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"`{name}` must {'compute in' if name == 'system' else 'have dtype'} float32 or float64 "
            f"(float64 recommended); got {dtype}: convert it first, e.g. "
            f"{'model' if name == 'system' else name}.to(torch.float64)"
        )


def check_like(
    t: torch.Tensor, name: str, dtype: torch.dtype, device: torch.device, *, whose: str = "the model's"
) -> None:
    """``t`` has ``dtype`` and lives on ``device`` (an input joins the state at every step: it is
    never cast silently)."""
    if t.dtype != dtype:
        raise TypeError(f"`{name}` must have {whose} dtype {dtype}; got {t.dtype}")
    if t.device != device:
        raise ValueError(f"`{name}` must be on {whose} device {device}; got {t.device}")


def int_tuple(v: Any) -> tuple[int, ...] | None:
    """``v`` as a tuple of Python ints if it is a tuple, list or ``torch.Size`` of Python or NumPy
    ints (not bools), else ``None``: the shared test of shape-like arguments (``batch_shape``,
    ``shape``), whose callers word their own errors and bounds."""
    if not isinstance(v, tuple | list | torch.Size) or any(
        isinstance(b, bool | np.bool_) or not isinstance(b, numbers.Integral) for b in v
    ):
        return None
    return tuple(int(b) for b in v)


def check_generator(generator: Any, name: str = "generator") -> torch.Generator | None:
    """``None`` or a ``torch.Generator``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"`{name}` must be a torch.Generator or None; got {type(generator).__name__}")
    return generator


def check_map(system: Any, name: str = "system") -> Any:
    """Require an :class:`~rnndyn.models.base.AbstractMap`; a flow gets a hint to discretise it."""
    # duck-typed on the class marker ``_system_kind`` that rnndyn.models.base declares, so that
    # this lowest layer imports no model (no import circle)
    kind = getattr(type(system), "_system_kind", None)
    if kind == "flow":
        raise TypeError(
            f"`{name}` must be a map (AbstractMap); got the flow {type(system).__name__}. "
            "Discretise it first: rnndyn.discretise(flow, dt=0.05, method='rk4')"
        )
    if kind != "map":
        raise TypeError(
            f"`{name}` must be an rnndyn map (AbstractMap); got {type(system).__name__}. "
            "Wrap a torch.nn RNN/GRU/LSTM with rnndyn.from_torch(module)"
        )
    return system


def check_device(device: Any, name: str = "device") -> torch.device:
    """A torch device that this machine has (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a
    ``torch.device``); anything else is a ``ValueError`` / ``TypeError`` naming the argument, raised
    before any work (not torch's own error from deep inside a solver)."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"`{name}` must be a device string such as 'cpu' or 'cuda:0' or a torch.device; "
            f"got {type(device).__name__} {device!r}"
        )
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"`{name}` must be cpu, cuda, cuda:N or mps; got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"`{name}` must be a device this machine has; got {device!r}, but this torch build has "
                "no usable CUDA device (use cpu)"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"`{name}` must name an existing GPU (0..{torch.cuda.device_count() - 1}); got {device!r}"
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"`{name}` must be a device this machine has; got {device!r} (no MPS backend)")
    elif dev.type != "cpu":
        raise ValueError(f"`{name}` must be cpu, cuda, cuda:N or mps; got {device!r}")
    return dev

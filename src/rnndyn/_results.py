r"""One status vocabulary, one result base and one exception for every analysis in rnndyn.

Every analysis (Lyapunov exponents, Jacobian spectra, fixed points, mean-field solutions, chaos
indicators, training) returns a frozen dataclass that subclasses :class:`Result`:

- ``status``: a :class:`Status` (``success``, ``warning``, ``not_converged``, ``diverged``,
  ``failed``); each member carries its explanation (``Status.NOT_CONVERGED.explanation``).
  ``success`` is only given when the result's own checks passed.
- ``message``: what was checked and, when something is off, what to change.
- ``checks``: the self-checks that were run, as :class:`Check` records (name, passed, value,
  tolerance, detail, the status a failure imposes; in JSON also ``outcome``: ``success`` when
  passed, else that status).
- ``to_dict()``: generated from the fields: snake_case keys, tensors as nested lists, complex
  values as ``[re, im]`` pairs, JSON numbers only. Non-finite floats become ``None`` and the
  original value is kept under ``"non_finite"`` (``{"predictability_time": "inf"}``), so JSON
  output is strict and nothing is lost.
- ``repr`` / ``summary()``: one line / a few lines of scalars, shapes and the status; never a
  tensor dump.

Failures that the caller asked to raise (``throw=True``) raise :class:`AnalysisError`, a
:class:`RuntimeError` that carries the result. Bad arguments stay ``ValueError`` / ``TypeError``.

Writing a result class::

    @dataclass(frozen=True, kw_only=True)
    class MyResult(Result):
        value: float

    MyResult(value=1.0, status=Status.SUCCESS, message="residual 1e-12 <= 1e-10")

``kw_only=True`` is the project convention (no positional construction). The base supplies
``__repr__`` and ``__eq__`` (tensor-aware) even when the subclass's decorator would generate its
own. A subclass that defines ``__post_init__`` must call ``super().__post_init__()``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, ClassVar

import numpy as np
import torch

__all__ = ["AnalysisError", "Check", "Result", "Status", "status_rows"]

Tensor = torch.Tensor

_SNAKE = re.compile(r"^[a-z_][a-z0-9_]*$")


class Status(enum.StrEnum):
    """Outcome of an analysis. The value is the plain string (JSON, CLI); ``explanation`` says
    what it means. Members compare equal to their string value (``Status.SUCCESS == "success"``).

    Ordered by severity (:meth:`worst`): success < warning < not_converged < diverged < failed.
    """

    explanation: str
    severity: int

    def __new__(cls, value: str, severity: int, explanation: str) -> Status:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.severity = severity
        obj.explanation = explanation
        return obj

    SUCCESS = (
        "success",
        0,
        "the analysis ran and all its checks passed; the numbers can be used as reported",
    )
    WARNING = (
        "warning",
        1,
        "the numbers are computed but something needs attention (see the message and checks), "
        "e.g. several attractors were averaged or an estimate sits at the edge of its range",
    )
    NOT_CONVERGED = (
        "not_converged",
        2,
        "the estimate has not settled to its reported error (or an iteration stopped before its "
        "tolerance); run longer as the message says before using the numbers",
    )
    DIVERGED = (
        "diverged",
        3,
        "the dynamics or the iteration blew up (state norms unbounded or non-finite); the numbers "
        "are not a property of an attractor",
    )
    FAILED = (
        "failed",
        4,
        "a self-check failed (e.g. the model's Jacobian disagrees with autograd) or the analysis "
        "could not be carried out; do not use the numbers",
    )

    @property
    def ok(self) -> bool:
        """``True`` for ``success`` and ``warning`` (numbers usable, with care for the latter)."""
        return self.severity <= 1

    @classmethod
    def worst(cls, *statuses: Status | str) -> Status:
        """The most severe of ``statuses`` (``success`` when none are given)."""
        out = cls.SUCCESS
        for s in statuses:
            s = cls.coerce(s)
            if s.severity > out.severity:
                out = s
        return out

    @classmethod
    def coerce(cls, value: Status | str) -> Status:
        """``Status`` from a member or its string value; anything else is a ``ValueError``."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for m in cls:
                if m.value == value:
                    return m
        raise ValueError(f"`status` must be one of {[m.value for m in cls]}; got {value!r}")

    @classmethod
    def explain(cls) -> dict[str, str]:
        """``{value: explanation}`` for every status (for docs and ``--help`` texts)."""
        return {m.value: m.explanation for m in cls}


class AnalysisError(RuntimeError):
    """An analysis failed (diverged, did not converge, a self-check failed) and the caller asked
    for an exception. ``result`` holds the result that would have been returned, if any."""

    def __init__(self, message: str, *, result: Result | None = None) -> None:
        super().__init__(message)
        self.result = result


# ------------------------------------------------------------------------------- serialisation
class _Reasons:
    """Collects ``path -> original value`` for the non-finite numbers replaced by ``None``."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, path: str, what: str) -> None:
        self.items[path] = what


def _float_json(x: float, path: str, reasons: _Reasons) -> float | None:
    if math.isfinite(x):
        return x
    reasons.add(path, "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))
    return None


def _array_json(a: np.ndarray, path: str, reasons: _Reasons) -> Any:
    if np.iscomplexobj(a):
        a = np.stack([a.real, a.imag], axis=-1)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            kinds = []
            if np.isnan(a).any():
                kinds.append("nan")
            if np.isposinf(a).any():
                kinds.append("inf")
            if np.isneginf(a).any():
                kinds.append("-inf")
            reasons.add(path, f"{int(bad.sum())} of {a.size} entries non-finite ({', '.join(kinds)})")
            obj = a.astype(object)
            obj[bad] = None
            return obj.tolist()
    if a.dtype.kind == "b":
        return a.astype(bool).tolist()
    return a.tolist()


def to_jsonable(v: Any, path: str = "", reasons: _Reasons | None = None) -> Any:
    """JSON-safe plain Python value of ``v`` (see :meth:`Result.to_dict`)."""
    reasons = reasons if reasons is not None else _Reasons()
    if v is None or isinstance(v, bool | str) and not isinstance(v, enum.Enum):
        return v
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, Result):
        return v._to_dict(path, reasons)
    if isinstance(v, Check):  # its fields, and the outcome ("status" is what a failure imposes)
        out = {
            f.name: to_jsonable(getattr(v, f.name), f"{path}.{f.name}", reasons)
            for f in dataclasses.fields(v)
        }
        out["outcome"] = v.outcome.value
        return out
    if isinstance(v, int | np.integer) and not isinstance(v, np.bool_):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, float | np.floating):
        return _float_json(float(v), path, reasons)
    if isinstance(v, complex | np.complexfloating):
        return [_float_json(v.real, path, reasons), _float_json(v.imag, path, reasons)]
    if isinstance(v, Tensor):
        return _array_json(v.detach().cpu().resolve_conj().numpy(), path, reasons)
    if isinstance(v, np.ndarray):
        return _array_json(v, path, reasons)
    if isinstance(v, torch.dtype | torch.device | PurePath):
        return str(v)
    if isinstance(v, Mapping):
        return {str(k): to_jsonable(u, f"{path}.{k}", reasons) for k, u in v.items()}
    if callable(getattr(v, "to_dict", None)) and not isinstance(v, type):
        return to_jsonable(v.to_dict(), path, reasons)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {
            f.name: to_jsonable(getattr(v, f.name), f"{path}.{f.name}", reasons)
            for f in dataclasses.fields(v)
        }
    if isinstance(v, Iterable):
        return [to_jsonable(u, f"{path}[{i}]", reasons) for i, u in enumerate(v)]
    return str(v)


# ------------------------------------------------------------------------------------ display
def _fmt_scalar(x: Any) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        return f"{float(x):.4g}"
    return repr(x)


def _fmt_value(v: Any, width: int = 60) -> str:
    if isinstance(v, enum.Enum):
        return str(v.value)
    if isinstance(v, Tensor | np.ndarray):
        a = v.detach().cpu().numpy() if isinstance(v, Tensor) else v
        if a.ndim == 0:
            return _fmt_scalar(a.item())
        if a.size <= 6 and a.ndim == 1 and not np.iscomplexobj(a):
            return "[" + ", ".join(_fmt_scalar(u) for u in a.tolist()) + "]"
        shape = "x".join(str(s) for s in a.shape)
        return f"<{shape} {a.dtype}>"
    if isinstance(v, str):
        return repr(v if len(v) <= width else v[: width - 3] + "...")
    if isinstance(v, Result):
        return f"<{type(v).__name__} {v.status.value}>"
    if isinstance(v, Mapping):
        return f"{{{len(v)} keys}}"
    if isinstance(v, list | tuple):
        if len(v) <= 6 and all(isinstance(u, int | float | bool | str) for u in v):
            return "[" + ", ".join(_fmt_scalar(u) if not isinstance(u, str) else repr(u) for u in v) + "]"
        return f"<{len(v)} items>"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return f"<{type(v).__name__}>"
    s = _fmt_scalar(v)
    return s if len(s) <= width else s[: width - 3] + "..."


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return False
        return (
            a.shape == b.shape
            and a.dtype == b.dtype
            and bool(
                torch.equal(a, b)
                or (
                    a.is_floating_point()
                    and torch.equal(torch.nan_to_num(a, nan=0.5), torch.nan_to_num(b, nan=0.5))
                    and torch.equal(a.isnan(), b.isnan())
                )
            )
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            bool(np.array_equal(a, b, equal_nan=True))
            if (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype.kind in "fc")
            else bool(np.array_equal(a, b))
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_values_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_values_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)


# ------------------------------------------------------------------------------------- checks
@dataclass(frozen=True, kw_only=True)
class Check:
    """One self-check of an analysis.

    Attributes:
        name: short snake_case identifier (``"jacobian"``, ``"sum_rule"``, ``"convergence"``).
        passed: whether the check passed.
        value: the measured quantity (an error, a drift, a residual), ``None`` when not numeric.
        tolerance: the threshold it was compared with (``value <= tolerance`` passes), or ``None``.
        detail: one sentence saying what was compared and, on failure, what to change.
        status: the status this check imposes on its result when it does not pass
            (``failed`` for wrong Jacobians, ``not_converged`` for unsettled estimates, ...).
    """

    name: str
    passed: bool
    value: float | None = None
    tolerance: float | None = None
    detail: str = ""
    status: Status = Status.FAILED

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _SNAKE.match(self.name):
            raise ValueError(f"Check `name` must be a snake_case string; got {self.name!r}")
        object.__setattr__(self, "passed", bool(self.passed))
        object.__setattr__(self, "status", Status.coerce(self.status))
        for attr in ("value", "tolerance"):
            v = getattr(self, attr)
            if v is not None:
                object.__setattr__(self, attr, float(v))

    @property
    def outcome(self) -> Status:
        """``success`` when passed, else the status this check imposes."""
        return Status.SUCCESS if self.passed else self.status

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (non-finite numbers become ``None``): the fields, where ``status``
        is what the check imposes when it fails, and ``outcome`` (``success`` when it passed, else
        that status), so that a passed check never reads as a failure."""
        return to_jsonable(self)

    def line(self) -> str:
        """One line: ``jacobian: passed (value 1.2e-15 <= tolerance 1e-08) -- detail``."""
        word = "passed" if self.passed else f"FAILED [{self.status.value}]"
        num = ""
        if self.value is not None:
            num = f" (value {self.value:.3g}"
            num += f" vs tolerance {self.tolerance:.3g})" if self.tolerance is not None else ")"
        return f"{self.name}: {word}{num}" + (f" -- {self.detail}" if self.detail else "")

    def __str__(self) -> str:
        return self.line()

    def __repr__(self) -> str:
        """The fields with ``outcome`` in place of ``status`` (the status a failure *would* impose):
        before, a passed check's repr read ``passed=True, ..., status=<Status.FAILED: 'failed'>``."""
        parts = [f"name={self.name!r}", f"passed={self.passed}", f"outcome={self.outcome.value!r}"]
        for attr in ("value", "tolerance"):
            v = getattr(self, attr)
            if v is not None:
                parts.append(f"{attr}={v:.4g}")
        if self.detail:
            parts.append(f"detail={self.detail!r}")
        return f"Check({', '.join(parts)})"


# ------------------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class Result:
    """Base of every analysis result: a frozen dataclass with a status, a message and checks.

    Attributes:
        status: a :class:`Status` (strings are converted; unknown strings are a ``ValueError``).
        message: what was checked and, when the status is not ``success``, what to change.
        checks: the self-checks that were run (:class:`Check`), in the order they ran.

    Subclasses may list properties to add to :meth:`to_dict` in ``_dict_properties``, fields to
    leave out of it in ``_dict_exclude``, and fields/properties to show in the one-line ``repr``
    in ``_repr_fields`` (default: the first eight scalar and tensor fields).
    """

    status: Status
    message: str = ""
    checks: tuple[Check, ...] = ()

    #: properties added to ``to_dict()`` after the fields (e.g. ``("lambda_max",)``).
    _dict_properties: ClassVar[tuple[str, ...]] = ()
    #: names shown first in ``repr``/``summary`` (fields or properties); empty = scalar fields.
    _repr_fields: ClassVar[tuple[str, ...]] = ()
    #: fields left out of ``to_dict()`` (bulky raw data such as generated orbits).
    _dict_exclude: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # keep the base's readable repr and tensor-aware eq: dataclass() does not overwrite
        # attributes already present in the class's own __dict__
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = Result.__repr__  # type: ignore[method-assign]
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = Result.__eq__  # type: ignore[method-assign]
            cls.__hash__ = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status.coerce(self.status))
        if not isinstance(self.message, str):
            raise TypeError(f"`message` must be a str; got {type(self.message).__name__}")
        checks = tuple(self.checks)
        for c in checks:
            if not isinstance(c, Check):
                raise TypeError(f"`checks` must hold rnndyn.Check objects; got {type(c).__name__}")
        object.__setattr__(self, "checks", checks)

    # -- status helpers
    @property
    def ok(self) -> bool:
        """``True`` when the status is ``success`` or ``warning``."""
        return self.status.ok

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        """The checks that did not pass."""
        return tuple(c for c in self.checks if not c.passed)

    def check(self, name: str) -> Check:
        """The check called ``name`` (``KeyError`` listing the available ones if absent)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; available: {[c.name for c in self.checks]}")

    def raise_for_status(self, *, allow: Iterable[Status | str] = (Status.SUCCESS, Status.WARNING)) -> None:
        """Raise :class:`AnalysisError` unless the status is in ``allow``."""
        allowed = {Status.coerce(s) for s in allow}
        if self.status not in allowed:
            raise AnalysisError(f"{type(self).__name__} {self.status.value}: {self.message}", result=self)

    # -- serialisation
    def _to_dict(self, prefix: str, reasons: _Reasons) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in self._dict_exclude:
                continue
            path = f"{prefix}.{f.name}" if prefix else f.name
            out[f.name] = to_jsonable(getattr(self, f.name), path, reasons)
        for name in self._dict_properties:
            path = f"{prefix}.{name}" if prefix else name
            out[name] = to_jsonable(getattr(self, name), path, reasons)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (plus ``_dict_properties``).

        Tensors and arrays become nested lists (complex entries as ``[re, im]``), enums their
        string value, nested results and checks dictionaries. Non-finite numbers become ``None``
        and ``"non_finite"`` maps each affected key path to what was there (``"inf"``, ``"nan"``,
        ``"3 of 10 entries non-finite (nan)"``); the key is absent when everything is finite.
        """
        reasons = _Reasons()
        out = self._to_dict("", reasons)
        if reasons.items:
            out["non_finite"] = dict(reasons.items)
        return out

    # -- display
    def _display_names(self) -> list[str]:
        if self._repr_fields:
            return list(self._repr_fields)
        names = []
        for f in dataclasses.fields(self):
            if f.name in ("status", "message", "checks"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool | int | float | str | enum.Enum | Tensor) or v is None:
                names.append(f.name)
        return names[:8]

    def __repr__(self) -> str:
        parts = [f"status={self.status.value}"]
        for name in self._display_names():
            parts.append(f"{name}={_fmt_value(getattr(self, name), width=40)}")
        if self.checks:
            parts.append(f"checks={len(self.checks) - len(self.failed_checks)}/{len(self.checks)} passed")
        return f"{type(self).__name__}({', '.join(parts)})"

    def summary(self) -> str:
        """A few readable lines: status and message, the main numbers, every check."""
        msg = self.message
        if msg.startswith(f"{self.status.value}: "):  # messages that open with their status
            msg = msg[len(self.status.value) + 2 :]
        lines = [f"{type(self).__name__}: {self.status.value}" + (f" -- {msg}" if msg else "")]
        for name in self._display_names():
            lines.append(f"  {name}: {_fmt_value(getattr(self, name), width=100)}")
        for c in self.checks:
            lines.append(f"  check {c.line()}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _values_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self)
        )

    __hash__ = None  # type: ignore[assignment]


def status_from_checks(checks: Iterable[Check], base: Status | str = Status.SUCCESS) -> Status:
    """The worst of ``base`` and the outcomes of ``checks`` (a passed check imposes nothing)."""
    return Status.worst(base, *(c.outcome for c in checks))


def status_rows(result: Any) -> list[tuple[str, str]]:
    """Rows ``(quantity, value)`` for a table: the result's status and each of its checks."""
    status = getattr(result, "status", None)
    if status is None:
        return []
    value = str(getattr(status, "value", status))
    rows = [("status", value if value == "success" else value.upper())]
    for c in getattr(result, "checks", ()) or ():
        word = "passed" if c.passed else f"FAILED ({c.status.value})"
        if c.value is not None and c.tolerance is not None:
            word += f"  {c.value:.3g} vs {c.tolerance:.3g}"
        rows.append((f"check {c.name}", word))
    return rows

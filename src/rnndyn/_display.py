"""Display helpers shared by every floor (floor 0: imports nothing from rnndyn): matplotlib figures
through the object API, the status banner that marks a non-success result on a figure, readable
log-axis ticks, and the rounding of a value to its error. :mod:`rnndyn.plotting`,
:mod:`rnndyn.report` and the mean-field results' ``plot`` methods (:mod:`rnndyn.meanfield`, which
may not import the analysis floor) all use these, so a figure of any floor looks and reads the same.

matplotlib is imported lazily, inside the functions: the library works without it installed for
display. Figures are built with ``matplotlib.figure.Figure``, never through ``pyplot``: plotting
never selects or changes the user's backend and opens no windows.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


class _Figures:
    """The few ``pyplot`` calls the plotting modules use, done on ``Figure`` objects."""

    _FIG_KW = ("figsize", "dpi", "layout", "constrained_layout", "tight_layout", "facecolor")

    def subplots(self, nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
        fig = self.figure(**{k: kwargs.pop(k) for k in self._FIG_KW if k in kwargs})
        axes = fig.subplots(nrows, ncols, **kwargs)
        return fig, axes

    def figure(self, **kwargs: Any) -> Any:
        from matplotlib.figure import Figure

        return Figure(**kwargs)

    @property
    def Circle(self) -> Any:  # noqa: N802 - mirrors pyplot's name
        from matplotlib.patches import Circle

        return Circle

    def close(self, fig: Any) -> None:
        """Nothing to release: a ``Figure`` without pyplot is garbage-collected normally."""


def _plt() -> Any:
    return _Figures()


#: Colours of the status banner, by status (success draws no banner).
STATUS_COLOURS = {
    "warning": "#9a6700",
    "not_converged": "#bc4c00",
    "diverged": "#cf222e",
    "failed": "#cf222e",
}


def status_text(status: Any, message: str = "", *, width: int = 110, max_lines: int = 3) -> str:
    """The banner text of a non-success ``status``: ``"WARNING: <message>"`` wrapped to ``width``
    characters and cut to ``max_lines`` lines (``…`` marks a cut); ``""`` for success/None."""
    import textwrap

    value = str(getattr(status, "value", status or "success"))
    if value == "success":
        return ""
    msg = " ".join(str(message or "").split())
    if msg.lower().startswith(value.replace("_", " ")) or msg.lower().startswith(value):
        msg = msg.split(":", 1)[1].strip() if ":" in msg else msg
    lines = textwrap.wrap(f"{value.upper().replace('_', ' ')}: {msg}".rstrip(": "), width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


def flag_status(fig: Any, status: Any, message: str = "") -> Any:
    """Write a coloured banner over the top of ``fig`` when ``status`` is not ``success`` (a
    warning, not converged, diverged or failed result must not look like a clean one). Returns
    the text artist, or ``None`` for success."""
    text = status_text(status, message)
    if not text:
        return None
    value = str(getattr(status, "value", status))
    colour = STATUS_COLOURS.get(value, "#cf222e")
    return fig.text(
        0.01,
        1.0,
        text,
        ha="left",
        va="bottom",
        fontsize=8.5,
        color="white",
        fontweight="bold",
        transform=fig.transFigure,
        bbox={"boxstyle": "round,pad=0.4", "fc": colour, "ec": "none"},
        gid="rnndyn-status",
    )


def flag_result(fig: Any, result: Any) -> Any:
    """:func:`flag_status` with a result's ``status`` and ``message`` (no-op without a status)."""
    status = getattr(result, "status", None)
    if status is None:
        return None
    return flag_status(fig, status, getattr(result, "message", ""))


def log_ticks(ax: Any, axis: str = "y") -> None:
    """Readable tick labels on a log axis that spans less than ~2 decades: plain numbers
    (``0.002``, ``2.3``) at 1-2-5 steps instead of ``2 × 10^-3`` labels that crowd and overlap."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    scale = ax.get_yscale() if axis == "y" else ax.get_xscale()
    if scale != "log" or not (lo > 0 and hi > 0) or np.log10(hi / lo) > 2.0:
        return
    target = ax.yaxis if axis == "y" else ax.xaxis
    if np.log10(hi / lo) < 1.0:  # less than a decade: evenly spaced plain ticks
        target.set_major_locator(MaxNLocator(nbins=5))
    else:
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.4g}"))
    target.set_minor_formatter(NullFormatter())


def figure_path(path: Any, name: str = "path") -> Path:
    """The file a figure is saved to, checked before anything is drawn: a ``str`` or
    ``os.PathLike``, not an existing folder, ending in a format matplotlib writes (``.png``,
    ``.pdf``, ``.svg``, ...); a name without a suffix gets ``.png`` (what ``savefig`` writes
    then), so the returned path is the file that exists afterwards."""
    import os

    if isinstance(path, bytes) or not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise TypeError(
            f"`{name}` must be a file path (str or pathlib.Path); got {type(path).__name__} {path!r}"
        )
    out = Path(path)
    if out.is_dir():
        raise ValueError(
            f"`{name}` must be a file path; got {str(out)!r}, an existing folder "
            f"(give a file in it, e.g. {str(out / 'figure.png')!r})"
        )
    if not out.suffix:
        return out.with_name(out.name + ".png")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if out.suffix[1:].lower() not in formats:
        raise ValueError(
            f"`{name}` must end in a figure format ({', '.join('.' + f for f in formats)}); got {str(out)!r}"
        )
    return out


def check_result(obj: Any, name: str, attrs: tuple[str, ...], expected: str) -> Any:
    """Require a result with the attributes a figure draws (duck-typed, so that this floor
    imports no analysis); otherwise a ``TypeError`` naming the argument, the result it takes and
    the type received, instead of an ``AttributeError`` from inside the drawing."""
    if not all(hasattr(obj, a) for a in attrs):
        raise TypeError(f"`{name}` must be {expected}; got {type(obj).__name__}")
    return obj


def save(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` (creating parent folders); returns the file written (see :func:`figure_path`)."""
    path = figure_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    return path


def fmt(v: float, se: float | None = None) -> str:
    """``0.123 ± 0.0056``-style number; ``inf``/``nan`` spelled out.

    Without an error (or with a non-finite or zero one): 4 significant digits. With one: the
    error to 2 significant digits and the value rounded to the same decimal place (at most 7
    significant digits), the usual way of quoting a measurement.

    Example:
        >>> fmt(-0.07635, 0.02867), fmt(0.41868, 0.0012), fmt(23.14, 2.4), fmt(1.5)
        ('-0.076 ± 0.029', '0.4187 ± 0.0012', '23.1 ± 2.4', '1.5')
    """
    if not math.isfinite(v):
        return str(v)
    if se is None or not math.isfinite(se) or se <= 0:
        return f"{v:.4g}"
    decimals = 1 - math.floor(math.log10(se))  # the place of the error's second digit
    sig = decimals + (math.floor(math.log10(abs(v))) + 1 if v != 0 else 1)
    if decimals > 0 and sig <= 7:
        value = f"{v:.{decimals}f}"
    elif decimals <= 0 and sig <= 7:
        value = f"{round(v, decimals):.0f}"
    else:
        value = f"{v:.7g}"
    if float(value) == 0:
        value = value.lstrip("-")  # no '-0.000'
    if decimals <= 0:
        err = f"{round(se, decimals):.0f}"  # 240, not 2.4e+02
    elif decimals <= 5:
        err = f"{se:.{decimals}f}"  # 0.029, 0.0012, 2.4
    else:
        err = f"{se:.2g}"  # 1.2e-06
    return f"{value} ± {err}"


def param_text(v: Any) -> str:
    """A parameter in a label or settings row: ``3`` for 3.0, ``2.66667`` for 8/3 (``:g``, 6
    significant digits; labels showed ``beta=2.6666666666666665``); non-floats as ``str``.

    Example:
        >>> param_text(8 / 3), param_text(28.0), param_text(1e-7), param_text("tanh")
        ('2.66667', '28', '1e-07', 'tanh')
    """
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


__all__ = [
    "STATUS_COLOURS",
    "flag_result",
    "flag_status",
    "fmt",
    "log_ticks",
    "param_text",
    "save",
    "status_text",
]

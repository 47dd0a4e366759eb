"""The ``rnndyn`` command (typer + rich). No numerics here: parse -> one library call -> save."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer
import typer.core

from rnndyn.cli._common import console, err_console


def _untyped_flag(option: Any) -> Any:
    """A boolean flag (``--force``, ``--json/--no-json``, ``--help``) takes no value, but typer's
    rich help gives every option a type column and showed ``<bool>`` there, as if one were
    expected; an empty metavar leaves that column blank (error messages name flags by their option
    strings, not the metavar)."""
    if isinstance(option, typer.core.TyperOption) and option.is_flag and option.metavar is None:
        option.metavar = ""
    return option


class _FlagsWithoutType:
    """Mixin for typer's command and group classes: :func:`_untyped_flag` on every flag,
    ``--help`` included (click creates that one on first use)."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _untyped_flag(param)

    def get_help_option(self, ctx: Any) -> Any:
        return _untyped_flag(super().get_help_option(ctx))


class _Command(_FlagsWithoutType, typer.core.TyperCommand):
    pass


class _Group(_FlagsWithoutType, typer.core.TyperGroup):
    pass


app = typer.Typer(
    name="rnndyn",
    cls=_Group,
    help="Recurrent neural networks as dynamical systems: Lyapunov spectra, Jacobian spectra, "
    "fixed points, mean-field theory, chaos at initialisation, training dynamics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from rnndyn import __version__

        console.print(f"rnndyn {__version__}")
        raise typer.Exit()


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int, *_: Any) -> None:
    """A library warning as one line on stderr (``warning: ...``), not Python's default of a file
    path, a line number and the line of source that raised it, which mean nothing to a user of the
    command."""
    from rich.markup import escape

    err_console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """rnndyn command line."""
    import warnings

    warnings.showwarning = _show_warning


def _prose(doc: str | None) -> str:
    """A command's docstring as help text: paragraphs (blank-line separated) are kept, the hard
    line breaks inside each are joined, so rich wraps the prose to the terminal instead of
    breaking it mid-sentence where the source file did (typer keeps single line breaks in its
    "rich" markup mode). A paragraph starting with ``\\b`` keeps its lines (click's convention)."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def _register(name: str, func: Callable[..., Any], summary: str) -> None:
    """Add a command: ``summary`` is its one-line entry in ``rnndyn --help`` (one sentence, no
    line breaks), the docstring its own ``--help`` text."""
    if "\n" in summary:
        raise ValueError(f"`summary` of {name!r} must be one line; got {summary!r}")
    app.command(name, cls=_Command, help=_prose(func.__doc__), short_help=summary)(func)


def models_cmd() -> None:
    """List the named models usable with --model (their parameters and defaults) and the presets
    (usable as -m PRESET; -p overrides single values)."""
    from rich.table import Table

    from rnndyn._display import param_text
    from rnndyn.models.base import AbstractFlow
    from rnndyn.models.presets import load_presets
    from rnndyn.models.registry import MODELS, model_parameters

    def _default(v: object) -> str:  # param_text's rule, except that a default 1.0 stays a float
        return str(v) if isinstance(v, float) and v.is_integer() else param_text(v)

    table = Table("name", "takes -n", "kind", "parameters (defaults)", "description", title="models")
    for name, entry in MODELS.items():
        params = ", ".join(
            f"{k}={v!r}" if isinstance(v, str) else f"{k}={_default(v)}"
            for k, v in model_parameters(name).items()
        )
        kind = "flow (--dt, --method)" if issubclass(entry.load(), AbstractFlow) else "map"
        table.add_row(name, "yes" if entry.takes_n else "no", kind, params, entry.description)
    console.print(table)
    presets = Table("preset", "model", "parameters", "description", title="presets (-m NAME)")
    for name, entry in load_presets()["presets"].items():
        params = ", ".join(f"{k}={_default(v)}" for k, v in entry["params"].items())
        presets.add_row(name, entry["model"], params, entry["description"])
    console.print(presets)
    console.print(
        "default (no -m): the preset gru_chaotic, n=64; -p values override "
        "a preset's or the default's one by one."
    )


# Each command lives in its own module; registration order is the order in `--help`.
from rnndyn.cli.analyze import analyze_cmd, report_cmd  # noqa: E402
from rnndyn.cli.chaos import chaos_cmd  # noqa: E402
from rnndyn.cli.fixed_points import fixed_points_cmd  # noqa: E402
from rnndyn.cli.lyapunov import lyapunov_cmd  # noqa: E402
from rnndyn.cli.meanfield import meanfield_cmd  # noqa: E402
from rnndyn.cli.phase_diagram import phase_diagram_cmd  # noqa: E402
from rnndyn.cli.reproduce import reproduce_cmd  # noqa: E402
from rnndyn.cli.simulate import simulate_cmd  # noqa: E402
from rnndyn.cli.spectrum import spectrum_cmd  # noqa: E402
from rnndyn.cli.sweep import sweep_cmd  # noqa: E402
from rnndyn.cli.train import train_cmd  # noqa: E402

# (name, function, the one-line summary shown by `rnndyn --help`)
COMMANDS: tuple[tuple[str, Callable[..., Any], str], ...] = (  # summaries fit 80 columns
    ("models", models_cmd, "List the named models and presets (-m) and their parameters."),
    ("analyze", analyze_cmd, "One-run analysis: Lyapunov, Jacobian spectrum, fixed points."),
    ("report", report_cmd, "Write `rnndyn analyze` up as a self-contained report.html."),
    ("chaos", chaos_cmd, "Probability of Li-Yorke chaos vs width at initialisation."),
    ("lyapunov", lyapunov_cmd, "Lyapunov spectrum (QR) or covariant Lyapunov vectors."),
    ("simulate", simulate_cmd, "Simulate a model; write the trajectory and a plot."),
    ("sweep", sweep_cmd, "Sweep lambda_max and D_KY over a parameter grid (resumable)."),
    ("meanfield", meanfield_cmd, "Mean-field theory at one point: DMFT, MFT, onset, gradients."),
    ("phase-diagram", phase_diagram_cmd, "Mean-field phase diagram of the GRU or the gated flow."),
    ("train", train_cmd, "Train an RNN: teacher forcing on chaos, or classification."),
    ("spectrum", spectrum_cmd, "Jacobian eigenvalues along trajectories or at fixed points."),
    ("fixed-points", fixed_points_cmd, "Fixed and slow points by speed minimisation, with stability."),
    ("reproduce", reproduce_cmd, "Reproduce a paper's claim, with a computed verdict."),
)
for _name, _func, _summary in COMMANDS:
    _register(_name, _func, _summary)


def main() -> None:
    """Entry point of the ``rnndyn`` script."""
    app()


__all__ = ["app", "main"]

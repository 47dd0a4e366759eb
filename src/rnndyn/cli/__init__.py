"""The ``rnndyn`` command (typer + rich). No numerics here: parse -> one library call -> save."""

from __future__ import annotations

from typing import Annotated

import typer

from rnndyn.cli._common import console

app = typer.Typer(
    name="rnndyn",
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


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """rnndyn command line."""


@app.command("models")
def models_cmd() -> None:
    """List the named models usable with --model (their parameters and defaults) and the presets
    (usable as -m PRESET; -p overrides single values)."""
    from rich.table import Table

    from rnndyn.models.presets import load_presets
    from rnndyn.models.registry import MODELS, model_parameters

    table = Table("name", "takes -n", "parameters (defaults)", "description", title="models")
    for name, entry in MODELS.items():
        params = ", ".join(
            f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in model_parameters(name).items()
        )
        table.add_row(name, "yes" if entry.takes_n else "no", params, entry.description)
    console.print(table)
    presets = Table("preset", "model", "parameters", "description", title="presets (-m NAME)")
    for name, entry in load_presets()["presets"].items():
        params = ", ".join(f"{k}={v}" for k, v in entry["params"].items())
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

app.command("analyze")(analyze_cmd)
app.command("report")(report_cmd)
app.command("chaos")(chaos_cmd)
app.command("lyapunov")(lyapunov_cmd)
app.command("simulate")(simulate_cmd)
app.command("sweep")(sweep_cmd)
app.command("meanfield")(meanfield_cmd)
app.command("phase-diagram")(phase_diagram_cmd)
app.command("train")(train_cmd)
app.command("spectrum")(spectrum_cmd)
app.command("fixed-points")(fixed_points_cmd)
app.command("reproduce")(reproduce_cmd)


def main() -> None:
    """Entry point of the ``rnndyn`` script."""
    app()


__all__ = ["app", "main"]

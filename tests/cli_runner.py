"""typer's test runner with the app's click command built once per app.

``typer.testing.CliRunner.invoke`` builds the click command from every command's signature on
each call (about 0.1 s for the 13 commands, more than most of the CLI tests' own work); a click
command holds no state between invocations, so the CLI tests reuse one. Everything else (the
isolated streams, ``env``, exit codes) is typer's runner.
"""

from __future__ import annotations

import functools
from typing import Any
from unittest import mock

import typer.main
import typer.testing


@functools.cache
def command_of(app: typer.Typer) -> Any:
    """The click command of ``app``, built on first use."""
    return typer.main.get_command(app)


class CliRunner(typer.testing.CliRunner):
    def invoke(self, app: typer.Typer, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with mock.patch.object(typer.testing, "_get_command", command_of):
            return super().invoke(app, *args, **kwargs)

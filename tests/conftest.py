"""Test-suite wide fixtures.

CLI output must not depend on the terminal the tests run in (width, colour, TTY): rich reads
``COLUMNS``/``FORCE_COLOR``/``NO_COLOR`` when a console is *created*, and the CLI's consoles are
created at import time, so the environment alone cannot pin them. This fixture pins every console
the CLI prints through to a wide, colourless, non-terminal console for each test, and sets the
environment for consoles created during the test (typer's help, rich's global console).
"""

from __future__ import annotations

import pytest

_WIDTH = 200


def _cli_runner_builds_each_app_once() -> None:
    """Let ``typer.testing.CliRunner.invoke`` build the click command of an app once per run.

    ``invoke`` rebuilds the whole command tree from the functions' signatures on every call
    (0.06 s of CPU for ``rnndyn.cli.app``; the default suite makes 217 calls). The tree depends on the
    app's registered commands, which are all registered when ``rnndyn.cli`` is imported, so the
    same tree is reused; parsing, defaults, help rendering and the terminal settings still happen
    on each call. An app is keyed by identity and kept alive, so a new app gets its own tree.
    """
    try:
        import typer.testing
    except ImportError:  # the CLI extras are not installed
        return
    build = getattr(typer.testing, "_get_command", None)
    if build is None or getattr(build, "_rnndyn_cached", False):
        return
    built: dict[int, tuple[object, object]] = {}

    def get_command(app):
        hit = built.get(id(app))
        if hit is None or hit[0] is not app:
            hit = built[id(app)] = (app, build(app))
        return hit[1]

    get_command._rnndyn_cached = True
    typer.testing._get_command = get_command


_cli_runner_builds_each_app_once()


@pytest.fixture(autouse=True)
def _plain_wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(_WIDTH))
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    import rich

    consoles = [rich.get_console()]
    try:
        from rnndyn.cli import _common
    except ImportError:  # the CLI extras are not installed: nothing to pin
        _common = None
    if _common is not None:
        consoles += [_common.console, _common.err_console]
    for con in consoles:
        monkeypatch.setattr(con, "width", _WIDTH)
        monkeypatch.setattr(con, "no_color", True)
        monkeypatch.setattr(con, "_force_terminal", False, raising=False)
        # styles are rendered whenever a colour system was detected at creation (FORCE_COLOR)
        monkeypatch.setattr(con, "_color_system", None, raising=False)


@pytest.fixture(scope="session")
def gated_dmft_3_5():
    """The exact (Gaussian-route) stationary DMFT of the gated flow at g_h = 3, alpha_r = 5 on lags
    [0, 40], with lambda_max (0.132): ~1 s, solved once for test_gated_dmft and test_adjoint_dmft."""
    from rnndyn.meanfield.dmft import gated_dmft

    return gated_dmft(3.0, alpha_r=5.0, tau_max=40.0)

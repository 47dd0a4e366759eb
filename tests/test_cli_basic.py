"""The command-line skeleton: --help, --version, simulate, models, clean errors."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from rnndyn.cli import app

runner = CliRunner()


def test_help_and_version() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0 and "simulate" in res.output
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and "rnndyn 0.1.0" in res.output


def test_simulate_writes_npz_json_and_plot(tmp_path) -> None:
    npz = tmp_path / "traj.npz"
    js = tmp_path / "traj.json"
    res = runner.invoke(
        app,
        [
            "simulate",
            "-m",
            "lorenz63",
            "--steps",
            "50",
            "--transient",
            "10",
            "--dt",
            "0.01",
            "--npz",
            str(npz),
            "--json",
            str(js),
            "--out",
            str(tmp_path / "fig"),
        ],
    )
    assert res.exit_code == 0, res.output
    arr = np.load(npz)["trajectory"]
    assert arr.shape == (1, 50, 3)
    assert np.allclose(json.loads(js.read_text())["trajectory"], arr)
    assert (tmp_path / "fig" / "trajectory.png").stat().st_size > 1000
    # the saved trajectory is a Lorenz orbit: z stays positive on the attractor
    assert arr[0, :, 2].min() > 0


def test_models_lists_names() -> None:
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0 and "lorenz63" in res.output


def test_clean_errors() -> None:
    res = runner.invoke(app, ["simulate", "-m", "nope"])
    assert res.exit_code == 2 and "`--model` must be one of" in res.output
    res = runner.invoke(app, ["simulate", "-m", "vanilla", "-p", "gain=3"])
    assert res.exit_code == 2 and "does not take ['gain']" in res.output
    res = runner.invoke(app, ["simulate", "-m", "vanilla", "-p", "g"])
    assert res.exit_code == 2 and "key=value" in res.output

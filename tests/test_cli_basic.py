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
    saved = json.loads(js.read_text())
    assert np.allclose(saved["trajectory"], arr)
    # before: no status nor checks in simulate's JSON; success says only what was checked
    assert saved["status"] == "success" and "only its finiteness" in saved["message"]
    assert [(c["name"], c["outcome"]) for c in saved["checks"]] == [("finite", "success")]
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


#: modules `rnndyn --help`, `--version` and `COMMAND --help` must not load: torch alone took
#: 2-4 s of the 4.5 s these took when `import rnndyn` imported every analysis
_HEAVY = ("torch", "numpy", "scipy", "matplotlib", "xarray", "dask", "sklearn")
_STARTUP = """
import contextlib, io, sys
import typer
import rnndyn
dir(rnndyn)
from rnndyn.cli import app
command = typer.main.get_command(app)  # built once (typer builds it on every app() call)
runs = {"--version": f"rnndyn {rnndyn.__version__}", "--help": "Usage: rnndyn [OPTIONS] COMMAND"}
# building the command (above) built every command's options; these two take defaults from the library
runs.update({f"{name} --help": f"Usage: rnndyn {name} [OPTIONS]" for name in ("lyapunov", "analyze")})
wrong = []
for args, expected in runs.items():
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            command.main(args.split(), prog_name="rnndyn")
        except SystemExit as e:
            if e.code != 0 or expected not in out.getvalue():
                wrong.append((args, e.code, out.getvalue()[:300]))
print(len(runs), wrong)
print(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:])))
"""


def test_help_and_version_import_no_torch() -> None:
    """`import rnndyn`, `rnndyn --version`, `--help` and `rnndyn COMMAND --help`, in a fresh
    interpreter, leave torch (and NumPy, SciPy, matplotlib, ...) unimported: the package loads its
    public names on first use and the commands import the library only inside their bodies."""
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", _STARTUP, *_HEAVY], capture_output=True, text=True, timeout=120, check=False
    )
    assert child.returncode == 0, child.stderr
    runs, loaded = child.stdout.splitlines()[-2:]
    assert runs == "4 []", runs  # each page and the version printed, exit code 0
    assert loaded == "[]", f"--help/--version imported {loaded}"


def test_model_options_are_one_parameter_of_each_model_command() -> None:
    """`takes_model` puts the eight model options where a command declares `flags: ModelFlags`
    (typer reads them from the rewritten signature) and refuses a command without it."""
    import dataclasses
    import inspect

    import pytest

    from rnndyn.cli import COMMANDS
    from rnndyn.cli._common import ModelFlags, takes_model

    flags = [f.name for f in dataclasses.fields(ModelFlags)]
    for name, func, _ in COMMANDS:
        if name in ("analyze", "report", "lyapunov", "simulate", "spectrum", "fixed-points"):
            params = list(inspect.signature(func).parameters)
            assert params[: len(flags)] == flags and "flags" not in params, name
    with pytest.raises(TypeError, match="must have a parameter `flags: ModelFlags`"):
        takes_model(lambda seed=0: None)


def test_sectioned_json_gets_one_overall_status() -> None:
    """chaos and train wrote JSON whose statuses lived only in sections: a script had to know the
    layout. with_overall_status adds the worst one (and says which section gave which); with no
    section that was checked, no status is claimed."""
    from rnndyn.cli._common import with_overall_status

    payload = {"train": {"status": "success"}, "evaluation": {"status": "warning"}, "model": "lstm"}
    out = with_overall_status(payload)
    assert out["status"] == "warning" and out["message"].endswith("train success, evaluation warning")
    listed = with_overall_status({"probability": [{"status": "success"}, {"status": "failed"}]})
    assert listed["status"] == "failed" and "probability[1] failed" in listed["message"]
    assert with_overall_status({"model": "lstm"}) == {"model": "lstm"}

"""Results never say ``success`` for what was not verified: the leftovers of the trust pass.

Sweep points with NaN/inf outputs, options that do not apply, orbits that collapse in floating
point, degenerate inputs. Every test checks a user-visible number, status or message.
"""

from __future__ import annotations

import math

import numpy as np
from typer.testing import CliRunner

import rnndyn as rd
from rnndyn.cli import app


# ----------------------------------------------------------------- sweeps and NaN
def _nan_point(p, seed):
    a = p["a"]
    return {"y": math.nan if a == 2.0 else a, "z": [1.0, math.inf if a == 3.0 else a]}


def _own_status_point(p, seed):
    return {"y": math.nan, "status": "diverged", "message": "blew up"}


def test_sweep_point_with_non_finite_outputs_is_failed_naming_them(tmp_path) -> None:
    ds = rd.sweep(_nan_point, {"a": [1.0, 2.0, 3.0]}, store=tmp_path / "s.zarr", scheduler="sync", progress=False)
    status, msg = ds["status"].values[:, 0].tolist(), ds["message"].values[:, 0].tolist()
    assert status == ["success", "failed", "failed"]
    assert msg[0] == ""
    assert msg[1].startswith("the sweep function returned non-finite output(s): y = nan. ")
    assert msg[2].startswith("the sweep function returned non-finite output(s): z: 1 of 2 entries non-finite (inf)")
    # the values are stored as returned (nothing else turned into NaN)
    assert ds["y"].values[[0, 2], 0].tolist() == [1.0, 3.0] and np.isnan(ds["y"].values[1, 0])
    assert ds["z"].values[1, 0].tolist() == [1.0, 2.0]
    # a function with a status of its own keeps it; the message names the non-finite outputs first
    ds = rd.sweep(_own_status_point, {"a": [1.0]}, store=tmp_path / "t.zarr", scheduler="sync", progress=False)
    assert ds["status"].values.ravel().tolist() == ["diverged"]
    assert ds["message"].values.ravel().tolist() == ["non-finite output(s): y = nan; blew up"]


def test_sweep_leaves_only_the_lock_file_it_documents(tmp_path) -> None:
    rd.sweep(_nan_point, {"a": [1.0]}, store=tmp_path / "s.zarr", scheduler="sync", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr", "s.zarr.lock"]  # docs/sweeps.md


def test_cli_sweep_refuses_dt_for_a_map_and_reports_a_diverged_point(tmp_path) -> None:
    base = ["sweep", "-m", "henon", "--steps", "60", "--transient", "10", "--scheduler", "sync"]
    res = CliRunner().invoke(app, [*base, "-g", "a=1.4", "--dt", "0.1", "--store", str(tmp_path / "x.zarr")])
    assert res.exit_code == 2
    assert "`--dt`/`--method` apply only to flows" in res.output and "'henon' is a map; got --dt 0.1" in res.output
    assert not (tmp_path / "x.zarr").exists()
    # a = 3 escapes: stored 'diverged' (the analysis's own status, NaN values named), not 'failed'
    res = CliRunner().invoke(app, [*base, "-g", "a=1.4,3.0", "--store", str(tmp_path / "s.zarr")])
    assert res.exit_code == 0, res.output
    assert "1/2 points success, 1 diverged" in res.output
    assert "diverged (e.g. a=3.0, seed 0): non-finite output(s): entropy_rate = nan" in res.output

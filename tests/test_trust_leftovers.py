"""Results never say ``success`` for what was not verified: the leftovers of the trust pass.

Sweep points with NaN/inf outputs, options that do not apply, orbits that collapse in floating
point, degenerate inputs. Every test checks a user-visible number, status or message.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
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


# ----------------------------------------------------------------- meanfield options
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["scs", "--rho", "2"], "option(s) --rho do not apply to KIND scs (it takes --g); got --rho 2.0"),
        (["onset", "--g-h", "2", "--seed", "3"], "option(s) --g-h, --seed do not apply to KIND onset"),
        (["gradients", "--theta", "0.3"], "--theta do not apply to KIND gradients --law constant_gate"),
        (["gated_flow", "--dmft", "--bias-std", "0.1"], "--bias-std do not apply to KIND gated_flow --dmft"),
    ],
)
def test_meanfield_refuses_options_its_kind_does_not_read(args, expected) -> None:
    res = CliRunner().invoke(app, ["meanfield", *args])
    assert res.exit_code == 2 and expected in " ".join(res.output.split()), res.output


def test_gradient_norm_theory_refuses_the_other_laws_parameter() -> None:
    from rnndyn.meanfield.gradients import gradient_norm_theory

    with pytest.raises(ValueError, match=r"`theta` applies to law 'binary_gate' only; got theta=0.3 with law 'constant_gate'"):
        gradient_norm_theory(rho=1.5, theta=0.3)
    with pytest.raises(ValueError, match=r"`z_bar` applies to law 'constant_gate' only; got z_bar=0.2"):
        gradient_norm_theory(rho=1.5, law="binary_gate", z_bar=0.2)
    # the law's own parameter still acts: binary-gate limit theta / (1 - rho (1 - theta)) (CKS20 App. F)
    r = gradient_norm_theory(rho=1.5, law="binary_gate", theta=0.6, t_max=10)
    assert r.limit == pytest.approx(0.6 / (1.0 - 1.5 * 0.4), rel=1e-12)

"""rd.phase_diagram and the `meanfield` / `phase-diagram` commands."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import rnndyn as rd
from rnndyn import meanfield as mf
from rnndyn import phases, sweeps
from rnndyn.cli import app
from rnndyn.meanfield import phase as phase_mod
from rnndyn.sweeps import point_seed


def test_regions_and_lines():
    gh = np.array([1.5, 1.8, 1.95, 2.5, 3.0, 7.0])
    ar = np.array([0.0, 5.0, 20.0])
    ds = rd.phase_diagram("gru", g_h=gh, alpha_r=ar)
    reg = ds.region.values
    # g_h < 2 below g*: stable FP only; between g*(alpha_r) and 2: stable + unstable FPs
    assert reg[0].tolist() == [1, 1, 1]
    assert reg[1].tolist() == [1, 1, 2]  # g*(20) = 1.628 < 1.8 < g*(5) = 1.917
    assert reg[2].tolist() == [1, 2, 2]
    # above g_h = 2: marginal (rho < 2) near threshold for small alpha_r, chaos at large g_h
    assert reg[3, 0] == 5 and reg[3, 2] == 4
    assert reg[5, 0] == 4  # g_h = 7 > g_ms(0) = 6.55: rho = 2.12 > 2
    assert (reg[gh > 2] != 1).all() and (reg[gh > 2] != 2).all()
    np.testing.assert_allclose(ds.g_star.values, [mf.bifurcation_gain(a) for a in ar], rtol=1e-12)
    assert (ds.status.values == "success").all()
    names = eval(ds.attrs["region_names"])  # noqa: S307 - our own repr
    assert names[3] == "stable FP & chaotic dynamics"
    # region 5 <=> some branch with 1 < rho < 2 above g_h = 2
    rho = ds.rho.values
    marg = ((rho > 1) & (rho < 2)).any(-1)
    assert ((reg == 5) == (marg & (gh[:, None] > 2))).all()
    # consistency with the single-point solver
    r = mf.fixed_points(1.8, 20.0)
    np.testing.assert_allclose(ds.delta.sel(g_h=1.8, alpha_r=20.0).values[:2], r.delta, rtol=1e-10)
    assert ds.n_fixed_points.sel(g_h=1.8, alpha_r=20.0) == 2


def test_regions_follow_the_mean_field_rule_and_switch_at_the_critical_values():
    # the critical values of CKS20 (docs/theory/gated.md §4.3, §6.2): the zero FP loses stability
    # at g_h = 2 (its rho = g_h^2 / 4); below g_h = 2 nonzero FPs exist only for alpha_r above
    # alpha_r* = 2 sqrt 2 (a_1 = alpha_r^2 / 4 - 2 > 0), from g*(alpha_r) < 2 on, where
    # 2 - g* ~ a_1^2 / (4 f_2) (D-2, f_2 = alpha_r^4 / 8 + alpha_r^2 - 17 / 3); region 5 (a
    # nonzero FP with 1 < rho < 2) ends at g_ms(alpha_r)
    a_lo, a_hi = 2.75, 2.95  # either side of alpha_r* = 2.828
    gs = mf.bifurcation_gain(a_hi)
    g_ms = mf.marginal_stability_gain(10.0)
    gh = [1.9, (gs + 2) / 2, 1.9999, 2.0001, g_ms - 0.01, g_ms + 0.01, 4.0]
    ar = [0.0, a_lo, a_hi, 10.0]
    ds = rd.phase_diagram("gru", g_h=gh, alpha_r=ar)
    reg = ds.region.values
    # oracle 1: every point's region is the documented rule applied to the single-point solver
    for i, g in enumerate(gh):
        for j, a in enumerate(ar):
            r = mf.fixed_points(g, a)
            assert r.zero_fp_stable == (g * g / 4 < 1)
            if g < 2:
                expected = 2 if r.n_nonzero > 0 else 1
            else:
                expected = 5 if any(1 < rho < 2 for rho in r.rho) else 4
            assert reg[i, j] == expected, (g, a, r.rho)
    # oracle 2: the boundaries sit at the critical values
    assert 1.9 < gs < 2 and ds.g_star.values[:3].tolist() == pytest.approx([2.0, 2.0, gs], abs=1e-9)
    a1 = a_hi**2 / 4 - 2
    assert a1 > 0 > a_lo**2 / 4 - 2 and abs(a_hi - 2 * math.sqrt(2)) < 0.15
    a1c = 2.85**2 / 4 - 2  # close to alpha_r*, where D-2's leading order holds
    lead = a1c**2 / (4 * (2.85**4 / 8 + 2.85**2 - 17 / 3))
    assert (2 - mf.bifurcation_gain(2.85)) == pytest.approx(lead, rel=0.05)  # 2.22e-5 vs 2.19e-5
    assert reg[:3, :2].tolist() == [[1, 1]] * 3  # alpha_r < alpha_r*: no FP below g_h = 2
    assert reg[:3, 2].tolist() == [1, 2, 2]  # alpha_r > alpha_r*: FPs from g* (1.9 < g* < 1.99967)
    assert (reg[2] <= 2).all() and (reg[3] >= 4).all()  # g_h = 1.9999 | 2.0001 for every alpha_r
    assert reg[4, 3] == 5 and reg[5, 3] == 4  # g_ms(10) = 2.1206 -/+ 0.01
    assert reg[6].tolist() == [5, 4, 4, 4]  # g_h = 4: below g_ms(0) = 6.55, above g_ms(2.75) = 3.78
    assert ds.g_ms.values[3] == pytest.approx(g_ms, rel=1e-12)


def test_dataset_fields_equal_the_single_point_solver_and_theta_is_used():
    # every per-branch field of the dataset is the fixed_points() value at that point (c_phi =
    # <phi^2>, rho, edge_delta at alpha_z), and theta reaches the region-5 rule and g_ms
    gh, ar, theta, az = [2.5, 4.0], [1.0, 6.0], 0.25, 10.0
    ds = rd.phase_diagram("gru", g_h=gh, alpha_r=ar, theta=theta, alpha_z=az)
    for g in gh:
        for a in ar:
            r = mf.fixed_points(g, a, alpha_z=az)
            pt = ds.sel(g_h=g, alpha_r=a)
            n = r.n_nonzero
            np.testing.assert_allclose(pt.c_phi.values[:n], r.c_phi, rtol=1e-12)
            np.testing.assert_allclose(pt.rho.values[:n], r.rho, rtol=1e-12)
            marg = (r.rho * (1 - theta) < 1) & (r.rho > 1)
            assert pt.marginal.values[:n].tolist() == marg.tolist()
            assert int(pt.region) == (5 if marg.any() else 4)
            # r uses theta = 1/2, whose marginal set contains this one: same edge formula there
            np.testing.assert_allclose(pt.edge_delta.values[:n][marg], r.edge_delta[marg], rtol=1e-12)
    g_ms = [mf.marginal_stability_gain(a, theta=theta) for a in ar]
    np.testing.assert_allclose(ds.g_ms.values, g_ms, rtol=1e-12, equal_nan=True)
    assert np.isfinite(g_ms[0]) and ds.g_ms_exists.values.tolist() == np.isfinite(g_ms).tolist()
    assert ds.g_ms.values[0] != pytest.approx(mf.marginal_stability_gain(1.0), rel=1e-3)
    # edge_delta at the default theta equals fixed_points' (same rho (1 - theta) < 1 rule there)
    d2 = rd.phase_diagram("gru", g_h=[3.0], alpha_r=[0.0], alpha_z=az)
    r = mf.fixed_points(3.0, 0.0, alpha_z=az)
    assert float(d2.edge_delta.values[0, 0, 0]) == pytest.approx(float(r.edge_delta[0]), rel=1e-12)
    assert 0 < float(r.edge_delta[0]) < 1


def test_unconverged_root_is_reported_not_labelled(monkeypatch):
    # the dataset's own residual check: a root 1% off g_h^2 = G(delta) gives not_converged, region 0
    real = phase_mod.solve_plane

    def off(gh, a, **kw):
        sol = real(gh, a, **kw)
        return {**sol, "delta": sol["delta"] * 1.01}

    monkeypatch.setattr(phase_mod, "solve_plane", off)
    ds = rd.phase_diagram("gru", g_h=[1.5, 3.0], alpha_r=[0.0])
    assert ds.status.values[:, 0].tolist() == ["success", "not_converged"]
    assert ds.region.values[:, 0].tolist() == [1, 0]
    assert "did not converge" in str(ds.message.values[1, 0])


def test_gated_flow_same_fixed_point_mft():
    a = rd.phase_diagram("gru", g_h=[1.8, 3.0], alpha_r=[0.0, 20.0])
    b = rd.phase_diagram("gated_flow", g_h=[1.8, 3.0], alpha_r=[0.0, 20.0])
    np.testing.assert_array_equal(a.region.values, b.region.values)
    assert b.attrs["model"] == "gated_flow"


def test_bad_grids():
    with pytest.raises(ValueError, match="`g_h` must be finite.*index \\[1\\]"):
        rd.phase_diagram("gru", g_h=[1.0, float("nan")], alpha_r=[0.0])
    with pytest.raises(ValueError, match="`alpha_r` must lie in"):
        rd.phase_diagram("gru", g_h=[1.0], alpha_r=[-1.0])
    with pytest.raises(ValueError, match="`g_h` must lie in"):
        rd.phase_diagram("gru", g_h=[0.0, 1.0], alpha_r=[1.0])
    with pytest.raises(ValueError, match="`model`"):
        rd.phase_diagram("lstm", g_h=[1.0], alpha_r=[1.0])
    with pytest.raises(ValueError, match="1-D grids"):
        rd.phase_diagram("gru", g_h=None, alpha_r=[1.0])


def test_failed_points_get_status_not_nan(monkeypatch):
    real = phase_mod.solve_plane

    def flaky(gh, a, **kw):
        if a == 5.0:
            raise RuntimeError("root finder did not converge")
        return real(gh, a, **kw)

    monkeypatch.setattr(phase_mod, "solve_plane", flaky)
    ds = rd.phase_diagram("gru", g_h=[1.5, 3.0], alpha_r=[0.0, 5.0])
    assert (ds.region.sel(alpha_r=5.0).values == 0).all()
    assert (ds.status.sel(alpha_r=5.0).values == "failed").all()
    assert all(s.startswith("root finder did not converge") for s in ds.message.sel(alpha_r=5.0).values)
    assert (ds.status.sel(alpha_r=0.0).values == "success").all()
    assert ds.line_status.values.tolist() == ["success", "failed"]
    with pytest.raises(RuntimeError, match="did not converge"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[5.0], throw=True)


@pytest.mark.parametrize("model", ["gru", "gated_flow"])
def test_simulated_overlay_small(model):
    # zero FP stable at g_h = 1.5 (alpha_r = 0): activity decays; the decay rate is the zero-FP
    # Jacobian's edge: ln(1/2 + g_h/4) per step (GRU), -1/2 + g_h/4 per unit time (flow), §5.2, §3.5
    ds = rd.phase_diagram(
        model, g_h=[1.5], alpha_r=[0.0], simulate=True, n=48, n_steps=300, n_transient=300, seed=1
    )
    lam = float(ds.lambda_max_sim.values[0, 0])
    # oracle: this realisation's zero-FP Jacobian edge (the overlay's network is rebuilt from its
    # recorded seed); the MFT values ln(0.875) / -0.125 are its N -> infinity limit. Measured with
    # point_seed(1, 0): flow edge -0.1950 (simulated -0.1861); a finite N = 48 network sits ~0.07
    # from the MFT edge, which the previous per-point seed rule happened to hide.
    import torch

    gen = torch.Generator().manual_seed(int(ds.sim_point_seed.values[0, 0]))
    cls = rd.GRU if model == "gru" else rd.GatedRateRNN
    net = cls(48, g_h=1.5, alpha_z=0.0, alpha_r=0.0, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        ev = torch.linalg.eigvals(net.jacobian(torch.zeros(net.state_size, dtype=torch.float64)))
    edge = math.log(float(ev.abs().max())) if model == "gru" else float(ev.real.max())
    assert lam == pytest.approx(edge, abs=0.02)
    assert abs(edge - (math.log(0.875) if model == "gru" else -0.125)) < 0.1  # near the MFT edge
    assert float(ds.lambda_late_sim.values[0, 0]) < 0
    assert float(ds.activity_sim.values[0, 0]) < 1e-3
    assert ds.region_sim.values[0, 0] == 1 and not ds.chaotic_sim.values[0, 0]
    assert ds.sim_status.values[0, 0] == "success"
    assert (
        ds.sim_point_seed.values[0, 0] == point_seed(1, 0) == 1835504127
    )  # recorded: the overlay's seed rule
    assert ds.attrs["sim_lyapunov"] == "two_trajectory"
    assert ds.attrs["sim_renorm_every"] == (10 if model == "gated_flow" else 1)


def test_overlay_two_trajectory_matches_qr_and_finite_n_edge():
    # cross-method check at a decaying point: both estimates converge to the rightmost
    # eigenvalue of this realisation's zero-FP Jacobian (ln |mu_1| per step for the GRU map)
    import torch

    kw = {
        "g_h": [1.6],
        "alpha_r": [5.0],
        "simulate": True,
        "n": 40,
        "n_steps": 400,
        "n_transient": 200,
        "seed": 3,
    }
    a = rd.phase_diagram("gru", lyapunov="two_trajectory", **kw)
    b = rd.phase_diagram("gru", lyapunov="qr", **kw)
    gen = torch.Generator().manual_seed(point_seed(3, 0))  # the overlay's seed for point 0 (a sweep)
    assert point_seed(3, 0) == 1576890651 and a.sim_point_seed.values[0, 0] == 1576890651
    net = rd.GRU(40, g_h=1.6, alpha_z=0.0, alpha_r=5.0, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        edge = math.log(
            float(torch.linalg.eigvals(net.jacobian(torch.zeros(40, dtype=torch.float64))).abs().max())
        )
    la, lb = float(a.lambda_max_sim[0, 0]), float(b.lambda_max_sim[0, 0])
    # measured: edge -0.11247, two-trajectory -0.11251, QR -0.11244 (MFT ln(0.9) = -0.1054)
    assert la == pytest.approx(edge, abs=0.003)
    assert lb == pytest.approx(edge, abs=0.003)
    assert b.attrs["sim_lyapunov"] == "qr"


def test_overlay_fixed_points_and_slow_modes():
    # g_h = 1.5: only the zero FP (stable; GRU eigenvalues in the disk |mu - 1/2| <= g_h/4, none
    # near 1). g_h = 3, alpha_r = 0: nonzero FPs exist (MFT C_h = 0.353); the zero FP is unstable.
    ds = rd.phase_diagram(
        "gru", g_h=[1.5, 3.0], alpha_r=[0.0], simulate=True, n=48, n_steps=100, n_transient=100, seed=1,
        fixed_points=True, fixed_point_starts=12,
    )  # fmt: skip
    # (12 starts: with this realisation 6 starts find only one nonzero FP at g_h = 3)
    assert ds.n_fixed_points_sim.values[:, 0].tolist()[0] == 1
    assert ds.n_stable_fixed_points_sim.values[0, 0] == 1
    assert ds.slow_fraction_sim.values[0, 0] == 0.0
    assert ds.n_fixed_points_sim.values[1, 0] >= 2  # zero FP + at least one +- pair
    assert 0.0 < float(ds.fp_activity_sim.values[1, 0]) < 1.0
    assert ds.attrs["sim_fixed_points"] == 1 and ds.attrs["sim_fp_starts"] == 12
    with pytest.raises(ValueError, match="`lyapunov`"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0], simulate=True, lyapunov="bogus")
    with pytest.raises(ValueError, match="needs `simulate=True`"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0], fixed_points=True)
    with pytest.raises(ValueError, match="`fp_starts`"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0], simulate=True, fp_starts=0)


def test_window_rates_oracle():
    # a synthetic running record: rate +0.1 for 800 steps, then -0.2 for 200 steps
    import types

    import torch

    steps = torch.arange(10, 1001, 10)
    cum = torch.where(steps <= 800, 0.1 * steps, 80.0 - 0.2 * (steps - 800)).double()
    res = types.SimpleNamespace(running=(cum / steps).view(1, -1, 1), running_steps=steps)
    total, stderr, late = phases._window_rates(res, 0)
    assert total == pytest.approx((80.0 - 40.0) / 1000, rel=1e-12)
    assert late == pytest.approx(-0.2, rel=1e-12)  # the chaos died: late rate negative
    # 10 blocks of 100 steps: rates 0.1 (x8) and -0.2 (x2), mean 0.04, sample variance
    # (8 * 0.06^2 + 2 * 0.24^2) / 9 = 0.016, so the standard error is sqrt(0.016 / 10) = 0.04
    assert stderr == pytest.approx(0.04, rel=1e-12)
    flat = types.SimpleNamespace(
        running=torch.full((1, 100, 1), 0.3, dtype=torch.float64), running_steps=steps
    )
    assert phases._window_rates(flat, 0) == pytest.approx((0.3, 0.0, 0.3), abs=1e-15)  # constant rate
    total, _, _ = phases._window_rates(res, 500)  # alignment window left out
    assert total == pytest.approx((40.0 - 50.0) / 500, rel=1e-12)


def test_cli_phase_diagram(tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["phase-diagram", "--g-h", "1.5:3:4", "--alpha-r", "0,20", "--zarr", str(tmp_path / "pd.zarr"),
         "--out", str(tmp_path), "--json", str(tmp_path / "pd.json"), "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    ds = xr.open_zarr(tmp_path / "pd.zarr", consolidated=False)
    ref = rd.phase_diagram("gru", g_h=np.linspace(1.5, 3, 4), alpha_r=[0.0, 20.0])
    np.testing.assert_array_equal(ds.region.values, ref.region.values)
    assert (tmp_path / "phase_diagram_gru.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "pd.json").read_text())["region"] == ref.region.values.tolist()
    bad = runner.invoke(app, ["phase-diagram", "--g-h", "1,nan", "--alpha-r", "0", "--no-progress"])
    assert bad.exit_code == 2 and "must be finite" in bad.output
    bad = runner.invoke(app, ["phase-diagram", "--g-h", "1:2", "--no-progress"])
    assert bad.exit_code == 2 and "start:stop:num" in bad.output


def test_cli_phase_diagram_simulate(tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["phase-diagram", "--model", "gru", "--g-h", "1.5", "--alpha-r", "0", "--simulate", "--n", "16",
         "--steps", "200", "--transient", "100", "--fixed-points", "--fp-starts", "3", "--seed", "2",
         "--json", str(tmp_path / "s.json"), "--no-progress", "--store", str(tmp_path / "o.zarr"),
         "--netcdf", str(tmp_path / "s.nc")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "finite-N overlay" in res.output
    assert xr.open_zarr(tmp_path / "o.zarr", consolidated=False, chunks=None)["done"].values.all()
    # NetCDF-3 (scipy) round trip of the overlay: text as UTF-8 bytes, the uint32 seeds exact
    nc = xr.open_dataset(tmp_path / "s.nc")
    assert nc.sim_point_seed.values.tolist() == [[point_seed(2, 0)]]
    assert nc.sim_status.values.astype(str).tolist() == [["success"]]
    out = json.loads((tmp_path / "s.json").read_text())
    ref = rd.phase_diagram(
        "gru", g_h=[1.5], alpha_r=[0.0], simulate=True, n=16, n_steps=200, n_transient=100,
        fixed_points=True, fp_starts=3, seed=2,
    )  # fmt: skip
    assert out["lambda_max_sim"] == ref.lambda_max_sim.values.tolist()  # same seeds, same numbers
    assert out["n_fixed_points_sim"] == [[1]] and out["region_sim"] == [[1]]
    bad = runner.invoke(app, ["phase-diagram", "--g-h", "1.5", "--alpha-r", "0", "--simulate",
                              "--lyapunov", "nope", "--no-progress"])  # fmt: skip
    assert bad.exit_code == 2 and "`--lyapunov`" in bad.output
    # the overlay store belongs to that overlay: another N is refused, naming the difference
    bad = runner.invoke(app, ["phase-diagram", "--g-h", "1.5", "--alpha-r", "0", "--simulate", "--n", "20",
                              "--steps", "200", "--transient", "100", "--fixed-points", "--fp-starts", "3",
                              "--seed", "2", "--no-progress", "--store", str(tmp_path / "o.zarr")])  # fmt: skip
    assert bad.exit_code == 2 and "n: store has 16, this call asks for 20" in bad.output, bad.output


def test_cli_meanfield(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["meanfield", "discrete", "--g", "2", "--json", str(tmp_path / "d.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "d.json").read_text())["lambda_max"] == pytest.approx(0.1547, rel=1e-3)
    res = runner.invoke(
        app, ["meanfield", "gru", "--g-h", "1.8", "--alpha-r", "20", "--json", str(tmp_path / "g.json")]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "g.json").read_text())["n_nonzero"] == 2
    bad = runner.invoke(app, ["meanfield", "gru", "--g-h", "-1"])
    assert bad.exit_code == 2 and "`--g-h`" in bad.output
    bad = runner.invoke(app, ["meanfield", "lstm"])
    assert bad.exit_code == 2


def _overlay_child(store: str, position: int) -> None:
    import os
    import signal

    def hook(i: int, label: str) -> None:
        if i == position:
            os.kill(os.getpid(), signal.SIGKILL)

    sweeps._write_hook = hook
    rd.phase_diagram("gru", **_OVERLAY, store=store)
    os._exit(0)


_OVERLAY = {"g_h": [1.5, 3.0], "alpha_r": [0.0], "simulate": True, "n": 16, "n_steps": 60, "n_transient": 30,
            "seed": 5}  # fmt: skip


def test_overlay_is_a_sweep_that_resumes_after_a_kill(tmp_path):
    import multiprocessing
    import signal

    ref = rd.phase_diagram("gru", **_OVERLAY)
    labels: list[str] = []
    sweeps._write_hook = lambda i, label: labels.append(label)
    try:
        stored = rd.phase_diagram("gru", **_OVERLAY, store=tmp_path / "ref.zarr")
    finally:
        sweeps._write_hook = None
    xr.testing.assert_identical(stored, ref)  # a persistent store gives the same numbers
    # kill -9 in the middle of the second point's writes (the first point is done)
    position = labels.index("done") + 3
    store = tmp_path / "o.zarr"
    proc = multiprocessing.get_context("fork").Process(target=_overlay_child, args=(str(store), position))
    proc.start()
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL
    part = xr.open_zarr(store, consolidated=False, chunks=None)
    assert part["done"].values[:, 0, 0].tolist() == [True, False]
    with pytest.warns(UserWarning, match="ended without releasing its lock"):  # the killed holder's
        resumed = rd.phase_diagram("gru", **_OVERLAY, store=store)
    xr.testing.assert_identical(resumed, ref)  # the resumed overlay's numbers are the first run's
    for name in ("lambda_max_sim", "lambda_late_sim", "activity_sim"):
        assert resumed[name].values.tobytes() == ref[name].values.tobytes()
    assert set(ref.sim_status.values.ravel()) <= {"success", "warning", "not_converged"}  # 60 steps: short
    # another overlay setting on the same store is refused, naming it
    with pytest.raises(
        sweeps.SweepSpecError, match="function.keywords.n: store has 16, this call asks for 20"
    ):
        rd.phase_diagram("gru", **{**_OVERLAY, "n": 20}, store=store)


def test_theory_is_pluggable(monkeypatch):
    # a per-point theory registered by name drives `region` and, with the overlay, `region_sim`
    def toy(model, g_h, alpha_r, alpha_z, theta):
        if alpha_r > 10:
            raise ValueError("outside the toy's range")
        return {"region": 1 if g_h < 2 else 4, "edge": g_h / 4 - 0.5}

    monkeypatch.setitem(phases.THEORIES, "toy", phases.grid_theory(toy))
    ds = rd.phase_diagram("gated_flow", g_h=[1.5, 3.0], alpha_r=[0.0, 20.0], theory="toy")
    assert ds.region.values.tolist() == [[1, 0], [4, 0]]
    np.testing.assert_array_equal(ds.edge.values[:, 0], [-0.125, 0.25])
    assert ds.status.values.tolist() == [["success", "failed"], ["success", "failed"]]
    assert ds.message.values[0, 1] == "outside the toy's range" and ds.attrs["theory_name"] == "toy"
    with pytest.raises(ValueError, match="`theory`"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0], theory="nope")
    res = CliRunner().invoke(app, ["phase-diagram", "--g-h", "1.5,3", "--alpha-r", "0", "--theory", "toy",
                                   "--no-progress"])  # fmt: skip
    assert res.exit_code == 0 and "'stable FP': 1, 'chaos': 1" in res.output, res.output

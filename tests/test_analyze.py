"""rd.analyze: one call for a trained torch model or an rnndyn model, and a result that says what
it analysed.

Oracles: the sections equal the library calls they stand for, with the seeds and inputs the result
states (cross-method check); the same inputs in (B, T, d) and (T, B, d) layouts give identical
exponents; a float16/float32 model analysed in float64 equals the float64 copy analysed directly;
the HTML report renders in a real browser.
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest
import torch
from torch import nn

import rnndyn as rd

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _gru(batch_first: bool = True) -> nn.GRU:
    g = _gen(0)
    gru = nn.GRU(2, 6, num_layers=2, batch_first=batch_first)
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return gru.eval()


def _inputs() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((3, 90, 2)).astype(np.float32)  # (B, T, d)


def test_torch_gru_with_numpy_inputs_matches_library() -> None:
    gru = _gru(batch_first=True)
    before = {k: v.clone() for k, v in gru.state_dict().items()}
    x = _inputs()
    res = rd.analyze(gru, x, n_transient=30, spectrum_states=8, fixed_point_starts=8)
    # the caller's module is untouched (still float32, same weights)
    assert next(gru.parameters()).dtype == torch.float32
    assert all(torch.equal(before[k], v) for k, v in gru.state_dict().items())
    # what was analysed is stated
    assert res.inputs["layout"] == "(B, T, d)" and res.inputs["layout_from"] == "the module's batch_first"
    assert "all 3 input sequence(s)" in res.analysed["lyapunov"]
    assert "the first 3 of 3 input sequence(s)" in res.analysed["jacobian_spectrum"]
    assert "the mean input" in res.analysed["fixed_points"]
    assert res.model["converted_from_dtype"] == "float32" and res.model["num_layers"] == 2
    # oracle: the same library calls on a float64 copy with the stated seeds and inputs
    net = rd.from_torch(_gru(batch_first=True).double())
    xt = torch.as_tensor(x, dtype=F64)
    ref = rd.lyapunov_spectrum(
        net,
        n_transient=30,
        n_steps=60,
        inputs=xt,
        h0=torch.zeros(3, net.state_size, dtype=F64),
        qr_every="auto",
        generator=_gen(res.settings["seeds"]["lyapunov"]),
    )
    torch.testing.assert_close(res.lyapunov.exponents, ref.exponents, rtol=0, atol=1e-12)
    fps = rd.find_fixed_points(
        net,
        n_initial=8,
        inputs=xt.reshape(-1, 2).mean(0),
        generator=_gen(res.settings["seeds"]["fixed_points"]),
    )
    assert res.fixed_points.n_points == fps.n_points
    torch.testing.assert_close(res.fixed_points.points, fps.points, rtol=0, atol=1e-10)


def test_batch_first_layouts_agree() -> None:
    x = _inputs()
    a = rd.analyze(_gru(batch_first=True), x, sections=["lyapunov"], n_transient=30)
    # the same sequences time-first for a time-first module
    b = rd.analyze(_gru(batch_first=False), x.transpose(1, 0, 2), sections=["lyapunov"], n_transient=30)
    assert b.inputs["layout"] == "(T, B, d)"
    torch.testing.assert_close(a.lyapunov.exponents, b.lyapunov.exponents, rtol=0, atol=1e-12)
    # an explicit batch_first overrides the module's
    c = rd.analyze(_gru(batch_first=False), x, batch_first=True, sections=["lyapunov"], n_transient=30)
    torch.testing.assert_close(a.lyapunov.exponents, c.lyapunov.exponents, rtol=0, atol=1e-12)
    assert c.inputs["layout_from"] == "given (batch_first argument)"
    # torch inputs in float16 are accepted (converted to the analysis dtype)
    d = rd.analyze(_gru(), torch.as_tensor(x[:1, :60]).half(), sections=["lyapunov"], n_transient=10)
    assert d.lyapunov.n_trajectories == 1 and math.isfinite(d.lyapunov.lambda_max)


def test_wrapper_module_and_half_precision() -> None:
    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(2, 4, num_layers=2, batch_first=True)
            self.head = nn.Linear(4, 1)

    model = Model()
    res = rd.analyze(model.half(), _inputs()[:1, :80], sections=["lyapunov"], n_transient=10)
    assert res.model["module_path"] == "rnn" and res.model["converted_from_dtype"] == "float16"
    ref = rd.analyze(model.rnn.double(), _inputs()[:1, :80], sections=["lyapunov"], n_transient=10)
    torch.testing.assert_close(res.lyapunov.exponents, ref.lyapunov.exponents, rtol=0, atol=1e-12)

    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.GRU(2, 3)
            self.b = nn.GRU(3, 3)

    with pytest.raises(
        TypeError, match=r"contains several recurrent networks \['a', 'b'\]: pass module_path="
    ):
        rd.analyze(Two(), sections=["lyapunov"])
    res = rd.analyze(Two(), sections=["lyapunov"], module_path="b", n_steps=50, n_transient=10)
    assert res.model["module_path"] == "b" and res.lyapunov.k == 3
    with pytest.raises(TypeError, match="contains none"):
        rd.analyze(nn.Linear(2, 2))


def test_bad_arguments() -> None:
    gru = _gru()
    with pytest.raises(
        ValueError, match=r"`inputs` must have shape \(T, 2\), \(B, T, 2\) or \(T, B, 2\); got \(5, 3\)"
    ):
        rd.analyze(gru, np.zeros((5, 3)))
    with pytest.raises(TypeError, match="`inputs` must be a numpy array or a torch tensor; got list"):
        rd.analyze(gru, [[0.0, 1.0]])
    with pytest.raises(TypeError, match="`inputs` must hold real numbers"):
        rd.analyze(gru, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="`inputs` must be finite"):
        rd.analyze(gru, np.full((1, 20, 2), np.nan))
    with pytest.raises(ValueError, match="`sections` must be among"):
        rd.analyze(gru, sections=["lyap"])
    with pytest.raises(
        TypeError, match=r"`dtype` must be torch.float64 \(recommended\) or torch.float32; got torch.int64"
    ):
        rd.analyze(gru, dtype=torch.int64)
    with pytest.raises(TypeError, match="must be a map; got the flow RateRNN: discretise it first"):
        rd.analyze(rd.RateRNN(4, dtype=F64))
    with pytest.raises(TypeError, match="`model` must be an rnndyn model"):
        rd.analyze(12345)
    with pytest.raises(ValueError, match="`n_transient` must be smaller than the inputs' length T = 20"):
        rd.analyze(gru, np.zeros((1, 20, 2)), n_transient=20)


@pytest.fixture(scope="module")
def vanilla_result():
    net = rd.VanillaRNN(12, g=0.6, generator=_gen(3), dtype=F64)  # contracting: origin is stable
    return rd.analyze(
        net, n_steps=200, n_transient=50, n_trajectories=2, spectrum_states=5, fixed_point_starts=8
    )


def test_result_views(vanilla_result, tmp_path) -> None:
    res = vanilla_result
    assert res.lyapunov.regime == "stable" and res.verdict[0].startswith(
        "Stable running on its own (zero input)"
    )
    # the origin is the (only) fixed point, stable, with J = g W: spectral radius < 1
    assert res.fixed_points.n_points == 1 and res.fixed_points.stability == ("stable",)
    assert float(res.fixed_points.points.abs().max()) < 1e-10
    assert repr(res).startswith("AnalysisResult('VanillaRNN") and "regime='stable'" in repr(res)
    text = res.summary()
    for word in ("[model]", "[lyapunov]", "zero input", "seeds", "[verdict]"):
        assert word in text
    # every section states its status and the checks it ran, with their values (issue: trust)
    lyap = dict(dict(res.sections())["lyapunov"])
    assert lyap["status"] == res.lyapunov.status.value
    assert {f"check {c.name}" for c in res.lyapunov.checks} <= set(lyap) and "check jacobian" in lyap
    assert "status" in dict(dict(res.sections())["fixed points"])
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)  # strict JSON
    keys: list[str] = []

    def walk(o):
        if isinstance(o, dict):
            keys.extend(o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk({k: v for k, v in d.items() if k != "non_finite"})
    assert all(re.fullmatch(r"[a-z0-9_]+", k) for k in keys), [
        k for k in keys if not re.fullmatch(r"[a-z0-9_]+", k)
    ]
    assert d["lyapunov"]["predictability_time"] is None
    assert "perturbations do not grow" in d["non_finite"]["lyapunov.predictability_time"]
    assert "running" not in d["lyapunov"] and "running" in res.to_dict(full=True)["lyapunov"]
    assert len(text) < 20_000
    # NetCDF round trip (atomic write; stability as integer codes)
    import xarray as xr

    path = res.to_netcdf(tmp_path / "a.nc")
    with xr.open_dataset(path) as ds:
        np.testing.assert_allclose(
            ds["lyapunov_exponent"].values, res.lyapunov.exponents.numpy(), rtol=0, atol=0
        )
        assert json.loads(ds.attrs["settings"])["seeds"]["lyapunov"] == 1
        # exponents indexed 1..k as lambda_1 >= lambda_2 >= ..., with their units; PCs 1, 2, 3
        assert float(ds["lyapunov_exponent"].sel(exponent=1)) == res.lyapunov.lambda_max
        assert ds["lyapunov_exponent"].attrs["units"] == res.lyapunov.units
        assert ds["pc"].values.tolist() == [1, 2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["a.nc"]


def test_files_get_the_umask_mode_without_touching_the_umask(vanilla_result, tmp_path, monkeypatch) -> None:
    """to_json / to_netcdf write atomically (a temporary file, then os.replace) and their files get a
    new file's mode, 0o666 & ~umask, from the kernel: os.umask (process-global, a race with other
    threads creating files) is never called; a failed replace leaves the old file and no temporary."""
    old = os.umask(0o027)  # a distinctive umask, so the mode shows it was applied
    try:

        def no_umask(mask):
            raise AssertionError("os.umask called (process-global: races with other threads)")

        monkeypatch.setattr(os, "umask", no_umask)
        js, nc = tmp_path / "r.json", tmp_path / "r.nc"
        vanilla_result.to_json(js)
        vanilla_result.to_netcdf(nc)
        assert js.stat().st_mode & 0o777 == 0o640 and nc.stat().st_mode & 0o777 == 0o640
        assert json.loads(js.read_text())["status"] == vanilla_result.status.value
        assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.nc"]

        def broken_replace(src, dst):
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", broken_replace)
        before = js.read_bytes()
        with pytest.raises(OSError, match="disk full"):
            vanilla_result.to_json(js, full=True)
        assert js.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.nc"]
    finally:
        monkeypatch.undo()
        os.umask(old)


@pytest.mark.slow  # end to end: a headless browser renders the report (6 s)
def test_report_renders_in_a_browser(vanilla_result, tmp_path) -> None:
    from browser_helpers import dump_dom, image_stats, render_screenshot

    html_path = vanilla_result.report(tmp_path / "report.html")
    html = html_path.read_text()
    assert "Verdict" in html and "What was analysed" in html and "zero input" in html
    # the full exponent table: one row per exponent
    assert html.count("<tr><td>") >= vanilla_result.lyapunov.k
    dom = dump_dom(html_path)
    assert dom.count("<img") == 4 and '<table class="full">' in dom
    png = render_screenshot(html_path, tmp_path / "shot.png", width=1000, height=1600)
    stats = image_stats(png)
    assert stats["nonwhite_fraction"] > 0.03 and stats["n_colours"] > 50  # text, tables and figures drawn


def test_plotting_keeps_the_users_backend(vanilla_result, tmp_path) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a user's choice (test-local; restored below)
    try:
        import importlib

        import rnndyn.plotting

        importlib.reload(rnndyn.plotting)
        from rnndyn.plotting.analysis import plot_pca_trajectories

        plot_pca_trajectories(vanilla_result.trajectories[:, :50], tmp_path / "pca.png")
        assert (tmp_path / "pca.png").read_bytes()[:4] == b"\x89PNG"
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_analyze_on_cuda_matches_cpu() -> None:
    x = _inputs()
    cpu = rd.analyze(_gru(), x, sections=["lyapunov", "fixed_points"], n_transient=30, fixed_point_starts=8)
    gpu = rd.analyze(
        _gru(), x, sections=["lyapunov", "fixed_points"], n_transient=30, fixed_point_starts=8, device="cuda"
    )
    assert gpu.settings["device"].startswith("cuda")
    torch.testing.assert_close(gpu.lyapunov.exponents.cpu(), cpu.lyapunov.exponents, rtol=0, atol=1e-9)


def test_no_module_switches_the_backend() -> None:
    """`import rnndyn.plotting` used to call matplotlib.use("Agg"): no source file may call it."""
    from pathlib import Path

    src = Path(rd.__file__).parent
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py") if "matplotlib.use(" in p.read_text()]
    assert offenders == []


def test_clv_section_when_asked(tmp_path) -> None:
    """rd.analyze(..., sections=[..., "clv"]) adds covariant Lyapunov vectors: their growth rates
    reproduce the QR exponents of the Lyapunov section (a cross-method oracle: same network, other
    trajectories), and the table, JSON and report carry the section with its checks."""
    net = rd.VanillaRNN(12, g=2.0, generator=_gen(3), dtype=F64)
    res = rd.analyze(net, sections=["lyapunov", "clv"], n_steps=600, n_transient=200, n_trajectories=2)
    assert res.clv is not None and res.clv.status == rd.Status.SUCCESS, res.clv.message
    assert torch.allclose(res.clv.clv_exponents[:3], res.lyapunov.exponents[:3], atol=0.03)
    rows = dict(dict(res.sections())["covariant lyapunov vectors"])
    assert rows["status"] == "success" and "check backward_convergence" in rows
    assert "Ginelli" in rows["analysed"] and "leading 12 vectors" in rows["analysed"]
    assert json.loads(json.dumps(res.to_dict(), allow_nan=False))["clv"]["k"] == 12
    html = res.report(tmp_path / "report.html").read_text()
    assert "Covariant Lyapunov vectors" in html
    assert rd.analyze(net, sections=["lyapunov"], n_steps=50, n_transient=20).clv is None  # only when asked


def test_analyze_takes_its_run_lengths_from_the_shared_defaults(monkeypatch) -> None:
    """rd.analyze (and `rnndyn analyze`) read their default run lengths from the one
    LyapunovDefaults: a changed DEFAULTS changes the steps the Lyapunov section averages and
    discards (no hard-coded copy), and the CLI's --steps help states the same number."""
    import dataclasses

    import typer

    import rnndyn.lyapunov as lyap
    from rnndyn.cli import app

    monkeypatch.setattr(
        lyap, "DEFAULTS", dataclasses.replace(lyap.DEFAULTS, analyze_n_steps=64, n_transient=16)
    )
    res = rd.analyze(_gru(), sections=["lyapunov"], n_trajectories=2)
    assert (res.lyapunov.n_steps, res.lyapunov.n_transient) == (64, 16)
    params = typer.main.get_command(app).commands["analyze"].params
    steps_help = next(o.help for o in params if "--steps" in getattr(o, "opts", []))
    assert f"default {lyap.LyapunovDefaults().analyze_n_steps}," in steps_help


def test_verdict_names_a_slow_manifold_instead_of_chaos_or_cycles():
    # six update gates closed by hand (alpha_z = 0, bias_z = -12: z = 6e-6) freeze six directions:
    # the finder returns slow points on a 6-D slow manifold and no fixed point; the verdict must
    # say so, not blame chaos or cycles
    from rnndyn.analysis import verdict
    from test_fixed_points import _closed_gate_gru

    net = _closed_gate_gru(40, [3, 7, 11, 19, 23, 31], -12.0)
    res = rd.find_fixed_points(
        net, n_initial=4, n_transient=0, generator=torch.Generator().manual_seed(21), throw=False
    )
    assert res.n_points == 0 and set(res.slow_kind) == {"manifold"}
    (text,) = verdict(None, None, res, driven=False, fp_input="zero input")
    assert "4 slow point(s) on a slow manifold of dimension about 6" in text
    assert "chaos" not in text


# ------------------------------------------------------------------ verdict of non-success runs
class _TwoWells(rd.AbstractMap):
    """h -> h - 0.1 h (h - 1)(h + 2): stable fixed points at 1 (slope 0.7) and -2 (slope 0.4)."""

    def __init__(self) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0
        self.register_buffer("k", torch.tensor(0.1, dtype=F64))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h - self.k * h * (h - 1) * (h + 2)

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return (1 - self.k * (3 * h**2 + 2 * h - 2)).unsqueeze(-1)


def test_verdict_of_a_multistable_run_names_the_attractors_not_a_regime_of_the_mean() -> None:
    from rnndyn.analysis import verdict

    # 3 starts reach h* = 1 (lambda = ln 0.7), 1 reaches h* = -2 (ln 0.4): the mean -0.497 lies
    # within the spread-inflated tolerance and used to read "Marginal ... edge of chaos"
    h0 = torch.tensor([[0.9], [1.2], [0.5], [-1.5]], dtype=F64)
    res = rd.lyapunov_spectrum(_TwoWells(), h0=h0, n_steps=200, n_transient=50)
    assert res.status == "warning" and res.regime == "multistable"
    (line,) = verdict(res, None, None, driven=False, fp_input="zero input")
    assert line.startswith("Multistable") and "status warning" in line and "more than one attractor" in line
    assert f"3 trajectories [0, 1, 2] at lambda_max {math.log(0.7):.3g} (stable" in line
    assert f"1 trajectory [3] at lambda_max {math.log(0.4):.3g} (stable" in line
    assert "no single regime" in line
    assert not any(w in line for w in ("Marginal", "edge of chaos", "Stable running"))
    # all starts in one basin: one attractor, the plain reading
    one = rd.lyapunov_spectrum(_TwoWells(), h0=h0[:3], n_steps=200, n_transient=50)
    assert one.status == "success"
    assert verdict(one, None, None, driven=False, fp_input="zero input")[0].startswith("Stable running")


def test_verdict_of_not_converged_and_diverged_runs_says_so() -> None:
    from rnndyn.analysis import verdict

    short = rd.lyapunov_spectrum(rd.Henon(), n_steps=20, generator=_gen(1))
    assert short.status == "not_converged"
    lines = verdict(short, None, None, driven=False, fp_input="zero input")
    assert lines[0].startswith("Provisional, the exponents have not converged: ")
    assert "status is 'not_converged'" in lines[-1] and "convergence: " in lines[-1]
    blown = rd.lyapunov_spectrum(
        _TwoWells(), h0=torch.tensor([[30.0]], dtype=F64), n_steps=50, n_transient=0, throw=False
    )
    assert blown.status == "diverged"
    lines = verdict(blown, None, None, driven=False, fp_input="zero input")
    assert lines[0].startswith("The trajectories diverged") and "status is 'diverged'" in lines[-1]


def test_verdict_names_a_theory_that_does_not_describe_the_state() -> None:
    from rnndyn.analysis import verdict

    # N = 32 default-analyze GRU: the trajectory settles on a stable fixed point (radius 0.856)
    # where the theory predicts 1.308 (tests/test_spectra.py has the numbers)
    net = rd.GRU(32, g_h=3.0, alpha_z=1.0, alpha_r=10.0, generator=_gen(0), dtype=F64)
    spec = rd.jacobian_spectrum(net, n_states=2, n_steps=20, n_transient=500, theory=True, generator=_gen(0))
    (line,) = verdict(None, spec, None, driven=False, fp_input="zero input")
    assert "predicts spectral radius 1.31; measured there: 0.856" in line
    assert "does not describe that state" in line and "theory_stability" not in line
    assert "state 0 is a fixed point that is stable" in line

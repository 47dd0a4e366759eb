"""`rnndyn lyapunov` and `rnndyn analyze`: the CLI reproduces the library call, writes JSON and
figures, loads torch models with input sequences, and turns user errors into clean messages."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rnndyn as rd
from rnndyn.cli import app

runner = CliRunner()


def test_analyze_default_model_matches_library(tmp_path) -> None:
    js = tmp_path / "a.json"
    res = runner.invoke(
        app,
        [
            "analyze",
            "-n",
            "12",
            "--steps",
            "200",
            "--transient",
            "50",
            "--trajectories",
            "2",
            "--json",
            str(js),
            "--out",
            str(tmp_path / "fig"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    for word in ("lambda_max", "regime", "Kaplan", "entropy rate", "slow modes", "predictability"):
        assert word in res.output
    payload = json.loads(js.read_text())
    lyap = payload["lyapunov"]
    assert payload["label"].startswith("gru") and len(lyap["exponents"]) == 12
    # the default model's parameters are stated in full
    assert payload["model"]["g_h"] == 3.0 and payload["model"]["alpha_r"] == 10.0
    # the same call through the library (default GRU parameters, seed 0 -> generator seed 1)
    net = rd.GRU(
        12,
        g_h=3.0,
        alpha_z=1.0,
        alpha_r=10.0,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    ref = rd.lyapunov_spectrum(
        net,
        n_steps=200,
        n_transient=50,
        n_trajectories=2,
        qr_every="auto",
        generator=torch.Generator().manual_seed(1),
    )
    assert lyap["exponents"] == pytest.approx(ref.exponents.tolist(), abs=1e-12)
    assert lyap["regime"] == ref.regime
    assert (tmp_path / "fig" / "lyapunov_spectrum.png").stat().st_size > 10_000
    assert (tmp_path / "fig" / "lyapunov_convergence.png").stat().st_size > 10_000
    # the Jacobian-spectrum and fixed-point sections ran and agree with the library
    spec = rd.jacobian_spectrum(
        net, n_states=20, n_steps=50, n_transient=50, theory=True, generator=torch.Generator().manual_seed(2)
    )
    assert payload["jacobian_spectrum"]["spectral_radius"] == pytest.approx(
        spec.spectral_radius.tolist(), abs=1e-10
    )
    fps = payload["fixed_points"]
    assert len(fps["points"]) >= 1  # the origin is a fixed point of the zero-bias GRU
    for name in ("jacobian_spectrum.png", "report.html"):
        assert (tmp_path / "fig" / name).stat().st_size > 10_000


def test_lyapunov_command_henon_sum_rule(tmp_path) -> None:
    js = tmp_path / "h.json"
    res = runner.invoke(
        app,
        [
            "lyapunov",
            "-m",
            "henon",
            "--steps",
            "1000",
            "--transient",
            "50",
            "--trajectories",
            "1",
            "--json",
            str(js),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(js.read_text())
    assert sum(out["exponents"]) == pytest.approx(math.log(0.3), abs=1e-10)
    assert out["units"] == "1/step" and out["stderr_method"] == "time_blocks"


def test_lyapunov_command_torch_model_with_inputs(tmp_path) -> None:
    torch.manual_seed(0)  # test-local: the torch module's own initialisation
    module = torch.nn.GRU(3, 8, batch_first=True)
    path = tmp_path / "gru.pt"
    torch.save(module, path)
    x = np.random.default_rng(0).normal(size=(3, 250, 3))
    np.save(tmp_path / "x.npy", x)
    js = tmp_path / "t.json"
    res = runner.invoke(
        app,
        [
            "lyapunov",
            "--torch-model",
            str(path),
            "--trust-pickle",  # a whole pickled module: only loaded when trusted
            "--inputs",
            str(tmp_path / "x.npy"),
            "--transient",
            "50",
            "--k",
            "4",
            "--json",
            str(js),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(js.read_text())
    assert out["n_trajectories"] == 3 and out["n_steps"] == 200 and out["k"] == 4
    sys = rd.from_torch(module).to(torch.float64)
    ref = rd.lyapunov_spectrum(
        sys, k=4, n_transient=50, inputs=torch.as_tensor(x), generator=torch.Generator().manual_seed(1)
    )
    assert out["exponents"] == pytest.approx(ref.exponents.tolist(), abs=1e-10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["lyapunov", "-m", "vanilla", "-n", "4", "--k", "9", "--steps", "10"],
            "`--k` must be <= state_size",
        ),
        (["lyapunov", "-m", "vanilla", "-n", "4", "--steps", "0"], "`--steps` must be an int >= 1; got 0"),
        (["lyapunov", "-m", "henon", "--qr-every", "often", "--steps", "10"], "`--qr-every`"),
        (["analyze", "--torch-model", "missing.pt"], "existing file"),
        (["lyapunov", "-m", "nosuchmodel"], "`--model` must be one of"),
    ],
)
def test_user_errors_are_clean(args, message) -> None:
    res = runner.invoke(app, [*args, "--no-progress"])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


def test_wrong_input_shape_is_clean(tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 50, 5)))
    res = runner.invoke(
        app,
        [
            "lyapunov",
            "-m",
            "vanilla",
            "-n",
            "4",
            "-p",
            "input_size=2",
            "--inputs",
            str(tmp_path / "x.npy"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2 and "`--inputs` must have shape (B, T, 2)" in res.output


def test_clv_summary_says_why_the_ftle_correlation_time_is_undefined() -> None:
    """Before: the summary printed 'tau nan steps'; the library's note says why it is undefined."""
    res = runner.invoke(
        app,
        ["lyapunov", "-n", "4", "--clv", "--steps", "40", "--transient", "5", "--backward-transient", "20",
         "--record-every", "3", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.replace("│", " ").split())
    assert "tau nan" not in text and "tau undefined (" in text and "correlations" in text


def test_clv_qr_every_gives_the_same_exponents_and_bad_values_fail_cleanly(tmp_path) -> None:  # noqa: ANN001
    """`--clv --qr-every 2` reaches rd.covariant_lyapunov_vectors: the exponents (sums of ln R_ii,
    which a product of two steps' QR gives to round-off) equal those of `--qr-every 1`, and the
    JSON says which was used; without the option the CLVs take a QR every step (not 'auto')."""
    base = ["lyapunov", "-m", "henon", "--clv", "--steps", "40", "--transient", "20"]
    base += ["--backward-transient", "20", "--ftle-window", "10", "--no-progress"]
    out = {}
    for m in ("1", "2", None):
        js = tmp_path / f"{m}.json"
        res = runner.invoke(app, [*base, *(["--qr-every", m] if m else []), "--json", str(js)])
        assert res.exit_code == 0, res.output
        out[m] = json.loads(js.read_text())["clv"]
    assert out["2"]["qr_every"] == 2 and out["1"]["qr_every"] == 1 and out[None]["qr_every"] == 1
    assert out["2"]["exponents"] == pytest.approx(out["1"]["exponents"], abs=1e-12)
    assert sum(out["2"]["exponents"]) == pytest.approx(math.log(0.3), abs=1e-10)  # ln|det J| of Henon
    # both convergence checks reach the JSON (Henon's gap 2.04 a step: 20 transient steps converge the frame)
    assert all(o["forward_convergence"] < 1e-6 for o in out.values())
    assert all(len(o["forward_convergence_per_vector"]) == 2 for o in out.values())
    # 'auto' (the rule of rd.lyapunov_spectrum) picks m after the run's transient: the window given
    # is rounded down to a multiple of it, and the output says so
    js = tmp_path / "auto.json"
    res = runner.invoke(app, [*base, "--qr-every", "auto", "--ftle-window", "15", "--json", str(js)])
    assert res.exit_code == 0, res.output
    auto = json.loads(js.read_text())
    m = auto["clv"]["qr_every"]
    assert 1 < m < 15 and 40 % m == 0 and auto["ftle"]["window"] == 15 - 15 % m
    assert f"--ftle-window 15 rounded down to a multiple of the QR interval, {m} steps" in " ".join(
        res.output.split()
    )
    for args, needle in (
        (["--qr-every", "0"], "`--qr-every` must be an int >= 1 or 'auto'; got '0'"),
        (["--qr-every", "3"], "`--steps` must be a multiple of `--qr-every` = 3"),
        (
            ["--qr-every", "4", "--ftle-window", "10"],
            "`--ftle-window` must be a multiple of `--qr-every` = 4; got 10",
        ),
    ):
        bad = runner.invoke(app, [*base, *args])
        assert bad.exit_code != 0 and needle in " ".join(bad.output.split()), bad.output
        assert "Traceback" not in bad.output

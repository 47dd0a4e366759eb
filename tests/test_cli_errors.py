"""The CLI's contract: consistent options, and every bad input a one-line error naming the option,
what was expected and what was received, before any long computation (exit code 2, no traceback).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rnndyn.cli import app

runner = CliRunner()
FAST = ["--skip", "lyapunov", "--skip", "spectrum", "--fp-starts", "4", "--no-progress"]


def _err(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "error" in res.output.lower()
    return " ".join(res.output.split())


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("not a model")
    torch.save(torch.nn.GRU(2, 3).state_dict(), tmp_path / "gru.pt")
    torch.save(torch.nn.GRU(2, 3), tmp_path / "whole.pt")
    (tmp_path / "file.txt").write_text("x")
    np.savez(tmp_path / "two.npz", a=np.zeros((5, 2)), b=np.zeros((5, 2)))
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    (tmp_path / "table.npy").write_text("1,2\n3,4\n")
    np.savez(tmp_path / "objects.npz", a=np.array([1, None], dtype=object))
    np.save(tmp_path / "seqs.npy", np.zeros((5, 2, 2)))  # 3-D: (T, B, d) for a time-first GRU
    return tmp_path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["analyze", "-m", "gru", "--torch-model", "{d}/gru.pt"], "cannot be combined with -m/--model"),
        (["analyze", "-n", "8", "--torch-model", "{d}/gru.pt"], "cannot be combined with -n/--n"),
        (["simulate", "-p", "g=2", "--torch-model", "{d}/gru.pt"], "cannot be combined with -p/--param"),
        (["analyze", "--arch", "gru"], "`--arch` applies only to --torch-model"),
        (["analyze", "--trust-pickle"], "`--trust-pickle` applies only to --torch-model"),
        (["analyze", "--device", "gpu0"], "`--device` must be cpu, cuda, cuda:N or mps; got 'gpu0'"),
        (["analyze", "--json", "{d}"], "`--json` must be a file path; got"),
        # before: ignored (each input sequence is one trajectory)
        (
            ["lyapunov", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/seqs.npy", "--trajectories", "3"],
            "`--trajectories` applies only with no --inputs or 2-D (T, d) ones (3-D inputs: one trajectory per "
            "sequence); got --trajectories 3 with 3-D --inputs",
        ),
        (
            ["analyze", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/seqs.npy", "--trajectories", "3"],
            "`--trajectories` applies only without --inputs (each input sequence is one trajectory); got "
            "--trajectories 3 with --inputs",
        ),
        (["fixed-points", "--json", "-"], "`--json` must be a file path; got '-' (stdout carries the tables"),
        (["analyze", "--out", "{d}/file.txt"], "`--out` must be a folder; got"),
        (["analyze", "--out", "{d}/file.txt/sub"], "`--out` must be a writable folder"),
        (["lyapunov", "--json", "{d}/file.txt/r.json"], "`--json` must be in a writable folder"),
        (["analyze", "--torch-model", "{d}/empty.pt"], "an empty file"),
        (["analyze", "--torch-model", "{d}/text.pt"], "torch cannot read"),
        (["analyze", "--torch-model", "{d}/whole.pt"], "unpickling can run arbitrary code"),
        (["analyze", "--torch-model", "{d}/missing.pt"], "existing file"),
        (
            ["analyze", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/two.npz"],
            "one array or an array named 'inputs'",
        ),
        (["analyze", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/text.npy"], "`--inputs` must"),
        # before: NumPy's advice to pass allow_pickle=, a traceback, the torch file's zip entries as 'arrays'
        (
            ["simulate", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/table.npy"],
            "`--inputs` must be a NumPy .npy/.npz file (np.save / np.savez); got",
        ),
        (
            ["simulate", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/objects.npz"],
            "`--inputs` must hold real numbers; got array 'a' that NumPy refuses",
        ),
        (
            ["simulate", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/gru.pt"],
            "a torch file (torch.save); save the tensor with np.save(path, x.numpy())",
        ),
        (
            ["analyze", "--torch-model", "{d}/gru.pt", "--inputs", "{d}/nope.npy"],
            "`--inputs` must be an existing",
        ),
        (["simulate", "--batch", "0"], "`--batch` must be an int >= 1; got 0"),
        (["spectrum", "--device", "cuda:x"], "`--device`"),
        (["analyze", "--steps", "0"], "`--steps` must be an int >= 1; got 0"),
        (["analyze", "--qr-every", "0"], "`--qr-every` must be an int >= 1 or 'auto'"),
        (["analyze", "--log-base", "1"], "`--log-base` must be 'e' or a number > 1"),
        (["analyze", "-m", "lorenz63", "-n", "4"], "`--n` does not apply to 'lorenz63'"),
        (["fixed-points", "-m", "nope"], "`--model` must be one of"),
        # before: --exact was ignored without a word on any model but the GRU
        (["spectrum", "-m", "vanilla", "-n", "4", "--exact"], "`--exact` applies only to -m gru"),
        (["spectrum", "--torch-model", "{d}/gru.pt", "--exact"], "got --exact with gru.pt (GRU:"),
        (["spectrum", "-m", "gru", "-n", "4", "--exact", "--no-theory"], "got --exact with --no-theory"),
    ],
)
def test_bad_inputs_are_one_line_errors(files, args, expected) -> None:
    out = _err([a.replace("{d}", str(files)) for a in args])
    assert expected in out


def test_spectrum_exact_reaches_the_gru_theory(tmp_path) -> None:
    """The other side of the --exact refusal: on a GRU it selects the unfactorised boundary."""
    path = tmp_path / "s.json"
    args = [
        "spectrum",
        "-m",
        "gru",
        "-n",
        "4",
        "--states",
        "1",
        "--steps",
        "1",
        "--transient",
        "1",
        "--exact",
    ]
    res = runner.invoke(app, [*args, "--no-progress", "--json", str(path)])
    assert res.exit_code == 0, res.output
    theory = json.loads(path.read_text())["theory"]
    assert "unfactorised" in (theory[0] if isinstance(theory, list) else theory)["formula"], theory


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_cpu_build() -> None:
    assert "no usable CUDA device" in _err(["analyze", "--device", "cuda"])


@pytest.mark.parametrize(
    ("args", "not_called"),
    [  # before: train and chaos named the library's `device`, train after ~5 s of data generation
        (["train", "--device", "meta"], "rnndyn.training.chaotic_series"),
        (
            ["chaos", "--widths", "2", "--n-networks", "2", "--device", "meta"],
            "rnndyn.chaos.chaos_probability",
        ),
        # before: phase-diagram ignored --device (a GPU asked for ran on the CPU, exit 0)
        (
            ["phase-diagram", "--g-h", "1:2:2", "--alpha-r", "0:1:2", "--device", "meta"],
            "rnndyn.phases.phase_diagram",
        ),
    ],
)
def test_device_is_checked_by_its_option_name_before_any_work(monkeypatch, args, not_called) -> None:
    def refuse(*a, **k):
        raise AssertionError(f"{not_called} ran before --device was checked")

    monkeypatch.setattr(not_called, refuse)
    assert "`--device` must be cpu, cuda, cuda:N or mps; got 'meta'" in _err(args)


def test_phase_diagram_refuses_a_device_it_would_not_use(monkeypatch) -> None:
    """Its mean-field numerics and overlay run on the CPU: a GPU is refused, not replaced silently;
    --dt 0 is refused even where no flow is simulated (it was accepted)."""
    import rnndyn._checks

    monkeypatch.setattr(rnndyn._checks, "check_device", lambda device, name: device)  # as if CUDA existed
    grid = ["phase-diagram", "--g-h", "1:2:2", "--alpha-r", "0:1:2"]
    assert "`--device` must be cpu for phase-diagram" in _err([*grid, "--device", "cuda"])
    assert "`--dt` must be in (0.0, inf]; got 0.0" in _err([*grid, "--dt", "0"])


def test_outputs_checked_first_and_not_overwritten(tmp_path) -> None:
    js = tmp_path / "r.json"
    js.write_text("{}")
    # refused before anything runs: the folder gets no figures
    assert "exists; pass --force" in _err(
        ["analyze", "-n", "4", "--json", str(js), "--out", str(tmp_path / "o")]
    )
    assert not (tmp_path / "o" / "report.html").exists()
    nc = tmp_path / "r.nc"
    ok = runner.invoke(app, ["analyze", "-n", "4", *FAST, "--json", str(js), "--netcdf", str(nc), "--force"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(js.read_text())["fixed_points"]["n_initial"] == 4
    # before: 0600 (the atomic write's temporary file), where the figures beside them follow the umask
    umask = os.umask(0o022)
    os.umask(umask)
    assert js.stat().st_mode & 0o777 == 0o666 & ~umask and nc.stat().st_mode & 0o777 == 0o666 & ~umask
    (tmp_path / "o").mkdir(exist_ok=True)
    (tmp_path / "o" / "report.html").write_text("old")
    assert "already holds report.html" in _err(["report", "-n", "4", *FAST, "--out", str(tmp_path / "o")])


def test_parameters_merge_and_titles_show_them(tmp_path) -> None:
    js = tmp_path / "a.json"
    # the default model keeps its alpha_r = 10 when only g_h is changed, and the title says so
    res = runner.invoke(app, ["analyze", "-n", "6", "-p", "g_h=1.5", *FAST, "--json", str(js)])
    assert res.exit_code == 0, res.output
    payload = json.loads(js.read_text())
    assert payload["model"]["g_h"] == 1.5 and payload["model"]["alpha_r"] == 10.0
    assert "g_h=1.5, alpha_z=1, alpha_r=10" in payload["label"]
    # a preset is a model name; -p overrides one value and keeps the others
    res = runner.invoke(
        app,
        ["analyze", "-m", "gru_slow_modes", "-n", "6", "-p", "g_h=1", *FAST, "--json", str(js), "--force"],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(js.read_text())
    assert payload["model"]["alpha_z"] == 20.0 and payload["model"]["g_h"] == 1.0
    assert payload["label"].startswith("gru_slow_modes [gru] (n=6, g_h=1, alpha_z=20, alpha_r=0")


def test_models_lists_parameters_and_presets_and_report_help() -> None:
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "alpha_r=1.0" in text and "gru_critical" in text and "gru_chaotic" in text
    res = runner.invoke(app, ["report", "--help"])
    text = " ".join(res.output.split())
    for opt in (
        "--torch-model",
        "--inputs",
        "--batch-first",
        "--full",
        "--force",
        "--steps",
        "--trust-pickle",
    ):
        assert opt in text


def test_time_first_inputs_and_npz(tmp_path) -> None:
    gen = torch.Generator().manual_seed(0)
    gru = torch.nn.GRU(2, 4, dtype=torch.float64)  # batch_first=False: inputs are (T, B, d)
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
    torch.save(gru.state_dict(), tmp_path / "gru.pt")
    x_tbd = np.random.default_rng(1).standard_normal((120, 3, 2))  # T = 120, B = 3
    np.savez(tmp_path / "x.npz", inputs=x_tbd, labels=np.zeros(3))
    js = tmp_path / "a.json"
    args = ["--torch-model", str(tmp_path / "gru.pt"), "--inputs", str(tmp_path / "x.npz")]
    res = runner.invoke(
        app,
        [
            "analyze",
            *args,
            "--skip",
            "spectrum",
            "--skip",
            "fixed-points",
            "--no-progress",
            "--json",
            str(js),
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(js.read_text())
    assert payload["inputs"]["layout"] == "(T, B, d)" and payload["inputs"]["n_sequences"] == 3
    assert payload["lyapunov"]["n_trajectories"] == 3 and payload["lyapunov"]["n_steps"] == 80
    # simulate takes the same model and inputs
    res = runner.invoke(app, ["simulate", *args, "--transient", "10", "--npz", str(tmp_path / "t.npz")])
    assert res.exit_code == 0, res.output
    traj = np.load(tmp_path / "t.npz")["trajectory"]
    assert traj.shape == (3, 110, 4)
    # the rollout is torch's: the last state equals h_n of the module on the same inputs
    with torch.no_grad():
        _, h_n = gru(torch.as_tensor(x_tbd))
    np.testing.assert_allclose(traj[:, -1], h_n[0].numpy(), rtol=0, atol=1e-12)


def test_netcdf_with_text_variables_is_written_whole(tmp_path) -> None:
    """`phase-diagram --netcdf` used to crash (KeyError ('U', 112)) on its text `status` variable and
    leave a corrupt file: the shared writer stores text as bytes and writes atomically."""
    import xarray as xr

    from rnndyn.cli._common import write_netcdf

    ds = xr.Dataset(
        {
            "lam": (("g",), np.array([0.1, -0.2])),
            "status": (("g",), np.array(["ok", "failed: " + "x" * 100])),
        },
        coords={"g": [1.0, 2.0]},
        attrs={"grid": {"g": [1.0, 2.0]}, "model": "gru"},
    )
    path = write_netcdf(ds, tmp_path / "pd.nc")
    with xr.open_dataset(path) as back:
        np.testing.assert_array_equal(back["lam"].values, ds["lam"].values)
        assert [v.decode() for v in back["status"].values] == list(ds["status"].values)
        assert json.loads(back.attrs["grid"]) == {"g": [1.0, 2.0]}
    assert [p.name for p in tmp_path.iterdir()] == ["pd.nc"]
    umask = os.umask(0o022)  # before: 0600, the temporary file's mode
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_one_default_n(tmp_path) -> None:
    """Every command that builds a named model uses n = 64 by default (spectrum used 256)."""
    js = tmp_path / "s.json"
    res = runner.invoke(
        app,
        [
            "spectrum",
            "--states",
            "1",
            "--steps",
            "2",
            "--transient",
            "1",
            "--no-theory",
            "--no-progress",
            "--json",
            str(js),
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(json.loads(js.read_text())["eigenvalues"][0]) == 64
    res = runner.invoke(
        app, ["simulate", "--steps", "2", "--transient", "0", "--npz", str(tmp_path / "t.npz")]
    )
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "t.npz")["trajectory"].shape == (1, 2, 64)


# ------------------------------------------------------------------ the same mistakes in the Python API


@pytest.mark.parametrize("dtype", [torch.int64, int, "float64"])
def test_model_with_a_non_float_dtype_is_a_clear_error(dtype) -> None:
    import rnndyn as rd

    with pytest.raises(TypeError, match=r"`dtype` must be a floating-point torch.dtype.*got"):
        rd.GRU(4, dtype=dtype)


def test_half_precision_model_in_lyapunov_spectrum_is_a_clear_error() -> None:
    import rnndyn as rd

    net = rd.VanillaRNN(4, g=2.0, dtype=torch.float16, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match=r"`system` must compute in float32 or float64.*float16"):
        rd.lyapunov_spectrum(net, n_steps=10)
    # float64 copy of the same network works (the error says how)
    res = rd.lyapunov_spectrum(net.to(torch.float64), n_steps=200, n_transient=50)
    assert res.exponents.dtype == torch.float64


@pytest.mark.parametrize(
    "args",
    [
        ["chaos"],
        ["meanfield", "scs"],
        ["phase-diagram", "--g-h", "1.5,3", "--alpha-r", "0,1"],
        ["train", "--data", "lorenz63", "--epochs", "1"],
    ],
)
def test_every_command_refuses_to_overwrite_without_force(tmp_path, args) -> None:
    # an existing --json file is refused before any computation (one line naming the option), as
    # is an --out folder that is a file. (`rnndyn sweep` is the exception: re-running the same
    # command resumes its store and rewrites the summary; its paths are checked, see below.)
    args = [str(tmp_path / "s.zarr") if a == "STORE" else a for a in args]
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    msg = _err([*args, "--json", str(existing)])
    assert "`--json`" in msg and "--force" in msg and existing.read_text() == "{}"
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    assert "`--out` must be a folder" in _err([*args, "--out", str(not_a_folder)])
    assert not (tmp_path / "s.zarr").exists()  # nothing was computed


def test_sweep_checks_its_output_paths_before_running(tmp_path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    store = tmp_path / "s.zarr"
    msg = _err(
        ["sweep", "-g", "g=1,2", "--store", str(store), "--scheduler", "sync", "--out", str(not_a_folder)]
    )
    assert "`--out` must be a folder" in msg and not store.exists()
    assert "directory" in _err(["sweep", "-g", "g=1,2", "--store", str(store), "--json", str(tmp_path)])


def test_phase_diagram_zarr_output_needs_force(tmp_path) -> None:
    store = tmp_path / "pd.zarr"
    store.mkdir()
    msg = _err(["phase-diagram", "--g-h", "1.5,3", "--alpha-r", "0,1", "--zarr", str(store)])
    assert "`--zarr`" in msg and "--force" in msg
    res = runner.invoke(
        app, ["phase-diagram", "--g-h", "1.5,3", "--alpha-r", "0,1", "--zarr", str(store), "--force"]
    )
    assert res.exit_code == 0, res.output
    import warnings

    import xarray as xr

    with warnings.catch_warnings():  # before: 'Failed to open Zarr store with consolidated metadata'
        warnings.simplefilter("error")
        ds = xr.open_zarr(store)
    assert ds.region.shape == (2, 2) and list(ds.g_h.values) == [1.5, 3.0]

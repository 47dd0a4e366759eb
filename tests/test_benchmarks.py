"""The benchmark scripts run end to end at tiny sizes, and their built-in accuracy checks hold.

The scripts in ``benchmarks/`` are run by hand (their timings mean nothing in a test), so nothing
else notices when a library change breaks one. ``bench_gpu.py`` matters most: it has only ever run
on the CPU here, and a GPU session has minutes of device time, none to spare on a script that
crashes. Each test runs a script in a subprocess on the CPU and checks the accuracy figures it
prints (float32 against float64 exponents, the matrix-free tangent against the dense Jacobian,
the CLVs' covariance residual), not its timings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.slow
def test_bench_gpu_runs_on_the_cpu_and_float32_tracks_float64() -> None:
    out = _run(
        "bench_gpu.py", "--device", "cpu", "--sizes", "32", "64", "--steps", "40", "--transient", "20",
        "--batch", "2", "--top", "8",
    )  # fmt: skip
    rows = [ln.split() for ln in out.splitlines() if ln.startswith(("vanilla ", "gru "))]
    assert len(rows) == 8, out  # vanilla and GRU, n = 32 and 64, full and top-8
    for row in rows:
        f32_err_max, f32_err_top = float(row[-2]), float(row[-1])
        assert 0.0 <= f32_err_top <= f32_err_max < 1e-2, row  # float32 exponents vs float64
        assert float(row[4]) > 0 and float(row[5]) > 0, row  # seconds per step were measured


@pytest.mark.slow
def test_bench_lyapunov_tangent_suite_at_a_tiny_size() -> None:
    out = _run(
        "bench_lyapunov.py", "--suite", "tangent", "--threads", "1", "--hidden", "48", "--vanilla", "24",
        "--steps", "30", "--transient", "20", "--repeats", "2", "--traj-batch", "1",
    )  # fmt: skip
    diffs = [float(x) for x in re.findall(r"max \|top-10 product - dense\| = ([0-9.e+-]+)", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-12, out  # GRU and LSTM: product engine == dense engine
    err = re.search(r"QR every step on the same trajectory\| = ([0-9.e+-]+)", out)
    assert err is not None and float(err.group(1)) < 1e-6, out
    assert out.count("target >= 5:") == 2 and "target >= 2.5:" in out, out  # verdicts printed


@pytest.mark.slow
def test_bench_clv_at_a_tiny_size(tmp_path: Path) -> None:
    out = _run(
        "bench_clv.py", "--n", "30", "--steps", "60", "--transient", "20", "--frame-transient", "20",
        "--backward", "30", "--skip-lyapynov", "--skip-data", "--skip-defaults", "--also-floor",
        "--also-qr-every", "2",
    )  # fmt: skip
    cov = re.findall(r"cov\. error: top half max ([0-9.e+-]+), all median [0-9.e+-]+, max ([0-9.e+-]+)", out)
    assert len(cov) == 2 and all(float(c[1]) < 1e-6 for c in cov), out  # J v_i(t) parallel to v_i(t+1)
    assert "floor (bare loop)" in out and "spilled" in out and "qr_every 2" in out, out
    # the QR-every-2 run's CLVs against the QR-every-step run's, same trajectory and backward start
    same = re.search(r"rnndyn qr_every=2 vs rnndyn equal work .* top half max ([0-9.e+-]+)", out)
    assert same is not None and float(same.group(1)) < 1e-8, out


@pytest.mark.slow
def test_device_check_script_runs_here(tmp_path: Path) -> None:
    # the one-call device script (benchmarks/device_check.sh) on the CPU: its gpu tests skip
    # without CUDA, its benchmark runs at a tiny size, and its logs land in $OUT
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHON=sys.executable, OUT=str(tmp_path))
    proc = subprocess.run(
        ["bash", str(BENCH / "device_check.sh"), "--device", "cpu", "--sizes", "24", "--steps", "20",
         "--transient", "10", "--batch", "2", "--top", "4", "--models", "vanilla"],
        cwd=BENCH.parent, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "gpu tests exit 0, bench_gpu exit 0" in (tmp_path / "env.log").read_text()
    assert "vanilla     24" in (tmp_path / "bench_gpu.log").read_text()
    assert "skipped" in (tmp_path / "gpu_tests.log").read_text()

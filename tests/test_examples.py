"""The scripts in examples/ run (each under a minute at full size on one idle core).

They train networks, so they are in the slow suite (`make test-slow` / `pytest -m slow`).

Oracle for the quick runs: each script's printed numbers are checked against what it claims
(a loaded state dict reproduces the architecture; the zero-fixed-point line of the GRU is g_h = 2
(CKS20 Cor. 4.3); the tanh RNN is ordered at g = 0.5 and chaotic at g = 3).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(name: str, *args: str, timeout: float = 240) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_trained_state_dict_example_quick(tmp_path) -> None:
    out = _run(
        "trained_rnn_state_dict.py", "--quick", "--arch", "lstm", "--layers", "2", "--out", str(tmp_path)
    )
    assert "'type': 'LSTM'" in out and "'num_layers': 2" in out and "from the 'rnn.' prefix" in out
    assert "[verdict]" in out and "read as (B, T, d)" in out
    assert (tmp_path / "report.html").stat().st_size > 50_000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("trained_rnn_state_dict.py", ["'type': 'GRU'", "[verdict]"]),
        ("phase_diagram.py", ["zero-fixed-point line g_h = 2.0", "region 4 (chaos)"]),
        ("chaos_at_initialisation.py", ["g = 0.5: lambda_max = -", "g = 3.0: lambda_max = +"]),
        ("sparse_teacher_forcing.py", ["D_stsp =", "running on its own (zero input)"]),
    ],
)
def test_examples_full_size(name, expected) -> None:
    out = _run(name)
    for text in expected:
        assert text in out, out[-2000:]

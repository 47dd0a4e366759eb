"""Start-up time of the command line and of ``import rnndyn``, in fresh interpreters.

Each command is run ``REPEATS`` times in a fresh subprocess (rounds interleaved, so a load spike
hits every command alike) and the median wall time is printed, with its ratio to the reference run
in the same process: ``python -c "import torch"``, the floor the eager package could never go
below. The old eager route is timed too, from the files of git revision ``REV`` (default
``eefe51f``, the last commit before the lazy package): they are exported to a temporary folder and
put first on ``PYTHONPATH`` (the venv's editable install is a plain path entry, so they win).

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_startup.py [REPEATS] [REV]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from rnndyn.cli import main; sys.argv[0] = 'rnndyn'; main()"

#: (label, python arguments, whether it runs the package as of REV instead of the working tree)
RUNS: tuple[tuple[str, list[str], bool], ...] = (
    ('python -c "pass"', ["-c", "pass"], False),
    ('python -c "import torch"  (reference)', ["-c", "import torch"], False),
    ("import rnndyn", ["-c", "import rnndyn"], False),
    ("import rnndyn; from rnndyn import *", ["-c", "from rnndyn import *"], False),
    ("rnndyn --version", ["-c", CLI, "--version"], False),
    ("rnndyn --help", ["-c", CLI, "--help"], False),
    ("rnndyn lyapunov --help", ["-c", CLI, "lyapunov", "--help"], False),
    ("old eager: import rnndyn", ["-c", "import rnndyn"], True),
    ("old eager: rnndyn --version", ["-c", CLI, "--version"], True),
    ("old eager: rnndyn lyapunov --help", ["-c", CLI, "lyapunov", "--help"], True),
)


def _export(rev: str, folder: Path) -> Path:
    """The ``src`` tree of ``rev`` under ``folder`` (``git archive``); its path."""
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "src"


def _time(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{args} failed: {res.stderr[-500:]}")
    return elapsed


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    rev = sys.argv[2] if len(sys.argv) > 2 else "eefe51f"
    with tempfile.TemporaryDirectory() as tmp:
        old_src = _export(rev, Path(tmp))
        new_env = dict(os.environ, COLUMNS="100")
        old_env = dict(new_env, PYTHONPATH=f"{old_src}{os.pathsep}{new_env.get('PYTHONPATH', '')}")
        check = subprocess.run(
            [sys.executable, "-c", "import rnndyn; print(rnndyn.__file__)"],
            env=old_env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert check.stdout.strip().startswith(str(old_src)), check.stdout  # the old files ran
        times: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
        for _ in range(repeats):
            for label, args, old in RUNS:
                times[label].append(_time(args, old_env if old else new_env))
    medians = {label: statistics.median(ts) for label, ts in times.items()}
    ref = medians['python -c "import torch"  (reference)']
    load = os.getloadavg()[0]
    print(f"median of {repeats} fresh interpreters, old route from {rev}; load average {load:.1f}")
    print(f"{'command':42s} {'median [s]':>10s} {'min [s]':>8s} {'/ import torch':>15s}")
    for label, ts in times.items():
        print(f"{label:42s} {medians[label]:10.3f} {min(ts):8.3f} {medians[label] / ref:15.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Every check that needs a GPU, in one call: the `gpu`-marked tests, then benchmarks/bench_gpu.py.
#
# For a session that is lent a GPU machine (its device time is short: about 15 minutes, the
# machine's start included), run from the repository root there, where `python3` has a CUDA
# build of torch and rnndyn runs from src/ without an install:
#
#     bash benchmarks/device_check.sh                      # tests (<= 4 min), then the benchmark (<= 5.5 min)
#
# Extra arguments go to bench_gpu.py. Logs go to $OUT (the device tool's output folder) or to
# ./device_logs. Everything it runs prints as it goes, so a run cut by a timeout keeps what it
# measured. A smoke test here, on the CPU (the gpu tests skip without CUDA):
#
#     PYTHON=.venv/bin/python bash benchmarks/device_check.sh --device cpu --sizes 32 --steps 20 --transient 10 --batch 2 --top 8
set -uo pipefail
py=${PYTHON:-python3}
out=${OUT:-device_logs}
mkdir -p "$out"
export PYTHONPATH="$PWD/src:$PWD/tests${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

"$py" -c "import sys, torch, numpy, scipy; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '-', 'numpy', numpy.__version__, 'scipy', scipy.__version__)" 2>&1 | tee "$out/env.log"

timeout "${GPU_TESTS_S:-240}" "$py" -m pytest -q -m gpu tests -rs \
    -o addopts="--import-mode=importlib -p no:cacheprovider" 2>&1 | tee "$out/gpu_tests.log"
tests_rc=${PIPESTATUS[0]}

timeout "${BENCH_S:-330}" "$py" benchmarks/bench_gpu.py "$@" 2>&1 | tee "$out/bench_gpu.log"
bench_rc=${PIPESTATUS[0]}

echo "gpu tests exit $tests_rc, bench_gpu exit $bench_rc (124: cut by its timeout)" | tee -a "$out/env.log"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]

# Two entry points: `make demo` (set up + main job) and `make test` (set up + lint + tests).
# Both create .venv on first use and are no-ops for set-up afterwards.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2

.PHONY: demo test test-slow lint bench clean setup browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch pinned: 2.13.0 is the CPU wheel on this machine's disk (an unpinned torch pulls CUDA).
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rnndyn analyze

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Headless Chromium for the report/gallery browser tests (Debian's package). Best effort: where it
# cannot be installed (not root, no apt), those tests skip with a message saying so.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  timeout 600 sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'; } || \
	  echo "chromium unavailable: the browser tests will be skipped"

test: $(STAMP) lint browser
	$(BIN)/python -m pytest -q src tests

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_lyapunov.py

clean:
	rm -rf $(VENV) build *.egg-info

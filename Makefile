# Quiver: the two commands a newcomer runs are `./make run` and `./make test`
# (./make installs make itself when missing, then runs these targets). Both
# install what they need (Debian packages via apt-get, Rust crates via cargo)
# and work on a fresh clone.
CARGO ?= cargo
SHARED ?= ../shared
BIN := $(or $(CARGO_TARGET_DIR),target)/release
RQ := $(BIN)/resource-query
# The Python client's tests run in a virtual environment of their own
# (PEP 668 keeps pip out of Debian's Python): python/requirements.txt
# pins what goes in; once there, nothing is fetched again.
PYTHON ?= python3
VENV := target/python-venv
PY_SOURCES := $(wildcard python/quiver/*.py) python/setup.py python/pyproject.toml \
	proto/proto/quiver/sched/v1/scheduler.proto proto/proto/quiver/lease/v1/lease.proto \
	proto/proto/quiver/burst/v1/burst.proto
PYTEST := QUIVER_BIN_DIR=$(BIN) $(VENV)/bin/python -m pytest -q python/tests

.PHONY: all deps test-deps build run test python-test lint bench fuzz fuzz-cmin chaos conformance clean

all: build

# System packages the build (deps) and the tests (test-deps) need, checked
# by feature and installed through apt-get only when missing.
deps:
	@sh scripts/deps.sh build

test-deps:
	@sh scripts/deps.sh test

build: deps
	$(CARGO) build --release --workspace

# The main job: a scheduler instance on this machine (hwloc + NVML
# discovery), running jobs here. Drive it from another terminal with
# target/release/schedctl (e.g. `schedctl submit -n 2 -- hostname`).
run: build
	@echo "schedd: serving this machine; in another terminal try:"
	@echo "  target/release/schedctl submit -n 1 -t 1m -- hostname"
	@echo "  target/release/schedctl jobs"
	@echo "Ctrl-C stops it; its state is kept in $${XDG_STATE_HOME:-$$HOME/.local/state}/quiver."
	$(BIN)/schedd $(SCHEDD_ARGS)

test: test-deps build $(VENV)/.installed
	$(CARGO) test --release --workspace
	tests/conformance/check $(RQ)
	$(PYTEST)

# The Python client alone: its pytest tests against a real schedd.
python-test: test-deps build $(VENV)/.installed
	$(PYTEST)

$(VENV)/.requirements: python/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r python/requirements.txt
	touch $@

# quiver-client itself, rebuilt when its sources or the proto change
# (no build isolation: its build requirements are in the venv already).
$(VENV)/.installed: $(VENV)/.requirements $(PY_SOURCES)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps \
		--no-build-isolation --force-reinstall ./python
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: test-deps
	$(CARGO) build --release -p schedd
	$(CARGO) bench --bench matcher --bench jobspec --bench elastic --bench discover --bench throughput --bench lease

# Coverage-guided fuzzing (AFL++ through cargo-afl, stable Rust): each
# parser's target for FUZZ_SECONDS in turn, from fuzz/corpus/<target>,
# findings under target/fuzz/<target>/ (e.g. `make fuzz FUZZ_SECONDS=600
# FUZZ_TARGETS="jgf rv1"`; fuzz/fuzz.sh lists the settings). fuzz-cmin
# merges what the fuzzer found into fuzz/corpus, minimised, for the
# replay test to run. Installs cargo-afl when missing.
fuzz: deps
	@sh fuzz/fuzz.sh build
	@sh fuzz/fuzz.sh run

fuzz-cmin:
	@sh fuzz/fuzz.sh cmin

# The chaos test's long run: CHAOS_CYCLES kill -9 cycles of a schedd under
# concurrent submits and cancels (`make test` runs 5). CHAOS_SEED replays
# a run (the test prints its seed).
CHAOS_CYCLES ?= 100
chaos: test-deps
	QUIVER_CHAOS_CYCLES=$(CHAOS_CYCLES) $(if $(CHAOS_SEED),QUIVER_CHAOS_SEED=$(CHAOS_SEED)) \
		$(CARGO) test --release -p schedd --test chaos -- --nocapture

conformance: build
	$(SHARED)/conformance/run --bin $(RQ)

clean:
	$(CARGO) clean

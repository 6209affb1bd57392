# Quiver: the two commands a newcomer runs are `./make run` and `./make test`
# (./make installs make itself when missing, then runs these targets). Both
# install what they need (Debian packages via apt-get, Rust crates via cargo)
# and work on a fresh clone.
CARGO ?= cargo
SHARED ?= ../shared
RQ := target/release/resource-query

.PHONY: all deps test-deps build run test lint bench fuzz fuzz-cmin conformance clean

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
	target/release/schedd $(SCHEDD_ARGS)

test: test-deps build
	$(CARGO) test --release --workspace
	tests/conformance/check $(RQ)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: test-deps
	$(CARGO) build --release -p schedd
	$(CARGO) bench --bench matcher --bench elastic --bench discover --bench throughput

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

conformance: build
	$(SHARED)/conformance/run --bin $(RQ)

clean:
	$(CARGO) clean

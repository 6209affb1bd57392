# Quiver: the two commands a newcomer runs are `make run` and `make test`.
# Both install what they need (Debian packages via apt-get, Rust crates via
# cargo) and work on a fresh clone.
CARGO ?= cargo
SHARED ?= ../shared
RQ := target/release/resource-query

.PHONY: all deps build run test lint bench conformance clean

all: build

# System packages the build and tests need. Nothing is installed when
# everything is already present.
deps:
	@missing=""; \
	command -v python3 >/dev/null || missing="$$missing python3"; \
	command -v cc >/dev/null || missing="$$missing gcc"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	pkg-config --exists hwloc 2>/dev/null || missing="$$missing libhwloc-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs"; exit 1; }

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

test: build
	$(CARGO) test --release --workspace
	tests/conformance/check $(RQ)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: deps
	$(CARGO) build --release -p schedd
	$(CARGO) bench --bench matcher --bench elastic --bench discover --bench throughput

conformance: build
	$(SHARED)/conformance/run --bin $(RQ)

clean:
	$(CARGO) clean

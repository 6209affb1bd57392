#!/bin/sh
# Coverage-guided fuzzing of Quiver's parsers with AFL++ through cargo-afl,
# on the stable toolchain. `make fuzz` and `make fuzz-cmin` call this.
#
#   fuzz/fuzz.sh build      install cargo-afl (and build AFL++) when missing,
#                           build the binaries of fuzz/afl
#   fuzz/fuzz.sh run        fuzz each target for FUZZ_SECONDS, one at a time,
#                           from fuzz/corpus/<target>; findings and stats in
#                           FUZZ_OUT/<target>/default/ (a second run resumes)
#   fuzz/fuzz.sh cmin       merge what the fuzzer found into fuzz/corpus,
#                           minimised with afl-cmin (inputs over 4 KiB left out)
#   fuzz/fuzz.sh stats      executions, speed, crashes and hangs per target
#
# Settings (environment): FUZZ_SECONDS (60), FUZZ_TARGETS (all), FUZZ_OUT
# (target/fuzz), FUZZ_BUILD (target/fuzz-build: the instrumented build keeps
# out of the normal target/release), FUZZ_MEM (MB, 1024: a bigger
# allocation is a crash), FUZZ_TIMEOUT (ms per input, 1000: longer is a hang).
set -eu
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-"jobspec_yaml jobspec_json constraint grug_graphml grug_yaml jgf rv1 hwloc_xml find_expr idset hostlist"}
FUZZ_OUT=${FUZZ_OUT:-target/fuzz}
FUZZ_BUILD=${FUZZ_BUILD:-target/fuzz-build}
FUZZ_MEM=${FUZZ_MEM:-1024}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-1000}
# Absolute, since cargo runs in fuzz/afl.
case "$FUZZ_BUILD" in /*) ;; *) FUZZ_BUILD=$PWD/$FUZZ_BUILD ;; esac
BIN=$FUZZ_BUILD/release

# AFL++ on a shared machine: no CPU pinning (other builds run beside it), no
# checks of CPU frequency or of where the kernel sends core dumps.
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_AUTORESUME=1 AFL_NO_UI=1
# A panic aborts the run at once; a backtrace would only slow each crash.
export RUST_BACKTRACE=0

build() {
  if ! "$CARGO" afl --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-afl"
    "$CARGO" install cargo-afl --locked
  fi
  # Builds AFL++ for this rustc once; says "already built" afterwards.
  mkdir -p "$FUZZ_OUT"
  if ! "$CARGO" afl config --build >"$FUZZ_OUT/afl-config.log" 2>&1; then
    grep -q "already built" "$FUZZ_OUT/afl-config.log" || {
      cat "$FUZZ_OUT/afl-config.log" >&2
      exit 1
    }
  fi
  (cd fuzz/afl && CARGO_TARGET_DIR="$FUZZ_BUILD" "$CARGO" afl build --release --locked)
}

stats() {
  printf '%-13s %12s %9s %8s %6s %8s %8s\n' target execs exec/s run_s inputs crashes hangs
  for t in $FUZZ_TARGETS; do
    f=$FUZZ_OUT/$t/default/fuzzer_stats
    [ -f "$f" ] || { printf '%-13s (not run)\n' "$t"; continue; }
    awk -v t="$t" -F' *: *' '
      { v[$1] = $2 }
      END { printf "%-13s %12d %9.0f %8d %6d %8d %8d\n", t, v["execs_done"],
            v["execs_done"] / (v["run_time"] > 0 ? v["run_time"] : 1), v["run_time"],
            v["corpus_count"], v["saved_crashes"], v["saved_hangs"] }' "$f"
  done
}

run() {
  for t in $FUZZ_TARGETS; do
    [ -x "$BIN/$t" ] || { echo "fuzz: no $BIN/$t; run fuzz/fuzz.sh build" >&2; exit 1; }
    echo "fuzz: $t for $FUZZ_SECONDS s (log: $FUZZ_OUT/$t.log)"
    mkdir -p "$FUZZ_OUT"
    # -V ends the run after that many seconds; -m and -t turn a big
    # allocation or a slow input into a crash or a hang.
    "$CARGO" afl fuzz -i "fuzz/corpus/$t" -o "$FUZZ_OUT/$t" -m "$FUZZ_MEM" \
      -t "$FUZZ_TIMEOUT" -V "$FUZZ_SECONDS" -- "$BIN/$t" >"$FUZZ_OUT/$t.log" 2>&1 || {
      tail -n 30 "$FUZZ_OUT/$t.log" >&2
      exit 1
    }
    for kind in crashes hangs; do
      n=$(find "$FUZZ_OUT/$t/default/$kind" -type f -name 'id:*' 2>/dev/null | wc -l)
      [ "$n" = 0 ] || echo "fuzz: $t: $n $kind in $FUZZ_OUT/$t/default/$kind/"
    done
  done
  stats
}

cmin() {
  for t in $FUZZ_TARGETS; do
    queue=$FUZZ_OUT/$t/default/queue
    [ -d "$queue" ] || continue
    all=$FUZZ_OUT/cmin/$t-all
    min=$FUZZ_OUT/cmin/$t-min
    rm -rf "$all" "$min"
    mkdir -p "$all"
    cp fuzz/corpus/"$t"/* "$all"/
    # The fuzzer's names (id:...,src:...) become names by content.
    find "$queue" -maxdepth 1 -type f -size -4097c -name 'id:*' | while read -r f; do
      cp "$f" "$all/afl-$(sha1sum <"$f" | cut -c1-16)"
    done
    "$CARGO" afl cmin -i "$all" -o "$min" -m "$FUZZ_MEM" -t "$FUZZ_TIMEOUT" -- "$BIN/$t" \
      >"$FUZZ_OUT/cmin/$t.log" 2>&1 || {
      tail -n 30 "$FUZZ_OUT/cmin/$t.log" >&2
      exit 1
    }
    rm -f fuzz/corpus/"$t"/*
    cp "$min"/* fuzz/corpus/"$t"/
    echo "fuzz: $t: $(ls "$all" | wc -l) inputs minimised to $(ls "$min" | wc -l)"
  done
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  cmin) cmin ;;
  stats) stats ;;
  *) echo "usage: fuzz/fuzz.sh build|run|cmin|stats" >&2; exit 2 ;;
esac

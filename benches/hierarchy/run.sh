#!/bin/sh
# Throughput of a tree of instances (schedd --hierarchy) against one flat
# instance, timed on the binaries: the same JOBS one-core 1 s jobs, sim
# executor, wall clock, on a gen-grug recipe (1,024 nodes by default),
# submitted at the root in bulk; the time is from the submit until the
# root counts every job finished. Prints one line per run and a median
# (range) per shape.
#
#   sh benches/hierarchy/run.sh                  # flat, 2 and 2x4, 3 runs
#   JOBS=500000 SHAPES="flat 4" RUNS=5 sh benches/hierarchy/run.sh
#
# Needs target/release/{schedd,schedctl} (cargo build --release) and
# ../shared/bench/gen-grug (or GRUG=recipe.graphml).
set -eu
JOBS=${JOBS:-200000}
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-"flat 2 2x4"}
BIN=${BIN:-target/release}
work=$(mktemp -d /tmp/quiver-hier-bench.XXXXXX)
trap 'pkill -TERM -f "$work/" 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT
GRUG=${GRUG:-}
if [ -z "$GRUG" ]; then
    GRUG=$work/cluster.graphml
    ../shared/bench/gen-grug --racks 4 > "$GRUG"
fi

ctl() { "$BIN/schedctl" --uri "unix:$dir/root.sock" "$@"; }

# Instances in a tree of this shape, the root included.
instances() {
    [ "$1" = flat ] && { echo 1; return; }
    total=1 width=1
    for n in $(echo "$1" | tr x ' '); do
        width=$((width * ${n%%:*}))
        total=$((total + width))
    done
    echo "$total"
}

for shape in $SHAPES; do
    for run in $(seq 1 "$RUNS"); do
        dir=$work/$shape-$run
        mkdir -p "$dir"
        tree=""
        [ "$shape" = flat ] || tree="--hierarchy $shape"
        # shellcheck disable=SC2086
        "$BIN/schedd" --grug "$GRUG" --executor sim --socket "$dir/root.sock" \
            --state-dir "$dir/s" --max-pending $((JOBS + 1)) \
            --max-pending-per-user $((JOBS + 1)) --keep-ended $((JOBS + 1)) $tree 2> "$dir/root.log" &
        pid=$!
        # Ready when every instance of the tree answers.
        want=$(instances "$shape")
        until ctl tree > "$dir/tree" 2>/dev/null && ! grep -q 'not answering' "$dir/tree" \
            && [ "$(grep -c 'unix:' "$dir/tree")" -ge "$want" ]; do
            sleep 0.2
        done
        sleep 1
        t0=$(date +%s.%N)
        ctl submit --cc "1-$JOBS" -n1 -t 1s -- true > /dev/null
        until [ "$(ctl stats | awk '/^finished:/ {print $2}')" -ge "$JOBS" ]; do
            sleep 0.05
        done
        t1=$(date +%s.%N)
        rate=$(awk -v n="$JOBS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
        awk -v s="$shape" -v r="$run" -v n="$JOBS" -v a="$t0" -v b="$t1" \
            'BEGIN { printf "%s run %s: %d jobs in %.2f s = %.0f jobs/s\n", s, r, n, b - a, n / (b - a) }'
        echo "$rate" >> "$work/$shape.rates"
        kill -TERM "$pid"
        wait "$pid" || true
    done
    sort -n "$work/$shape.rates" | awk -v s="$shape" '
        { r[NR] = $1 }
        END { printf "%s: median %.0f jobs/s (%.0f-%.0f), %d runs\n", s, r[int((NR + 1) / 2)], r[1], r[NR], NR }'
done

#!/bin/sh
# Throughput of one level of the tree across two hosts: the root schedd in
# one network namespace, its children in another, joined by a veth pair
# this script makes; the children pull over TCP with mutual TLS (what a
# tree across hosts runs). Same jobs and timing as run.sh (JOBS one-core
# 1 s jobs, sim executor, submitted at the root in bulk; the time is until
# the root counts every job finished), beside a flat instance in the same
# run. Needs root, `ip` (iproute2) and `openssl`; the namespaces go at exit.
#
#   sh benches/hierarchy/netns.sh                 # 2 children, 3 runs
#   CHILDREN=4 JOBS=500000 RUNS=5 sh benches/hierarchy/netns.sh
set -eu
JOBS=${JOBS:-200000}
RUNS=${RUNS:-3}
CHILDREN=${CHILDREN:-2}
NODES=${NODES:-1024}
BIN=$(cd "${BIN:-target/release}" && pwd)
work=$(mktemp -d /tmp/quiver-netns-bench.XXXXXX)
tag=$$
pns=qvb-p-$tag cns=qvb-c-$tag
net=$((tag % 200 + 20))
pip=10.232.$net.1 cip=10.232.$net.2
cleanup() {
    pkill -TERM -f "$work/" 2>/dev/null || true
    sleep 1
    ip netns del "$pns" 2>/dev/null || true
    ip netns del "$cns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
GRUG=${GRUG:-}
if [ -z "$GRUG" ]; then
    GRUG=$work/cluster.graphml
    ../shared/bench/gen-grug --racks $((NODES / 256)) > "$GRUG"
fi

ip netns add "$pns"
ip netns add "$cns"
ip link add "qvbp$tag" type veth peer name "qvbc$tag"
for x in "$pns qvbp$tag $pip" "$cns qvbc$tag $cip"; do
    set -- $x
    ip link set "$2" netns "$1"
    ip -n "$1" addr add "$3/24" dev "$2"
    ip -n "$1" link set "$2" up
    ip -n "$1" link set lo up
done

# A CA, the parent's certificate for its address, one for the children.
(
    cd "$work"
    q() { openssl "$@" > /dev/null 2>&1; }
    q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj /CN=quiver-bench-ca
    printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n' "$pip" > ext.cnf
    for who in server child; do
        q req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key \
            -out $who.csr -subj /CN=$who
        q x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out $who.pem -days 2 -extfile ext.cnf
    done
)

ctl() { "$BIN/schedctl" --uri "unix:$dir/root.sock" "$@"; }

# One timed run: submit, wait until the root counts them all finished.
timed() {
    t0=$(date +%s.%N)
    ctl submit --cc "1-$JOBS" -n1 -t 1s -- true > /dev/null
    until [ "$(ctl stats | awk '/^finished:/ {print $2}')" -ge "$JOBS" ]; do
        sleep 0.05
    done
    t1=$(date +%s.%N)
    awk -v s="$1" -v r="$2" -v n="$JOBS" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%s run %s: %d jobs in %.2f s = %.0f jobs/s\n", s, r, n, b - a, n / (b - a) }'
    awk -v n="$JOBS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }' >> "$work/$1.rates"
}

limits="--max-pending $((JOBS + 1)) --max-pending-per-user $((JOBS + 1)) --keep-ended $((JOBS + 1))"
share=$((NODES / CHILDREN))
for run in $(seq 1 "$RUNS"); do
    # Flat, in the parent's namespace.
    dir=$work/flat-$run
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    ip netns exec "$pns" "$BIN/schedd" --grug "$GRUG" --executor sim \
        --socket "$dir/root.sock" --state-dir "$dir/s" $limits 2> "$dir/root.log" &
    pid=$!
    until ctl status > /dev/null 2>&1; do sleep 0.2; done
    sleep 1
    timed flat "$run"
    kill -TERM "$pid"; wait "$pid" || true

    # The root in one namespace, its children in the other.
    dir=$work/netns-$run
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    ip netns exec "$pns" "$BIN/schedd" --grug "$GRUG" --executor sim \
        --socket "$dir/root.sock" --state-dir "$dir/s" $limits \
        --listen "$pip:7443" --tls-cert "$work/server.pem" --tls-key "$work/server.key" \
        --tls-client-ca "$work/ca.pem" 2> "$dir/root.log" &
    pid=$!
    until ctl status > /dev/null 2>&1; do sleep 0.2; done
    for k in $(seq 1 "$CHILDREN"); do
        mkdir -p "$dir/c$k"
        # shellcheck disable=SC2086
        ip netns exec "$cns" "$BIN/schedd" --parent "https://$pip:7443" \
            --parent-tls-ca "$work/ca.pem" --parent-tls-cert "$work/child.pem" \
            --parent-tls-key "$work/child.key" -N "$share" --pull --executor sim \
            --socket "$dir/c$k/sock" --state-dir "$dir/c$k/s" $limits \
            2> "$dir/c$k/log" &
    done
    until [ "$(ctl leases 2>/dev/null | grep -c '^ *[0-9]')" -ge "$CHILDREN" ]; do sleep 0.2; done
    sleep 1
    timed "netns-$CHILDREN" "$run"
    pkill -TERM -f "$dir/c" || true
    kill -TERM "$pid"; wait "$pid" || true
    sleep 1
done
for s in flat "netns-$CHILDREN"; do
    sort -n "$work/$s.rates" | awk -v s="$s" '
        { r[NR] = $1 }
        END { printf "%s: median %.0f jobs/s (%.0f-%.0f), %d runs\n", s, r[int((NR + 1) / 2)], r[1], r[NR], NR }'
done

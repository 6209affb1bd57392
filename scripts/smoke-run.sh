#!/bin/sh
# The README's run command, checked: starts `./make run` (which installs
# what is missing and builds), waits until the daemon answers `schedctl
# status`, prints that answer, and stops the daemon cleanly (SIGTERM).
# Exits non-zero when the daemon does not answer within the time given
# (seconds, default 1200: a first build on a fresh machine is slow).
#
#   scripts/smoke-run.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
limit=${1:-1200}
bin=${CARGO_TARGET_DIR:-target}/release
state=${XDG_STATE_HOME:-${HOME:-.}/.local/state}/quiver
log=$(mktemp)
./make run >"$log" 2>&1 &
make_pid=$!
stop() {
  # schedd writes its pid to the state directory's lock file.
  pid=$(cat "$state/lock" 2>/dev/null || true)
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  wait "$make_pid" 2>/dev/null || true
}
waited=0
until "$bin/schedctl" status >/dev/null 2>&1; do
  if ! kill -0 "$make_pid" 2>/dev/null; then
    echo "smoke-run: ./make run exited before the daemon answered:" >&2
    tail -n 20 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  if [ "$waited" -ge "$limit" ]; then
    echo "smoke-run: no answer from schedctl status within $limit s:" >&2
    tail -n 20 "$log" >&2
    stop
    rm -f "$log"
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "smoke-run: ./make run answers after ${waited} s; schedctl status says:"
"$bin/schedctl" status
stop
echo "smoke-run: the daemon's last lines:"
tail -n 3 "$log"
rm -f "$log"

#!/usr/bin/env python3
"""Keep N jobs in flight until M have run: the ensemble pattern of MuMMI
and other workflow managers on Flux.

It submits ``--in-flight`` jobs, then each time one of them ends (``wait()``
with no id: the next job of yours to end) submits the next, until
``--jobs`` jobs have ended. It prints one line at the end, and exits 1 if
any job did not succeed.

    python3 examples/ensemble.py --jobs 1000 --in-flight 64 -- hostname
    python3 examples/ensemble.py --uri unix:/tmp/q/schedd.sock --jobs 100

The command (default ``true``) runs as one task of ``--cores`` cores for at
most ``--duration``; ``QUIVER_URI`` or this user's schedd is used unless
``--uri`` says otherwise.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional, Set

import quiver


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=1000, help="jobs to run in all (1000)")
    p.add_argument("--in-flight", type=int, default=64, help="jobs queued or running at once (64)")
    p.add_argument("--uri", default=None, help="the instance (default: QUIVER_URI, else yours)")
    p.add_argument("--cores", type=int, default=1, help="cores per job (1)")
    p.add_argument("--duration", default="1m", help="each job's time limit (1m)")
    p.add_argument("--name", default="ensemble", help="the jobs' name (ensemble)")
    p.add_argument("command", nargs="*", default=["true"], help="what each job runs (true)")
    args = p.parse_args(argv)
    if args.jobs < 1 or args.in_flight < 1:
        p.error("--jobs and --in-flight must be at least 1")
    return args


def run(args: argparse.Namespace) -> int:
    """Run the ensemble; the number of jobs that did not succeed."""
    with quiver.Client(args.uri) as c:

        def submit() -> int:
            return c.submit(
                command=args.command, cores=args.cores, duration=args.duration, name=args.name
            )

        first = min(args.in_flight, args.jobs)
        in_flight: Set[int] = set(c.submit_many(
            [quiver.shorthand(args.command, cores=args.cores, duration=args.duration)] * first,
            name=args.name,
        ))
        submitted, ended, failed = first, 0, 0
        while ended < args.jobs:
            result = c.wait()
            if result.job_id not in in_flight:
                continue  # another job of yours, not this ensemble's
            in_flight.discard(result.job_id)
            ended += 1
            if not result.success:
                failed += 1
                print(f"job {result.job_id}: {result.error}", file=sys.stderr)
            if submitted < args.jobs:
                in_flight.add(submit())
                submitted += 1
    return failed


def main() -> int:
    """Entry point: exit 0 when every job succeeded."""
    args = parse_args()
    started = time.monotonic()
    failed = run(args)
    secs = time.monotonic() - started
    print(
        f"ensemble: {args.jobs} jobs, {args.in_flight} in flight, {failed} failed, "
        f"{secs:.1f} s ({args.jobs / secs:.0f} jobs/s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""examples/ensemble.py runs 1,000 real jobs (``true``, with schedd's
local executor) to the end, 32 in flight, in a few seconds."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import quiver

from conftest import REPO, start_schedd

EXAMPLE = REPO / "python" / "examples" / "ensemble.py"


def test_ensemble_runs_a_thousand_jobs(tmp_path: Path) -> None:
    d = start_schedd(tmp_path, "--executor", "local")
    try:
        out = subprocess.run(
            [sys.executable, str(EXAMPLE), "--uri", d.uri, "--jobs", "1000",
             "--in-flight", "32", "--", "true"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr + d.log_text()[-2000:]
        assert out.stdout.startswith("ensemble: 1000 jobs, 32 in flight, 0 failed"), out.stdout
        with quiver.Client(d.uri) as c:
            jobs = c.jobs(name="ensemble")
        assert len(jobs) == 1000
        assert all(j.state == quiver.JobState.FINISHED for j in jobs)
    finally:
        d.stop()

"""Fixtures: a real schedd (on the four-node recipe of schedd's own tests)
in a fresh directory, and clients of it.

The binaries come from ``$QUIVER_BIN_DIR``, else the release build of the
checkout (``$CARGO_TARGET_DIR/release`` or ``target/release``); ``make
test`` builds them first.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest

import quiver

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "schedd" / "tests" / "data" / "four-nodes.yaml"


def bin_dir() -> Path:
    """Where schedd and schedctl are."""
    given = os.environ.get("QUIVER_BIN_DIR")
    if given:
        return Path(given)
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "release"


def schedctl(uri: str, *args: str) -> subprocess.CompletedProcess:
    """Run schedctl against ``uri``."""
    return subprocess.run(
        [str(bin_dir() / "schedctl"), "--uri", uri, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@dataclass
class Daemon:
    """A running schedd."""

    proc: subprocess.Popen
    dir: Path
    socket: Path
    log: Path

    @property
    def uri(self) -> str:
        """Its Unix socket's URI."""
        return f"unix:{self.socket}"

    def log_text(self) -> str:
        """What it logged."""
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, then its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_schedd(dir: Path, *args: str) -> Daemon:
    """Start schedd on the four-node recipe with ``args`` (a socket and a
    state directory in ``dir``), and wait until it answers."""
    dir.mkdir(parents=True, exist_ok=True)
    sock = dir / "schedd.sock"
    log = dir / "schedd.log"
    cmd: List[str] = [
        str(bin_dir() / "schedd"),
        "--grug",
        str(RECIPE),
        "--socket",
        str(sock),
        "--state-dir",
        str(dir / "state"),
        *args,
    ]
    return launch(cmd, dir, sock, log)


def launch(cmd: List[str], dir: Path, sock: Path, log: Path) -> Daemon:
    """Run the schedd command ``cmd`` (serving on ``sock``, logging to
    ``log``) and wait until it answers."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out)
    d = Daemon(proc=proc, dir=dir, socket=sock, log=log)
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"schedd exited ({proc.returncode}): {d.log_text()}")
        if sock.exists():
            try:
                with quiver.Client(d.uri, connect_timeout=1) as c:
                    c.status()
                return d
            except quiver.QuiverError:
                pass
        if time.monotonic() > deadline:
            d.stop()
            raise RuntimeError(f"schedd not ready: {d.log_text()}")
        time.sleep(0.02)


@pytest.fixture
def schedd(tmp_path: Path) -> Iterator[Daemon]:
    """A schedd with the simulated executor and clock: jobs start at once
    when they fit and end only when the test advances the clock."""
    d = start_schedd(tmp_path, "--executor", "sim", "--clock", "sim")
    yield d
    d.stop()


@pytest.fixture
def client(schedd: Daemon) -> Iterator[quiver.Client]:
    """A blocking client of ``schedd``."""
    with quiver.Client(schedd.uri) as c:
        yield c


#: A one-core jobspec of 10 s, in YAML (RFC 14 version 9999).
YAML_JOB = """\
version: 9999
resources:
  - type: slot
    count: 1
    label: task
    with:
      - type: core
        count: 1
attributes:
  system:
    duration: 10
tasks:
  - command: ["app"]
    slot: task
    count:
      per_slot: 1
"""

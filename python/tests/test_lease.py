"""Nested instances from Python: a parent schedd and a child (``schedd
--parent``) as real processes; the client grows and shrinks the child
and reads the leases at both ends."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest

import quiver
import quiver.aio
from conftest import Daemon, bin_dir, launch, start_schedd


def start_child(dir: Path, parent: Daemon, *args: str) -> Daemon:
    """A child of ``parent`` (sim executor), once it answers."""
    dir.mkdir(parents=True, exist_ok=True)
    sock, log = dir / "schedd.sock", dir / "schedd.log"
    cmd = [
        str(bin_dir() / "schedd"),
        "--parent", parent.uri,
        "--socket", str(sock),
        "--state-dir", str(dir / "state"),
        "--executor", "sim",
        *args,
    ]
    return launch(cmd, dir, sock, log)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Tuple[Daemon, Daemon]]:
    """A parent on the four-node recipe and a child holding one node."""
    parent = start_schedd(tmp_path / "parent", "--executor", "sim")
    child = start_child(tmp_path / "child", parent, "-N", "1")
    yield parent, child
    child.stop()
    parent.stop()


def test_grow_and_shrink_a_child(pair: Tuple[Daemon, Daemon]) -> None:
    parent, child = pair
    with quiver.Client(child.uri) as c, quiver.Client(parent.uri) as p:
        assert c.status().nodes == 1
        grown = c.grow(nodes=2)
        assert grown.epoch == 2 and len(grown.paths) == 2 and grown.vertices == 22
        assert c.status().nodes == 3
        mine = c.lease()
        (theirs,) = p.leases()
        assert mine.id == theirs.id and set(mine.paths) == set(theirs.paths)
        assert len(theirs.paths) == 3 and theirs.epoch == 2
        # Where the child serves, to walk down to it.
        assert theirs.uri == child.uri and theirs.handed == 0
        # A drain of idle paths gives them back at once.
        shrunk = c.shrink(grown.paths, drain=True)
        assert shrunk.epoch == 3 and shrunk.vertices == 22 and shrunk.paths == grown.paths
        assert c.status().nodes == 1
        assert p.leases()[0].epoch == 3


def test_refusals_raise_with_the_reason(pair: Tuple[Daemon, Daemon]) -> None:
    parent, child = pair
    with quiver.Client(child.uri) as c:
        with pytest.raises(quiver.FailedPrecondition, match="unsatisfiable"):
            c.grow(nodes=9)
        with pytest.raises(quiver.ResourceExhausted, match="busy"):
            c.grow(nodes=4)
        with pytest.raises(quiver.NotFound):
            c.shrink(["/four0/node9"])
        with pytest.raises(quiver.UsageError):
            c.grow()
        with pytest.raises(quiver.UsageError):
            c.shrink()
        with pytest.raises(quiver.UsageError, match="need paths"):
            c.shrink(idle=1, drain=True)
        with pytest.raises(quiver.UsageError, match="not both"):
            c.shrink(["/four0/node1"], drain=True, requeue=True)
    with quiver.Client(parent.uri) as p:
        with pytest.raises(quiver.QuiverError):
            p.grow(nodes=1)


def test_the_asyncio_client_grows_and_shrinks_too(pair: Tuple[Daemon, Daemon]) -> None:
    parent, child = pair

    async def run() -> None:
        async with quiver.aio.Client(child.uri) as c:
            g = await c.grow(nodes=1)
            assert len(g.paths) == 1
            assert len((await c.lease()).paths) == 2
            s = await c.shrink(g.paths)
            assert s.paths == g.paths
        async with quiver.aio.Client(parent.uri) as p:
            assert len((await p.leases())[0].paths) == 1

    asyncio.run(run())


def test_an_instance_job_is_a_child_on_its_own_allocation(tmp_path: Path) -> None:
    parent = start_schedd(tmp_path / "parent", "--executor", "local")
    try:
        with quiver.Client(parent.uri) as p:
            job = p.submit(instance=True, nodes=2, duration=60, command=["--executor", "sim"])
            sock = tmp_path / "parent" / "state" / "jobs" / f"{job}.instance" / "schedd.sock"
            deadline = time.monotonic() + 15
            while True:
                try:
                    with quiver.Client(f"unix:{sock}", connect_timeout=1) as c:
                        assert c.status().nodes == 2
                        assert len(c.lease().paths) == 2
                    break
                except quiver.QuiverError:
                    assert time.monotonic() < deadline, parent.log_text()
                    time.sleep(0.1)
            (lease,) = p.leases()
            assert lease.grants == [job] and lease.child.startswith(f"job {job} ")
            p.cancel(job)
            while p.leases():
                assert time.monotonic() < deadline, parent.log_text()
                time.sleep(0.1)
    finally:
        parent.stop()

"""Cloud burst from Python: a real schedd with a simulated cloud pool; the
client adds burst nodes, runs a job there, reads the pools and nodes,
removes nodes (requeueing their jobs) and gets the refusals as
exceptions; the asyncio client too."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import quiver
import quiver.aio
from conftest import REPO, Daemon, start_schedd

SHAPE = REPO / "grugs" / "cloud-node.yaml"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Daemon]:
    """A schedd on four nodes without GPUs, with a pool of up to 2 cloud
    nodes (2 GPUs each) that come up after 1 s."""
    d = start_schedd(
        tmp_path,
        "--executor", "sim",
        "--burst-provider", "sim",
        "--burst-shape", str(SHAPE),
        "--burst-max", "2",
        "--burst-sim-delay", "1",
        "--burst-idle", "1h",
    )
    yield d
    d.stop()


def until(what: Callable[[], bool], secs: float = 20) -> None:
    deadline = time.monotonic() + secs
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_burst_nodes_come_up_run_a_job_and_go(cloud: Daemon) -> None:
    with quiver.Client(cloud.uri) as c:
        b = c.bursts()
        assert [p.name for p in b.pools] == ["cloud"]
        assert b.pools[0].provider == "sim" and b.pools[0].cost_per_hour == 0.5
        assert b.nodes == []
        paths = c.burst(1)
        assert len(paths) == 1 and paths[0].startswith("/four0/cloud0/")
        assert c.bursts().nodes[0].state == "provisioning"
        until(lambda: c.bursts().nodes[0].state == "up")
        job = c.submit(command=["true"], tasks=1, gpus=1, duration="1h")
        until(lambda: c.info(job).state == quiver.JobState.RUNNING)
        node = c.bursts().nodes[0]
        assert node.jobs == [job]
        # Busy: refused naming the job, unless the job is requeued.
        with pytest.raises(quiver.FailedPrecondition, match=f"jobs {job}"):
            c.burst_remove([node.name])
        assert c.burst_remove([node.name], requeue=True) == [job]
        assert c.bursts().nodes == []
        assert c.info(job).state == quiver.JobState.PENDING


def test_refusals_raise_with_the_reason(cloud: Daemon, tmp_path: Path) -> None:
    with quiver.Client(cloud.uri) as c:
        with pytest.raises(quiver.FailedPrecondition, match="maximum"):
            c.burst(3)
        with pytest.raises(quiver.NotFound, match="moon"):
            c.burst(1, pool="moon")
        with pytest.raises(quiver.InvalidArgument, match="must be a node"):
            c.burst(1, shape="root:\n  type: rack\n  with:\n    - { type: node }\n")
        with pytest.raises(quiver.NotFound, match="not a burst node"):
            c.burst_remove(["nowhere0"])


def test_a_burst_of_another_shape_holds_what_the_pool_cannot(cloud: Daemon) -> None:
    shape = SHAPE.read_text().replace("count: 16", "count: 64")
    with quiver.Client(cloud.uri) as c:
        # 40 cores on one node: not on-prem (8 a node), not the pool's
        # 32-core nodes: refused; a burst of a bigger shape holds it.
        with pytest.raises(quiver.FailedPrecondition, match="unsatisfiable"):
            c.submit(command=["true"], nodes=1, cores=40, duration="1h")
        c.burst(1, shape=shape)
        job = c.submit(command=["true"], nodes=1, cores=40, duration="1h")
        until(lambda: c.info(job).state == quiver.JobState.RUNNING)


def test_the_asyncio_client_bursts_too(cloud: Daemon) -> None:
    async def go() -> None:
        async with quiver.aio.Client(cloud.uri) as c:
            paths = await c.burst(2)
            assert len(paths) == 2
            b = await c.bursts()
            assert sorted(n.path for n in b.nodes) == sorted(paths)
            assert await c.burst_remove(paths) == []
            assert (await c.bursts()).nodes == []

    asyncio.run(go())

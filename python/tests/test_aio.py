"""The asyncio client against a real schedd (simulated executor and
clock): the same calls as the blocking client, as coroutines."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

import grpc
import pytest

import quiver
import quiver.aio
from quiver import EventKind, JobState

from conftest import YAML_JOB, Daemon

T = TypeVar("T")


def run(schedd: Daemon, body: Callable[[quiver.aio.Client], Awaitable[T]]) -> T:
    """Run ``body`` with a connected asyncio client of ``schedd``."""

    async def main() -> T:
        async with quiver.aio.Client(schedd.uri) as c:
            return await body(c)

    return asyncio.run(main())


def test_submit_wait_for_the_next_job_and_by_id(schedd: Daemon) -> None:
    async def body(c: quiver.aio.Client) -> None:
        ids = [await c.submit(command="app", duration=d) for d in (10, 20)]
        assert (await c.info(ids[0])).duration == 10
        await c.advance(10)
        r = await c.wait(timeout=10)
        assert (r.job_id, r.success, r.error) == (ids[0], True, "")
        waiter = asyncio.ensure_future(c.wait(ids[1], timeout=10))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        await c.advance(10)
        assert (await waiter).job_id == ids[1]
        # Waited for by id: not returned again.
        with pytest.raises(quiver.Timeout):
            await c.wait(timeout=0.2)

    run(schedd, body)


def test_watch_and_jobs(schedd: Daemon) -> None:
    async def body(c: quiver.aio.Client) -> None:
        async with await c.watch() as events:
            job = await c.submit(YAML_JOB, name="aio")
            await c.advance(10)
            kinds = []
            async for ev in events:
                kinds.append(ev.kind)
                if ev.state.ended:
                    break
        assert kinds[0] == EventKind.SUBMIT and kinds[-1] == EventKind.FINISH
        assert [j.job_id for j in await c.jobs([JobState.FINISHED], name="aio")] == [job]
        assert [e.kind async for e in await c.watch(job)] == [EventKind.FINISH]

    run(schedd, body)


def test_submit_many_cancel_and_errors(schedd: Daemon) -> None:
    async def body(c: quiver.aio.Client) -> None:
        specs = [quiver.shorthand(["app"], duration=d) for d in range(1, 701)]
        ids = await c.submit_many(specs)
        assert [(await c.info(i)).duration for i in ids[:5]] == [1, 2, 3, 4, 5]
        assert len(set(ids)) == 700
        with pytest.raises(quiver.BulkSubmitError) as e:
            await c.submit_many([YAML_JOB, "not: a jobspec"])
        assert e.value.job_ids == [None, None] and "jobs[1]" in e.value.message
        assert (await c.cancel(ids[0])) in (JobState.PENDING, JobState.RUNNING)
        r = await c.wait(ids[0])
        assert not r.success and r.state == JobState.CANCELED
        outcomes = await c.cancel_many([ids[0], ids[1]])
        assert outcomes[0].error and not outcomes[1].error
        with pytest.raises(quiver.NotFound) as nf:
            await c.info(99999)
        assert nf.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(quiver.FailedPrecondition):
            await c.submit(command="app", nodes=5)
        with pytest.raises(quiver.InvalidArgument):
            await c.watch(1, mine=True)
        assert (await c.status()).nodes == 4

    run(schedd, body)


def test_connect_errors(tmp_path) -> None:
    async def main() -> None:
        with pytest.raises(quiver.ConnectError, match="is schedd running"):
            async with quiver.aio.Client(f"unix:{tmp_path}/none.sock"):
                pass

    asyncio.run(main())

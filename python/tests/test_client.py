"""The blocking client against a real schedd (simulated executor and
clock): submit, info, jobs, wait by id and for the next job, watch, bulk
submit, cancel, dependencies, and errors with their codes."""
from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Tuple

import grpc
import pytest

import quiver
from quiver import EventKind, JobState

from conftest import YAML_JOB, Daemon, schedctl


def test_submit_info_and_jobs(client: quiver.Client) -> None:
    a = client.submit(YAML_JOB, name="yaml")
    b = client.submit(command=["app", "x"], tasks=2, cores=2, duration="30s", name="short")
    assert b == a + 1
    job = client.info(b)
    assert job.job_id == b and job.name == "short"
    assert job.duration == 30
    assert job.state in (JobState.PENDING, JobState.RUNNING)
    assert '"command":["app","x"]' in job.jobspec
    assert [j.job_id for j in client.jobs(name="yaml")] == [a]
    assert {j.job_id for j in client.jobs()} == {a, b}
    assert client.status().clock == "sim"


def test_the_shorthand_is_the_jobspec_schedctl_sends(schedd: Daemon, client: quiver.Client) -> None:
    cases: List[Tuple[List[str], Dict[str, Any]]] = [
        (["-N", "2", "-n", "3", "-c", "2", "-t", "5m"], dict(nodes=2, tasks=3, cores=2, duration="5m")),
        (["-N", "1", "-x"], dict(nodes=1, exclusive=True)),
        (["-n", "4"], dict(tasks=4)),
    ]
    for flags, shape in cases:
        out = schedctl(schedd.uri, "submit", *flags, "--", "app", "a b", "é")
        assert out.returncode == 0, out.stderr
        theirs = client.info(int(out.stdout)).jobspec
        ours = client.info(client.submit(command=["app", "a b", "é"], **shape)).jobspec
        assert ours == theirs


def test_wait_for_a_job_by_id(client: quiver.Client) -> None:
    job = client.submit(YAML_JOB)
    threading.Timer(0.2, client.advance, args=(10,)).start()
    r = client.wait(job, timeout=20)
    assert (r.job_id, r.success, r.error, r.state) == (job, True, "", JobState.FINISHED)
    # Once ended, at once.
    assert client.wait(job).success
    with pytest.raises(quiver.NotFound):
        client.wait(9999)


def test_wait_for_the_next_job_of_mine(client: quiver.Client) -> None:
    ids = [client.submit(command="app", duration=d) for d in (10, 20, 30)]
    client.advance(15)
    assert client.wait(timeout=10).job_id == ids[0]
    client.advance(100)
    # Both ended while nobody waited: they come in the order they ended.
    assert [client.wait(timeout=10).job_id for _ in range(2)] == ids[1:]
    with pytest.raises(quiver.Timeout) as e:
        client.wait(timeout=0.2)
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert isinstance(e.value, TimeoutError)


def test_a_job_waited_for_by_id_is_not_returned_again(client: quiver.Client) -> None:
    first = client.submit(command="app", duration=10)
    second = client.submit(command="app", duration=20)
    client.advance(10)
    assert client.wait(first).success
    client.advance(10)
    assert client.wait(timeout=10).job_id == second


def test_wait_tells_cancels_and_failures(client: quiver.Client) -> None:
    job = client.submit(YAML_JOB)
    assert client.cancel(job) in (JobState.PENDING, JobState.RUNNING)
    r = client.wait()
    assert (r.job_id, r.success, r.state) == (job, False, JobState.CANCELED)
    assert "canceled" in r.error
    r = client.wait(job)
    assert not r.success and "canceled" in r.error
    with pytest.raises(quiver.FailedPrecondition):
        client.cancel(job)


def test_watch_streams_a_jobs_events(client: quiver.Client) -> None:
    with client.watch() as everything:
        job = client.submit(YAML_JOB)
        client.advance(10)
        kinds = []
        for ev in everything:
            assert ev.job_id == job
            kinds.append(ev.kind)
            if ev.state.ended:
                break
    assert kinds == [
        EventKind.SUBMIT,
        EventKind.DEPEND,
        EventKind.ALLOC,
        EventKind.START,
        EventKind.FINISH,
    ]
    # One job's watch starts with where it stands and ends with it.
    events = list(client.watch(job))
    assert [(e.kind, e.state) for e in events] == [(EventKind.FINISH, JobState.FINISHED)]
    other = client.submit(YAML_JOB)
    with client.watch(kinds=[EventKind.FINISH], mine=True) as ends:
        client.advance(10)
        ev = next(ends)
    assert (ev.job_id, ev.kind, ev.time) == (other, EventKind.FINISH, 20)


def test_submit_many_returns_each_jobspecs_id_in_order(client: quiver.Client) -> None:
    # Each job's duration tells its jobspec; the ids of one call follow on.
    specs = [quiver.shorthand(["app"], duration=d) for d in range(1, 601)]
    ids = client.submit_many(specs, name="bulk")
    assert ids == list(range(ids[0], ids[0] + 600))
    assert [client.info(i).duration for i in ids] == list(range(1, 601))
    assert len(client.jobs(name="bulk")) == 600
    more = client.submit_many([YAML_JOB, quiver.shorthand(["app"], tasks=2)])
    assert client.info(more[1]).jobspec == quiver.shorthand_text(["app"], tasks=2)
    assert client.info(more[0]).jobspec == YAML_JOB


def test_submit_many_cuts_calls_and_keeps_the_order(client: quiver.Client) -> None:
    # Past one call's job count: two calls, one order.
    n = quiver._calls.CALL_JOBS + 5
    ids = client.submit_many([YAML_JOB] * n, name="cut")
    assert ids == list(range(ids[0], ids[0] + n))
    assert len(client.jobs(name="cut")) == n


def test_submit_many_is_all_or_nothing(client: quiver.Client) -> None:
    before = len(client.jobs())
    with pytest.raises(quiver.BulkSubmitError) as e:
        client.submit_many([YAML_JOB, "version: 9999\nresources: 7\n", YAML_JOB])
    results = e.value.results
    assert all(isinstance(r, quiver.InvalidArgument) for r in results)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "jobs[1]" in e.value.message and "resources" in e.value.message
    assert e.value.job_ids == [None, None, None]
    assert len(client.jobs()) == before


def test_cancel_many(client: quiver.Client) -> None:
    ids = client.submit_many([YAML_JOB] * 3)
    outcomes = client.cancel_many(ids + [9999])
    assert [o.job_id for o in outcomes] == ids + [9999]
    assert all(o.error == "" for o in outcomes[:3])
    assert "9999" in outcomes[3].error


def test_errors_carry_the_code_and_the_servers_message(client: quiver.Client) -> None:
    with pytest.raises(quiver.NotFound) as e:
        client.info(4242)
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    assert "4242" in e.value.message
    assert str(e.value) == f"{e.value.message} (NOT_FOUND)"
    with pytest.raises(quiver.FailedPrecondition):
        client.submit(command="app", nodes=5)  # four nodes only
    with pytest.raises(quiver.InvalidArgument) as e:
        client.submit("version: 9999\nresources: []\n")
    assert e.value.message
    with pytest.raises(quiver.UsageError):
        client.submit(YAML_JOB, command="app")
    with pytest.raises(quiver.UsageError):
        client.submit(YAML_JOB, nodes=1)
    with pytest.raises(quiver.UsageError):
        client.submit()
    with pytest.raises(quiver.InvalidArgument):
        client.watch(1, mine=True)


def test_a_dependent_job_waits_for_its_dependency(client: quiver.Client) -> None:
    first = client.submit(command="app", duration=10)
    second = client.submit(command="app", duration=10, dependencies=[f"afterok:{first}"])
    job = client.info(second)
    assert job.state == JobState.DEPEND
    assert f"afterok:{first}" in job.reason
    assert f'{{"scheme":"afterok","value":"{first}"}}' in job.jobspec
    assert [j.job_id for j in client.jobs([JobState.DEPEND])] == [second]
    client.advance(10)
    assert client.wait(first).success
    assert client.info(second).state == JobState.RUNNING
    client.advance(10)
    assert client.wait(second).success


def test_a_dependency_that_can_never_be_met_fails_the_job(client: quiver.Client) -> None:
    spec = quiver.jobspec.shorthand("app", duration=100)
    first = client.submit(spec)
    second = client.submit(spec, dependencies=[f"afterok:{first}"])
    third = client.submit(spec, dependencies=[f"afternotok:{first}"])
    assert "dependencies" not in spec["attributes"]["system"]
    client.cancel(first)
    r = client.wait(second, timeout=10)
    assert (r.success, r.state) == (False, JobState.FAILED)
    assert f"afterok:{first} can never be met" in r.error
    assert client.info(third).state == JobState.RUNNING


def test_bad_dependencies_are_refused_and_queue_nothing(client: quiver.Client) -> None:
    before = client.status().pending
    with pytest.raises(quiver.InvalidArgument) as e:
        client.submit(command="app", dependencies=["afterok:9999"])
    assert "9999" in str(e.value)
    with pytest.raises(quiver.InvalidArgument) as e:
        client.submit(command="app", dependencies=["afterlunch:1"])
    assert "afterlunch" in str(e.value)
    with pytest.raises(quiver.UsageError):
        client.submit(YAML_JOB, dependencies=["singleton"])
    with pytest.raises(quiver.UsageError):
        client.submit(command="app", dependencies="afterok:1")  # type: ignore[arg-type]
    assert client.status().pending == before
    assert client.jobs() == []


def test_a_stopped_instance_ends_the_wait(schedd: Daemon) -> None:
    with quiver.Client(schedd.uri) as c:
        c.submit(YAML_JOB)
        threading.Timer(0.2, schedd.stop).start()
        started = time.monotonic()
        with pytest.raises(quiver.Unavailable):
            c.wait(timeout=20)
        assert time.monotonic() - started < 15

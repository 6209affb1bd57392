"""Job output through the client, against a real schedd running jobs as
processes (the local executor): ``output`` reads what a job wrote,
``follow`` streams it while the job runs, ``submit(output=, error=)``
sends it to files of the caller's choosing; the asyncio client too."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

import quiver
import quiver.aio
from quiver import JobState

from conftest import Daemon, start_schedd


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Daemon]:
    """A schedd that runs jobs as processes of this host."""
    d = start_schedd(tmp_path, "--executor", "local")
    yield d
    d.stop()


def split(chunks: List[quiver.OutputChunk]) -> Tuple[str, str]:
    out = b"".join(c.data for c in chunks if c.stream == "stdout")
    err = b"".join(c.data for c in chunks if c.stream == "stderr")
    return out.decode(), err.decode()


def test_output_reads_stdout_and_stderr(local: Daemon) -> None:
    with quiver.Client(local.uri) as c:
        job = c.submit(command=["sh", "-c", "echo out; echo err >&2"], duration=60)
        assert c.wait(job, timeout=30).success
        assert split(list(c.output(job))) == ("out\n", "err\n")


def test_follow_streams_until_the_job_ends(local: Daemon) -> None:
    with quiver.Client(local.uri) as c:
        job = c.submit(command=["sh", "-c", "echo a; sleep 0.5; echo b"], duration=60)
        got = list(c.output(job, follow=True))
        assert split(got) == ("a\nb\n", "")
        assert c.info(job).state == JobState.FINISHED


def test_output_files_with_the_job_id(local: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with quiver.Client(local.uri) as c:
        job = c.submit(
            command=["sh", "-c", "echo o; echo e >&2"],
            duration=60,
            output="o-{{id}}.txt",
            error="e-{{id}}.txt",
        )
        assert c.wait(job, timeout=30).success
        assert (tmp_path / f"o-{job}.txt").read_text() == "o\n"
        assert (tmp_path / f"e-{job}.txt").read_text() == "e\n"
        assert split(list(c.output(job))) == ("o\n", "e\n")
        spec = json.loads(c.info(job).jobspec)
        out = spec["attributes"]["system"]["shell"]["options"]["output"]
        assert out["stdout"] == {"type": "file", "path": str(tmp_path / "o-{{id}}.txt")}


def test_output_errors_carry_the_code(local: Daemon) -> None:
    with quiver.Client(local.uri) as c:
        with pytest.raises(quiver.NotFound, match="no job 4242"):
            list(c.output(4242))
        with pytest.raises(quiver.InvalidArgument, match="unknown tag"):
            c.submit(command="true", output="/tmp/{{who}}.log")
        with pytest.raises(quiver.UsageError):
            list(c.output(0))
        with pytest.raises(quiver.UsageError, match="write it in YAML text"):
            c.submit("version: 1\n", output="x.log")


def test_a_sim_instance_has_no_output(client: quiver.Client) -> None:
    job = client.submit(command="app", duration=10)
    with pytest.raises(quiver.FailedPrecondition, match="runs no processes"):
        list(client.output(job))


def test_the_asyncio_client_reads_and_follows_output(local: Daemon) -> None:
    async def main() -> Tuple[str, str]:
        async with quiver.aio.Client(local.uri) as c:
            job = await c.submit(command=["sh", "-c", "echo x; sleep 0.3; echo y >&2"], duration=60)
            chunks = [ch async for ch in c.output(job, follow=True)]
            with pytest.raises(quiver.NotFound):
                async for _ in c.output(999):
                    pass
            return split(chunks)

    assert asyncio.run(main()) == ("x\n", "y\n")

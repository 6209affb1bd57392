"""The requests both clients send, built from their arguments in one
place, so the sync and asyncio clients cannot drift apart."""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union, cast

from . import jobspec as js
from ._pb import lpb, pb
from .errors import UsageError
from .types import END_KINDS, EventKind, JobState

#: A jobspec: YAML or JSON text, or a mapping sent as JSON.
Jobspec = Union[str, Mapping[str, Any]]

#: Cancel ids one call carries at most (the server's limit).
MAX_CANCEL_IDS = 65_536

#: Jobs one bulk Submit call carries at most (the server takes 100,000).
CALL_JOBS = 10_000

#: Jobspec and name bytes one bulk Submit call carries at most, well under
#: the server's default message limit (4 MiB); a larger job goes alone.
CALL_BYTES = 1 << 20


def submit_request(
    jobspec: Optional[Jobspec],
    command: Optional[js.Command],
    name: str,
    shape: Mapping[str, Any],
    dependencies: Sequence[str] = (),
    output: Optional[str] = None,
    error: Optional[str] = None,
) -> Any:
    """The SubmitRequest of ``submit``: a jobspec, or a command and a shape,
    with ``dependencies`` (RFC 26 URIs) and the ``output``/``error`` files
    added to it."""
    shaped = {k: v for k, v in shape.items() if v is not None and v is not False}
    if jobspec is not None and command is not None:
        raise UsageError("submit takes a jobspec or a command, not both")
    if jobspec is not None:
        if shaped:
            raise UsageError(
                f"{', '.join(sorted(shaped))} shape a command, not a jobspec"
            )
        text = js.with_dependencies(jobspec, dependencies)
    elif command is not None or shaped.get("instance"):
        text = js.with_dependencies(js.shorthand(command or (), **shaped), dependencies)
    else:
        raise UsageError("submit needs a jobspec or a command")
    return pb.SubmitRequest(jobspec=js.with_output(text, output, error), name=name)


def output_request(job_id: int, follow: bool) -> Any:
    """The OutputRequest of ``output``."""
    if not isinstance(job_id, int) or job_id <= 0:
        raise UsageError(f"a job id is a positive integer, not {job_id!r}")
    return pb.OutputRequest(job_id=job_id, follow=bool(follow))


def submit_calls(jobspecs: Iterable[Jobspec], name: str) -> List[Any]:
    """The bulk SubmitRequests of ``submit_many``, in order: at most
    CALL_JOBS jobs and about CALL_BYTES each."""
    calls: List[Any] = []
    jobs: List[Any] = []
    size = 0
    for j in jobspecs:
        text = js.to_text(j)
        n = len(text.encode()) + len(name.encode())
        if jobs and (len(jobs) == CALL_JOBS or size + n > CALL_BYTES):
            calls.append(pb.SubmitRequest(jobs=jobs))
            jobs, size = [], 0
        jobs.append(pb.Submission(jobspec=text, name=name))
        size += n
    if jobs:
        calls.append(pb.SubmitRequest(jobs=jobs))
    return calls


def refused(results: List[Any], calls: Sequence[Any], error: Any) -> None:
    """Mark every job of ``calls`` (the refused call and those never sent)
    as refused by ``error`` in ``results``."""
    results.extend(error for c in calls for _ in c.jobs)


def _ints(values: Optional[Iterable[Any]]) -> Any:
    """Enum values as the ints the messages hold (the stubs name the
    generated enums, which ours mirror)."""
    return cast(Any, [int(v) for v in values or ()])


def list_request(
    states: Optional[Iterable[JobState]], name: Optional[str], limit: int
) -> Any:
    """The ListRequest of ``jobs``."""
    return pb.ListRequest(
        states=_ints(states), name=name or "", limit=limit
    )


def watch_request(
    job_id: Optional[int], kinds: Optional[Iterable[EventKind]], mine: bool
) -> Any:
    """The WatchRequest of ``watch``."""
    return pb.WatchRequest(
        job_id=job_id or 0, kinds=_ints(kinds), mine=mine
    )


def wait_request(job_id: int) -> Any:
    """The WatchRequest that ends with job ``job_id``'s end."""
    return pb.WatchRequest(
        job_id=job_id, kinds=_ints(END_KINDS), max_events=1
    )


def ends_request() -> Any:
    """The WatchRequest of the caller's job ends, which ``wait()`` reads."""
    return pb.WatchRequest(kinds=_ints(END_KINDS), mine=True)


def cancel_chunks(job_ids: Sequence[int]) -> List[Any]:
    """The CancelRequests of ``cancel_many``: the ids, a chunk per call."""
    return [
        pb.CancelRequest(job_ids=list(job_ids[i : i + MAX_CANCEL_IDS]))
        for i in range(0, len(job_ids), MAX_CANCEL_IDS)
    ]


def advance_request(seconds: js.Duration) -> Any:
    """The AdvanceRequest of ``advance``."""
    secs = js.parse_duration(seconds)
    if secs <= 0:
        raise UsageError("advance: seconds must be > 0")
    return pb.AdvanceRequest(seconds=secs)


def grow_request(
    jobspec: Optional[Jobspec], nodes: Optional[int], cores: Optional[int], gpus: Optional[int]
) -> Any:
    """The ChildGrowRequest of ``grow``: a jobspec, or a shape as ``schedctl
    grow -N/-c/-g`` builds it (whole nodes; or cores anywhere; or cores and
    GPUs together)."""
    shaped = any(n for n in (nodes, cores, gpus))
    if jobspec is not None:
        if shaped:
            raise UsageError("grow takes a jobspec or nodes/cores/gpus, not both")
        return lpb.ChildGrowRequest(jobspec=js.to_text(jobspec))
    if not shaped:
        raise UsageError("grow needs nodes, cores or gpus, or a jobspec")
    for key, n in (("nodes", nodes), ("cores", cores), ("gpus", gpus)):
        if n is not None and n < 0:
            raise UsageError(f"grow: {key} must be >= 0")
    n, c, g = nodes or 0, cores or 0, gpus or 0
    if n == 0 and g == 0:
        slot: Any = {"type": "slot", "count": max(c, 1), "label": "lease",
                     "with": [{"type": "core", "count": 1}]}
    else:
        inner: List[Any] = [{"type": "core", "count": max(c, 1)}]
        if g and not n:
            inner.append({"type": "gpu", "count": g})
        slot = {"type": "slot", "count": 1, "label": "lease", "with": inner}
    resources = (
        [{"type": "node", "count": n, "exclusive": True, "with": [slot]}] if n else [slot]
    )
    spec = {
        "version": 1,
        "resources": resources,
        "tasks": [{"command": ["quiver-lease"], "slot": "lease", "count": {"per_slot": 1}}],
        "attributes": {"system": {}},
    }
    return lpb.ChildGrowRequest(jobspec=js.to_text(spec))


def shrink_request(
    paths: Optional[Sequence[str]],
    idle: Optional[int],
    type: str,
    drain: bool = False,
    requeue: bool = False,
) -> Any:
    """The ChildShrinkRequest of ``shrink``: paths, or a number of idle
    vertices of ``type``; ``drain`` (paths only) waits for their jobs,
    ``requeue`` (paths only) puts them back in the queue."""
    if paths and idle:
        raise UsageError("shrink takes paths or idle, not both")
    if not paths and not idle:
        raise UsageError("shrink needs paths or idle")
    if idle is not None and idle < 0:
        raise UsageError("shrink: idle must be >= 0")
    if (drain or requeue) and not paths:
        raise UsageError("shrink: drain and requeue need paths")
    if drain and requeue:
        raise UsageError("shrink: drain or requeue, not both")
    return lpb.ChildShrinkRequest(
        paths=list(paths or ()), idle=idle or 0, type=type, drain=drain, requeue=requeue
    )

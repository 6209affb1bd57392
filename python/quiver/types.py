"""What the client returns: job states and event kinds as enums, jobs,
events, output chunks and wait results as frozen dataclasses, converted from the
``quiver.sched.v1`` messages (times are the instance clock's seconds:
Unix time under the wall clock, from 0 under a simulated one)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, List


class JobState(enum.IntEnum):
    """Where a job is in its life (the proto's ``JobState``)."""

    UNSPECIFIED = 0
    PENDING = 1
    RUNNING = 2
    FINISHED = 3
    CANCELED = 4
    FAILED = 5
    #: Waiting on dependencies (RFC 26) before it can be scheduled.
    DEPEND = 6

    @property
    def ended(self) -> bool:
        """Whether the job is over (finished, canceled or failed)."""
        return self in (JobState.FINISHED, JobState.CANCELED, JobState.FAILED)


class EventKind(enum.IntEnum):
    """What happened to a job (the proto's ``EventKind``)."""

    UNSPECIFIED = 0
    SUBMIT = 1
    DEPEND = 2
    ALLOC = 3
    RESERVE = 4
    START = 5
    FINISH = 6
    CANCEL = 7
    EXCEPTION = 8


#: The kinds of event that end a job.
END_KINDS = (EventKind.FINISH, EventKind.CANCEL, EventKind.EXCEPTION)


def _state(value: int) -> JobState:
    try:
        return JobState(value)
    except ValueError:
        return JobState.UNSPECIFIED


def _kind(value: int) -> EventKind:
    try:
        return EventKind(value)
    except ValueError:
        return EventKind.UNSPECIFIED


@dataclass(frozen=True)
class Job:
    """One job, as Info and List describe it (List leaves ``r`` and
    ``jobspec`` empty)."""

    job_id: int
    name: str
    owner_uid: int
    state: JobState
    submit_time: int
    #: 0 until the job starts.
    start_time: int
    #: The end of its allocation while running; when it ended once ended.
    end_time: int
    #: Seconds it may hold its resources.
    duration: int
    #: RFC 20 R (JSON text) while it holds or held resources.
    r: str
    #: Why a pending job waits, or why a job failed.
    reason: str
    #: A pending job's reserved start (0: none).
    reserved_at: int
    jobspec: str
    #: The tasks' exit status under the local executor (0 otherwise).
    exit_code: int

    @classmethod
    def from_pb(cls, m: Any) -> "Job":
        """From a ``quiver.sched.v1.JobInfo``."""
        return cls(
            job_id=m.job_id,
            name=m.name,
            owner_uid=m.owner_uid,
            state=_state(m.state),
            submit_time=m.submit_time,
            start_time=m.start_time,
            end_time=m.end_time,
            duration=m.duration,
            r=m.r,
            reason=m.reason,
            reserved_at=m.reserved_at,
            jobspec=m.jobspec,
            exit_code=m.exit_code,
        )


@dataclass(frozen=True)
class Event:
    """One job event, as Watch streams it."""

    job_id: int
    kind: EventKind
    #: Instance time of the event.
    time: int
    #: The job's state after the event.
    state: JobState
    #: The reserved start (RESERVE), the allocation's start (ALLOC).
    at: int
    #: Free text: the exception's reason, the exit status...
    detail: str

    @classmethod
    def from_pb(cls, m: Any) -> "Event":
        """From a ``quiver.sched.v1.JobEvent``."""
        return cls(
            job_id=m.job_id,
            kind=_kind(m.kind),
            time=m.time,
            state=_state(m.state),
            at=m.at,
            detail=m.detail,
        )


@dataclass(frozen=True)
class OutputChunk:
    """A piece of a job's output, as Output streams it."""

    #: "stdout" or "stderr" (stdout when both go to one file).
    stream: str
    #: The bytes, in the order the job wrote them to that stream.
    data: bytes

    @classmethod
    def from_pb(cls, m: Any) -> "OutputChunk":
        return cls(stream="stderr" if m.stream == 2 else "stdout", data=bytes(m.data))


@dataclass(frozen=True)
class WaitResult:
    """How a job ended, as ``flux.job.wait`` tells it: its id, whether it
    succeeded, and why not."""

    job_id: int
    #: True when it finished (ran out its time or exited 0).
    success: bool
    #: Why it did not succeed ("" when it did): the exception's reason,
    #: who canceled it.
    error: str
    #: FINISHED, CANCELED or FAILED.
    state: JobState
    #: Instance time at which it ended.
    time: int

    @classmethod
    def from_event(cls, e: Event) -> "WaitResult":
        """From the event that ended the job."""
        ok = e.state == JobState.FINISHED
        error = "" if ok else (e.detail or e.state.name.lower())
        return cls(job_id=e.job_id, success=ok, error=error, state=e.state, time=e.time)


@dataclass(frozen=True)
class CancelOutcome:
    """What canceling one job of many did."""

    job_id: int
    #: The state it was in when it was canceled (UNSPECIFIED when it was not).
    previous: JobState
    #: Why it was not canceled ("" when it was).
    error: str

    @classmethod
    def from_pb(cls, m: Any) -> "CancelOutcome":
        """From a ``quiver.sched.v1.CancelOutcome``."""
        return cls(job_id=m.job_id, previous=_state(m.previous), error=m.error)


@dataclass(frozen=True)
class Status:
    """A summary of the instance (what ``schedctl status`` prints)."""

    version: str
    owner_uid: int
    #: "wall" or "sim".
    clock: str
    now: int
    policy: str
    queue_policy: str
    vertices: int
    nodes: int
    nodes_up: int
    pending: int
    running: int
    source: str

    @classmethod
    def from_pb(cls, m: Any) -> "Status":
        """From a ``quiver.sched.v1.StatusResponse``."""
        return cls(
            version=m.version,
            owner_uid=m.owner_uid,
            clock=m.clock,
            now=m.now,
            policy=m.policy,
            queue_policy=m.queue_policy,
            vertices=m.vertices,
            nodes=m.nodes,
            nodes_up=m.nodes_up,
            pending=m.pending,
            running=m.running,
            source=m.source,
        )


@dataclass(frozen=True)
class Lease:
    """A child instance's lease as its parent holds it (what
    ``schedctl leases`` prints)."""

    id: int
    #: Who the child said it is.
    child: str
    owner: int
    #: Bumped by every grow and release.
    epoch: int
    #: The subtrees it holds whole, by containment path.
    paths: List[str]
    vertices: int
    #: The parent's jobs that hold its resources.
    grants: List[int]
    expires: int
    last_seen: int
    #: Where the child serves (``Client(lease.uri)`` walks down a tree of
    #: instances, as ``schedctl tree`` does); "" when it did not say.
    uri: str = ""
    #: Jobs handed down to the child (``schedd --pull``) not ended yet.
    handed: int = 0
    #: What the child last said when it asked for work.
    child_waiting: int = 0
    child_free_cores: int = 0

    @classmethod
    def from_pb(cls, m: Any) -> "Lease":
        """From a ``quiver.lease.v1.Lease``."""
        return cls(
            id=m.id,
            child=m.child,
            owner=m.owner,
            epoch=m.epoch,
            paths=list(m.paths),
            vertices=m.vertices,
            grants=list(m.grants),
            expires=m.expires,
            last_seen=m.last_seen,
            uri=m.uri,
            handed=m.handed,
            child_waiting=m.child_waiting,
            child_free_cores=m.child_free_cores,
        )


@dataclass(frozen=True)
class Resize:
    """What a grow or shrink of a child instance did."""

    #: The lease's epoch after it.
    epoch: int
    #: The subtrees added or given back, by containment path.
    paths: List[str]
    #: Vertices added to (grow) or removed from (shrink) the child's graph.
    vertices: int


@dataclass(frozen=True)
class BurstPool:
    """A cloud burst pool as ``schedctl burst`` shows it."""

    name: str
    #: ``sim`` or ``exec``.
    provider: str
    max_nodes: int
    #: Seconds an idle node stays, and a provisioning node may take.
    idle_grace: int
    deadline: int
    #: What one node costs an hour (its shape's ``cost-per-hour``).
    cost_per_hour: float
    #: 0: no budget.
    budget: float
    #: Whether it bursts on its own for waiting jobs.
    automatic: bool
    #: The provider's last failure ("" when none), and when (Unix seconds).
    last_error: str
    last_error_time: int

    @classmethod
    def from_pb(cls, m: Any) -> "BurstPool":
        """From a ``quiver.burst.v1.Pool``."""
        return cls(
            name=m.name,
            provider=m.provider,
            max_nodes=m.max_nodes,
            idle_grace=m.idle_grace,
            deadline=m.deadline,
            cost_per_hour=m.cost_per_hour,
            budget=m.budget,
            automatic=m.automatic,
            last_error=m.last_error,
            last_error_time=m.last_error_time,
        )


@dataclass(frozen=True)
class BurstNode:
    """A node a cloud burst added (a vertex of the graph's ``cloud`` level)."""

    name: str
    path: str
    pool: str
    #: ``provisioning`` (down: nothing runs there yet) or ``up``.
    state: str
    added: int
    #: 0 while provisioning.
    up_at: int
    #: Since when no job has used it.
    idle_since: int
    #: Jobs running there.
    jobs: List[int]

    @classmethod
    def from_pb(cls, m: Any) -> "BurstNode":
        """From a ``quiver.burst.v1.Node``."""
        return cls(
            name=m.name,
            path=m.path,
            pool=m.pool,
            state=m.state,
            added=m.added,
            up_at=m.up_at,
            idle_since=m.idle_since,
            jobs=list(m.jobs),
        )


@dataclass(frozen=True)
class Bursts:
    """An instance's burst pools, their nodes, and what they cost so far."""

    pools: List[BurstPool]
    nodes: List[BurstNode]
    spent: float

    @classmethod
    def from_pb(cls, m: Any) -> "Bursts":
        """From a ``quiver.burst.v1.ListReply``."""
        return cls(
            pools=[BurstPool.from_pb(p) for p in m.pools],
            nodes=[BurstNode.from_pb(n) for n in m.nodes],
            spent=m.spent,
        )

"""The blocking client: :class:`Client`, one channel to one instance.

Each method is one call of ``quiver.sched.v1.Scheduler`` (``submit_many``
and ``cancel_many`` a few), answers with the dataclasses of
:mod:`quiver.types`, and raises a :class:`~quiver.errors.QuiverError`
carrying the gRPC code and the server's message when the call is refused.
A Client may be shared by threads.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Any, Iterable, Iterator, List, Optional, Sequence, Union

import grpc

from . import _calls
from ._calls import Jobspec
from ._ends import EndBook
from ._pb import bpb, bpb_grpc, lpb, lpb_grpc, pb, pb_grpc
from .connection import CONNECT_TIMEOUT, Endpoint, PathLike, endpoint
from .errors import (
    BulkSubmitError,
    ConnectError,
    QuiverError,
    Timeout,
    Unavailable,
    from_rpc_error,
)
from .jobspec import Command, Duration
from .types import (
    Bursts,
    CancelOutcome,
    Event,
    EventKind,
    Job,
    JobState,
    Lease,
    OutputChunk,
    Resize,
    Status,
    WaitResult,
)


def _open_channel(ep: Endpoint) -> grpc.Channel:
    if ep.credentials is not None:
        return grpc.secure_channel(ep.target, ep.credentials, options=ep.options)
    return grpc.insecure_channel(ep.target, options=ep.options)


def check_unix_socket(ep: Endpoint) -> None:
    """Fail at once, naming why, when a Unix socket does not answer (gRPC
    would retry until the connect timeout)."""
    if not ep.target.startswith("unix:"):
        return
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(ep.target[len("unix:"):])
    except OSError as e:
        reason = e.strerror or str(e)
        raise ConnectError(f"cannot connect to {ep.uri}: {reason}{ep.hint}") from None
    finally:
        s.close()


class Watch(Iterator[Event]):
    """A stream of job events; iterate it, and close it (or use ``with``)
    when done. A watch of one job ends after that job's end."""

    def __init__(self, call: Any) -> None:
        self._call = call
        # The server subscribes before it sends the headers: once they are
        # here, no event after this point can be missed.
        call.initial_metadata()
        if call.done() and call.code() != grpc.StatusCode.OK:
            raise from_rpc_error(call)

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> Event:
        try:
            return Event.from_pb(next(self._call))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise from_rpc_error(e) from None

    def close(self) -> None:
        """Stop watching."""
        self._call.cancel()

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Ends:
    """The caller's job ends, read by a thread into an :class:`EndBook`."""

    def __init__(self, stub: Any, metadata: Any) -> None:
        self._watch = Watch(stub.Watch(_calls.ends_request(), metadata=metadata))
        self._book = EndBook()
        self._cond = threading.Condition()
        self.error: Optional[QuiverError] = None
        self._raised = False
        threading.Thread(target=self._read, name="quiver-ends", daemon=True).start()

    def _read(self) -> None:
        try:
            for ev in self._watch:
                with self._cond:
                    self._book.add(ev)
                    self._cond.notify_all()
            err: QuiverError = Unavailable("the event stream ended")
        except QuiverError as e:
            err = e
        with self._cond:
            self.error = err
            self._cond.notify_all()

    def next(self, timeout: Optional[float]) -> Event:
        """The oldest end not yet waited for, waiting up to ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                ev = self._book.pop()
                if ev is not None:
                    return ev
                if self.error is not None:
                    self._raised = True
                    raise self.error
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise Timeout("no job of yours ended in time", grpc.StatusCode.DEADLINE_EXCEEDED)
                self._cond.wait(left)

    def claim(self, job_id: int) -> None:
        """Job ``job_id`` was waited for by id."""
        with self._cond:
            self._book.claim(job_id)

    def spent(self) -> bool:
        """Whether the stream failed and a wait was told so, after every
        end it brought was taken."""
        with self._cond:
            return self._raised

    def close(self) -> None:
        """Stop the stream (the thread then ends)."""
        self._watch.close()


class Client:
    """A connection to one scheduler instance.

    Args:
        uri: ``unix:/path``, ``http://HOST:PORT`` or ``https://HOST:PORT``;
            None: ``QUIVER_URI``, else this user's own schedd (the same
            defaults as schedctl; see :mod:`quiver.connection`).
        token_file: a file holding the bearer token (schedd's ``--token-file``).
        tls_ca: the CA certificate (PEM) that signed the server's (https;
            default: the system's trusted roots).
        tls_cert, tls_key: a client certificate and key (PEM) for mutual TLS.
        connect_timeout: seconds to wait for the connection.

    Raises:
        UsageError: a bad URI or TLS options that do not apply.
        ConnectError: nobody answered.
    """

    def __init__(
        self,
        uri: Optional[str] = None,
        *,
        token_file: Optional[PathLike] = None,
        tls_ca: Optional[PathLike] = None,
        tls_cert: Optional[PathLike] = None,
        tls_key: Optional[PathLike] = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._ep = endpoint(
            uri, token_file=token_file, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key
        )
        check_unix_socket(self._ep)
        self._channel = _open_channel(self._ep)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=connect_timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise ConnectError(
                f"cannot connect to {self._ep.uri}: no answer in {connect_timeout:g} s{self._ep.hint}"
            ) from None
        self._stub = pb_grpc.SchedulerStub(self._channel)  # type: ignore[no-untyped-call]
        self._leases = lpb_grpc.LeasesStub(self._channel)  # type: ignore[no-untyped-call]
        self._elastic = lpb_grpc.ElasticStub(self._channel)  # type: ignore[no-untyped-call]
        self._burst = bpb_grpc.BurstStub(self._channel)  # type: ignore[no-untyped-call]
        self._md = self._ep.metadata
        self._ends: Optional[_Ends] = None
        self._ends_lock = threading.Lock()

    @property
    def uri(self) -> str:
        """The URI this client is connected to."""
        return self._ep.uri

    def _call(self, method: Any, request: Any, timeout: Optional[float] = None) -> Any:
        try:
            return method(request, metadata=self._md, timeout=timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def _watch_ends(self) -> _Ends:
        """The stream of the caller's job ends, started on first use, and
        again once a failed one has given out all it had, then its error."""
        with self._ends_lock:
            if self._ends is None or self._ends.spent():
                self._ends = _Ends(self._stub, self._md)
            return self._ends

    def submit(
        self,
        jobspec: Optional[Jobspec] = None,
        *,
        command: Optional[Command] = None,
        name: str = "",
        nodes: Optional[int] = None,
        tasks: Optional[int] = None,
        cores: Optional[int] = None,
        gpus: Optional[int] = None,
        duration: Optional[Duration] = None,
        exclusive: bool = False,
        instance: bool = False,
        dependencies: Sequence[str] = (),
        output: Optional[str] = None,
        error: Optional[str] = None,
    ) -> int:
        """Queue a job; its id.

        Give a jobspec (RFC 14/25 as YAML or JSON text, or a mapping), or a
        command with a shape: the same jobspec as ``schedctl submit -N
        nodes -n tasks -c cores -g gpus -t duration [-x] -- command``
        (see :func:`quiver.jobspec.shorthand`). ``name`` tags the job for
        :meth:`jobs`. With ``instance``, the job is a child instance (as
        ``schedctl submit --instance``; ``command`` may be omitted: ``schedd``).
        ``dependencies`` are RFC 26 URIs, as ``schedctl submit --dependency``:
        ``afterok:ID`` (ID finished with status 0), ``afternotok:ID``,
        ``afterany:ID`` (ID ended), ``after:ID`` (ID started) and
        ``singleton`` (one job of this name runs at a time); the job waits
        as ``JobState.DEPEND`` and fails, with the reason, when one can
        never be met. ``output`` and ``error`` send the job's standard
        output and error to files, as ``schedctl submit --output/--error``
        (relative paths from this directory; ``{{id}}`` becomes the job
        id; errors go to ``output`` when ``error`` is not given). The job
        is durable once this returns.

        Raises:
            FailedPrecondition: no resource of the instance can ever hold it.
            InvalidArgument: a malformed jobspec (the message names the key),
                or a dependency on a job that does not exist.
            UsageError: a shape schedctl refuses, or both or neither of a
                jobspec and a command.
        """
        shape = dict(
            nodes=nodes,
            tasks=tasks,
            cores=cores,
            gpus=gpus,
            duration=duration,
            exclusive=exclusive,
            instance=instance,
        )
        request = _calls.submit_request(
            jobspec, command, name, shape, dependencies, output, error
        )
        self._watch_ends()
        return int(self._call(self._stub.Submit, request).job_id)

    def submit_many(self, jobspecs: Iterable[Jobspec], *, name: str = "") -> List[int]:
        """Queue many jobs; their ids, in the order of ``jobspecs``.

        The jobs go in bulk Submit calls of up to 10,000 jobs (and about
        1 MiB) each; each call is queued whole, in order and in one journal
        transaction, or not at all. A refused call stops the rest: the
        calls before it stay queued.

        Raises:
            BulkSubmitError: a call was refused; ``results`` holds the ids
                of the jobs queued before it and, for every other jobspec,
                the refusal (its message names the job as ``jobs[i]`` of
                that call).
        """
        calls = _calls.submit_calls(jobspecs, name)
        self._watch_ends()
        results: List[Union[int, QuiverError]] = []
        for k, request in enumerate(calls):
            try:
                reply = self._stub.Submit(request, metadata=self._md)
            except grpc.RpcError as e:
                _calls.refused(results, calls[k:], from_rpc_error(e))
                raise BulkSubmitError(results) from None
            results.extend(int(i) for i in reply.job_ids)
        return [int(r) for r in results]  # type: ignore[arg-type]

    def cancel(self, job_id: int) -> JobState:
        """Cancel a pending or running job (yours, or any as the instance
        owner); the state it was in.

        Raises:
            NotFound: no such job. FailedPrecondition: it already ended.
            PermissionDenied: not yours.
        """
        r = self._call(self._stub.Cancel, pb.CancelRequest(job_id=job_id))
        return JobState(r.previous)

    def cancel_many(self, job_ids: Sequence[int]) -> List[CancelOutcome]:
        """Cancel many jobs (in calls of up to 65,536); each one's outcome."""
        out: List[CancelOutcome] = []
        for request in _calls.cancel_chunks(list(job_ids)):
            r = self._call(self._stub.Cancel, request)
            out.extend(CancelOutcome.from_pb(o) for o in r.outcomes)
        return out

    def info(self, job_id: int) -> Job:
        """One job in full, R and jobspec included.

        Raises:
            NotFound: no such job (or one long forgotten).
        """
        return Job.from_pb(self._call(self._stub.Info, pb.InfoRequest(job_id=job_id)))

    def jobs(
        self,
        states: Optional[Iterable[JobState]] = None,
        *,
        name: Optional[str] = None,
        limit: int = 0,
    ) -> List[Job]:
        """Jobs, oldest first: only those in ``states`` and named ``name``
        when given, at most ``limit`` (the newest; 0: all)."""
        r = self._call(self._stub.List, _calls.list_request(states, name, limit))
        return [Job.from_pb(j) for j in r.jobs]

    def wait(self, job_id: Optional[int] = None, timeout: Optional[float] = None) -> WaitResult:
        """Wait for a job to end; how it ended.

        With a job id, that job (at once when it has ended already). With
        None, as ``flux.job.wait`` does: the next job of yours to end that
        no wait has returned, oldest first, including those that ended
        since this client's first submit (it watches your jobs' ends from
        then on; a job waited for by id is not returned again).

        Raises:
            NotFound: no such job. Timeout: ``timeout`` seconds passed.
            Unavailable: the instance stopped.
        """
        if job_id is None:
            return WaitResult.from_event(self._watch_ends().next(timeout))
        watch = Watch(
            self._stub.Watch(_calls.wait_request(job_id), metadata=self._md, timeout=timeout)
        )
        with watch:
            for ev in watch:
                if ev.state.ended:
                    if self._ends is not None:
                        self._ends.claim(ev.job_id)
                    return WaitResult.from_event(ev)
        raise Unavailable(f"the event stream ended before job {job_id} did")

    def watch(
        self,
        job_id: Optional[int] = None,
        *,
        kinds: Optional[Iterable[EventKind]] = None,
        mine: bool = False,
    ) -> Watch:
        """Job events as they happen, from now on: of every job, of your
        jobs (``mine``), or of one job (its current state first, then its
        events until it ends); only ``kinds`` when given.

        The stream is subscribed when this returns: a job submitted after
        it shows all its events. A watch falling 65,536 events behind ends
        with :class:`~quiver.errors.DataLoss`.
        """
        request = _calls.watch_request(job_id, kinds, mine)
        return Watch(self._stub.Watch(request, metadata=self._md))

    def output(self, job_id: int, *, follow: bool = False) -> Iterator[OutputChunk]:
        """A job's standard output and error as its processes wrote them
        (the local executor): what is written so far, or with ``follow``
        (after waiting for the job to start) until the job ends. Iterate
        it; ``b"".join(c.data for c in it if c.stream == "stdout")`` is the
        whole stdout. Its owner and the instance owner may read it.

        Raises (while iterating):
            FailedPrecondition: the job has not started (without
                ``follow``), or no process ran for it (a sim instance).
            PermissionDenied: another user's job.
            NotFound: no such job.
        """
        call = self._stub.Output(_calls.output_request(job_id, follow), metadata=self._md)
        try:
            for m in call:
                yield OutputChunk.from_pb(m)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        finally:
            call.cancel()

    def status(self) -> Status:
        """A summary of the instance (answering at all means it is alive)."""
        return Status.from_pb(self._call(self._stub.Status, pb.StatusRequest()))

    def advance(self, seconds: Duration) -> int:
        """Move a simulated clock forward (instance owner only); the new
        time. Jobs whose time is up end, then the queue is scheduled.

        Raises:
            FailedPrecondition: the instance runs on the wall clock.
        """
        return int(self._call(self._stub.Advance, _calls.advance_request(seconds)).now)

    def grow(
        self,
        jobspec: Optional[Jobspec] = None,
        *,
        nodes: Optional[int] = None,
        cores: Optional[int] = None,
        gpus: Optional[int] = None,
    ) -> Resize:
        """At a child instance (``schedd --parent``): lease more from the
        parent, schedulable at once, as ``schedctl grow`` does.

        Raises:
            ResourceExhausted: the parent cannot give it now.
            FailedPrecondition: the parent can never give it.
            Unavailable: the parent does not answer.
            QuiverError: (code UNIMPLEMENTED) this instance is not a child.
        """
        r = self._call(self._elastic.Grow, _calls.grow_request(jobspec, nodes, cores, gpus))
        return Resize(epoch=r.epoch, paths=list(r.paths), vertices=r.added)

    def shrink(
        self,
        paths: Optional[Sequence[str]] = None,
        *,
        idle: Optional[int] = None,
        type: str = "node",
        drain: bool = False,
        requeue: bool = False,
    ) -> Resize:
        """At a child instance: give back the subtrees at ``paths``, or
        ``idle`` idle vertices of ``type``. With ``drain`` (paths only),
        nothing new is scheduled there and the call waits for the jobs
        running there to end before giving the paths back; with
        ``requeue``, those jobs go back to this child's queue (same ids)
        and the paths are given back at once.

        Raises:
            FailedPrecondition: busy (the message names the jobs).
            NotFound: a path that is not here.
        """
        r = self._call(self._elastic.Shrink, _calls.shrink_request(paths, idle, type, drain, requeue))
        return Resize(epoch=r.epoch, paths=list(r.paths), vertices=r.removed)

    def leases(self) -> List[Lease]:
        """At a parent: the leases of its children (the instance owner sees
        all, others their own)."""
        r = self._call(self._leases.List, lpb.ListLeasesRequest())
        return [Lease.from_pb(m) for m in r.leases]

    def lease(self) -> Lease:
        """At a child instance: its own lease, as the parent holds it."""
        return Lease.from_pb(self._call(self._elastic.Lease, lpb.ChildLeaseRequest()).lease)

    def burst(
        self, nodes: int, *, pool: str = "", shape: Optional[str] = None
    ) -> List[str]:
        """Add ``nodes`` cloud burst nodes now, as ``schedctl burst -N``
        does: of ``pool`` (the first when empty), shaped as the pool's
        nodes or as ``shape`` (GRUG YAML text whose root is one node).
        They are provisioning until the provider brings them up. Returns
        their containment paths.

        Raises:
            FailedPrecondition: no burst pool here, or past the pool's
                maximum or budget.
            NotFound: no such pool.
            PermissionDenied: only the instance owner may burst.
        """
        request = bpb.AddRequest(pool=pool, nodes=nodes, shape=shape or "")
        return list((self._call(self._burst.Add, request)).paths)

    def burst_remove(self, nodes: Sequence[str], *, requeue: bool = False) -> List[int]:
        """Remove burst nodes (names or paths); busy ones are refused naming
        their jobs unless ``requeue`` puts those jobs back in the queue.
        Returns the jobs requeued."""
        request = bpb.RemoveRequest(nodes=list(nodes), requeue=requeue)
        return list((self._call(self._burst.Remove, request)).requeued)

    def bursts(self) -> Bursts:
        """The burst pools, their nodes and what they cost so far."""
        return Bursts.from_pb(self._call(self._burst.List, bpb.ListRequest()))

    def close(self) -> None:
        """Close the channel (and the stream ``wait()`` reads)."""
        if self._ends is not None:
            self._ends.close()
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"quiver.Client({self._ep.uri!r})"

"""The asyncio client: :class:`Client`, the same calls as
:class:`quiver.Client` as coroutines, on a ``grpc.aio`` channel.

``async with quiver.aio.Client(uri) as c:`` connects (or raises
:class:`~quiver.errors.ConnectError`) and closes; without ``with``, the
channel connects on the first call (``await c.connect()`` checks at once).
A client belongs to the event loop it is first used on.
"""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Iterable, List, Optional, Sequence, Union

import grpc
import grpc.aio

from . import _calls
from ._calls import Jobspec
from ._ends import EndBook
from ._pb import bpb, bpb_grpc, lpb, lpb_grpc, pb, pb_grpc
from .client import check_unix_socket
from .connection import CONNECT_TIMEOUT, PathLike, endpoint
from .errors import (
    BulkSubmitError,
    ConnectError,
    QuiverError,
    Timeout,
    Unavailable,
    from_rpc_error,
    from_status,
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


class Watch(AsyncIterator[Event]):
    """A stream of job events: ``async for`` over it, and close it (or use
    ``async with``) when done. Made by :meth:`Client.watch`."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._closed = False

    async def _subscribed(self) -> "Watch":
        # The server subscribes before it sends the headers: once they are
        # here, no event after this point can be missed.
        await self._call.initial_metadata()
        if self._call.done():
            code = await self._call.code()
            if code != grpc.StatusCode.OK:
                raise from_status(code, await self._call.details())
        return self

    def __aiter__(self) -> "Watch":
        return self

    async def __anext__(self) -> Event:
        try:
            m = await self._call.read()
        except grpc.aio.AioRpcError as e:
            if self._closed and e.code() == grpc.StatusCode.CANCELLED:
                raise StopAsyncIteration from None
            raise from_rpc_error(e) from None
        except asyncio.CancelledError:
            if self._closed:
                raise StopAsyncIteration from None
            raise
        if m is grpc.aio.EOF:
            code = await self._call.code()
            if code in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED):
                raise StopAsyncIteration
            raise from_status(code, await self._call.details())
        return Event.from_pb(m)

    def close(self) -> None:
        """Stop watching."""
        self._closed = True
        self._call.cancel()

    async def __aenter__(self) -> "Watch":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class _Ends:
    """The caller's job ends, read by a task into an :class:`EndBook`."""

    def __init__(self, watch: Watch) -> None:
        self._watch = watch
        self._book = EndBook()
        self._changed = asyncio.Event()
        self.error: Optional[QuiverError] = None
        self._raised = False
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for ev in self._watch:
                self._book.add(ev)
                self._changed.set()
            self.error = Unavailable("the event stream ended")
        except QuiverError as e:
            self.error = e
        self._changed.set()

    async def next(self, timeout: Optional[float]) -> Event:
        """The oldest end not yet waited for, waiting up to ``timeout`` s."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            ev = self._book.pop()
            if ev is not None:
                return ev
            if self.error is not None:
                self._raised = True
                raise self.error
            self._changed.clear()
            left = None if deadline is None else deadline - loop.time()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                raise Timeout(
                    "no job of yours ended in time", grpc.StatusCode.DEADLINE_EXCEEDED
                ) from None

    def claim(self, job_id: int) -> None:
        """Job ``job_id`` was waited for by id."""
        self._book.claim(job_id)

    def spent(self) -> bool:
        """Whether the stream failed and a wait was told so."""
        return self._raised

    def close(self) -> None:
        """Stop the stream (the task then ends)."""
        self._watch.close()
        self._task.cancel()


class Client:
    """A connection to one scheduler instance, for asyncio.

    The arguments are :class:`quiver.Client`'s; so are the methods, as
    coroutines (``watch`` gives an async iterator).
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
        if self._ep.credentials is not None:
            self._channel = grpc.aio.secure_channel(
                self._ep.target, self._ep.credentials, options=self._ep.options
            )
        else:
            self._channel = grpc.aio.insecure_channel(self._ep.target, options=self._ep.options)
        self._stub = pb_grpc.SchedulerStub(self._channel)  # type: ignore[no-untyped-call]
        self._leases = lpb_grpc.LeasesStub(self._channel)  # type: ignore[no-untyped-call]
        self._elastic = lpb_grpc.ElasticStub(self._channel)  # type: ignore[no-untyped-call]
        self._burst = bpb_grpc.BurstStub(self._channel)  # type: ignore[no-untyped-call]
        self._md = self._ep.metadata
        self._connect_timeout = connect_timeout
        self._ends: Optional[_Ends] = None
        self._ends_lock: Optional[asyncio.Lock] = None

    @property
    def uri(self) -> str:
        """The URI this client is for."""
        return self._ep.uri

    async def connect(self) -> "Client":
        """Wait until the instance answers the connection.

        Raises:
            ConnectError: nobody answered within the connect timeout.
        """
        check_unix_socket(self._ep)
        try:
            await asyncio.wait_for(self._channel.channel_ready(), self._connect_timeout)
        except asyncio.TimeoutError:
            raise ConnectError(
                f"cannot connect to {self._ep.uri}: no answer in "
                f"{self._connect_timeout:g} s{self._ep.hint}"
            ) from None
        return self

    async def _call(self, method: Any, request: Any, timeout: Optional[float] = None) -> Any:
        try:
            return await method(request, metadata=self._md, timeout=timeout)
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e) from None

    async def _watch_ends(self) -> _Ends:
        """The stream of the caller's job ends, started on first use (see
        :meth:`quiver.Client.wait`)."""
        if self._ends_lock is None:
            self._ends_lock = asyncio.Lock()
        async with self._ends_lock:
            if self._ends is None or self._ends.spent():
                call = self._stub.Watch(_calls.ends_request(), metadata=self._md)
                self._ends = _Ends(await Watch(call)._subscribed())
            return self._ends

    async def submit(
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
        """Queue a job; its id (see :meth:`quiver.Client.submit`)."""
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
        await self._watch_ends()
        return int((await self._call(self._stub.Submit, request)).job_id)

    async def submit_many(self, jobspecs: Iterable[Jobspec], *, name: str = "") -> List[int]:
        """Queue many jobs; their ids, in order (see
        :meth:`quiver.Client.submit_many`: bulk calls, each all or nothing).

        Raises:
            BulkSubmitError: a call was refused (the calls before it queued).
        """
        calls = _calls.submit_calls(jobspecs, name)
        await self._watch_ends()
        results: List[Union[int, QuiverError]] = []
        for k, request in enumerate(calls):
            try:
                reply = await self._stub.Submit(request, metadata=self._md)
            except grpc.aio.AioRpcError as e:
                _calls.refused(results, calls[k:], from_rpc_error(e))
                raise BulkSubmitError(results) from None
            results.extend(int(i) for i in reply.job_ids)
        return [int(r) for r in results]  # type: ignore[arg-type]

    async def cancel(self, job_id: int) -> JobState:
        """Cancel a job; the state it was in (see :meth:`quiver.Client.cancel`)."""
        r = await self._call(self._stub.Cancel, pb.CancelRequest(job_id=job_id))
        return JobState(r.previous)

    async def cancel_many(self, job_ids: Sequence[int]) -> List[CancelOutcome]:
        """Cancel many jobs; each one's outcome."""
        out: List[CancelOutcome] = []
        for request in _calls.cancel_chunks(list(job_ids)):
            r = await self._call(self._stub.Cancel, request)
            out.extend(CancelOutcome.from_pb(o) for o in r.outcomes)
        return out

    async def info(self, job_id: int) -> Job:
        """One job in full, R and jobspec included."""
        return Job.from_pb(await self._call(self._stub.Info, pb.InfoRequest(job_id=job_id)))

    async def jobs(
        self,
        states: Optional[Iterable[JobState]] = None,
        *,
        name: Optional[str] = None,
        limit: int = 0,
    ) -> List[Job]:
        """Jobs, oldest first (see :meth:`quiver.Client.jobs`)."""
        r = await self._call(self._stub.List, _calls.list_request(states, name, limit))
        return [Job.from_pb(j) for j in r.jobs]

    async def wait(
        self, job_id: Optional[int] = None, timeout: Optional[float] = None
    ) -> WaitResult:
        """Wait for a job to end, or with None for the next job of yours to
        end that no wait has returned (see :meth:`quiver.Client.wait`)."""
        if job_id is None:
            return WaitResult.from_event(await (await self._watch_ends()).next(timeout))
        call = self._stub.Watch(_calls.wait_request(job_id), metadata=self._md, timeout=timeout)
        async with await Watch(call)._subscribed() as watch:
            async for ev in watch:
                if ev.state.ended:
                    if self._ends is not None:
                        self._ends.claim(ev.job_id)
                    return WaitResult.from_event(ev)
        raise Unavailable(f"the event stream ended before job {job_id} did")

    async def watch(
        self,
        job_id: Optional[int] = None,
        *,
        kinds: Optional[Iterable[EventKind]] = None,
        mine: bool = False,
    ) -> Watch:
        """Job events as they happen, subscribed when this returns (see
        :meth:`quiver.Client.watch`)."""
        call = self._stub.Watch(_calls.watch_request(job_id, kinds, mine), metadata=self._md)
        return await Watch(call)._subscribed()

    async def output(self, job_id: int, *, follow: bool = False) -> AsyncIterator[OutputChunk]:
        """A job's output, ``async for`` over it (see
        :meth:`quiver.Client.output`)."""
        call = self._stub.Output(_calls.output_request(job_id, follow), metadata=self._md)
        try:
            while True:
                m = await call.read()
                if m is grpc.aio.EOF:
                    return
                yield OutputChunk.from_pb(m)
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e) from None
        finally:
            call.cancel()

    async def status(self) -> Status:
        """A summary of the instance."""
        return Status.from_pb(await self._call(self._stub.Status, pb.StatusRequest()))

    async def advance(self, seconds: Duration) -> int:
        """Move a simulated clock forward; the new time."""
        r = await self._call(self._stub.Advance, _calls.advance_request(seconds))
        return int(r.now)

    async def grow(
        self,
        jobspec: Optional[Jobspec] = None,
        *,
        nodes: Optional[int] = None,
        cores: Optional[int] = None,
        gpus: Optional[int] = None,
    ) -> Resize:
        """At a child instance: lease more (see :meth:`quiver.Client.grow`)."""
        request = _calls.grow_request(jobspec, nodes, cores, gpus)
        r = await self._call(self._elastic.Grow, request)
        return Resize(epoch=r.epoch, paths=list(r.paths), vertices=r.added)

    async def shrink(
        self,
        paths: Optional[Sequence[str]] = None,
        *,
        idle: Optional[int] = None,
        type: str = "node",
        drain: bool = False,
        requeue: bool = False,
    ) -> Resize:
        """At a child instance: give back (see :meth:`quiver.Client.shrink`)."""
        r = await self._call(self._elastic.Shrink, _calls.shrink_request(paths, idle, type, drain, requeue))
        return Resize(epoch=r.epoch, paths=list(r.paths), vertices=r.removed)

    async def leases(self) -> List[Lease]:
        """At a parent: its children's leases."""
        r = await self._call(self._leases.List, lpb.ListLeasesRequest())
        return [Lease.from_pb(m) for m in r.leases]

    async def lease(self) -> Lease:
        """At a child instance: its own lease, as the parent holds it."""
        r = await self._call(self._elastic.Lease, lpb.ChildLeaseRequest())
        return Lease.from_pb(r.lease)

    async def burst(
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
        return list((await self._call(self._burst.Add, request)).paths)

    async def burst_remove(self, nodes: Sequence[str], *, requeue: bool = False) -> List[int]:
        """Remove burst nodes (names or paths); busy ones are refused naming
        their jobs unless ``requeue`` puts those jobs back in the queue.
        Returns the jobs requeued."""
        request = bpb.RemoveRequest(nodes=list(nodes), requeue=requeue)
        return list((await self._call(self._burst.Remove, request)).requeued)

    async def bursts(self) -> Bursts:
        """The burst pools, their nodes and what they cost so far."""
        return Bursts.from_pb(await self._call(self._burst.List, bpb.ListRequest()))

    async def close(self) -> None:
        """Close the channel (and the stream ``wait()`` reads)."""
        if self._ends is not None:
            self._ends.close()
        await self._channel.close()

    async def __aenter__(self) -> "Client":
        try:
            return await self.connect()
        except BaseException:
            await self.close()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"quiver.aio.Client({self._ep.uri!r})"

"""Errors the client raises: a :class:`QuiverError` for every failure.

A refused call raises the subclass named after its gRPC status code
(:class:`NotFound`, :class:`InvalidArgument`, ...), carrying the code and
the server's message, which names what was wrong (``str()`` reads as
schedctl prints it: ``message (CODE)``). Problems found before any call,
a bad URI or TLS options that do not apply, raise :class:`UsageError`; a
server that cannot be reached raises :class:`ConnectError`.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Type, Union

import grpc


class QuiverError(Exception):
    """A failure of the client or of a call.

    Attributes:
        code: the gRPC status code, or None when no call answered.
        message: what was wrong, as the server or the client says it.
    """

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"{self.message} ({self.code.name})"


class UsageError(QuiverError, ValueError):
    """The client was asked for something that cannot work (bad URI,
    TLS files for a non-TLS URI, a shape no jobspec has)."""


class ConnectError(QuiverError):
    """Nobody answered at the URI (or the connection could not be set up)."""


class InvalidArgument(QuiverError):
    """INVALID_ARGUMENT: a malformed jobspec or field; the message names the key."""


class NotFound(QuiverError):
    """NOT_FOUND: an unknown job id or vertex path."""


class FailedPrecondition(QuiverError):
    """FAILED_PRECONDITION: a request the instance can never satisfy, or a
    job that has already ended."""


class PermissionDenied(QuiverError):
    """PERMISSION_DENIED: not the job's owner nor the instance owner."""


class Unauthenticated(QuiverError):
    """UNAUTHENTICATED: no or bad credentials on TCP."""


class ResourceExhausted(QuiverError):
    """RESOURCE_EXHAUSTED: the queue is full, or a message is too large."""


class Unavailable(QuiverError):
    """UNAVAILABLE: the instance is shutting down or cannot be reached."""


class Timeout(QuiverError, TimeoutError):
    """DEADLINE_EXCEEDED: the call, or a wait, ran out of time."""


class DataLoss(QuiverError):
    """DATA_LOSS: a watch fell too far behind the events; watch again."""


_BY_CODE: Dict[grpc.StatusCode, Type[QuiverError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.DEADLINE_EXCEEDED: Timeout,
}


def from_status(code: grpc.StatusCode, details: Optional[str]) -> QuiverError:
    """The QuiverError for a status code and its message."""
    message = details or code.value[1]
    return _BY_CODE.get(code, QuiverError)(message, code)


def from_rpc_error(e: grpc.RpcError) -> QuiverError:
    """The QuiverError for a failed call (sync or asyncio)."""
    return from_status(e.code(), e.details())


class BulkSubmitError(QuiverError):
    """A bulk Submit call of :meth:`~quiver.Client.submit_many` was refused.

    Each call is all or nothing, and a refusal stops the calls after it.
    ``results`` holds, in the order of the jobspecs, each queued job's id
    or the refusal for a jobspec not queued; the exception's code and
    message are the refusal's.
    """

    def __init__(self, results: List[Union[int, QuiverError]]) -> None:
        errors = [r for r in results if isinstance(r, QuiverError)]
        first = errors[0]
        refused = len(errors)
        super().__init__(
            f"{refused} of {len(results)} jobspecs not queued: {first.message}",
            first.code,
        )
        self.results = results

    @property
    def job_ids(self) -> List[Optional[int]]:
        """The id of each job queued, None where its jobspec was refused."""
        return [r if isinstance(r, int) else None for r in self.results]

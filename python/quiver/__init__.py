"""Python client of Quiver's scheduler (schedd), over its gRPC protocol
``quiver.sched.v1``.

>>> import quiver
>>> with quiver.Client() as c:          # QUIVER_URI, else your own schedd
...     job = c.submit(command=["hostname"], tasks=2, cores=4, duration="5m")
...     result = c.wait(job)            # or c.wait(): your next job to end
...     print(result.job_id, result.success, result.error)

:class:`Client` blocks; :mod:`quiver.aio` has the same client for asyncio.
Results are the dataclasses of :mod:`quiver.types`; a refused call raises
a :class:`QuiverError` (a subclass per gRPC code) with the server's message.
"""
from .client import Client, Watch
from .connection import default_uri, resolve_uri
from .errors import (
    BulkSubmitError,
    ConnectError,
    DataLoss,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuiverError,
    ResourceExhausted,
    Timeout,
    Unauthenticated,
    Unavailable,
    UsageError,
)
from .jobspec import parse_duration, shorthand, shorthand_text
from .types import (
    BurstNode,
    BurstPool,
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

__all__ = [
    "BulkSubmitError",
    "BurstNode",
    "BurstPool",
    "Bursts",
    "CancelOutcome",
    "Client",
    "ConnectError",
    "DataLoss",
    "Event",
    "EventKind",
    "FailedPrecondition",
    "InvalidArgument",
    "Job",
    "JobState",
    "Lease",
    "NotFound",
    "OutputChunk",
    "PermissionDenied",
    "QuiverError",
    "ResourceExhausted",
    "Resize",
    "Status",
    "Timeout",
    "Unauthenticated",
    "Unavailable",
    "UsageError",
    "WaitResult",
    "Watch",
    "default_uri",
    "parse_duration",
    "resolve_uri",
    "shorthand",
    "shorthand_text",
]

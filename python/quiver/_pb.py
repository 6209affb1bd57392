"""The generated protocol modules (``quiver.sched.v1``,
``quiver.lease.v1`` as ``lpb`` and ``quiver.burst.v1`` as ``bpb``), built by setup.py from Quiver's proto/
when the package is installed."""
from __future__ import annotations

try:
    from .sched.v1 import scheduler_pb2 as pb
    from .sched.v1 import scheduler_pb2_grpc as pb_grpc
    from .lease.v1 import lease_pb2 as lpb
    from .lease.v1 import lease_pb2_grpc as lpb_grpc
    from .burst.v1 import burst_pb2 as bpb
    from .burst.v1 import burst_pb2_grpc as bpb_grpc
except ImportError as e:  # pragma: no cover - only in a source tree
    raise ImportError(
        "quiver's generated protocol modules are missing: install the package "
        "(pip install ./python) rather than importing it from the source tree"
    ) from e

__all__ = ["pb", "pb_grpc", "lpb", "lpb_grpc", "bpb", "bpb_grpc"]

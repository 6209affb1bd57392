"""Build hook of quiver-client: generates the quiver.sched.v1 modules.

The package's pure-Python files are copied as usual; then grpc_tools.protoc
compiles ``../proto/proto/quiver/sched/v1/scheduler.proto`` and
``lease/v1/lease.proto`` and ``burst/v1/burst.proto`` (or the ones
under ``$QUIVER_PROTO_DIR``) into the build directory, as
``quiver/sched/v1/scheduler_pb2.py``, ``scheduler_pb2_grpc.py`` and their
``.pyi`` stubs. The proto package ``quiver.sched.v1`` thus lands inside the
``quiver`` package, which is where the generated gRPC module imports it from.
Nothing generated is written to the source tree.
"""
from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PROTO = "quiver/sched/v1/scheduler.proto"
#: Every proto compiled, PROTO first (its presence marks a checkout).
PROTOS = [PROTO, "quiver/lease/v1/lease.proto", "quiver/burst/v1/burst.proto"]


def proto_root() -> Path:
    """The directory the proto's import paths start from."""
    given = os.environ.get("QUIVER_PROTO_DIR")
    root = Path(given) if given else HERE.parent / "proto" / "proto"
    if not (root / PROTO).is_file():
        raise SystemExit(
            f"quiver-client: {root / PROTO} not found: build from a Quiver "
            "checkout (pip install ./python) or set QUIVER_PROTO_DIR"
        )
    return root


class BuildWithProto(build_py):
    """build_py, then protoc into the build directory."""

    def run(self) -> None:
        super().run()
        from grpc_tools import protoc  # a build requirement (pyproject.toml)

        root = proto_root()
        out = Path(self.build_lib)
        include = Path(protoc.__file__).parent / "_proto"
        args = [
            "grpc_tools.protoc",
            f"-I{root}",
            f"-I{include}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            *PROTOS,
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"quiver-client: protoc failed on {', '.join(PROTOS)} in {root}")
        for pkg in (
            "quiver/sched",
            "quiver/sched/v1",
            "quiver/lease",
            "quiver/lease/v1",
            "quiver/burst",
            "quiver/burst/v1",
        ):
            init = out / pkg / "__init__.py"
            init.write_text('"""Generated from Quiver\'s proto/ at build time."""\n')


setup(cmdclass={"build_py": BuildWithProto})

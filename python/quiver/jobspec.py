"""Jobspecs: the shape shorthand and durations, as schedctl reads them.

:func:`shorthand` builds, for ``nodes``, ``tasks``, ``cores``, ``gpus``,
``duration`` and a command, the very RFC 14 (version 1) jobspec that
``schedctl submit -N -n -c -g -t [-x] -- COMMAND`` builds (and that ``flux
submit`` would): a slot per task holding its cores (and GPUs); with a node
count, nodes holding ceil(tasks / nodes) slots each, the tasks counted in
total when they do not divide evenly. :func:`shorthand_text` is its JSON
text, byte for byte schedctl's. :func:`parse_duration` reads ``90``,
``30s``, ``5m``, ``2h``, ``1d`` or ``1.5h`` as ``-t`` and ``advance`` do. :func:`with_dependencies` adds
RFC 26 dependencies (``afterok:12``) as ``schedctl submit --dependency``
does, :func:`with_output` output files as ``--output/--error`` do.
"""
from __future__ import annotations

import copy
import json
import math
import os
import shlex
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .errors import UsageError

#: A duration: seconds (int or float), or text such as "30s", "5m", "2h".
Duration = Union[int, float, str]

#: A command: its words, or one string split as a shell would.
Command = Union[str, Sequence[str]]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Duration) -> int:
    """Whole seconds (rounded up) from seconds or ``30s``/``5m``/``2h``/``1d``.

    Raises:
        UsageError: for anything else, or a duration of over 10^15 seconds.
    """
    if isinstance(value, bool):
        raise UsageError(f"bad duration {value!r}: use seconds or a number with s, m, h or d")
    if isinstance(value, (int, float)):
        secs = math.ceil(value) if math.isfinite(value) else -1
        if secs < 0:
            raise UsageError(f"bad duration {value!r}: must be finite and at least 0")
        if secs > 1e15:
            raise UsageError(f"duration {value!r} is too long")
        return int(secs)
    text = value.strip()
    bad = UsageError(f"bad duration {value!r}: use seconds or a number with s, m, h or d")
    if not text:
        raise bad
    if text[-1].isascii() and text[-1].isalpha():
        num, unit = text[:-1], text[-1]
    else:
        num, unit = text, "s"
    if unit not in _UNITS or not num or not all(c.isdigit() and c.isascii() or c == "." for c in num):
        raise bad
    try:
        n = float(num)
    except ValueError:
        raise bad from None
    secs = math.ceil(n * _UNITS[unit])
    if secs > 1e15:
        raise UsageError(f"duration {value!r} is too long")
    return int(secs)


def command_words(command: Command) -> List[str]:
    """The command's words: a string is split as a shell would split it."""
    if isinstance(command, str):
        return shlex.split(command)
    words = list(command)
    for w in words:
        if not isinstance(w, str):
            raise UsageError(f"command: {w!r} is not a string")
    return words


def shorthand(
    command: Command,
    *,
    nodes: Optional[int] = None,
    tasks: Optional[int] = None,
    cores: int = 1,
    gpus: int = 0,
    duration: Optional[Duration] = None,
    exclusive: bool = False,
    instance: bool = False,
) -> Dict[str, Any]:
    """The jobspec (as a dict) ``schedctl submit`` builds for this shape.

    Args:
        command: what each task runs.
        nodes: nodes to spread the tasks over (``-N``); None: any.
        tasks: tasks (slots) to run (``-n``); default 1, or one per node.
        cores: cores per task (``-c``).
        gpus: GPUs per task (``-g``).
        duration: the time limit (``-t``); None: the instance's default.
        exclusive: whole nodes (``-x``; needs ``nodes``).
        instance: the job is a child instance (``--instance``): its
            allocation (``nodes`` whole) becomes a lease of this instance,
            and a command that is ``schedd`` (or that starts with an
            option, given to ``schedd``) is started with the lease.

    Raises:
        UsageError: for a shape schedctl refuses (no command, 0 cores or
            tasks, more nodes than tasks, exclusive without nodes).
    """
    words = command_words(command)
    if instance and (not words or words[0].startswith("-")):
        words = ["schedd", *words]
    if not words:
        raise UsageError("no command given")
    if cores < 1:
        raise UsageError("cores must be at least 1")
    if gpus < 0:
        raise UsageError("gpus must not be negative")
    ntasks = tasks if tasks is not None else (nodes if nodes is not None else 1)
    if ntasks < 1:
        raise UsageError("tasks must be at least 1")
    if exclusive and nodes is None:
        raise UsageError("exclusive needs nodes")
    secs = parse_duration(duration) if duration is not None else 0
    with_: List[Dict[str, Any]] = [{"type": "core", "count": cores}]
    if gpus > 0:
        with_.append({"type": "gpu", "count": gpus})
    count: Dict[str, int]
    if nodes is None:
        resources: Dict[str, Any] = {"type": "slot", "count": ntasks, "label": "task", "with": with_}
        count = {"per_slot": 1}
    else:
        if nodes < 1:
            raise UsageError("nodes must be at least 1")
        if nodes > ntasks:
            raise UsageError(f"node count ({nodes}) must not exceed the task count ({ntasks})")
        per_node = -(-ntasks // nodes)
        count = {"per_slot": 1} if per_node * nodes == ntasks else {"total": ntasks}
        slot = {"type": "slot", "count": per_node, "label": "task", "with": with_}
        resources = {"type": "node", "count": nodes, "with": [slot]}
        if exclusive or instance:
            resources["exclusive"] = True
    system: Dict[str, Any] = {"duration": secs}
    if instance:
        system["instance"] = True
    return {
        "version": 1,
        "resources": [resources],
        "tasks": [{"command": words, "slot": "task", "count": count}],
        "attributes": {"system": system},
    }


def to_text(jobspec: Union[str, Mapping[str, Any]]) -> str:
    """A jobspec as the text Submit takes: text as is, a mapping as compact
    JSON (keys in their order, non-ASCII kept), as schedctl writes it."""
    if isinstance(jobspec, str):
        return jobspec
    if isinstance(jobspec, Mapping):
        return json.dumps(jobspec, separators=(",", ":"), ensure_ascii=False)
    raise UsageError(f"a jobspec is YAML/JSON text or a mapping, not {type(jobspec).__name__}")


def dependency(uri: str) -> Dict[str, str]:
    """An RFC 26 dependency URI (``afterok:12``, ``after:3``, ``afterany:4``,
    ``afternotok:5``, ``singleton``) as the ``{scheme, value}`` mapping of
    ``attributes.system.dependencies``; the instance judges the rest."""
    if not isinstance(uri, str):
        raise UsageError(f"a dependency is a string like 'afterok:12', not {uri!r}")
    scheme, _, value = uri.partition(":")
    if not scheme:
        raise UsageError(f"dependency {uri!r}: no scheme (as in 'afterok:12')")
    return {"scheme": scheme, "value": value}


def _document(jobspec: Union[str, Mapping[str, Any]], what: str, where: str) -> Dict[str, Any]:
    """A copy of ``jobspec`` as a document to add ``what`` to (a mapping or
    JSON text; this client does not parse YAML, whose text must hold
    ``where`` itself)."""
    if isinstance(jobspec, str):
        try:
            doc = json.loads(jobspec)
        except ValueError:
            raise UsageError(
                f"{what}= needs a jobspec mapping, JSON text or a command;"
                f" write it in YAML text as {where}"
            ) from None
    elif isinstance(jobspec, Mapping):
        doc = copy.deepcopy(dict(jobspec))
    else:
        raise UsageError(
            f"a jobspec is YAML/JSON text or a mapping, not {type(jobspec).__name__}"
        )
    if not isinstance(doc, dict):
        raise UsageError("the jobspec is not a mapping")
    return doc


def _mapping_at(doc: Dict[str, Any], keys: Sequence[str]) -> Dict[str, Any]:
    """The mapping at ``keys`` below ``doc``, each step made where missing."""
    at: Any = doc
    for n, key in enumerate(keys):
        at = at.setdefault(key, {})
        if not isinstance(at, dict):
            raise UsageError(f"the jobspec's {'.'.join(keys[: n + 1])} is not a mapping")
    return at


def with_dependencies(jobspec: Union[str, Mapping[str, Any]], uris: Sequence[str]) -> str:
    """The jobspec as Submit's text with ``uris`` added to its
    ``attributes.system.dependencies`` (a mapping or JSON text; the
    original is left as it was). YAML text needs its dependencies written
    in it: this client does not parse YAML."""
    if isinstance(uris, str):
        raise UsageError("dependencies is a list of URIs, not one string")
    deps = [dependency(u) for u in uris]
    if not deps:
        return to_text(jobspec)
    doc = _document(jobspec, "dependencies", "attributes.system.dependencies")
    have = _mapping_at(doc, ("attributes", "system")).setdefault("dependencies", [])
    if not isinstance(have, list):
        raise UsageError("attributes.system.dependencies is not a list")
    have.extend(deps)
    return to_text(doc)


def with_output(
    jobspec: Union[str, Mapping[str, Any]],
    stdout: Optional[str] = None,
    stderr: Optional[str] = None,
) -> str:
    """The jobspec as Submit's text with its standard output (and error)
    going to files, as ``schedctl submit --output/--error``: Flux's shell
    options ``attributes.system.shell.options.output``. A relative path is
    made absolute from the current directory; ``{{id}}`` in it becomes the
    job id. Without ``stderr``, errors go to ``stdout``'s file."""
    if stdout is None and stderr is None:
        return to_text(jobspec)
    doc = _document(jobspec, "output", "attributes.system.shell.options.output")
    out = _mapping_at(doc, ("attributes", "system", "shell", "options", "output"))
    for key, path in (("stdout", stdout), ("stderr", stderr)):
        if path is None:
            continue
        if not isinstance(path, str) or not path:
            raise UsageError(f"{key}: a file name, not {path!r}")
        out[key] = {"type": "file", "path": os.path.abspath(path)}
    return to_text(doc)


def shorthand_text(command: Command, **shape: Any) -> str:
    """:func:`shorthand`'s jobspec as JSON text, byte for byte schedctl's."""
    return to_text(shorthand(command, **shape))

"""The shape shorthand and durations, against what schedctl's own tests
say it builds (schedd/src/bin/schedctl/shorthand.rs); no schedd needed."""
from __future__ import annotations

import json

import pytest

from quiver import UsageError, parse_duration, shorthand, shorthand_text


def test_durations_read_as_schedctl_reads_them() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("30s") == 30
    assert parse_duration("5m") == 300
    assert parse_duration("2h") == 7200
    assert parse_duration("1d") == 86400
    assert parse_duration("1.5m") == 90
    assert parse_duration("0.1") == 1
    assert parse_duration("0") == 0
    assert parse_duration(2.5) == 3
    assert parse_duration(7) == 7
    for bad in ["", "s", "-5", "5x", "1e3", "abc", "5 m", "inf", "1..2", -1, float("nan"), True]:
        with pytest.raises(UsageError):
            parse_duration(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="too long"):
        parse_duration("99999999999999999999d")


def test_slots_only_like_flux_submit() -> None:
    assert shorthand(["hostname"], tasks=4, cores=2) == {
        "version": 1,
        "resources": [
            {"type": "slot", "count": 4, "label": "task", "with": [{"type": "core", "count": 2}]}
        ],
        "tasks": [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": 0}},
    }
    assert shorthand("true")["resources"][0]["count"] == 1


def test_nodes_tasks_cores_gpus_as_schedctl_writes_them() -> None:
    text = shorthand_text(["app", "-v"], nodes=2, tasks=4, cores=2, gpus=1, duration="5m")
    # serde_json's compact form with keys in insertion order.
    assert text == (
        '{"version":1,"resources":[{"type":"node","count":2,"with":[{"type":"slot",'
        '"count":2,"label":"task","with":[{"type":"core","count":2},{"type":"gpu",'
        '"count":1}]}]}],"tasks":[{"command":["app","-v"],"slot":"task","count":'
        '{"per_slot":1}}],"attributes":{"system":{"duration":300}}}'
    )


def test_uneven_tasks_count_in_total_and_nodes_default_tasks() -> None:
    js = shorthand(["x"], nodes=2, tasks=3)
    assert js["resources"][0]["with"][0]["count"] == 2
    assert js["tasks"][0]["count"] == {"total": 3}
    js = shorthand(["x"], nodes=3)
    assert js["resources"][0]["count"] == 3
    assert js["resources"][0]["with"][0]["count"] == 1
    assert "exclusive" not in js["resources"][0]
    assert shorthand(["x"], nodes=1, exclusive=True)["resources"][0]["exclusive"] is True
    # A command string splits as a shell splits it; non-ASCII stays as is.
    assert shorthand("echo 'a b' é")["tasks"][0]["command"] == ["echo", "a b", "é"]
    assert json.loads(shorthand_text(["é"]))["tasks"][0]["command"] == ["é"]
    assert "é" in shorthand_text(["é"])


@pytest.mark.parametrize(
    "shape",
    [
        dict(nodes=4, tasks=2),
        dict(nodes=0),
        dict(tasks=0),
        dict(cores=0),
        dict(tasks=2, exclusive=True),
        dict(gpus=-1),
    ],
)
def test_bad_shapes_are_refused(shape: dict) -> None:
    with pytest.raises(UsageError):
        shorthand(["x"], **shape)


def test_no_command_is_refused() -> None:
    with pytest.raises(UsageError, match="no command"):
        shorthand([])

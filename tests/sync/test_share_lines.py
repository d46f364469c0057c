"""Line links: hub line keys taken out of a payload and paired with the system's answer."""

from __future__ import annotations

from typing import Any

from engine.sinks.share_lines import line_links, merge_links, split_line_keys


def test_keys_are_taken_out_before_sending() -> None:
    payload: dict[str, Any] = {
        "notes": "x",
        "items": [{"$line": "erp:1:1", "id": 7, "qty": 1}, {"qty": 2}],
    }
    stripped, keys = split_line_keys(payload, "items")
    assert stripped == {"notes": "x", "items": [{"id": 7, "qty": 1}, {"qty": 2}]}
    assert keys == ["erp:1:1", None]
    assert payload["items"][0]["$line"] == "erp:1:1"  # the entity is not changed


def test_no_lines_option_leaves_the_payload_alone() -> None:
    payload = {"items": [{"$line": "k"}]}
    assert split_line_keys(payload, None) == (payload, [])


def test_answer_lines_pair_by_position() -> None:
    answer = {"Lines": [{"Id": "L1"}, {"Id": "L2"}]}
    assert line_links(["a", None], answer, "Lines", "Id") == {"L1": "a"}
    assert line_links(["a"], answer, "Lines", "Id") == {}  # lengths differ: no guessing
    assert line_links(["a"], {}, "Lines", "Id") == {}


def test_links_accumulate_and_sort() -> None:
    first = merge_links(None, {"2": "b"})
    assert first == [{"id": "2", "line": "b"}]
    assert merge_links(first, {"1": "a"}) == [{"id": "1", "line": "a"}, {"id": "2", "line": "b"}]
    assert merge_links(None, {}) is None

"""Preparing chunks: what the writer process receives equals what was prepared."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest

from rolodex.collect import seen as seen_module
from rolodex.collect.fields import Kind
from rolodex.collect.prepare import ChunkPreparer, PreparedChunk
from rolodex.collect.rows import Problem, RawRow
from rolodex.collect.seen import SeenKeys
from rolodex.pipeline.child import receive, send

HEADER = ["Customer ID", "First Name", "E-Mail", "Date of Birth", "Loyalty"]


def _preparer() -> ChunkPreparer:
    return ChunkPreparer(
        kind=Kind.CONTACTS,
        file="people.csv",
        header=HEADER,
        fields={"record_id": 0, "first_name": 1, "email": 2, "birth_date": 3},
        custom={4: "loyalty"},
        custom_types={"loyalty": "text"},
        has_id_column=True,
        text_only=True,
    )


def _rows() -> list[RawRow]:
    return [
        RawRow(2, ["1", "Zoë", "ZOE@Example.com", "1980-02-29", "gold"]),
        RawRow(3, ["2", "", "", "not a date", ""]),  # nothing identifies it: quarantined
        RawRow(4, ["", "Ann", "ann@example.com", "", "silver"]),  # missing id
        RawRow(5, ["1", "Zoë again", "z2@example.com", "01/02/1990", None]),  # duplicate id
        RawRow(
            6,
            ["3", 'Quote "q"', "q@example.com", "", "x"],
            {"_extra_1": "spill"},
            [Problem("row has 6 fields, the header has 5")],
        ),
    ]


def _trip(chunk: PreparedChunk) -> PreparedChunk:
    """Send a chunk through the writer process's wire format and read it back."""
    pipe = io.BytesIO()
    send(pipe, chunk)
    pipe.seek(0)
    back: PreparedChunk = receive(pipe)
    return back


def test_chunk_arrives_at_the_writer_as_prepared() -> None:
    chunk = _preparer().prepare(_rows())
    back = _trip(chunk)
    assert back.file == "people.csv"
    assert back.numbers == chunk.numbers
    assert list(back.payloads) == list(chunk.payloads)
    assert back.hashes == chunk.hashes
    assert back.keys == chunk.keys
    assert back.external_ids == chunk.external_ids
    assert list(back.custom) == list(chunk.custom)
    assert back.values.equals(chunk.values)
    assert back.problems == chunk.problems
    assert [back.status(i) for i in range(5)] == [chunk.status(i) for i in range(5)]
    assert back.values.get_column("birth_date").to_list()[0] == date(1980, 2, 29)


def test_keys_settled_in_the_writer_flag_duplicates_and_serialize_issues() -> None:
    back = _trip(_preparer().prepare(_rows()))
    with SeenKeys() as seen:
        added = seen.claim(back)
    assert [n for n, _ in added] == [5]
    assert "first used at people.csv row 2" in added[0][1].message
    statuses = [back.status(i) for i in range(5)]
    assert statuses == ["accepted", "quarantined", "quarantined", "quarantined", "quarantined"]
    assert back.keys[0] == "1"
    assert back.keys[3].startswith("q:")
    issues = back.record_columns().column("issues").to_pylist()
    assert issues[0] is None
    assert json.loads(issues[3])[-1]["message"].startswith("duplicate id '1'")
    assert json.loads(issues[4]) == [
        {"column": None, "message": "row has 6 fields, the header has 5", "fatal": True}
    ]
    payload = json.loads(back.record_columns().column("payload")[4].as_py())
    assert payload["_extra_1"] == "spill"
    assert payload["First Name"] == 'Quote "q"'


def test_seen_keys_stay_exact_when_the_filter_answers_maybe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tiny filter says "maybe seen" for almost every key; the lookups must still be exact."""
    monkeypatch.setattr(seen_module, "_FILTER_BITS", 64)
    preparer = _preparer()
    first = preparer.prepare(
        [RawRow(n, [str(n), f"P{n}", f"p{n}@x.org", "", ""]) for n in range(2, 502)]
    )
    second = preparer.prepare(
        [RawRow(n, [str(n - 498), f"P{n}", f"p{n}@x.org", "", ""]) for n in range(502, 1002)]
    )
    with SeenKeys() as seen:
        assert seen.claim(first) == []
        added = seen.claim(second)
    # Ids 4..503 in the second chunk: 4..501 were used in the first chunk, 502 and 503 not.
    assert len(added) == 498
    assert added[0][0] == 502
    assert "row 4" in added[0][1].message
    assert [second.status(i) for i in (498, 499)] == ["accepted", "accepted"]


@pytest.mark.parametrize("flush_at", [1, 700, 10**6])
def test_seen_keys_count_repeats_the_same_whether_held_in_memory_or_written(
    monkeypatch: pytest.MonkeyPatch, flush_at: int
) -> None:
    """Keys wait in memory until enough have come; lookups see both places, and a key seen
    again after it was written keeps counting from where it was."""
    monkeypatch.setattr(seen_module, "_FLUSH_AT", flush_at)
    monkeypatch.setattr(seen_module, "_FILTER_BITS", 64)
    preparer = ChunkPreparer(
        kind=Kind.CONTACTS,
        file="people.csv",
        header=HEADER,
        fields={"first_name": 1, "email": 2},
        custom={},
        custom_types={},
        has_id_column=False,
        text_only=True,
    )

    def chunk(start: int) -> PreparedChunk:
        # Rows without ids are keyed by content: row n repeats the content of n % 400.
        return preparer.prepare(
            [
                RawRow(n, ["", f"P{n % 400}", f"p{n % 400}@x.org", "", ""])
                for n in range(start, start + 500)
            ]
        )

    chunks = [chunk(0), chunk(500), chunk(1000)]
    with SeenKeys() as seen:
        for c in chunks:
            assert seen.claim(c) == []  # repeated content is counted, not an error
    ordinals = [o for c in chunks for o in c.ordinals]
    # Content k (0..399) occurs at rows k, k+400, k+800, k+1200: its occurrences count up.
    assert ordinals == [n // 400 + 1 for n in range(1500)]
    keys = [k for c in chunks for k in c.keys]
    assert keys[400] == keys[0] + "#2"
    assert keys[1200] == keys[0] + "#4"
    assert len(set(keys)) == 1500


def test_a_contact_known_only_by_its_id_is_kept_when_the_row_says_something() -> None:
    chunk = _preparer().prepare(
        [
            RawRow(2, ["7590-VHVEG", "", "", "", "gold"]),  # id and a plan attribute: kept
            RawRow(3, ["5575-GNVDE", "", "", "", ""]),  # nothing but the id: unusable
            RawRow(4, ["", "", "", "", "silver"]),  # no id, no name: nobody to find again
        ]
    )
    unusable = "nothing identifies this contact (no name, email or phone)"
    reasons = [[p.message for p in problems] for problems in chunk.problems]
    assert unusable not in reasons[0]
    assert unusable in reasons[1]
    assert unusable in reasons[2]
    assert chunk.keys[0] == "7590-VHVEG"

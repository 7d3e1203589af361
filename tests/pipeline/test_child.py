"""The wire between the import and its writer process: whole messages through a real pipe,
whatever their number of buffers and size."""

from __future__ import annotations

import os
import threading
from typing import Any

import pyarrow as pa

from rolodex.pipeline import child
from rolodex.pipeline.child import receive, send


def test_a_message_of_many_big_buffers_crosses_a_pipe_whole() -> None:
    # More buffers than one writev takes, several bigger than the pipe's buffer.
    rows = 3_000
    columns = {f"c{i}": pa.array([f"{i}-{j}" for j in range(rows)]) for i in range(child._IOV_MAX)}
    columns["big"] = pa.array(["x" * 1_000] * rows)  # 3 MB
    message = ("call", pa.table(columns), {"n": 1})
    read_end, write_end = os.pipe()
    got: list[Any] = []
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb") as writer:
        thread = threading.Thread(target=lambda: got.append(receive(reader)))
        thread.start()
        send(writer, message)
        send(writer, "next")  # the stream stays in step after a long message
        thread.join(timeout=30)
        assert receive(reader) == "next"
    name, table, extra = got[0]
    assert (name, extra) == ("call", {"n": 1})
    assert table.equals(message[1])

"""A one-worker executor whose worker is a separate Python process.

The import uses it to write chunks while it prepares the next ones: two processes keep both
cores busy, and the writer may use its own SQLite library (ADBC) without sharing a process
with Python's `sqlite3`. It is started as `python -m rolodex.pipeline._worker`, not through
multiprocessing, so it never re-imports the caller's main module. Calls and results travel
as length-prefixed pickles over the child's stdin and stdout, answered in order.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from rolodex.exceptions import TransientError

_HEADER = struct.Struct("!Q")
_IOV_MAX = 512  # buffers per writev call, under every system's limit


def send(stream: IO[bytes], obj: object) -> None:
    """Write one message: a pickle whose large buffers (Arrow columns) travel beside it.

    Protocol 5 hands those buffers over without copying them into the pickle, so a chunk
    of ten thousand rows goes out as a few dozen raw writes.
    """
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    views = [_flat(b) for b in buffers]
    sizes = [len(v) for v in views]
    head = _HEADER.pack(len(data)) + _HEADER.pack(len(views))
    parts = [head + b"".join(_HEADER.pack(n) for n in sizes), data, *views]
    fd = _fileno(stream)
    if fd is None or not hasattr(os, "writev"):  # an in-memory stream, or Windows
        for part in parts:
            stream.write(part)
        stream.flush()
        return
    stream.flush()
    _write_all(fd, parts)


def _fileno(stream: IO[bytes]) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def _write_all(fd: int, parts: list[bytes | memoryview]) -> None:
    """Write the parts in as few system calls as the pipe allows (`os.writev`), without the
    interpreter's lock: written one by one, each part waited for the lock again, and a pipe
    that the reader empties a megabyte at a time made the writer process wait for chunks
    the preparing process had long finished."""
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    while views:
        done = os.writev(fd, views[:_IOV_MAX])
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if done:
            views[0] = views[0][done:]


def _flat(buffer: pickle.PickleBuffer) -> memoryview | bytes:
    try:
        return buffer.raw()
    except BufferError:  # not contiguous: copy it
        return bytes(buffer)


def _read_exactly(stream: IO[bytes], size: int) -> bytearray:
    out = bytearray(size)
    view, done = memoryview(out), 0
    while done < size:
        got = stream.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            raise EOFError
        done += got
    return out


def receive(stream: IO[bytes]) -> Any:
    """Read one message written by `send`."""
    size, count = _HEADER.unpack(_read_exactly(stream, 8)), _HEADER.unpack(_read_exactly(stream, 8))
    sizes = struct.unpack(f"!{count[0]}Q", _read_exactly(stream, 8 * count[0]))
    data = _read_exactly(stream, size[0])
    buffers = [_read_exactly(stream, n) for n in sizes]
    return pickle.loads(data, buffers=buffers)


def _widen(stream: IO[bytes]) -> None:
    """Give the pipe a 1 MiB buffer where the OS allows (Linux), instead of 64 KiB.

    A chunk is megabytes: with the default buffer the two processes take turns hundreds of
    times per chunk.
    """
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    try:
        fcntl.fcntl(stream.fileno(), set_size, 1 << 20)
    except OSError:
        pass  # a lower system limit: the default buffer still works


class ChildProcessExecutor(Executor):
    """Run submitted calls, in order, in one child Python process.

    Args:
        initializer: called once in the child before any submitted call.
        initargs: its arguments.
    """

    def __init__(self, initializer: Callable[..., None], initargs: tuple[Any, ...] = ()) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rolodex.pipeline._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        _widen(self._stdin)
        self._waiting: deque[Future[Any]] = deque()
        self._lock = threading.Lock()
        self._broken: TransientError | None = None
        # Calls go out on a thread of their own: writing megabytes into the pipe waits for
        # the child to read them, and the caller has the next chunk to prepare meanwhile.
        self._outbox: queue.SimpleQueue[tuple[Future[Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._sender = threading.Thread(target=self._send_calls, daemon=True)
        self._sender.start()
        self._reader = threading.Thread(target=self._read_results, daemon=True)
        self._reader.start()
        self.submit(initializer, *initargs)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue one call for the child; its future resolves when the child answers."""
        future: Future[Any] = Future()
        self._outbox.put((future, (fn, args, kwargs)))
        return future

    def _fail(self, future: Future[Any], error: BaseException) -> None:
        with self._lock:
            if not future.done():
                future.set_exception(error)

    def _send_calls(self) -> None:
        while (item := self._outbox.get()) is not None:
            future, call = item
            with self._lock:
                if self._broken is not None:
                    future.set_exception(self._broken)
                    continue
                self._waiting.append(future)  # before sending: the answer may come at once
            try:
                send(self._stdin, call)
            except (OSError, ValueError) as exc:
                with self._lock:
                    self._broken = TransientError(f"the writer process stopped: {exc}")
                self._fail(future, self._broken)
            # Sent: the call's arguments (a chunk) need not live until the next call comes.
            del item, future, call

    def _read_results(self) -> None:
        while True:
            try:
                ok, value = receive(self._stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            future = self._waiting.popleft()
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        with self._lock:
            self._broken = self._broken or TransientError("the writer process stopped unexpectedly")
            while self._waiting:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_exception(self._broken)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the child's input (it exits when it reads the end) and wait for it."""
        self._outbox.put(None)
        self._sender.join()
        try:
            self._stdin.close()
        except OSError:
            pass
        if wait:
            self._proc.wait()
            self._reader.join()
            self._stdout.close()

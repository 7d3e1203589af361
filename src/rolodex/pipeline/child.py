"""A one-worker executor whose worker is a separate Python process.

The import uses it to write chunks while it prepares the next ones: two processes keep both
cores busy, and the writer may use its own SQLite library (ADBC) without sharing a process
with Python's `sqlite3`. It is started as `python -m rolodex.pipeline._worker`, not through
multiprocessing, so it never re-imports the caller's main module. Calls and results travel
as length-prefixed pickles over the child's stdin and stdout, answered in order.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import IO, Any

from rolodex.exceptions import TransientError

_HEADER = struct.Struct("!Q")


def send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(head)
    return pickle.loads(stream.read(size))


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
        self._waiting: deque[Future[Any]] = deque()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_results, daemon=True)
        self._reader.start()
        self.submit(initializer, *initargs)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Send one call to the child; its future resolves when the child answers."""
        future: Future[Any] = Future()
        with self._lock:
            self._waiting.append(future)
            try:
                send(self._stdin, (fn, args, kwargs))
            except (BrokenPipeError, OSError) as exc:
                self._waiting.remove(future)
                raise TransientError(f"the writer process stopped: {exc}") from exc
        return future

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
        while self._waiting:
            self._waiting.popleft().set_exception(
                TransientError("the writer process stopped unexpectedly")
            )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the child's input (it exits when it reads the end) and wait for it."""
        try:
            self._stdin.close()
        except OSError:
            pass
        if wait:
            self._proc.wait()
            self._reader.join()
            self._stdout.close()

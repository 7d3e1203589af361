"""The writer process behind `ChildProcessExecutor`: serve calls from stdin until it closes.

Kept out of the package's import graph, so `python -m` runs it without importing it twice.
"""

from __future__ import annotations

import pickle
import sys

from rolodex.exceptions import RolodexError
from rolodex.pipeline.child import receive, send


def _portable(exc: BaseException) -> BaseException:
    """Return an exception that survives pickling back to the parent."""
    if isinstance(exc, RolodexError):
        try:
            pickle.loads(pickle.dumps(exc))
            return exc
        except Exception:
            pass
    error = RolodexError(f"{exc.__class__.__name__}: {exc}")
    return error


def main() -> None:
    """Serve calls from stdin until it closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Anything the calls print must not corrupt the result stream.
    sys.stdout = sys.stderr
    while True:
        try:
            fn, args, kwargs = receive(stdin)
        except EOFError:
            return
        try:
            send(stdout, (True, fn(*args, **kwargs)))
        except SystemExit:
            return
        except BaseException as exc:
            send(stdout, (False, _portable(exc)))
        # Let the call's arguments (a chunk: megabytes) go before the next one is read.
        del fn, args, kwargs


if __name__ == "__main__":
    main()

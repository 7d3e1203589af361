"""What every command shares: the consoles, the workspace the global --db names, and how
Rolodex errors become a message on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from rolodex.exceptions import RolodexError
from rolodex.workspace import Workspace

# Wide enough for the summary table when output goes to a file or pipe.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False)
_state: dict[str, str | None] = {"db": None, "as": None}


def workspace() -> Workspace:
    """Open the workspace the global --db option (or ROLODEX_DB) names, acting as the user
    the global --as option names (with that user's role, masking and scope) if given."""
    ws = Workspace(_state["db"])
    user = _state["as"]
    if user is None:
        return ws
    try:
        return ws.acting_as(ws.principal_for(user), origin="cli")
    except RolodexError as exc:
        ws.close()
        fail(str(exc))


def fail(message: str, *, code: int = 2) -> NoReturn:
    """Print an error to stderr and exit non-zero."""
    # The message is text, not markup: "[[privacy.retention]]" or a file "[1].csv" stay.
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Turn Rolodex errors into a message on stderr and an exit code (75: try again)."""
    try:
        yield
    except RolodexError as exc:
        fail(str(exc), code=75 if exc.retryable else 2)


def parse_day(text: str | None, *, option: str = "--as-of") -> date | None:
    """Parse a YYYY-MM-DD option, or stop with a message that shows the expected form."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-06-30")

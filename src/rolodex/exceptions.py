"""Errors Rolodex raises, and whether trying again can help.

RolodexError
├── TerminalError          a retry cannot fix it (bad input, unknown name, schema mismatch)
│   ├── InputError         a file or value the user gave cannot be used; names file, row, column
│   ├── NotFoundError      a referenced object (batch, contact, source) does not exist
│   └── ConfigError        settings or a mapping file are wrong
└── TransientError         may succeed if tried again (database locked, connection lost)
"""

from __future__ import annotations


class RolodexError(Exception):
    """Root of every error Rolodex raises on purpose."""

    retryable: bool = False


class TerminalError(RolodexError):
    """A retry cannot fix this: the input or the request has to change."""


class InputError(TerminalError):
    """A file or value cannot be used as given.

    The message names what was wrong and where (file, row, column) when that is known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = ", ".join(
            part
            for part in (
                file,
                f"row {row}" if row is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class AlreadyDecided(InputError):
    """A review pair an earlier decision settled (a merge settles every pair inside it)."""


class NotFoundError(TerminalError):
    """A referenced object does not exist."""


class ConfigError(TerminalError):
    """Settings or a mapping file are invalid."""


class TransientError(RolodexError):
    """Trying again later may succeed (a lock, a dropped connection)."""

    retryable = True

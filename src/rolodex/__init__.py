"""Rolodex: an open-source CRM data platform.

The public API is small on purpose: open a `Workspace` and call its methods; every error
Rolodex raises is a `RolodexError` that says whether trying again can help.
"""

from typing import TYPE_CHECKING, Any

from rolodex.exceptions import (
    ConfigError,
    InputError,
    NotFoundError,
    RolodexError,
    TerminalError,
    TransientError,
)

if TYPE_CHECKING:
    from rolodex.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "InputError",
    "NotFoundError",
    "RolodexError",
    "TerminalError",
    "TransientError",
    "Workspace",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import `Workspace` on first use: a writer process or a quick CLI command that never
    opens one does not load every stage (about a second)."""
    if name == "Workspace":
        from rolodex.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'rolodex' has no attribute {name!r}")

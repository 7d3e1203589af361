"""Rolodex: an open-source CRM data platform.

The public API is small on purpose: open a `Workspace` and call its methods; every error
Rolodex raises is a `RolodexError` that says whether trying again can help.
"""

from rolodex.exceptions import (
    ConfigError,
    InputError,
    NotFoundError,
    RolodexError,
    TerminalError,
    TransientError,
)
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

"""Every command's help text reaches the user whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from rich.text import Text

from rolodex.cli.main import app


def _help_texts(command: Any, path: str) -> Iterator[tuple[str, str]]:
    # Typer bundles its own click, so commands and options are walked by their attributes.
    for text in (command.help, command.short_help):
        if text:
            yield path, text
    for param in command.params:
        if getattr(param, "help", None):
            yield f"{path} {param.opts[0]}", param.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from _help_texts(sub, f"{path} {name}")


def test_no_help_text_loses_words_to_rich_markup() -> None:
    # Typer renders help as Rich markup, so "[privacy]" in a docstring vanished from --help.
    texts = list(_help_texts(typer.main.get_command(app), "rolodex"))
    assert len(texts) > 100
    eaten = [(where, text) for where, text in texts if Text.from_markup(text).plain != text]
    assert eaten == []

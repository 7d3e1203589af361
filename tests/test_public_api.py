"""The public API is what we mean it to be, and importing it has no side effects."""

from __future__ import annotations

import subprocess
import sys

import rolodex


def test_all_is_the_intended_surface() -> None:
    assert sorted(rolodex.__all__) == [
        "ConfigError",
        "InputError",
        "NotFoundError",
        "RolodexError",
        "TerminalError",
        "TransientError",
        "Workspace",
        "__version__",
    ]
    for name in rolodex.__all__:
        assert hasattr(rolodex, name)


def test_errors_say_whether_a_retry_can_help() -> None:
    assert rolodex.TransientError("x").retryable
    assert not rolodex.InputError("x").retryable
    assert issubclass(rolodex.InputError, rolodex.TerminalError)
    err = rolodex.InputError("not a number", file="a.csv", row=3, column="Amount")
    assert str(err) == "a.csv, row 3, column 'Amount': not a number"


def test_import_creates_no_database_and_reads_no_settings(tmp_path: object) -> None:
    code = (
        "import os, rolodex; os.environ['ROLODEX_DB'] = 'sqlite:///x.db';"
        "ws = rolodex.Workspace(); assert ws.url.endswith('x.db'); "
        "assert not os.path.exists('x.db')"
    )
    subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), check=True)


def test_the_import_writer_loads_without_the_workspace_and_its_stages() -> None:
    # The writer process of a big import runs `rolodex.pipeline._worker`, which unpickles
    # calls into `rolodex.pipeline.imports`: it must not pay for loading every stage.
    code = (
        "import sys, rolodex.pipeline.imports, rolodex;"
        "print(sorted(m for m in ('rolodex.workspace', 'rolodex.resolve.run',"
        " 'rolodex.maintain.quality') if m in sys.modules));"
        "print(rolodex.Workspace.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()

    assert out == ["[]", "Workspace"]

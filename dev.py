#!/usr/bin/env python3
"""Set up the project and run its jobs with nothing but Python 3.11+.

    python3 dev.py demo     set up, then run `rolodex demo` on the bundled sample data
    python3 dev.py test     set up, then run format check, lint, types and the whole test suite
    python3 dev.py setup    only set up (.venv from the lock files)
    python3 dev.py fix      format and auto-fix lint

Setup creates .venv and installs the pinned versions from requirements.lock (to run) or
requirements-dev.lock (to develop and test); it reinstalls only when a lock file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def run(*args: str | Path) -> None:
    """Run a command in the project root; stop with its exit code if it fails."""
    code = subprocess.call([str(a) for a in args], cwd=ROOT)
    if code:
        sys.exit(code)


def setup(lock: str) -> None:
    """Create .venv and install `lock` plus the project, unless already done for this lock."""
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / lock).read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    stamp = VENV / f".installed-{lock}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    pip = [BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(*pip, "--require-hashes", "-r", lock)
    run(*pip, "--no-deps", "-e", ".")
    stamp.write_text(digest.hexdigest())


def main() -> None:
    """Dispatch the sub-command."""
    job = sys.argv[1] if len(sys.argv) > 1 else "help"
    rest = sys.argv[2:]
    if job == "setup":
        setup("requirements-dev.lock")
    elif job == "demo":
        setup("requirements.lock")
        run(BIN / "rolodex", "demo", *rest)
    elif job == "test":
        setup("requirements-dev.lock")
        run(BIN / "ruff", "format", "--check", ".")
        run(BIN / "ruff", "check", ".")
        run(BIN / "mypy")
        # Both cores (or all): tests of one file share a worker and its module fixtures.
        run(BIN / "pytest", "-n", "auto", "--dist", "loadfile", *rest)
    elif job == "fix":
        setup("requirements-dev.lock")
        run(BIN / "ruff", "format", ".")
        run(BIN / "ruff", "check", "--fix", ".")
    else:
        sys.exit(0 if job in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    main()

"""`rolodex keys init|rotate|status`: the encryption keys of the workspace."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rolodex.cli.common import err, handled, out, workspace
from rolodex.secure.keystore import rotated_inline_keys

keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys: create, rotate, inspect.")


@keys_app.command("init")
def init() -> None:
    """Create the key file (mode 600) when no keys are configured yet."""
    with handled(), workspace() as ws:
        made = ws.keys_init()
        if made is None:
            out.print(f"Keys already configured ({ws.keys.keyring()!r}).")
            return
        out.print(f"Created {made} (mode 600). Back it up apart from the database:")
        out.print("without it, encrypted values and the suppression list cannot be read.")


@keys_app.command("rotate")
def rotate(
    print_: Annotated[
        bool,
        typer.Option(
            "--print",
            help="Keys come from ROLODEX_KEYS: print the rotated value to set there instead.",
        ),
    ] = False,
) -> None:
    """Add a fresh current key; old keys stay to decrypt, stored values are re-encrypted."""
    if print_:
        with handled():
            value = rotated_inline_keys()
        err.print("The new ROLODEX_KEYS value follows; it is a secret. Set it, then run")
        err.print("`rolodex keys seal` with it set to re-encrypt stored values.")
        typer.echo(value)
        return
    with handled(), workspace() as ws:
        current, done = ws.keys_rotate()
        total = sum(done.rewritten.values())
        out.print(f"Current key is now {current}; re-encrypted {total:,} stored values.")


@keys_app.command("seal")
def seal() -> None:
    """Encrypt personal data still stored in plaintext, re-encrypt values under old keys,
    and fill missing blind indexes (after turning encryption on, or after ROLODEX_KEYS
    changed)."""
    with handled(), workspace() as ws:
        done = ws.keys_seal()
        total = sum(done.rewritten.values())
        checked = sum(done.checked.values())
        out.print(f"Checked {checked:,} rows; rewrote {total:,}.")


@keys_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Which keys are configured, and where they come from (never the keys themselves)."""
    with handled(), workspace() as ws:
        keyring = ws.keys.keyring()
        counts = ws.vault.counts()
        info = {
            "source": str(ws.keys.path) if ws.keys.path else "ROLODEX_KEYS",
            "current": keyring.current_id,
            "keys": list(keyring.key_ids),
            "dedicated_index_key": keyring.has_index_key,
            "vault": ws.vault.where,
            "subject_keys": counts,
        }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    out.print(
        f"Keys from {info['source']}: current {info['current']}, all {', '.join(keyring.key_ids)}"
    )
    out.print(
        f"Subject keys in {info['vault']}: {counts['live']:,} live,"
        f" {counts['destroyed']:,} destroyed (erased people)"
    )

"""`rolodex user ...` and `rolodex apikey ...`: who may sign in, and the keys programs use.

Passwords are read from a hidden prompt (asked twice) or, for scripts, from standard input
with --password-stdin; never from an option value, which would land in shell history and in
the process list. An API key is printed once, when it is created.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from rolodex.cli.common import err, fail, handled, out, workspace

user_app = typer.Typer(
    no_args_is_help=True,
    help="People who sign in: add, list, disable, enable, change role or password.",
)
apikey_app = typer.Typer(
    no_args_is_help=True,
    help="API keys for programs: create (shown once), list, revoke.",
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _read_password(*, from_stdin: bool) -> str:
    """Read a new password from stdin (scripts) or a hidden prompt asked twice."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input held no password")
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Sign-in name (case does not matter).")],
    *,
    role: Annotated[
        str,
        typer.Option(
            help="admin, manager, sales, marketing, support, analyst, read_only or a custom role."
        ),
    ],
    team: Annotated[str | None, typer.Option(help="Team, for team-scoped roles.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: PasswordStdin = False,
    as_json: AsJson = False,
) -> None:
    """Add a user (the first admin is made this way: there are no default credentials)."""
    password = _read_password(from_stdin=password_stdin)
    with handled(), workspace() as ws:
        info = ws.user_add(username, password=password, role=role, team=team, display_name=name)
        if as_json:
            typer.echo(json.dumps(info.to_dict(), indent=2, default=str))
            return
        team_note = f", team {info.team}" if info.team else ""
        out.print(f"Added user {info.username!r} (role {info.role}{team_note}).")


@user_app.command("list")
def user_list(as_json: AsJson = False) -> None:
    """Every user with role, team, status and last sign-in."""
    with handled(), workspace() as ws:
        found = ws.users()
        if as_json:
            typer.echo(json.dumps([u.to_dict() for u in found], indent=2, default=str))
            return
        if not found:
            out.print("No users yet: `rolodex user add NAME --role admin` creates the first.")
            return
        table = Table(title="Users")
        for column in ("username", "name", "role", "team", "status", "last sign-in"):
            table.add_column(column)
        for u in found:
            table.add_row(
                u.username,
                u.display_name or "",
                u.role,
                u.team or "",
                "active" if u.is_active else "disabled",
                _when(u.last_login_at),
            )
        out.print(table)


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Argument(help="User to disable.")],
) -> None:
    """Stop a user signing in; their API keys are revoked."""
    with handled(), workspace() as ws:
        info = ws.user_disable(username)
        out.print(f"Disabled {info.username!r}; their API keys are revoked.")


@user_app.command("enable")
def user_enable(
    username: Annotated[str, typer.Argument(help="User to enable.")],
) -> None:
    """Let a disabled or locked-out user sign in again."""
    with handled(), workspace() as ws:
        info = ws.user_enable(username)
        out.print(f"Enabled {info.username!r}.")


@user_app.command("set-role")
def user_set_role(
    username: Annotated[str, typer.Argument(help="User to change.")],
    role: Annotated[str, typer.Argument(help="New role.")],
) -> None:
    """Give a user another role."""
    with handled(), workspace() as ws:
        info = ws.user_set_role(username, role)
        out.print(f"{info.username!r} now has role {info.role}.")


@user_app.command("set-password")
def user_set_password(
    username: Annotated[str, typer.Argument(help="User whose password to replace.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Replace a user's password (and lift a lock-out)."""
    password = _read_password(from_stdin=password_stdin)
    with handled(), workspace() as ws:
        info = ws.user_set_password(username, password=password)
        out.print(f"Password of {info.username!r} replaced.")


@apikey_app.command("create")
def apikey_create(
    *,
    user: Annotated[str, typer.Option("--user", help="User the key acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Narrow the key, e.g. contacts:read (repeatable); default: the user's role.",
        ),
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Stop working after N days.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Create an API key and print it, this once."""
    expires = None if expires_days is None else datetime.now(UTC) + timedelta(days=expires_days)
    with handled(), workspace() as ws:
        info, key = ws.apikey_create(user, name=name, scopes=scope or None, expires_at=expires)
        if as_json:
            typer.echo(json.dumps({**info.to_dict(), "key": key}, indent=2, default=str))
        else:
            scopes = ", ".join(info.scopes) if info.scopes else f"all of {info.username}'s role"
            out.print(
                f"API key {info.id} ({info.name!r}) for {info.username!r}; scopes: {scopes};"
                f" expires: {_when(info.expires_at) if info.expires_at else 'never'}."
            )
            typer.echo(key)
        err.print(
            "[bold yellow]warning:[/] store this key now: it cannot be shown again"
            " (only its hash is kept)."
        )


@apikey_app.command("list")
def apikey_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's keys.")] = None,
    as_json: AsJson = False,
) -> None:
    """API keys with owner, scopes and status (never the key itself)."""
    with handled(), workspace() as ws:
        found = ws.apikeys(username=user)
        if as_json:
            typer.echo(json.dumps([k.to_dict() for k in found], indent=2, default=str))
            return
        if not found:
            out.print("No API keys.")
            return
        table = Table(title="API keys")
        for column in ("id", "prefix", "user", "name", "scopes", "status", "expires", "last used"):
            table.add_column(column, justify="right" if column == "id" else "left")
        for k in found:
            table.add_row(
                str(k.id),
                k.prefix,
                k.username,
                k.name,
                ", ".join(k.scopes) if k.scopes else "(role)",
                k.status,
                _when(k.expires_at),
                _when(k.last_used_at),
            )
        out.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="Key id or prefix (see `rolodex apikey list`).")],
) -> None:
    """Revoke an API key; programs using it are refused from now on."""
    with handled(), workspace() as ws:
        info = ws.apikey_revoke(key)
        out.print(f"API key {info.id} ({info.prefix}, {info.name!r}) is revoked.")

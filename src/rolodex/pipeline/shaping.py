"""What the acting user may see of an output: fields not granted dropped, masked ones masked.

Every output of people's data (API answers, exports, segment exports, the 360° view) passes
through here with the workspace's principal, so the CLI, the API and the files cannot differ.
The system principal (the local operator) sees everything and skips the work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from rolodex.secure.permissions import (
    ALL,
    Family,
    Principal,
    field_access,
    shape_row,
    shape_rows,
)

Row = tuple[Any, ...]
RowShaper = Callable[[list[str]], tuple[list[str], Callable[[Row], Row]]]

# Sections of the 360° view and the family whose permissions govern each.
_SECTIONS: dict[str, Family] = {
    "orders": "orders",
    "tickets": "tickets",
    "interactions": "interactions",
    "consents": "consents",
    "segments": "segments",
    "company": "companies",
    "scores": "analytics",
    "lineage": "imports",
}
_POINT_LISTS = {"email": "emails", "phone": "phones", "address": "addresses"}


def sees_everything(principal: Principal) -> bool:
    """Whether no shaping is needed: every field of every family in full, as the system
    principal and the admin role have it (checked from the role, not its name)."""
    role = principal.role
    return not role.aggregates_only and role.fields.get(ALL, {}).get(ALL) == "full"


def row_shaper(
    principal: Principal, family: Family, *, aliases: Mapping[str, str] | None = None
) -> RowShaper | None:
    """A shaper for tuple rows of `family`, or None when the principal sees everything.

    `aliases` maps an output column to the field it shows (`contact_id` → `id`).
    """
    if sees_everything(principal):
        return None
    names_of = dict(aliases or {})

    def shape(columns: list[str]) -> tuple[list[str], Callable[[Row], Row]]:
        names = [names_of.get(c, c) for c in columns]
        access = field_access(principal, family, names)
        keep = [i for i, n in enumerate(names) if n in access]
        kept_names = [names[i] for i in keep]
        if all(access[n] == "full" for n in kept_names):
            return [columns[i] for i in keep], lambda row: tuple(row[i] for i in keep)

        def one(row: Row) -> Row:
            shaped = shape_row(principal, family, {names[i]: row[i] for i in keep})
            return tuple(shaped.get(n) for n in kept_names)

        return [columns[i] for i in keep], one

    return shape


def shape_parts(
    shaper: RowShaper | None, columns: list[str], parts: Iterator[list[Row]]
) -> tuple[list[str], Iterator[list[Row]]]:
    """Apply a shaper to an export's columns and streamed parts."""
    if shaper is None:
        return columns, parts
    kept, one = shaper(columns)

    def shaped() -> Iterator[list[Row]]:
        for part in parts:
            yield [one(row) for row in part]

    return kept, shaped()


def shape_contacts(principal: Principal, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Contact rows (list and search answers) as the principal may see them."""
    if sees_everything(principal):
        return [dict(r) for r in rows]
    return shape_rows(principal, "contacts", rows)


def shape_360(principal: Principal, view: Mapping[str, Any]) -> dict[str, Any]:
    """The 360° view as the principal may see it: the golden fields by contact permissions,
    each section by its own family's (a section the role cannot read is left out)."""
    if sees_everything(principal):
        return dict(view)
    golden = {k: v for k, v in view.items() if k not in _SECTIONS and k != "contact_points"}
    for kind, listed in _POINT_LISTS.items():
        golden[listed] = [p for p in view.get("contact_points") or () if p.get("kind") == kind]
    out = shape_row(principal, "contacts", golden)
    for section, family in _SECTIONS.items():
        if section not in view or not field_access(principal, family):
            continue
        out[section] = _shape_section(principal, family, view[section])
    return out


def _shape_section(principal: Principal, family: Family, value: Any) -> Any:
    """Shape a section that is a row, a list of rows, or a dict holding lists of rows."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_shape_section(principal, family, v) for v in value]
    if isinstance(value, Mapping):
        if any(isinstance(v, list) for v in value.values()):
            return {
                k: _shape_section(principal, family, v) if isinstance(v, list) else v
                for k, v in value.items()
            }
        return shape_row(principal, family, value)
    return value

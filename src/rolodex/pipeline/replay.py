"""What the import, the undo and the re-clean share: cleaning a prepared chunk, and rebuilding
the preparer an earlier batch used from the mapping it recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rolodex.collect.fields import Kind
from rolodex.collect.prepare import ChunkPreparer, PreparedChunk
from rolodex.collect.rows import Problem
from rolodex.config import CleanSettings

Cleaner = Callable[[PreparedChunk], None]
CLEANED_KINDS = frozenset({Kind.CONTACTS, Kind.COMPANIES})


def make_cleaner(
    kind: Kind,
    settings: CleanSettings | None,
    *,
    source: str,
    steps: dict[str, float] | None = None,
    flags: dict[str, dict[str, int]] | None = None,
) -> Cleaner:
    """Return what cleans each prepared chunk of `source` in place (contacts and companies;
    activity rows pass through).

    Rows the workspace's quarantine rules reject get a fatal problem each. Seconds per
    cleaning step and flag counts per field are added to `steps` and `flags` when given.
    """

    def run(chunk: PreparedChunk) -> None:
        if settings is None or not settings.enabled:
            return
        if kind not in CLEANED_KINDS:
            return
        # Imported here: the cleaning libraries load large metadata tables, which imports
        # of other kinds, undo and the CLI's quick commands never need.
        from rolodex.clean.companies import clean_companies
        from rolodex.clean.contacts import clean_contacts

        clean = clean_contacts if kind is Kind.CONTACTS else clean_companies
        cleaned = clean(chunk.values, config=settings, region=settings.region_for(source))
        chunk.values = cleaned.values
        if cleaned.quarantine:
            chunk.add_problems(
                {i: [Problem(r) for r in reasons] for i, reasons in cleaned.quarantine.items()}
            )
        if steps is not None:
            for step, seconds in cleaned.info.seconds.items():
                steps[f"clean {step}"] = steps.get(f"clean {step}", 0.0) + seconds
        if flags is not None:
            for name, counts in cleaned.info.flags.items():
                mine = flags.setdefault(name, {})
                for flag, count in counts.items():
                    mine[flag] = mine.get(flag, 0) + count

    return run


def batch_preparer(
    kind: Kind, file: str, header: list[str], mapping: dict[str, Any]
) -> ChunkPreparer:
    """Rebuild the preparer an earlier batch used, from the mapping it recorded."""
    index = {name: i for i, name in enumerate(header)}
    fields = {f: index[h] for f, h in mapping.get("fields", {}).items() if h in index}
    custom = {index[h]: n for h, n in mapping.get("custom", {}).items() if h in index}
    return ChunkPreparer(
        kind=kind,
        file=file,
        header=header,
        fields=fields,
        custom=custom,
        custom_types=mapping.get("custom_types", {}),
        has_id_column=mapping.get("id_column") is not None,
    )

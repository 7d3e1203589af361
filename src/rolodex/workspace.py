"""`Workspace`: the Python API over one Rolodex database. The CLI is a thin layer over it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, and_, inspect, select, text
from sqlalchemy.exc import OperationalError

from rolodex.collect.fields import Kind
from rolodex.config import Settings, get_settings
from rolodex.exceptions import ConfigError, InputError, NotFoundError, TransientError
from rolodex.maintain.quality import Scorecard, scorecard
from rolodex.model import AuditLog, Contact
from rolodex.model.base import table, utcnow
from rolodex.pipeline.contacts import (
    CreateResult,
    OnMatch,
    Page,
    contact_360,
    create_contacts,
    list_contacts,
    search_contacts,
    update_contact,
    update_contacts,
)
from rolodex.pipeline.imports import ImportSummary, Preview, Progress, import_file, preview_file
from rolodex.pipeline.match import match_record
from rolodex.pipeline.reclean import RecleanSummary, reclean
from rolodex.pipeline.shaping import (
    row_shaper,
    sees_everything,
    shape_360,
    shape_contacts,
    shape_parts,
)
from rolodex.pipeline.undo import UndoSummary, undo_batch
from rolodex.resolve.calibrate import Calibration
from rolodex.resolve.companies import resolve_companies
from rolodex.resolve.manual import explain, merge, review_decide, review_list, unmerge
from rolodex.resolve.realtime import Scorer
from rolodex.resolve.run import (
    ResolveSummary,
    last_run,
    latest_model,
    recalibrate,
    resolve_contacts,
)
from rolodex.secure.crypto import Cipher
from rolodex.secure.keystore import (
    KeyStore,
    Reencryption,
    SealerRecipe,
    configured_key_file,
    init_key_file,
    reseal_store,
    rotate_key_file,
    shared_keystore,
)
from rolodex.secure.permissions import (
    Action,
    Family,
    PermissionDenied,
    Principal,
    Role,
    RoleConfig,
    field_access,
    load_roles,
    mask_text,
    require,
    require_identifying,
    row_filter,
    shape_row,
    shape_rows,
)
from rolodex.secure.vault import KeyVault, shared_vault, vault_url
from rolodex.share.export import ExportFormat, ExportKind, export
from rolodex.store import migrate, repo
from rolodex.store.audit import (
    AuditEntry,
    AuditVerification,
    append_audit,
    append_audit_many,
    verify_audit,
)
from rolodex.store.engine import make_engine, normalize_url
from rolodex.store.sealed import SEALED, Sealer
from rolodex.store.sealed import register as register_sealer

if TYPE_CHECKING:  # the analyses load scikit-learn, scipy and statsmodels: only when used
    from rolodex.analyze.campaigns import CampaignResult
    from rolodex.analyze.rfm import RfmResult
    from rolodex.pipeline.analytics import ChurnReport, ClvReport, CohortReport, Forecast
    from rolodex.pipeline.intake import FormInfo, Mailer
    from rolodex.pipeline.privacy import ErasureSummary, PrivacyExport, RetentionSummary
    from rolodex.pipeline.records import RecordType
    from rolodex.pipeline.report import ReportSummary
    from rolodex.pipeline.segments import ExportSummary, SegmentInfo
    from rolodex.secure.auth import IssuedToken
    from rolodex.secure.users import ApiKeyInfo, Authenticated, UserInfo

_COUNTED = (
    "source",
    "import_batch",
    "source_record",
    "contact_record",
    "company_record",
    "contact",
    "company",
    "contact_point",
    "order",
    "order_line",
    "ticket",
    "interaction",
    "event",
    "consent",
    "subscription",
    "deal",
    "campaign",
    "campaign_member",
)

_CONTACT_EXPORTS = (ExportKind.CONTACTS, ExportKind.LINKS)
# Export columns that show a field under another name.
_EXPORT_ALIASES = {"contact_id": "id", "source_record_id": "id", "reasons": "issues"}

_AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "details",
    "origin",
)


class ReadLogSink(Protocol):
    """Something that takes audit entries and writes them soon (the API's batched log)."""

    def add(self, entry: AuditEntry) -> None:
        """Queue one entry."""


class Workspace:
    """One Rolodex database and the operations on it.

    Examples:
        >>> ws = Workspace("sqlite:///crm.db")
        >>> ws.init()
        '0003'
        >>> summary = ws.import_file(Path("customers.csv"), source="shop")
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        actor: str | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.url = normalize_url(url or self.settings.db)
        # Who is acting: the local operator (whoever holds the database) is the system
        # principal; the API and `--as USER` bind a user's principal with `acting_as`.
        self.principal = principal or Principal.system()
        self.actor = actor or (self.settings.actor if principal is None else principal.username)
        self.origin: str | None = None
        # Where reads of personal data are logged in batches (the API's); None: at once.
        self.read_log: ReadLogSink | None = None
        self._engine: Engine | None = None
        # The single-record scorer, kept per trained model (parsing it costs per call).
        self._scorer: tuple[int | None, Scorer | None] = (None, None)
        self._schema_checked = False
        self._keys: KeyStore | None = None
        # Bumped whenever who may sign in changes; shared by every `acting_as` view, so a
        # cache of credentials (the API's) notices changes made through this workspace.
        self._credential_changes = [0]

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            self._engine = make_engine(self.url)
            register_sealer(self._engine, self.sealer_recipe)
        return self._engine

    @property
    def sealer_recipe(self) -> SealerRecipe:
        """How this workspace's stores encrypt personal data (keys and `security.encrypt`)."""
        security = self.settings.security
        return SealerRecipe(security.key_file, tuple(security.encrypt), self.vault_url)

    @property
    def vault_url(self) -> str:
        """Where the subject keys of crypto-shredding are kept (`rolodex.secure.vault`)."""
        security = self.settings.security
        return vault_url(
            security.vault, database_url=self.url, key_file=configured_key_file(security.key_file)
        )

    @property
    def vault(self) -> KeyVault:
        """The key vault: one data key per subject, apart from the database and its backups."""
        return shared_vault(self.vault_url, self.keys.keyring)

    @property
    def sealer(self) -> Sealer:
        """Encrypts personal data on its way into the store, decrypts it on the way out."""
        return self.sealer_recipe()

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------

    def init(self) -> str:
        """Create the workspace schema, or upgrade it to this version of Rolodex.

        Returns:
            The schema revision the workspace is now at.
        """
        try:
            migrate.upgrade(self.engine)
        except OperationalError as exc:
            raise TransientError(
                f"cannot reach the database at {self._safe_url}: {exc.orig}"
            ) from exc
        revision = migrate.current_revision(self.engine)
        assert revision is not None
        return revision

    @property
    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _ready(self) -> Engine:
        """Return the engine of a workspace whose schema is current, creating an empty one.

        Raises:
            ConfigError: the database holds an older schema; `rolodex init` upgrades it.
        """
        engine = self.engine
        if self._schema_checked:
            return engine
        try:
            current = migrate.current_revision(engine)
        except OperationalError as exc:
            raise TransientError(
                f"cannot reach the database at {self._safe_url}: {exc.orig}"
            ) from exc
        if current is None:
            if inspect(engine).get_table_names():
                raise ConfigError(f"{self._safe_url} holds tables that are not a Rolodex workspace")
            self.init()
            self.keys_init()
        elif current != migrate.head_revision(engine):
            raise ConfigError(
                f"the workspace schema is at revision {current}; run `rolodex init` to upgrade it"
            )
        # Checked once per Workspace: reading the migration scripts costs milliseconds that
        # single-record calls (match) cannot spend each time.
        self._schema_checked = True
        return engine

    # --- import -----------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        *,
        source: str,
        kind: Kind | str | None = None,
        id_column: str | None = None,
        mapping: Path | None = None,
        sheet: str | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import one file as records of `source`; see `rolodex.pipeline.imports.import_file`."""
        self._allow("imports", "run")
        return import_file(
            self._ready(),
            Path(path),
            source=source,
            kind=Kind(kind) if kind else None,
            id_column=id_column,
            mapping_file=mapping,
            sheet=sheet,
            actor=self.actor,
            chunk_size=self.settings.import_.chunk_size,
            sample_rows=self.settings.import_.sample_rows,
            progress=progress,
            separate_process_bytes=self.settings.import_.separate_process_bytes,
            clean=self.settings.clean,
            suppression_hash=self._suppression_hash,
        )

    def import_files(
        self, paths: Sequence[Path], *, source: str, **options: Any
    ) -> list[ImportSummary]:
        """Import several files of one source, each as its own batch."""
        return [self.import_file(p, source=source, **options) for p in paths]

    def preview(
        self,
        path: Path,
        *,
        kind: Kind | str | None = None,
        id_column: str | None = None,
        mapping: Path | None = None,
        sheet: str | None = None,
    ) -> Preview:
        """Show how a file would be imported, writing nothing (`--dry-run`)."""
        return preview_file(
            Path(path),
            kind=Kind(kind) if kind else None,
            id_column=id_column,
            mapping_file=mapping,
            sheet=sheet,
            sample_rows=self.settings.import_.sample_rows,
            clean=self.settings.clean,
        )

    def undo_import(self, batch_id: int) -> UndoSummary:
        """Remove exactly what one import batch added and restore what it changed."""
        self._allow("imports", "delete")
        return undo_batch(self._ready(), batch_id, actor=self.actor, clean=self.settings.clean)

    def batches(self) -> list[dict[str, Any]]:
        """List the import batches, newest first."""
        self._allow("imports", "read")
        with self._ready().connect() as conn:
            return repo.list_batches(conn)

    # --- export and counts -----------------------------------------------------------------

    def export(
        self, kind: ExportKind | str, out: Path, *, fmt: ExportFormat | str = ExportFormat.CSV
    ) -> int:
        """Export contacts, links, quarantine or source-records to a file; return rows written."""
        kind, fmt = ExportKind(kind), ExportFormat(fmt)
        family: Family = "contacts" if kind in _CONTACT_EXPORTS else "imports"
        self._allow(family, "export")
        if family == "contacts":
            require_identifying(self.principal, "contacts")
        shaper = row_shaper(self.principal, family, aliases=_EXPORT_ALIASES)
        with self._ready().begin() as conn:
            n = export(
                conn,
                kind,
                Path(out),
                fmt,
                transform=None if shaper is None else partial(shape_parts, shaper),
            )
            append_audit(
                conn,
                actor=self.actor,
                action="export",
                entity=kind.value,
                details={"rows": n, "format": fmt.value, "file": Path(out).name},
            )
        return n

    # --- resolve ----------------------------------------------------------------------------

    def resolve(
        self, *, full: bool = False, retrain: bool = False, dry_run: bool = False
    ) -> ResolveSummary:
        """Match contact records, cluster them into customers and update the golden contacts
        (`rolodex resolve`): after the first run only new and changed records are matched,
        unless `full`; `dry_run` reports what would change and writes nothing.
        """
        self._allow("resolve", "run")
        options = self.settings.resolve
        with self._ready().begin() as conn:
            changed: set[int] = set()
            previous = last_run(conn)
            summary = resolve_contacts(
                conn,
                options=options,
                actor=self.actor,
                now=utcnow(),
                retrain=retrain,
                dry_run=dry_run,
                full=full,
                changed=changed,
            )
            if not dry_run:
                companies = resolve_companies(
                    conn,
                    actor=self.actor,
                    now=utcnow(),
                    contacts=changed if summary.mode == "incremental" else None,
                    since=previous[1].replace(tzinfo=UTC) if previous is not None else None,
                )
                summary.companies = companies.companies
                summary.companies_merged_away = companies.merged_away
                summary.contacts_with_company = companies.contacts_linked
                append_audit(
                    conn,
                    actor=self.actor,
                    action="resolve",
                    entity="contact",
                    details={
                        "records": summary.records,
                        "mode": summary.mode,
                        "moved": summary.records_moved,
                        "merged_away": summary.contacts_merged_away,
                        "created": summary.contacts_created,
                        "trained": summary.trained,
                    },
                )
            summary.examples = self._shape_examples(summary.examples)
            return summary

    def match(self, record: Mapping[str, Any], *, limit: int = 5) -> list[dict[str, Any]]:
        """Score one incoming contact (canonical field names: first_name, email, phone, ...)
        against the store with the trained model; return candidate contacts, best first.

        Uses the same model, term frequencies and thresholds as `resolve`, so a record gets
        the same decision one at a time as in a batch. Changes nothing.

        Examples:
            >>> ws.match({"first_name": "Jane", "last_name": "Doe", "email": "jane@x.com"})
            [{'contact_id': 12, 'probability': 0.97, 'decision': 'match', ...}]
        """
        options = self.settings.resolve
        with self._ready().connect() as conn:
            trained = conn.execute(
                text("SELECT max(id) FROM match_model WHERE entity = 'contact'")
            ).scalar()
            if trained is not None and self._scorer[0] != trained:
                stored = latest_model(conn)
                assert stored is not None
                self._scorer = (int(trained), Scorer(stored[0]))
            return match_record(
                conn,
                record,
                options=options,
                scorer=self._scorer[1] if trained is not None else None,
                limit=limit,
            )

    def set_source_trust(self, source: str, rank: int) -> None:
        """Set how far a source is trusted when golden values disagree (lower: more trusted;
        every source starts at 100). Takes effect on the next resolve, merge or unmerge."""
        with self._ready().begin() as conn:
            done = conn.execute(
                text("UPDATE source SET trust_rank = :rank WHERE name = :name"),
                {"rank": rank, "name": source},
            ).rowcount
            if not done:
                raise InputError(f"no source named {source!r} (see `rolodex import list`)")
            append_audit(
                conn,
                actor=self.actor,
                action="source trust",
                entity="source",
                entity_id=source,
                details={"trust_rank": rank},
            )

    def _rules(self) -> dict[str, Any]:
        return dict(self.settings.resolve.survivorship)

    def explain(self, contact_id: int) -> dict[str, Any]:
        """Say which records make a contact, why each belongs, where each value came from."""
        self._allow("resolve", "read")
        require_identifying(self.principal, "contacts")
        scope = self._scope(None)
        with self._reading() as conn:
            self._in_scope(conn, contact_id, scope)
            found = explain(conn, contact_id)
        self._audit_reads("contact", [int(found["contact_id"])])
        return self._shape_explain(found)

    def merge(self, first: int, second: int, *, reason: str | None = None) -> dict[str, Any]:
        """Merge contact `second` into `first`, for good (later resolves keep it)."""
        self._allow("resolve", "update")
        return self._decide("merge", "contact", merge, first, second, reason=reason)

    def unmerge(self, contact: int, record: int, *, reason: str | None = None) -> dict[str, Any]:
        """Split source record `record` out of `contact`, for good."""
        self._allow("resolve", "update")
        return self._decide("unmerge", "contact", unmerge, contact, record, reason=reason)

    def _decide(
        self,
        action: str,
        entity: str,
        decide: Callable[..., dict[str, Any]],
        *args: int,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Carry out a person's decision and audit it, in one transaction."""
        with self._ready().begin() as conn:
            done = decide(
                conn, *args, actor=self.actor, now=utcnow(), rules=self._rules(), **kwargs
            )
            append_audit(
                conn,
                actor=self.actor,
                action=action,
                entity=entity,
                entity_id=done.get("contact", args[0]),
                details=done,
            )
            return done

    def review(self, *, status: str = "pending", limit: int = 50) -> list[dict[str, Any]]:
        """List review pairs (uncertain matches) with both records and the evidence."""
        self._allow("resolve", "read")
        require_identifying(self.principal, "contacts")
        with self._reading() as conn:
            pairs = review_list(conn, status=status, limit=limit)
        self._audit_reads(
            "source_record",
            [int(p[side]["source_record_id"]) for p in pairs for side in ("left", "right")],
        )
        return self._shape_review(pairs)

    def review_decide(
        self, review_id: int, *, accept: bool, reason: str | None = None
    ) -> dict[str, Any]:
        """Accept (merge) or reject (keep apart) a review pair; kept as a label."""
        self._allow("resolve", "update")
        return self._decide(
            "review", "match_review", review_decide, review_id, accept=accept, reason=reason
        )

    def calibrate(self, *, spread: float = 1.0, dry_run: bool = False) -> Calibration:
        """Recalibrate the matching model from the labels people gave (review accepts and
        rejects, merges and unmerges) and keep it as the workspace's model; `resolve(full=
        True)` then applies it to every record. `spread` (bits) is how far one level's weight
        may move without many labels saying so; `dry_run` fits and stores nothing.
        """
        with self._ready().begin() as conn:
            report = recalibrate(conn, now=utcnow(), spread=spread, dry_run=dry_run)
            if report is None:
                raise InputError("no matching model to calibrate yet: run `rolodex resolve` first")
            if report.labels and not dry_run:
                append_audit(
                    conn,
                    actor=self.actor,
                    action="calibrate",
                    entity="contact",
                    details={"labels": report.labels, "shift": report.shift},
                )
            return report

    # --- quality ----------------------------------------------------------------------------

    def clean(self, *, source: str | None = None) -> RecleanSummary:
        """Clean the stored contact records again with the rules in force (`rolodex clean`)."""
        return reclean(self._ready(), clean=self.settings.clean, source=source, actor=self.actor)

    def quality(self, *, source: str | None = None) -> Scorecard:
        """Rate the standardized contact records: completeness, validity, uniqueness,
        consistency and freshness per field and source, before and after cleaning."""
        self._allow("quality", "read")
        with self._reading() as conn:
            return scorecard(conn, source=source)

    # --- who is acting --------------------------------------------------------------------

    def acting_as(self, principal: Principal, *, origin: str | None = None) -> Workspace:
        """A view of this workspace for one user: same database, keys and caches, and every
        operation checked against the user's role, fields masked by it, audited as them."""
        view = copy.copy(self)
        view.principal = principal
        view.actor = principal.username
        view.origin = origin
        return view

    def roles(self) -> dict[str, Role]:
        """Built-in roles plus the custom ones from the settings and the `role` table."""
        configs = list(self.settings.security.roles)
        with self._reading() as conn:
            for name, description, definition in conn.execute(
                text("SELECT name, description, definition FROM role ORDER BY name")
            ):
                stored = definition if isinstance(definition, dict) else json.loads(definition)
                configs.append(
                    RoleConfig.model_validate({"description": description, **stored, "name": name})
                )
        return load_roles(configs)

    def principal_for(self, username: str) -> Principal:
        """The principal of an active user (what `--as USER` and the API act as)."""
        with self._reading() as conn:
            row = conn.execute(
                text("SELECT role, team, is_active FROM app_user WHERE lower(username) = :u"),
                {"u": username.lower()},
            ).first()
        if row is None or not row.is_active:
            raise NotFoundError(f"no active user {username!r}")
        roles = self.roles()
        if row.role not in roles:
            raise ConfigError(f"user {username!r} has role {row.role!r}, which is not defined")
        return Principal(username=username, role=roles[row.role], team=row.team)

    def team_members(self) -> tuple[str, ...]:
        """Usernames in the acting user's team (for team row scope)."""
        if self.principal.team is None:
            return ()
        with self._reading() as conn:
            return tuple(
                r[0]
                for r in conn.execute(
                    text("SELECT username FROM app_user WHERE team = :t"),
                    {"t": self.principal.team},
                )
            )

    def _scope(self, where: ColumnElement[bool] | None) -> ColumnElement[bool] | None:
        """Add the acting user's row scope (own or team rows) to a contact query."""
        scope = row_filter(self.principal, table(Contact).c.owner, team_members=self.team_members())
        if scope is None:
            return where
        return scope if where is None else and_(where, scope)

    def _in_scope(
        self, conn: Connection, contact_id: int, scope: ColumnElement[bool] | None
    ) -> None:
        """Refuse (as not found: no probing) a contact outside `scope` (from `_scope`, taken
        before the transaction: SQLite holds one writer at a time)."""
        if scope is None:
            return
        c = table(Contact)
        if conn.execute(select(c.c.id).where(c.c.id == contact_id, scope)).first() is None:
            raise NotFoundError(f"there is no contact {contact_id}")

    def _check_writable(self, changes: Mapping[str, Any]) -> None:
        """Refuse changing a field the acting user does not see in full."""
        access = field_access(self.principal, "contacts", list(changes))
        hidden = sorted(k for k in changes if access.get(k) != "full")
        if hidden:
            raise PermissionDenied(
                "contacts",
                "update",
                role=self.principal.role.name,
                reason=f"fields not granted in full: {', '.join(hidden)}",
            )

    def _name_shown(self) -> Callable[[str], str | None] | None:
        """How a customer's name appears in the acting user's outputs (None: as it is)."""
        if sees_everything(self.principal):
            return None
        access = field_access(self.principal, "contacts", ["full_name"]).get("full_name")
        if access is None or self.principal.role.aggregates_only:
            return lambda name: None
        if access == "masked":
            return mask_text
        return lambda name: name

    def _suppression_hash(self) -> Callable[[str, str], str]:
        """The suppression list's keyed hash, from the workspace keys."""
        from rolodex.pipeline.privacy import suppression_hasher

        return suppression_hasher(self.keys.cipher())

    @property
    def credential_changes(self) -> int:
        """How many changes to users, API keys and sessions this process has made here."""
        return self._credential_changes[0]

    @contextmanager
    def _changing_credentials(self) -> Iterator[Connection]:
        """The transaction of a change to who may sign in; caches of credentials forget."""
        try:
            with self._ready().begin() as conn:
                yield conn
        finally:
            self._credential_changes[0] += 1

    def _reading(self) -> Connection:
        """A connection for reads only: on SQLite it does not take the write lock, so API
        reads run side by side and beside a writer (WAL)."""
        return self._ready().connect().execution_options(rolodex_read_only=True)

    def _allow(self, family: Family, action: Action) -> None:
        """Refuse what the acting principal's role (and API key scopes) do not allow."""
        require(self.principal, family, action)

    def _audit_reads(self, entity: str, ids: Sequence[int | str]) -> None:
        """Log a read of personal data by a user (system reads are the operator's own)."""
        if self.principal.role.name == "system" or not ids:
            return
        entries = [
            AuditEntry(
                actor=self.actor,
                action=f"{entity}.read",
                entity=entity,
                entity_id=i,
                origin=self.origin,
                occurred_at=utcnow(),
            )
            for i in ids
        ]
        if self.read_log is not None:
            for entry in entries:
                self.read_log.add(entry)
            return
        with self._ready().begin() as conn:
            append_audit_many(conn, entries)

    # --- keys --------------------------------------------------------------------------------

    @property
    def keys(self) -> KeyStore:
        """The workspace's encryption keys (environment, configured key file or rolodex.key)."""
        if self._keys is None:
            self._keys = shared_keystore(self.settings.security.key_file)
        return self._keys

    def keys_init(self) -> Path | None:
        """Create the key file when no keys are configured; return its path if one was made."""
        store = self.keys
        if store.available or store.path is None:
            return None
        init_key_file(store.path)
        return store.path

    def keys_rotate(self) -> tuple[str, Reencryption]:
        """Add a fresh current key to the key file and re-encrypt stored values with it.

        Servers re-read the key file within a second, so no restart is needed.
        """
        self._allow("keys", "admin")
        store = self.keys
        if store.path is None:
            raise ConfigError(
                "keys come from ROLODEX_KEYS: rotate them where that variable is set "
                "(`rolodex keys rotate --print` shows the new value)"
            )
        rotated = rotate_key_file(store.path)
        store.reload()
        cipher = Cipher(rotated)
        checked, rewrapped = self.vault.rewrap()
        done = reseal_store(
            self._ready(), cipher, tuple(self.settings.security.encrypt), vault=self.vault
        )
        done.checked["vault.subject_key"] = checked
        done.rewritten["vault.subject_key"] = rewrapped
        with self._ready().begin() as conn:
            append_audit(
                conn,
                actor=self.actor,
                action="keys.rotate",
                details={"current": rotated.current_id, "rewritten": done.rewritten},
            )
        return rotated.current_id, done

    def keys_seal(self) -> Reencryption:
        """Encrypt what the store still holds in plaintext (data from before encryption was
        on, or a kind `security.encrypt` now adds), re-encrypt what uses an old key, decrypt
        kinds the setting no longer names, and fill missing blind indexes; then scrub the
        database files of the values replaced."""
        from rolodex.pipeline.privacy import scrub_deleted

        self._allow("keys", "admin")
        cipher = self.keys.cipher()
        done = reseal_store(
            self._ready(), cipher, tuple(self.settings.security.encrypt), vault=self.vault
        )
        if any(done.rewritten.values()):
            # The plaintext just replaced must not stay behind in free pages or the WAL.
            scrub_deleted(self._ready(), tables=tuple(SEALED))
        with self._ready().begin() as conn:
            append_audit(
                conn,
                actor=self.actor,
                action="keys.seal",
                details={"current": cipher.keyring.current_id, "rewritten": done.rewritten},
            )
        return done

    # --- audit -------------------------------------------------------------------------------

    def audit_verify(self, *, expect_head: str | None = None) -> AuditVerification:
        """Recompute the audit log's hash chain; any edited or removed entry is reported."""
        self._allow("audit", "admin")
        with self._reading() as conn:
            return verify_audit(conn, expect_head=expect_head)

    def audit_entries(
        self,
        *,
        limit: int = 50,
        action: str | None = None,
        actor: str | None = None,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """The newest audit entries, optionally of one action (prefix) or one actor;
        `before` (an entry id) pages back through older ones."""
        self._allow("audit", "read")
        log = table(AuditLog)
        query = select(*(log.c[c] for c in _AUDIT_COLUMNS)).order_by(log.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(log.c.id < before)
        if action is not None:
            query = query.where(log.c.action.startswith(action, autoescape=True))
        if actor is not None:
            query = query.where(log.c.actor == actor)
        with self._reading() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # --- analyze -----------------------------------------------------------------------------

    def rfm(self, *, as_of: date | None = None, store: bool = True) -> RfmResult:
        """Recency, frequency and monetary scores (1-5) and named segments of every customer
        with orders, as of a day (default today). `store` keeps the scores and refreshes the
        RFM segments (running analytics); without it the analysis is only read."""
        from rolodex.pipeline.analytics import run_rfm
        from rolodex.pipeline.segments import refresh_rfm_segments

        self._allow("analytics", "run" if store else "read")
        with self._ready().begin() as conn:
            result = run_rfm(conn, as_of=as_of, store=store)
            if store:
                refresh_rfm_segments(conn, actor=self.actor)
            return result

    def clv(
        self,
        *,
        as_of: date | None = None,
        horizon_weeks: float = 52,
        discount_rate: float = 0.0,
        store: bool = True,
    ) -> ClvReport:
        """Customer lifetime value (BG/NBD + Gamma-Gamma) calibrated on orders up to `as_of`;
        later orders, when there are any, are the holdout the model is checked against.
        `store` keeps each contact's figures (running analytics); without it, only read."""
        from rolodex.pipeline.analytics import run_clv

        self._allow("analytics", "run" if store else "read")
        with self._ready().begin() as conn:
            return run_clv(
                conn,
                as_of=as_of,
                horizon_weeks=horizon_weeks,
                discount_rate=discount_rate,
                store=store,
            )

    def churn(
        self, *, label: str | None = None, as_of: date | None = None, store: bool = True
    ) -> ChurnReport:
        """Churn risk per customer with its top reasons, from a model validated honestly.
        `store` keeps each contact's risk (running analytics); without it, only read."""
        from rolodex.pipeline.analytics import run_churn

        self._allow("analytics", "run" if store else "read")
        with self._ready().begin() as conn:
            return run_churn(conn, label=label, as_of=as_of, store=store)

    def cohorts(self, *, as_of: date | None = None, period: str = "month") -> CohortReport:
        """Acquisition cohorts with retention and revenue, and sBG retention of subscriptions."""
        from rolodex.pipeline.analytics import run_cohorts

        self._allow("analytics", "read")
        with self._ready().connect() as conn:
            return run_cohorts(conn, as_of=as_of, period=period)

    def campaigns(
        self, *, control: str | None = None, campaign: str | None = None
    ) -> CampaignResult:
        """Reach, response, conversion and revenue per campaign and arm, and each treatment's
        lift over the control arm with confidence intervals and p-values."""
        from rolodex.pipeline.analytics import run_campaigns

        self._allow("analytics", "read")
        with self._ready().connect() as conn:
            return run_campaigns(conn, control=control, campaign=campaign)

    def forecast(self, *, as_of: date | None = None, horizon_months: int = 6) -> Forecast:
        """Revenue forecast from orders and the weighted pipeline of open deals."""
        from rolodex.pipeline.analytics import run_forecast

        self._allow("analytics", "read")
        with self._ready().connect() as conn:
            return run_forecast(conn, as_of=as_of, horizon_months=horizon_months)

    def latest_order_date(self) -> date | None:
        """The day of the most recent order, if any (analyses of historical data use it)."""
        from rolodex.pipeline.analytics import latest_order_date

        with self._ready().connect() as conn:
            return latest_order_date(conn)

    # --- segment -----------------------------------------------------------------------------

    def segment_create(
        self, name: str, *, where: str, description: str | None = None
    ) -> SegmentInfo:
        """Save a segment from a filter (`rolodex segment create NAME --where EXPR`) and fill
        it; a bad filter raises an error that points at the offending token."""
        from rolodex.pipeline.segments import create_segment

        self._allow("segments", "create")
        with self._ready().begin() as conn:
            info = create_segment(
                conn, name=name, expression=where, description=description, actor=self.actor
            )
            append_audit(
                conn,
                actor=self.actor,
                action="segment create",
                entity="segment",
                details={"name": info.name, "expression": info.expression},
            )
            return info

    def segment_fields(self) -> list[tuple[str, str, str]]:
        """What a segment filter may use: (name, type, meaning), custom fields included."""
        from rolodex.pipeline.segments import segment_fields

        with self._ready().connect() as conn:
            return [(f.name, f.type, f.description) for f in segment_fields(conn).values()]

    def segments(self) -> list[SegmentInfo]:
        """Every segment (the predefined RFM ones included) with its member count."""
        from rolodex.pipeline.segments import ensure_rfm_segments, list_segments

        self._allow("segments", "read")
        with self._ready().begin() as conn:
            ensure_rfm_segments(conn, actor=self.actor)
            return list_segments(conn)

    def segment(self, name: str, *, limit: int = 20) -> dict[str, Any]:
        """One segment: its filter, first members and membership history. The members are
        shown as the acting user may see contacts (none to an aggregates-only role)."""
        from rolodex.pipeline.segments import ensure_rfm_segments, show_segment

        self._allow("segments", "read")
        with self._ready().begin() as conn:
            ensure_rfm_segments(conn, actor=self.actor)
            shown = show_segment(conn, name=name, limit=limit)
        if not sees_everything(self.principal):
            sample = shown["sample"] if self._lists_people() else []
            self._audit_reads("contact", [int(m["id"]) for m in sample])
            shown["sample"] = shape_contacts(self.principal, sample)
        return shown

    def segment_refresh(self, name: str | None = None) -> list[SegmentInfo]:
        """Recompute one segment's members (or every segment's), keeping who entered and
        who left."""
        from rolodex.pipeline.segments import ensure_rfm_segments, refresh_all, refresh_segment

        self._allow("segments", "update")
        with self._ready().begin() as conn:
            if name is None:
                return refresh_all(conn)
            ensure_rfm_segments(conn, actor=self.actor)
            self._segment_known(conn, name)
            return [refresh_segment(conn, name=name)]

    def segment_export(
        self, name: str, out: Path, *, purpose: str | None = "marketing", everyone: bool = False
    ) -> ExportSummary:
        """Write a segment's members to CSV; for a marketing export, members without
        marketing consent are left out (and counted) unless `everyone`."""
        from rolodex.pipeline.segments import export_segment

        self._allow("segments", "export")
        require_identifying(self.principal, "contacts")
        if self.principal.role.row_scope != "all":
            # The export reads every member: a role limited to its own rows would see more.
            raise PermissionDenied(
                "segments",
                "export",
                role=self.principal.role.name,
                reason="segment exports hold every member; this role sees only some rows",
            )
        shaper = row_shaper(self.principal, "contacts", aliases=_EXPORT_ALIASES)
        with self._ready().begin() as conn:
            self._segment_known(conn, name)
            done = export_segment(
                conn,
                name=name,
                out=Path(out),
                purpose=purpose,
                everyone=everyone,
                transform=None if shaper is None else partial(shape_parts, shaper),
            )
            append_audit(
                conn,
                actor=self.actor,
                action="export",
                entity="segment",
                details={
                    "name": name,
                    "rows": done.written,
                    "left_out_without_consent": done.left_out,
                    "file": Path(out).name,
                },
            )
            return done

    def report(self, out: Path, *, as_of: date | None = None) -> ReportSummary:
        """Write one self-contained HTML report (charts of quality, duplicates, customers,
        RFM, CLV, churn, cohorts, campaigns and the forecast) to `out`."""
        from rolodex.pipeline.report import make_report

        self._allow("analytics", "read")
        with self._ready().connect() as conn:
            summary = make_report(conn, Path(out), as_of=as_of, show_name=self._name_shown())
        with self._ready().begin() as conn:
            append_audit(
                conn,
                actor=self.actor,
                action="report",
                entity="report",
                details={"file": Path(out).name, "sections": list(summary.sections)},
            )
        return summary

    # --- access ----------------------------------------------------------------------------

    def user_add(
        self,
        username: str,
        *,
        password: str,
        role: str,
        team: str | None = None,
        display_name: str | None = None,
    ) -> UserInfo:
        """Create a user (`rolodex user add`); the first admin is made this way: there are
        no default credentials."""
        from rolodex.secure.users import add_user

        self._allow("users", "create")
        with self._ready().begin() as conn:
            return add_user(
                conn,
                username=username,
                password=password,
                role=role,
                team=team,
                display_name=display_name,
                actor=self.actor,
                origin=self.origin,
            )

    def users(self) -> list[UserInfo]:
        """Every user, by username."""
        from rolodex.secure.users import list_users

        self._allow("users", "read")
        with self._ready().connect() as conn:
            return list_users(conn)

    def user_disable(self, username: str) -> UserInfo:
        """Stop a user signing in and revoke their API keys."""
        from rolodex.secure.users import disable_user

        self._allow("users", "update")
        with self._changing_credentials() as conn:
            return disable_user(conn, username=username, actor=self.actor, origin=self.origin)

    def user_enable(self, username: str) -> UserInfo:
        """Let a disabled (or locked-out) user sign in again."""
        from rolodex.secure.users import enable_user

        self._allow("users", "update")
        with self._changing_credentials() as conn:
            return enable_user(conn, username=username, actor=self.actor, origin=self.origin)

    def user_set_role(self, username: str, role: str) -> UserInfo:
        """Give a user another built-in or custom role."""
        from rolodex.secure.users import set_role

        self._allow("users", "update")
        with self._changing_credentials() as conn:
            return set_role(
                conn, username=username, role=role, actor=self.actor, origin=self.origin
            )

    def user_set_password(self, username: str, *, password: str) -> UserInfo:
        """Replace a user's password (checked against the password policy)."""
        from rolodex.secure.users import set_password

        self._allow("users", "update")
        with self._changing_credentials() as conn:
            return set_password(
                conn,
                username=username,
                password=password,
                actor=self.actor,
                origin=self.origin,
            )

    def apikey_create(
        self,
        username: str | None,
        *,
        name: str,
        scopes: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKeyInfo, str]:
        """Create an API key; the plaintext is returned this once and never stored.

        Every user may create keys for themselves (`username` None or their own name); keys
        for others need the users create permission. A key's scopes may not reach beyond
        what the acting user may do now (role and, when acting through a key, its scopes);
        no scopes means the acting user's own limits.

        Raises:
            PermissionDenied: a key for someone else without permission, or a scope wider
                than the acting user's permissions.
        """
        from rolodex.secure.users import create_api_key

        if not self._is_self(username):
            self._allow("users", "create")
        kept = self._key_scopes(scopes)
        with self._ready().begin() as conn:
            return create_api_key(
                conn,
                username=self.principal.username if username is None else username,
                name=name,
                scopes=kept,
                expires_at=expires_at,
                actor=self.actor,
                origin=self.origin,
            )

    def apikeys(self, *, username: str | None = None) -> list[ApiKeyInfo]:
        """API keys (one user's or all), without secrets. A user who may not read users sees
        only their own keys."""
        from rolodex.secure.users import list_api_keys

        if not self._may("users", "read"):
            if not self._is_self(username):
                self._allow("users", "read")
            username = self.principal.username
        with self._ready().connect() as conn:
            return list_api_keys(conn, username=username)

    def apikey_revoke(self, key: str | int) -> ApiKeyInfo:
        """Revoke an API key by id or prefix. Everyone may revoke their own keys; others'
        need the users update permission (without it, they answer as not found)."""
        from rolodex.secure.users import revoke_api_key

        if not self._may("users", "update"):
            self._own_key(key)
        with self._changing_credentials() as conn:
            return revoke_api_key(conn, key=key, actor=self.actor, origin=self.origin)

    def login(
        self,
        username: str,
        password: str,
        *,
        origin: str | None = None,
        secret: bytes,
        ttl: timedelta = timedelta(minutes=15),
    ) -> tuple[IssuedToken, UserInfo]:
        """Check a password and issue a short-lived token; failures are committed before the
        error is raised, since they are what locks out a guesser."""
        from rolodex.secure.auth import AuthenticationError
        from rolodex.secure.users import login

        failure: AuthenticationError | None = None
        with self._ready().begin() as conn:
            try:
                return login(
                    conn,
                    username=username,
                    password=password,
                    origin=origin,
                    secret=secret,
                    ttl=ttl,
                )
            except AuthenticationError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def authenticate(self, credential: str, *, secret: bytes) -> Authenticated:
        """Say who a session token or an API key belongs to."""
        from rolodex.secure.users import authenticate, note_key_use

        with self._reading() as conn:
            who = authenticate(conn, credential=credential, secret=secret, note_use=False)
        if who.use_unrecorded and who.key_id is not None:
            with self._ready().begin() as conn:  # at most once a minute per key
                note_key_use(conn, key_id=who.key_id)
        return who

    def logout(self, token: str, *, secret: bytes) -> None:
        """Revoke a session token until it would have expired."""
        from rolodex.secure.users import logout

        with self._changing_credentials() as conn:
            logout(conn, token=token, secret=secret)

    # --- contacts ---

    def contacts(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        after: str | None = None,
        limit: int = 50,
        where: ColumnElement[bool] | None = None,
    ) -> Page:
        """List golden contacts a page at a time; see `pipeline.contacts.list_contacts`.

        The acting user sees only the rows their scope allows and the fields they are granted.
        """
        self._allow("contacts", "read")
        require_identifying(self.principal, "contacts")
        with self._reading() as conn:
            page = list_contacts(
                conn, filters=filters, after=after, limit=limit, where=self._scope(where)
            )
        self._audit_reads("contact", [int(r["id"]) for r in page.items])
        page.items = shape_contacts(self.principal, page.items)
        return page

    def search(
        self, q: str, *, limit: int = 20, where: ColumnElement[bool] | None = None
    ) -> dict[str, Any]:
        """Find contacts by email, phone, name or company; see `search_contacts`."""
        self._allow("contacts", "read")
        require_identifying(self.principal, "contacts")
        with self._reading() as conn:
            found = search_contacts(
                conn,
                q=q,
                limit=limit,
                where=self._scope(where),
                region=self.settings.clean.default_region,
            )
        self._audit_reads("contact", [int(r["id"]) for r in found["items"]])
        found["items"] = shape_contacts(self.principal, found["items"])
        return found

    def contact(self, contact_id: int) -> dict[str, Any]:
        """The 360° view of one contact (a merged-away id answers with its survivor)."""
        self._allow("contacts", "read")
        require_identifying(self.principal, "contacts")
        with self._reading() as conn:
            view = contact_360(conn, contact_id=contact_id, where=self._scope(None))
        self._audit_reads("contact", [int(view["id"])])
        return shape_360(self.principal, view)

    def _contact_scorer(self) -> Scorer | None:
        """The trained model's single-record scorer, None before the first resolve."""
        with self._reading() as conn:
            trained = conn.execute(
                text("SELECT max(id) FROM match_model WHERE entity = 'contact'")
            ).scalar()
            if trained is None:
                return None
            if self._scorer[0] != trained:
                stored = latest_model(conn)
                assert stored is not None
                self._scorer = (int(trained), Scorer(stored[0]))
            return self._scorer[1]

    def create_contacts(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        on_match: OnMatch = "report",
        source: str = "api",
    ) -> list[CreateResult]:
        """Create contacts through the import's cleaning and the real-time match; see
        `pipeline.contacts.create_contacts`."""
        self._allow("contacts", "create")
        if on_match == "merge":
            self._allow("resolve", "run")
        return create_contacts(
            self._ready(),
            records=records,
            source=source,
            on_match=on_match,
            actor=self.actor,
            settings=self.settings,
            scorer=self._contact_scorer(),
        )

    def update_contact(
        self, contact_id: int, changes: Mapping[str, Any], *, if_match: str | None = None
    ) -> dict[str, Any]:
        """Edit golden fields of a contact, refused when `if_match` is not its ETag.

        Only fields the acting user sees in full can be changed, and only in rows in scope.
        """
        self._allow("contacts", "update")
        self._check_writable(changes)
        scope = self._scope(None)
        with self._ready().begin() as conn:
            return update_contact(
                conn,
                contact_id=contact_id,
                changes=changes,
                if_match=if_match,
                actor=self.actor,
                region=self.settings.clean.default_region,
                origin=self.origin,
                where=scope,
            )

    def update_contacts(self, updates: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Apply many edits; one bad item does not fail the others."""
        self._allow("contacts", "update")
        scope = self._scope(None)
        with self._ready().begin() as conn:
            return update_contacts(
                conn,
                updates=updates,
                actor=self.actor,
                region=self.settings.clean.default_region,
                origin=self.origin,
                where=scope,
                check=self._check_writable,
            )

    # --- privacy ----------------------------------------------------------------------------

    def privacy_export(
        self, subject: str, out: Path, *, formats: Sequence[str] = ("json", "csv")
    ) -> PrivacyExport:
        """Write everything held about a person (email, phone or contact id) to `out`."""
        self._allow("privacy", "export")
        from rolodex.pipeline.privacy import export_subject

        with self._ready().begin() as conn:
            return export_subject(
                conn,
                subject=subject,
                out=Path(out),
                formats=formats,
                actor=self.actor,
                region=self.settings.clean.default_region,
            )

    def privacy_erase(
        self, subject: str, *, suppress: bool = False, reason: str | None = None
    ) -> ErasureSummary:
        """Erase a person everywhere; `suppress` keeps them from being imported again."""
        self._allow("privacy", "delete")
        from rolodex.pipeline.privacy import erase_subject

        return erase_subject(
            self._ready(),
            subject=subject,
            suppress=suppress,
            reason=reason,
            actor=self.actor,
            hash_value=self._suppression_hash() if suppress else None,
            region=self.settings.clean.default_region,
        )

    def privacy_scrub(self) -> bool:
        """Overwrite what erasures deleted (again); False while another process holds the file."""
        self._allow("privacy", "run")
        from rolodex.pipeline.privacy import scrub_deleted

        return scrub_deleted(self._ready())

    def privacy_retention(
        self, *, dry_run: bool = False, now: datetime | None = None
    ) -> RetentionSummary:
        """Apply the configured retention policies (what a scheduler runs)."""
        self._allow("privacy", "run")
        if not self.settings.privacy.retention:
            raise ConfigError(
                "no retention policies: add [[privacy.retention]] tables to rolodex.toml"
            )
        from rolodex.pipeline.privacy import apply_retention, scrub_deleted

        engine = self._ready()
        with engine.begin() as conn:
            summary = apply_retention(
                conn,
                policies=self.settings.privacy.retention,
                now=now or utcnow(),
                dry_run=dry_run,
                actor=self.actor,
            )
        if not dry_run and (summary.deleted or summary.anonymized):
            scrub_deleted(engine)
        return summary

    # --- imports, resolve, consents and forms over the API ------------------------------------
    # (issue 6: jobs, quarantine, review and web form intake; owned by the API intake work)

    def authorize(self, family: Family, action: Action) -> None:
        """Refuse up front what the acting user may not do (for adapters that queue work to
        run later, so the refusal is an answer rather than a failed job).

        Raises:
            PermissionDenied: the role or API key scopes do not allow it.
        """
        self._allow(family, action)

    def quarantine(
        self, batch_id: int, *, after: int | None = None, limit: int = 50
    ) -> dict[str, Any]:
        """The rows of one import batch that were quarantined, with the reasons, a page at a
        time (`after`: the last id seen). The raw row is personal data: shown by the acting
        user's `imports.payload` grant and audited as a read."""
        self._allow("imports", "read")
        with self._ready().connect() as conn:
            repo.get_batch(conn, batch_id)
            rows = conn.execute(
                text(
                    "SELECT r.id, s.name AS source, r.kind, r.batch_id, r.file AS file_name,"
                    " r.row_number, r.external_id, r.issues, r.payload FROM source_record r"
                    " JOIN source s ON s.id = r.source_id WHERE r.batch_id = :b"
                    " AND r.status = 'quarantined' AND r.id > :after ORDER BY r.id LIMIT :n"
                ),
                {"b": batch_id, "after": after or 0, "n": limit + 1},
            ).mappings()
            items: list[dict[str, Any]] = []
            for row in rows:
                item = dict(row)
                issues = item.pop("issues")
                item["reasons"] = [
                    {"column": p.get("column"), "message": p.get("message")}
                    for p in (json.loads(issues) if issues else [])
                ]
                payload = self.sealer.open_one("payload", item["payload"])
                item["payload"] = json.loads(payload) if payload else None
                items.append(item)
        more = len(items) > limit
        items = items[:limit]
        self._audit_reads("source_record", [int(i["id"]) for i in items])
        if not sees_everything(self.principal):
            items = shape_rows(self.principal, "imports", items)
        return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}

    def resolve_runs(self, *, after: int | None = None, limit: int = 50) -> dict[str, Any]:
        """Past resolve runs, newest first, a page at a time (`after`: the last id seen)."""
        self._allow("resolve", "read")
        from rolodex.model import ResolveRun

        runs = table(ResolveRun)
        query = select(runs).order_by(runs.c.id.desc()).limit(limit + 1)
        if after is not None:
            query = query.where(runs.c.id < after)
        with self._ready().connect() as conn:
            items = [dict(r) for r in conn.execute(query).mappings()]
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}

    def _shape_person(self, row: Mapping[str, Any], personal: Sequence[str]) -> dict[str, Any]:
        """Shape the personal fields of a mixed row by contacts permissions; keep the rest."""
        if sees_everything(self.principal):
            return dict(row)
        renamed = {"name": "full_name"}
        shown = shape_row(
            self.principal,
            "contacts",
            {renamed.get(k, k): row[k] for k in personal if k in row},
        )
        out = {k: v for k, v in row.items() if k not in personal}
        for key in personal:
            if renamed.get(key, key) in shown:
                out[key] = shown[renamed.get(key, key)]
        return out

    def _shape_explain(self, found: dict[str, Any]) -> dict[str, Any]:
        """An explanation as the acting user may see it: record names and golden values by
        the contacts field permissions (a value not granted is left out)."""
        if sees_everything(self.principal):
            return found
        found["records"] = [
            self._shape_person(r, ("name", "email", "phone")) for r in found["records"]
        ]
        values = []
        for item in found["values"]:
            shown = self._shape_person(item | {item["field"]: item["value"]}, (item["field"],))
            value = shown.pop(item["field"], None)
            shown.pop("value", None)
            if value is not None:
                shown["value"] = value
            values.append(shown)
        found["values"] = values
        return found

    def _shape_review(self, pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Review pairs with both records shaped by the contacts field permissions."""
        if sees_everything(self.principal):
            return pairs
        personal = (
            *("first_name", "last_name", "email", "phone"),
            *("company_name", "street", "postcode", "city"),
        )
        for pair in pairs:
            for side in ("left", "right"):
                pair[side] = self._shape_person(pair[side], personal)
        return pairs

    def _shape_examples(self, examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Resolve examples name people: their names follow the contacts `full_name` grant."""
        if sees_everything(self.principal):
            return examples
        # Checked first: a run must not fail (and roll back) over how its report is shown.
        visible = "full_name" in field_access(self.principal, "contacts", ["full_name"])
        out = []
        for example in examples:
            shown = {k: v for k, v in example.items() if k != "names"}
            if visible:
                shown["names"] = [
                    shape_row(self.principal, "contacts", {"full_name": n}).get("full_name")
                    for n in example["names"]
                ]
            out.append(shown)
        return out

    def consent_record(
        self,
        contact_id: int,
        *,
        purpose: str,
        status: str = "granted",
        lawful_basis: str | None = "consent",
        source: str | None = None,
        proof: Mapping[str, Any] | None = None,
        customer_record_id: int | None = None,
        occurred_at: datetime | None = None,
    ) -> int:
        """Add a consent decision to a contact's history; return its id.

        Raises:
            PermissionDenied: the acting user may not create consents.
            InputError: unknown status.
        """
        from rolodex.pipeline.intake import INTAKE_ROLE, record_consent

        self._allow("consents", "create")
        # A form's principal owns nothing yet adds consents to the contact it just created.
        scope = None if self.principal.role is INTAKE_ROLE else self._scope(None)
        with self._ready().begin() as conn:
            self._in_scope(conn, contact_id, scope)
            found = conn.execute(
                text("SELECT id FROM contact WHERE id = :c"), {"c": contact_id}
            ).first()
            if found is None:
                raise NotFoundError(f"there is no contact {contact_id}")
            return record_consent(
                conn,
                contact_id=contact_id,
                customer_record_id=customer_record_id,
                purpose=purpose,
                status=status,
                lawful_basis=lawful_basis,
                source=source,
                proof=proof,
                occurred_at=occurred_at or utcnow(),
                actor=self.actor,
            )

    def form_create(
        self,
        name: str,
        *,
        source: str,
        purpose: str,
        double_opt_in: bool = False,
        rate_per_minute: int = 10,
    ) -> tuple[FormInfo, str]:
        """Create a web form; return it and its token, shown this once (contacts admin)."""
        from rolodex.pipeline.intake import create_form

        self._allow("contacts", "admin")
        with self._ready().begin() as conn:
            return create_form(
                conn,
                name=name,
                source=source,
                purpose=purpose,
                double_opt_in=double_opt_in,
                rate_per_minute=rate_per_minute,
                actor=self.actor,
                now=utcnow(),
            )

    def forms(self) -> list[FormInfo]:
        """Every web form, by name (contacts admin)."""
        from rolodex.pipeline.intake import list_forms

        self._allow("contacts", "admin")
        with self._ready().connect() as conn:
            return list_forms(conn)

    def form_delete(self, name: str) -> int:
        """Delete a web form and its unconfirmed submissions; return how many of those."""
        from rolodex.pipeline.intake import delete_form

        self._allow("contacts", "admin")
        with self._ready().begin() as conn:
            return delete_form(conn, name=name, actor=self.actor)

    def form_submit(
        self,
        name: str,
        *,
        token: str | None,
        record: Mapping[str, Any],
        mailer: Mailer,
        client: str | None = None,
        user_agent: str | None = None,
        throttle: Callable[[str, int], None] | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Take one public submission of form `name` (authenticated by the form's token):
        create the contact and its granted consent, or with double opt-in keep it encrypted
        and mail a confirmation link. A suppressed person gets the same answer and nothing
        is kept.

        Args:
            throttle: called with the form's name and rate once the token is good; raises
                to refuse (the adapter's rate limiter).

        Raises:
            FormTokenInvalid: unknown form or wrong token.
            InputError: the record cannot be used (double opt-in: no valid email).
        """
        from rolodex.pipeline.intake import (
            add_pending,
            authenticate_form,
            is_suppressed,
            submission_proof,
        )

        now = now or utcnow()
        cipher = self.keys.cipher()
        with self._ready().connect() as conn:
            form = authenticate_form(conn, name=name, token=token)
        if throttle is not None:
            throttle(form.name, form.rate_per_minute)
        status = "pending_confirmation" if form.double_opt_in else "received"
        proof = submission_proof(
            form=form.name, client=client, user_agent=user_agent, cipher=cipher, now=now
        )
        region = self.settings.clean.default_region
        with self._ready().begin() as conn:
            if is_suppressed(conn, record, hash_value=self._suppression_hash(), region=region):
                return {"status": status}
            if form.double_opt_in:
                message = add_pending(
                    conn, form=form, record=record, proof=proof, cipher=cipher, now=now
                )
        if form.double_opt_in:
            mailer.send_confirmation(message)
        else:
            self._form_intake(form, record, proof, occurred_at=now)
        return {"status": status}

    def form_confirm(self, token: str, *, now: datetime | None = None) -> dict[str, Any]:
        """Follow a double opt-in link: create the contact and the granted consent (its proof
        says when the link was followed). Each link works once, for 72 hours.

        Raises:
            NotFoundError: the link is not known.
            ConfirmationGone: used already or expired.
        """
        from rolodex.pipeline.intake import (
            ConfirmationGone,
            expire_pending,
            is_suppressed,
            take_pending,
        )

        now = now or utcnow()
        with self._ready().begin() as conn:
            expired = expire_pending(conn, now=now, token=token)
        if expired:
            raise ConfirmationGone(
                "this confirmation link has expired; please submit the form again"
            )
        with self._ready().begin() as conn:
            form, record, proof = take_pending(
                conn, token=token, cipher=self.keys.cipher(), now=now
            )
            suppressed = is_suppressed(
                conn,
                record,
                hash_value=self._suppression_hash(),
                region=self.settings.clean.default_region,
            )
        if not suppressed:
            self._form_intake(form, record, proof | {"confirmed_at": now.isoformat()}, now)
        return {"status": "confirmed", "form": form.name}

    def _form_intake(
        self,
        form: FormInfo,
        record: Mapping[str, Any],
        proof: Mapping[str, Any],
        occurred_at: datetime,
    ) -> int:
        """Create (or merge) a form's contact and record its consent, acting as the form."""
        from rolodex.pipeline.intake import form_principal

        view = self.acting_as(form_principal(form.name), origin=self.origin)
        result = view.create_contacts([record], on_match="merge", source=form.source)[0]
        if result.contact_id is None:
            raise InputError(
                "the submitted record cannot be used: " + "; ".join(result.reasons or ["empty"])
            )
        view.consent_record(
            result.contact_id,
            purpose=form.purpose,
            source=form.source,
            proof=proof,
            customer_record_id=result.source_record_id,
            occurred_at=occurred_at,
        )
        return result.contact_id

    # --- end of imports, resolve, consents and forms ------------------------------------------

    # --- companies, records, segments, analytics and access over the API -------------------
    # (issue 6: the read endpoints and user administration; owned by the API records work)

    def _may(self, family: Family, action: Action) -> bool:
        """Say whether the acting principal may do `action` on `family` (no error)."""
        from rolodex.secure.permissions import allowed

        return allowed(self.principal, family, action)

    def _lists_people(self) -> bool:
        """Whether the acting user may see contacts row by row (not aggregates only)."""
        return self._may("contacts", "read") and not self.principal.role.aggregates_only

    def _segment_known(self, conn: Connection, name: str) -> None:
        """Refuse a segment name that names no segment (as not found)."""
        from rolodex.model import Segment

        segment = table(Segment)
        if conn.execute(select(segment.c.id).where(segment.c.name == name)).first() is None:
            raise NotFoundError(f"no segment {name!r} (GET /segments lists them)")

    def _record_scope(self, kind: RecordType) -> ColumnElement[bool] | None:
        """The acting user's rows of a record table: those of contacts in their scope, and
        for a table with its own owner (deals) the rows they own, or unowned ones of their
        contacts."""
        from sqlalchemy import or_

        contact_scope = self._scope(None)
        if contact_scope is None:
            return None
        tbl = kind.table
        of_contact = tbl.c.contact_id.in_(select(table(Contact).c.id).where(contact_scope))
        owner = kind.owner_column
        if owner is None:
            return of_contact
        own = row_filter(self.principal, owner, team_members=self.team_members())
        return of_contact if own is None else or_(own, and_(owner.is_(None), of_contact))

    def companies(
        self,
        *,
        name: str | None = None,
        domain: str | None = None,
        country: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """Current companies a page at a time, by name prefix, domain or country; see
        `pipeline.records.list_companies`. Fields are shown as the acting user may see them."""
        from rolodex.pipeline.records import list_companies

        self._allow("companies", "read")
        require_identifying(self.principal, "companies")
        with self._reading() as conn:
            page = list_companies(
                conn, name=name, domain=domain, country=country, after=after, limit=limit
            )
        if not sees_everything(self.principal):
            page.items = shape_rows(self.principal, "companies", page.items)
        return page.to_dict()

    def company(self, company_id: int) -> dict[str, Any]:
        """One company with how many of the acting user's contacts work there and (when they
        may see contacts row by row) the first of their ids."""
        from rolodex.pipeline.records import company

        self._allow("companies", "read")
        require_identifying(self.principal, "companies")
        people = self._lists_people()
        scope = self._scope(None)
        with self._reading() as conn:
            found = company(conn, company_id=company_id, contacts_where=scope, list_contacts=people)
        if sees_everything(self.principal):
            return found
        extra = ("requested_id", "merged_into", "contacts_count", "contact_ids")
        shown = shape_row(
            self.principal, "companies", {k: v for k, v in found.items() if k not in extra}
        )
        return {**shown, **{k: found[k] for k in extra}}

    def records(
        self,
        kind: str,
        *,
        contact_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """Orders, interactions, tickets, consents or deals a page at a time, of one contact
        and/or in a time range; see `pipeline.records.list_records`. Only rows of the acting
        user's contacts (deals: also their own), fields as their role shows them (free text
        such as a ticket's subject is absent unless granted); each row read is audited."""
        from rolodex.pipeline.records import list_records, record_type

        found = record_type(kind)
        self._allow(found.family, "read")
        require_identifying(self.principal, found.family)
        where = self._record_scope(found)
        with self._reading() as conn:
            page = list_records(
                conn,
                found,
                contact_id=contact_id,
                since=since,
                until=until,
                after=after,
                limit=limit,
                where=where,
            )
        self._audit_reads(found.entity, [int(r["id"]) for r in page.items])
        if not sees_everything(self.principal):
            page.items = shape_rows(self.principal, found.family, page.items)
        return page.to_dict()

    def order(self, order_id: int) -> dict[str, Any]:
        """One order with its line items (product lines are not personal: shown as stored)."""
        from rolodex.pipeline.records import order, record_type

        self._allow("orders", "read")
        require_identifying(self.principal, "orders")
        where = self._record_scope(record_type("orders"))
        with self._reading() as conn:
            found = order(conn, order_id=order_id, where=where)
        self._audit_reads("order", [order_id])
        if sees_everything(self.principal):
            return found
        lines = found.pop("lines")
        return {**shape_row(self.principal, "orders", found), "lines": lines}

    def contact_consents(self, contact_id: int) -> dict[str, Any]:
        """A contact's consent decision in force per purpose, and the history behind it."""
        from rolodex.pipeline.records import consent_history

        self._allow("consents", "read")
        require_identifying(self.principal, "consents")
        scope = self._scope(None)
        with self._reading() as conn:
            found = consent_history(conn, contact_id=contact_id, where=scope)
        self._audit_reads("consent", [int(r["id"]) for r in found["history"]])
        if not sees_everything(self.principal):
            found["latest"] = shape_rows(self.principal, "consents", found["latest"])
            found["history"] = shape_rows(self.principal, "consents", found["history"])
        return found

    def segment_page(
        self, name: str, *, after: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        """One segment, its membership history and a page of its current members shaped as
        contacts are (`members_page` is None for a user who may not list contacts)."""
        from rolodex.pipeline.segments import ensure_rfm_segments, show_segment

        self._allow("segments", "read")
        with self._ready().begin() as conn:
            ensure_rfm_segments(conn, actor=self.actor)
            self._segment_known(conn, name)
            shown = show_segment(conn, name=name, limit=0)
        shown.pop("sample", None)
        shown["members_page"] = (
            self.contacts(filters={"segment": name}, after=after, limit=limit).to_dict()
            if self._lists_people()
            else None
        )
        return shown

    def segment_list(self, *, after: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Segments a page at a time, by name (`after`: the last name seen)."""
        found = sorted(self.segments(), key=lambda s: s.name)
        if after is not None:
            found = [s for s in found if s.name > after]
        page = found[:limit]
        more = len(found) > limit
        return {
            "items": [s.to_dict() for s in page],
            "next_cursor": page[-1].name if more and page else None,
        }

    def analytics(
        self,
        kind: str,
        *,
        as_of: date | None = None,
        rows: int = 0,
        label: str | None = None,
        period: str = "month",
        control: str | None = None,
        campaign: str | None = None,
        horizon_months: int = 6,
    ) -> dict[str, Any]:
        """One analysis as JSON-ready figures, computed without storing anything.

        Args:
            kind: rfm, clv, churn, cohorts, campaigns or forecast.
            rows: also this many per-customer rows (rfm, clv, churn): contact id and
                figures, highest value or risk first. Never to an aggregates-only role, and
                only of contacts in the acting user's row scope; each one is audited.

        Raises:
            InputError: an unknown kind, or data the analysis cannot use.
            PermissionDenied: no analytics read permission.
        """
        import polars as pl

        frame: pl.DataFrame | None = None
        document: dict[str, Any]
        if kind == "rfm":
            rfm = self.rfm(as_of=as_of, store=False)
            document, frame = rfm.to_json(), rfm.contacts.sort("contact_id")
        elif kind == "clv":
            clv = self.clv(as_of=as_of, store=False)
            document = clv.to_dict()
            frame = clv.result.contacts.sort("clv", descending=True, nulls_last=True)
        elif kind == "churn":
            churn = self.churn(label=label, as_of=as_of, store=False)
            document = churn.to_dict()
            frame = churn.contacts.sort("churn_risk", descending=True, nulls_last=True)
        elif kind == "cohorts":
            document = self.cohorts(as_of=as_of, period=period).to_dict()
        elif kind == "campaigns":
            document = self.campaigns(control=control, campaign=campaign).to_json()
        elif kind == "forecast":
            document = self.forecast(as_of=as_of, horizon_months=horizon_months).to_dict()
        else:
            raise InputError(
                f"unknown analysis {kind!r}; analyses: rfm, clv, churn, cohorts, campaigns,"
                " forecast"
            )
        shown = self._reason_shown()
        if "top_reasons" in document:
            document["top_reasons"] = [
                r for r in document["top_reasons"] if shown(r["reason"], r["contacts"])
            ]
        if rows > 0 and frame is not None:
            if self.principal.role.aggregates_only:
                document["rows"] = None
                document["rows_withheld"] = "this role sees aggregates only"
            else:
                document["rows"] = self._score_rows(frame, rows, shown)
        finite: dict[str, Any] = self._finite(document)
        return finite

    @staticmethod
    def _finite(value: Any) -> Any:
        """Replace NaN and infinities (which JSON cannot carry) with None, recursively."""
        import math

        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: Workspace._finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [Workspace._finite(v) for v in value]
        return value

    def _reason_shown(self) -> Callable[[str, int | None], bool]:
        """A test of whether a churn reason ("street = ...", "tenure low") may be shown:
        its column must be visible in full, and to an aggregates-only role a value must be
        shared by enough contacts not to single anyone out."""
        from rolodex.secure.permissions import MIN_GROUP_SIZE

        if sees_everything(self.principal):
            return lambda reason, count: True
        cache: dict[str, bool] = {}
        few = self.principal.role.aggregates_only

        def shown(reason: str, count: int | None) -> bool:
            column, equals, _ = reason.partition(" = ")
            if not equals:
                column = reason.rsplit(" ", 1)[0]
            if column not in cache:
                access = field_access(self.principal, "analytics", [column]).get(column)
                cache[column] = access == "full"
            if not cache[column]:
                return False
            return not (few and equals and count is not None and count < MIN_GROUP_SIZE)

        return shown

    def _score_rows(
        self, frame: Any, rows: int, shown: Callable[[str, int | None], bool]
    ) -> list[dict[str, Any]]:
        """The first `rows` per-customer rows of an analysis the acting user may see."""
        scope = self._scope(None)
        if scope is not None:
            with self._ready().connect() as conn:
                ids = [int(i) for i in frame.get_column("contact_id").to_list()]
                visible: set[int] = set()
                for start in range(0, len(ids), 5000):
                    visible.update(
                        int(i)
                        for i in conn.execute(
                            select(table(Contact).c.id).where(
                                table(Contact).c.id.in_(ids[start : start + 5000]), scope
                            )
                        ).scalars()
                    )
            frame = frame.filter(frame.get_column("contact_id").is_in(sorted(visible)))
        items: list[dict[str, Any]] = frame.head(rows).to_dicts()
        for item in items:
            for key in [k for k in item if k.startswith("reason_")]:
                if item[key] is not None and not shown(str(item[key]), None):
                    item[key] = None
        self._audit_reads("contact", [int(i["contact_id"]) for i in items])
        if sees_everything(self.principal):
            return items
        return shape_rows(self.principal, "analytics", items)

    def user_list(self, *, after: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Users a page at a time by username (`after`: the last one seen), as the acting
        user's users grant shows them."""
        found = [u for u in self.users() if after is None or u.username > after]
        page = [u.to_dict() for u in found[:limit]]
        if not sees_everything(self.principal):
            page = shape_rows(self.principal, "users", page)
        more = len(found) > limit
        return {"items": page, "next_cursor": found[limit - 1].username if more else None}

    def user_update(
        self,
        username: str,
        *,
        role: str | None = None,
        team: str | None = None,
        active: bool | None = None,
    ) -> UserInfo:
        """Change a user's role, team (an empty text removes it) and whether they may sign
        in, in one transaction; every change is audited with before and after.

        Raises:
            NotFoundError: no such user.
            InputError: unknown role, or it would leave no active admin.
        """
        from rolodex.model import User
        from rolodex.secure.users import disable_user, enable_user, get_user, set_role

        self._allow("users", "update")
        with self._changing_credentials() as conn:
            current = get_user(conn, username=username)
            name = current.username
            if role is not None and role != current.role:
                set_role(conn, username=name, role=role, actor=self.actor, origin=self.origin)
            new_team = None if team is None else (team.strip() or None)
            if team is not None and new_team != current.team:
                users = table(User)
                conn.execute(users.update().where(users.c.id == current.id).values(team=new_team))
                append_audit(
                    conn,
                    actor=self.actor,
                    origin=self.origin,
                    action="user set-team",
                    entity="user",
                    entity_id=current.id,
                    details={"username": name, "from": current.team, "to": new_team},
                )
            if active is not None and active != current.is_active:
                change = enable_user if active else disable_user
                change(conn, username=name, actor=self.actor, origin=self.origin)
            return get_user(conn, username=name)

    def _is_self(self, username: str | None) -> bool:
        """Whether `username` (None: unsaid) is the acting user."""
        return username is None or username.strip().lower() == self.principal.username.lower()

    def _key_scopes(self, scopes: Sequence[str] | None) -> list[str] | None:
        """Check a new key's scopes against what the acting user may do now; no scopes
        inherit the acting key's own (a key cannot mint a wider one)."""
        from rolodex.secure.permissions import scope_grants
        from rolodex.secure.users import check_scopes

        if scopes is None:
            return None if self.principal.scopes is None else sorted(self.principal.scopes)
        kept = check_scopes(scopes)  # known families and actions, whoever asks
        if sees_everything(self.principal):  # the local operator may grant any of them
            return kept
        for scope in kept:
            families, actions = scope_grants(scope)
            missing = [f"{f}:{a}" for f in families for a in actions if not self._may(f, a)]
            if missing:
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise PermissionDenied(
                    "users",
                    "create",
                    role=self.principal.role.name,
                    reason=(
                        f"scope {scope!r} reaches beyond what you may do"
                        f" ({', '.join(missing[:3])}{more})"
                    ),
                )
        return kept

    def _own_key(self, key: str | int) -> None:
        """Refuse (as not found) a key that is not the acting user's."""
        from rolodex.secure.auth import API_KEY_PREFIX
        from rolodex.secure.users import list_api_keys

        text = str(key).strip()
        if text.startswith(API_KEY_PREFIX):
            text = text[len(API_KEY_PREFIX) :].split("_", 1)[0]
        with self._ready().connect() as conn:
            mine = list_api_keys(conn, username=self.principal.username)
        if not any(k.prefix == text or str(k.id) == text for k in mine):
            raise NotFoundError(f"you have no API key {text[:40]!r}")

    def apikey_list(
        self, *, username: str | None = None, after: int | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """API keys a page at a time by id (`after`: the last id seen); see `apikeys`."""
        found = [k for k in self.apikeys(username=username) if after is None or k.id > after]
        more = len(found) > limit
        page = found[:limit]
        return {
            "items": [k.to_dict() for k in page],
            "next_cursor": str(page[-1].id) if more and page else None,
        }

    def audit_page(
        self,
        *,
        before: int | None = None,
        limit: int = 100,
        action: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Audit entries newest first, a page at a time (`before`: the last id seen)."""
        items = self.audit_entries(limit=limit + 1, action=action, actor=actor, before=before)
        more = len(items) > limit
        items = items[:limit]
        if not sees_everything(self.principal):
            items = shape_rows(self.principal, "audit", items)
        return {"items": items, "next_cursor": str(items[-1]["id"]) if more and items else None}

    # --- end of companies, records, segments, analytics and access ---------------------------

    def counts(self) -> dict[str, int]:
        """Count the rows of the main tables (what the workspace holds)."""
        with self._ready().connect() as conn:
            return {
                name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in _COUNTED
            }

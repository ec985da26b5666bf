"""Privacy by default: pseudonyms for analysis tables and reports, erasing a person on request,
and the list of files the toolkit wrote with names in them. Decisions: docs/privacy.md.

A pseudonym is a keyed hash (HMAC-SHA-256) of a contact's key under the study's own secret
(``study_meta.pseudonym_key``, created with the study and never in code): stable within a study,
different between studies, and not reversible without the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from study import store
from study.errors import DatabaseError, StudyError

if TYPE_CHECKING:
    import pandas as pd

    from study.api import Study

PSEUDONYM_PREFIX = "K-"
PSEUDONYM_LENGTH = 8  # base32 characters: 40 bits, so collisions stay negligible in a study
#: Kinds whose events are deleted when their contact is forgotten: free text about the person.
DELETED_KINDS = ("note",)
#: Attributes that are ids, not prose: one naming the forgotten person becomes a keyed hash
#: (every step of a job lead keeps the same id), where other text is redacted.
KEY_FIELDS = ("lead",)


def _secret(study: Study | dict[str, str]) -> bytes:
    if isinstance(study, dict):
        return store.pseudonym_key(study, "the study")
    return store.pseudonym_key(study.meta, study.name)


def pseudonym(study: Study | dict[str, str], key: str, *, prefix: str = PSEUDONYM_PREFIX) -> str:
    """The pseudonym of ``key`` in this study, e.g. ``K-7QX2MZ4A``."""
    digest = hmac.new(_secret(study), b"pseudonym\x1f" + str(key).encode(), hashlib.sha256)
    return prefix + base64.b32encode(digest.digest()).decode()[:PSEUDONYM_LENGTH]


def pseudonymize(
    df: pd.DataFrame,
    study: Study | dict[str, str],
    columns: Iterable[str] = ("contact", "introducer"),
    *,
    prefix: str = PSEUDONYM_PREFIX,
) -> pd.DataFrame:
    """A copy of ``df`` whose ``columns`` (those present) hold pseudonyms instead of keys."""
    import pandas as pd

    out = df.copy()
    mapping: dict[str, str] = {}
    for col in columns:
        if col not in out:
            continue
        values = out[col]
        for v in values.dropna().unique():
            mapping.setdefault(str(v), pseudonym(study, str(v), prefix=prefix))
        out[col] = values.map(lambda v: None if pd.isna(v) else mapping[str(v)]).astype("string")
    if len(set(mapping.values())) != len(mapping):
        raise StudyError("two keys share a pseudonym; pseudonymize with a longer prefix length")
    return out


# files written with names ------------------------------------------------------------------
def register_named_file(study: Study, path: str | os.PathLike[str], what: str) -> None:
    """Record that the toolkit writes ``path`` with names in it (a report run with names, an
    export with ``--names``, a backup, an annotation sheet), so ``study forget`` can remove or
    list it. Called before the file's first byte: a study that cannot record it (read-only)
    refuses before anything with names is written."""
    register_named_files(study, [path], what)


def register_named_files(study: Study, paths: Iterable[str | os.PathLike[str]], what: str) -> None:
    """:func:`register_named_file` for several files, in one transaction."""
    t = store.named_files
    now = dt.datetime.now(dt.UTC)
    full = list(dict.fromkeys(str(Path(p).expanduser().absolute()) for p in paths))
    try:
        with study.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.path.in_(full)))
            conn.execute(insert(t), [{"path": p, "what": what, "written_at": now} for p in full])
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot record the files with names in {study.name} (so nothing was written): "
            f"{store._short(exc)}"
        ) from None


def named_files(study: Study) -> list[tuple[str, str]]:
    """(path, what) of every file recorded as written with names."""
    t = store.named_files.c
    with study._read() as conn:
        return [(r.path, r.what) for r in conn.execute(select(t.path, t.what).order_by(t.path))]


def previous_erasures(conn: Any) -> list[str]:
    """The (former) keys of the contacts forgotten in this study."""
    return list(dict.fromkeys(conn.execute(select(store.erasures.c.contact)).scalars()))


# forgetting a person ----------------------------------------------------------------------
@dataclass
class Erasure:
    """What ``study forget`` did."""

    contact: str
    events_deleted: int = 0
    events_rewritten: int = 0
    texts_redacted: int = 0
    file_names_redacted: int = 0
    files_deleted: list[str] = field(default_factory=list)
    backups_kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def resolve_contact(study: Study, who: str) -> str:
    """A contact's key from its key or its exact name (case ignored); refuse if ambiguous."""
    c, d = store.contacts.c, store.contact_details.c
    with study._read() as conn:
        if conn.execute(select(c.key).where(c.key == who)).first():
            return who
        keys = list(
            conn.execute(
                select(d.key).where(func.lower(d.display_name) == who.strip().lower())
            ).scalars()
        )
    if not keys:
        raise StudyError(f"contact: no contact with the key or name {who!r}")
    if len(keys) > 1:
        raise StudyError(
            f"contact: {len(keys)} contacts are named {who!r} ({', '.join(sorted(keys))}); "
            "give the key"
        )
    return keys[0]


def forget(study: Study, who: str) -> Erasure:
    """Erase a person: details, identity hash, notes about them, their name wherever text or a
    file name may hold it; their events keep counting under a fresh, unlinked key. Then remove
    the files written with names and, on SQLite, vacuum the file so the name is not left in
    free pages."""
    old = resolve_contact(study, who)
    try:
        with study.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            result = erase(conn, old, study.meta)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot write to {study.name}: {store._short(exc)}") from None
    _remove_named_files(study, result)
    result.warnings += compact(study)
    return result


def erase(conn: Any, old: str, meta: dict[str, str], *, record: bool = True) -> Erasure:
    """The database part of :func:`forget`, inside the caller's transaction (``study restore``
    applies erasures again in the transaction that copies the backup in)."""
    from study.redact import Person

    result = Erasure(contact=old)
    e, c, d = store.events, store.contacts, store.contact_details
    now = dt.datetime.now(dt.UTC)
    row = conn.execute(select(c).where(c.c.key == old)).mappings().one()
    details = conn.execute(select(d).where(d.c.key == old)).mappings().first() or {}
    person = Person.of(
        details.get("display_name"), details.get("email"), details.get("profile_url")
    )
    new = _fresh_key(conn)
    conn.execute(insert(c).values({**row, "key": new, "identity": None, "created_at": now}))
    result.events_deleted = conn.execute(
        delete(e).where(and_(e.c.contact == old, e.c.kind.in_(DELETED_KINDS)))
    ).rowcount
    result.events_rewritten = conn.execute(
        update(e).where(e.c.contact == old).values(contact=new)
    ).rowcount
    conn.execute(update(c).where(c.c.introducer == old).values(introducer=new))
    result.events_rewritten += _rewrite_events(conn, old, new, person, meta, result)
    _rewrite_import_tables(conn, old, new, person, meta, result)
    _redact_other_details(conn, old, person, result)
    conn.execute(delete(d).where(d.c.key == old))
    conn.execute(delete(c).where(c.c.key == old))
    if record:
        conn.execute(
            insert(store.erasures).values(
                contact=old,
                erased_at=now,
                events_deleted=result.events_deleted,
                events_rewritten=result.events_rewritten,
                files_deleted=0,
            )
        )
    return result


def _fresh_key(conn: Any) -> str:
    c = store.contacts.c
    while True:
        key = "c-" + secrets.token_hex(5)
        if conn.execute(select(c.key).where(c.key == key)).first() is None:
            return key


def _cleaned(value: Any, person: Any, meta: dict[str, str], field_name: str = "") -> Any:
    """``value`` (an attribute, perhaps nested) without the person: a lead id that names them
    becomes a keyed hash (the same for every step of the lead), other text is redacted."""
    if isinstance(value, str):
        if not person.found_in(value):
            return value
        if field_name in KEY_FIELDS:
            return pseudonym(meta, value, prefix="forgotten-")
        return person.redact(value)
    if isinstance(value, dict):
        return {k: _cleaned(v, person, meta, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned(v, person, meta) for v in value]
    return value


def _source_cleaned(
    source: str | None, source_key: str | None, person: Any, meta: dict[str, str]
) -> tuple[str | None, str | None]:
    """An importer's source (may be a file name) redacted; a source key that spells the
    person a keyed hash (re-imports of the same row stay no-ops). The same in the events and
    in the importers' ``import_rows``, so an event's provenance still joins."""
    if source and person.found_in(source):
        source = person.redact(source)[:200]
    if source_key and person.found_in(source_key):
        source_key = pseudonym(meta, source_key, prefix="forgotten-")
    return source, source_key


def _rewrite_events(
    conn: Any, old: str, new: str, person: Any, meta: dict[str, str], result: Erasure
) -> int:
    """Introducer references to the person, and their name in every string any event holds
    (attributes of every kind, lead ids included; source and source key). Reads every event
    once: forgetting is rare, and no kind's free text may be left out."""
    e = store.events
    q = select(e.c.id, e.c.attributes, e.c.source, e.c.source_key).order_by(e.c.id)
    attribute_changes, source_changes = [], []
    rewritten = 0
    rows = conn.execute(q.execution_options(yield_per=5000))  # the statement's, not conn's
    for ev_id, attrs, source, source_key in rows:
        attrs = dict(attrs or {})
        changed = dict(attrs)
        if changed.get("introducer") == old:
            changed["introducer"] = new
            rewritten += 1
        if person.pattern is not None:
            for k, v in attrs.items():
                cleaned = _cleaned(v, person, meta, k)
                if cleaned != v:
                    changed[k] = cleaned
                    result.texts_redacted += 1
            cleaned_source = _source_cleaned(source, source_key, person, meta)
            if cleaned_source != (source, source_key):
                source_changes.append({"i": ev_id, "s": cleaned_source[0], "k": cleaned_source[1]})
        if changed != attrs:
            attribute_changes.append({"i": ev_id, "a": changed})
    if attribute_changes:
        conn.execute(
            update(e).where(e.c.id == bindparam("i")).values(attributes=bindparam("a")),
            attribute_changes,
        )
    if source_changes:
        conn.execute(
            update(e)
            .where(e.c.id == bindparam("i"))
            .values(source=bindparam("s"), source_key=bindparam("k")),
            source_changes,
        )
    return rewritten


def _rewrite_import_tables(
    conn: Any, old: str, new: str, person: Any, meta: dict[str, str], result: Erasure
) -> None:
    """The importers' tables: source keys that embed the contact's key
    (``connection:<contact>:<day>``) follow it to the new key, in the events and in
    ``import_rows``; source keys and file names that spell the person are cleared as in the
    events (``vcards/Zebulon_Quargelmeier.vcf`` becomes ``vcards/[forgotten].vcf``); the
    snapshots drop the person, so a later import does not read their absence as a removed
    tie."""
    from sqlalchemy import inspect

    from study.importers.provenance import import_files, import_rows, snapshot_members

    e = store.events.c
    conn.execute(
        update(store.events)
        .where(e.source_key.contains(old, autoescape=True))
        .values(source_key=func.replace(e.source_key, old, new))
    )
    present = set(inspect(conn).get_table_names())
    if import_rows.name in present:
        r = import_rows.c
        if person.pattern is not None:
            changes = []
            for row_id, source, source_key in conn.execute(select(r.id, r.source, r.source_key)):
                cleaned = _source_cleaned(source, source_key, person, meta)
                if cleaned != (source, source_key):
                    changes.append({"i": row_id, "s": cleaned[0], "k": cleaned[1]})
            if changes:
                conn.execute(
                    update(import_rows)
                    .where(r.id == bindparam("i"))
                    .values(source=bindparam("s"), source_key=bindparam("k")),
                    changes,
                )
        conn.execute(
            update(import_rows)
            .where(r.source_key.contains(old, autoescape=True))
            .values(source_key=func.replace(r.source_key, old, new))
        )
    if import_files.name in present and person.pattern is not None:
        f = import_files.c
        renamed = [
            {"i": file_id, "n": person.redact(name)}
            for file_id, name in conn.execute(select(f.id, f.name))
            if person.found_in(name)
        ]
        if renamed:
            conn.execute(
                update(import_files).where(f.id == bindparam("i")).values(name=bindparam("n")),
                renamed,
            )
            result.file_names_redacted += len(renamed)
    if snapshot_members.name in present:
        conn.execute(delete(snapshot_members).where(snapshot_members.c.contact == old))


def _redact_other_details(conn: Any, old: str, person: Any, result: Erasure) -> None:
    """The person named in another contact's company or position (``assistant to …``)."""
    if person.pattern is None:
        return
    d = store.contact_details
    changes = []
    for row in conn.execute(select(d.c.key, d.c.company, d.c.position).where(d.c.key != old)):
        values = {
            col: person.redact(getattr(row, col))
            for col in ("company", "position")
            if getattr(row, col) and person.found_in(getattr(row, col))
        }
        if values:
            changes.append((row.key, values))
    for key, values in changes:
        conn.execute(update(d).where(d.c.key == key).values(**values))
        result.texts_redacted += len(values)


def remove_named_files(study: Study) -> Erasure:
    """Delete every file recorded as written with names (backups are kept and listed)."""
    result = Erasure(contact="")
    _remove_named_files(study, result, count=False)
    return result


def _remove_named_files(study: Study, result: Erasure, *, count: bool = True) -> None:
    t = store.named_files
    gone = []
    for path, what in named_files(study):
        if what == "backup":
            if Path(path).exists():
                result.backups_kept.append(path)
            continue
        p = Path(path)
        try:
            if p.is_file() or p.is_symlink():
                p.unlink()
                result.files_deleted.append(path)
            elif p.exists():
                result.warnings.append(f"{path} is not a file; remove it yourself")
                continue
        except OSError as exc:
            result.warnings.append(f"could not delete {path}: {exc.strerror}")
            continue
        gone.append(path)
    if gone:
        with study.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.path.in_(gone)))
            if not count:
                return
            er = store.erasures
            last = conn.execute(select(func.max(er.c.id))).scalar()
            conn.execute(
                update(er).where(er.c.id == last).values(files_deleted=len(result.files_deleted))
            )


def compact(study: Study) -> list[str]:
    """Leave no copy of erased rows in the database's free pages or its journal; return
    warnings (another reader keeps the journal; the database refused)."""
    warnings = []
    try:
        with study.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql("VACUUM")
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if busy and busy[0]:
                    warnings.append(
                        "another program is reading the study; its journal will be emptied "
                        "when it closes (run `study forget` again to be sure)"
                    )
            elif conn.dialect.name == "postgresql":
                conn.exec_driver_sql("VACUUM FULL contact_details, contacts")
                conn.exec_driver_sql("VACUUM events")
    except SQLAlchemyError as exc:
        warnings.append(f"could not compact the database: {store._short(exc)}")
    return warnings


# a shareable copy -------------------------------------------------------------------------
#: Event columns never written to an anonymized export: free text and what may spell a person
#: or a file of theirs (notes, topics, importers' source keys and file names).
DROPPED_EVENT_COLUMNS = ("text", "topic", "source", "source_key")
_LOOKS_PERSONAL = re.compile(r"https?://|www\.|[\w.+-]+@[\w-]+\.\w", re.IGNORECASE)
MAX_SHIFT_DAYS = 182
#: Left out of an export with shifted dates: when the rows were written, not when they happened.
RECORDING_COLUMNS = ("recorded_at",)


def anonymized_tables(study: Study, *, shift_dates: bool = False) -> dict[str, pd.DataFrame]:
    """Events, contacts and participants for other researchers: no names, URLs or free text;
    contacts, introducers, participants and lead ids as pseudonyms under a key drawn for this
    export alone (kept nowhere), event ids a random numbering, so two exports, or an export
    and a report, cannot be joined on them. With ``shift_dates`` every date of a participant
    is moved by one random offset (whole days, up to half a year either way, kept nowhere), the
    same in every table, so intervals and weekdays-of-offset stay true but calendar dates do
    not; the time of recording is left out (its latest value is about the day of the export,
    which would give the offset away)."""
    import numpy as np
    import pandas as pd

    events = study.events().drop(columns=list(DROPPED_EVENT_COLUMNS))
    contacts = study.contacts()
    participants = pd.DataFrame({"participant": study.participants()})
    key = {"pseudonym_key": secrets.token_hex(32)}  # this export's own
    events = pseudonymize(events, key, ("contact", "introducer"))
    events = pseudonymize(events, key, ("lead",), prefix="L-")
    contacts = pseudonymize(contacts, key, ("key", "introducer"))
    if shift_dates:
        events = events.drop(columns=list(RECORDING_COLUMNS))
        offsets = {
            p: pd.Timedelta(days=(secrets.randbelow(MAX_SHIFT_DAYS) + 1) * secrets.choice((-1, 1)))
            for p in participants.participant
        }
        for frame in (events, contacts):  # every date and time column, whatever its name
            shift = pd.to_timedelta(frame.participant.map(offsets).to_numpy())
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col] + shift
    events = pseudonymize(events, key, ("participant",), prefix="P-")
    contacts = pseudonymize(contacts, key, ("participant",), prefix="P-")
    participants = pseudonymize(participants, key, ("participant",), prefix="P-")
    rng = np.random.default_rng(secrets.randbits(128))
    events["id"] = pd.array(rng.permutation(len(events)) + 1, dtype="Int64")
    events = events.sort_values(["occurred_at", "id"], kind="stable", ignore_index=True)
    contacts = contacts.sort_values(["first_seen", "key"], kind="stable", ignore_index=True)
    tables = {"events": events, "contacts": contacts, "participants": participants}
    for name, frame in tables.items():
        for col in frame.select_dtypes(include=["object", "string"]).columns:
            hit = frame[col].dropna().astype(str).str.contains(_LOOKS_PERSONAL)
            if hit.any():
                raise StudyError(
                    f"{name}.{col}: refusing to export what looks like a URL or e-mail address"
                )
    return tables

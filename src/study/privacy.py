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

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from study import store
from study.errors import DatabaseError, StudyError

if TYPE_CHECKING:
    import pandas as pd

    from study.api import Study

PSEUDONYM_PREFIX = "K-"
PSEUDONYM_LENGTH = 8  # base32 characters: 40 bits, so collisions stay negligible in a study
REDACTED = "[forgotten]"
#: Kinds whose events are deleted when their contact is forgotten: free text about the person.
DELETED_KINDS = ("note",)
#: Kinds whose free-text fields are searched for the forgotten person's name and redacted.
FREE_TEXT = {"note": "text", "activity": "topic"}


def _secret(study: Study | dict[str, str]) -> bytes:
    meta = study if isinstance(study, dict) else study.meta
    return bytes.fromhex(meta["pseudonym_key"])


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
    """Record that the toolkit wrote ``path`` with names in it (a report run with names, an
    export with ``--names``, a backup), so ``study forget`` can remove or list it."""
    t = store.named_files
    full = str(Path(path).expanduser().absolute())
    try:
        with study.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.path == full))
            conn.execute(insert(t).values(path=full, what=what, written_at=dt.datetime.now(dt.UTC)))
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot write to {study.name}: {store._short(exc)}") from None


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
    """Erase a person: details, identity hash, notes about them, their name in free text;
    their events keep counting under a fresh, unlinked key. Then remove the files written with
    names and, on SQLite, vacuum the file so the name is not left in free pages."""
    old = resolve_contact(study, who)
    result = Erasure(contact=old)
    e, c, d = store.events, store.contacts, store.contact_details
    now = dt.datetime.now(dt.UTC)
    try:
        with study.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            row = conn.execute(select(c).where(c.c.key == old)).mappings().one()
            details = conn.execute(select(d).where(d.c.key == old)).mappings().first()
            secrets_found = [
                str(details[f]).strip()
                for f in ("display_name", "email", "profile_url")
                if details and details[f] and len(str(details[f]).strip()) >= 3
            ]
            new = _fresh_key(conn)
            conn.execute(insert(c).values({**row, "key": new, "identity": None, "created_at": now}))
            result.events_deleted = conn.execute(
                delete(e).where(and_(e.c.contact == old, e.c.kind.in_(DELETED_KINDS)))
            ).rowcount
            result.events_rewritten = conn.execute(
                update(e).where(e.c.contact == old).values(contact=new)
            ).rowcount
            conn.execute(update(c).where(c.c.introducer == old).values(introducer=new))
            result.events_rewritten += _rewrite_attributes(conn, old, new, secrets_found, result)
            _rewrite_source_keys(conn, secrets_found, study)
            _rewrite_import_tables(conn, old, new)
            conn.execute(delete(d).where(d.c.key == old))
            conn.execute(delete(c).where(c.c.key == old))
            conn.execute(
                insert(store.erasures).values(
                    contact=old,
                    erased_at=now,
                    events_deleted=result.events_deleted,
                    events_rewritten=result.events_rewritten,
                    files_deleted=0,
                )
            )
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot write to {study.name}: {store._short(exc)}") from None
    _remove_named_files(study, result)
    _compact(study, result)
    return result


def _fresh_key(conn: Any) -> str:
    c = store.contacts.c
    while True:
        key = "c-" + secrets.token_hex(5)
        if conn.execute(select(c.key).where(c.key == key)).first() is None:
            return key


def _redact(text: str, needles: list[str]) -> str:
    for needle in needles:
        text = re.sub(re.escape(needle), REDACTED, text, flags=re.IGNORECASE)
    return text


def _rewrite_attributes(conn: Any, old: str, new: str, needles: list[str], result: Erasure) -> int:
    """Introducer references to the person, and their name in other events' free text."""
    e = store.events
    kinds = ["introduction", "vouch_check", *FREE_TEXT]
    rewritten = 0
    rows = conn.execute(select(e.c.id, e.c.kind, e.c.attributes).where(e.c.kind.in_(kinds)))
    changes = []
    for ev_id, kind, attrs in rows:
        attrs = dict(attrs or {})
        changed = False
        if attrs.get("introducer") == old:
            attrs["introducer"] = new
            changed = True
            rewritten += 1
        textfield = FREE_TEXT.get(kind)
        if textfield and needles and isinstance(attrs.get(textfield), str):
            redacted = _redact(attrs[textfield], needles)
            if redacted != attrs[textfield]:
                attrs[textfield] = redacted
                changed = True
                result.texts_redacted += 1
        if changed:
            changes.append((ev_id, attrs))
    for ev_id, attrs in changes:
        conn.execute(update(e).where(e.c.id == ev_id).values(attributes=attrs))
    return rewritten


def _rewrite_source_keys(conn: Any, needles: list[str], study: Study) -> None:
    """An importer's source key that spells the name or profile URL becomes a keyed hash."""
    if not needles:
        return
    e = store.events.c
    cond = or_(*[func.lower(e.source_key).contains(n.lower()) for n in needles])
    for ev_id, source_key in conn.execute(select(e.id, e.source_key).where(cond)).all():
        hashed = pseudonym(study, source_key, prefix="forgotten-")
        conn.execute(update(store.events).where(e.id == ev_id).values(source_key=hashed))


def _rewrite_import_tables(conn: Any, old: str, new: str) -> None:
    """Source keys that embed the contact's key (``connection:<contact>:<day>``) follow it to
    the new key, in the events and in the importers' provenance; the importers' snapshots drop
    the person, so a later import does not read their absence as a removed tie."""
    from sqlalchemy import inspect

    from study.importers.provenance import import_rows, snapshot_members

    e = store.events.c
    conn.execute(
        update(store.events)
        .where(e.source_key.contains(old, autoescape=True))
        .values(source_key=func.replace(e.source_key, old, new))
    )
    present = set(inspect(conn).get_table_names())
    if import_rows.name in present:
        r = import_rows.c
        conn.execute(
            update(import_rows)
            .where(r.source_key.contains(old, autoescape=True))
            .values(source_key=func.replace(r.source_key, old, new))
        )
    if snapshot_members.name in present:
        conn.execute(delete(snapshot_members).where(snapshot_members.c.contact == old))


def _remove_named_files(study: Study, result: Erasure) -> None:
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
            er = store.erasures
            last = conn.execute(select(func.max(er.c.id))).scalar()
            conn.execute(
                update(er).where(er.c.id == last).values(files_deleted=len(result.files_deleted))
            )


def _compact(study: Study, result: Erasure) -> None:
    """Leave no copy of the erased rows in the database's free pages or its journal."""
    try:
        with study.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql("VACUUM")
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if busy and busy[0]:
                    result.warnings.append(
                        "another program is reading the study; its journal will be emptied "
                        "when it closes (run `study forget` again to be sure)"
                    )
            elif conn.dialect.name == "postgresql":
                conn.exec_driver_sql("VACUUM FULL contact_details, contacts")
                conn.exec_driver_sql("VACUUM events")
    except SQLAlchemyError as exc:
        result.warnings.append(f"could not compact the database: {store._short(exc)}")


# a shareable copy -------------------------------------------------------------------------
#: Event columns never written to an anonymized export: free text and what may spell a person
#: or a file of theirs (notes, topics, importers' source keys and file names).
DROPPED_EVENT_COLUMNS = ("text", "topic", "source", "source_key")
_LOOKS_PERSONAL = re.compile(r"https?://|www\.|[\w.+-]+@[\w-]+\.\w", re.IGNORECASE)
MAX_SHIFT_DAYS = 182


def anonymized_tables(study: Study, *, shift_dates: bool = False) -> dict[str, pd.DataFrame]:
    """Events, contacts and participants for other researchers: no names, URLs or free text;
    contacts, introducers, participants and lead ids as pseudonyms; with ``shift_dates`` every
    date of a participant moved by one random offset (whole days, up to half a year either way,
    kept nowhere), so intervals and weekdays-of-offset stay true but calendar dates do not."""
    import pandas as pd

    events = study.events().drop(columns=list(DROPPED_EVENT_COLUMNS))
    contacts = study.contacts()
    participants = pd.DataFrame({"participant": study.participants()})
    events = pseudonymize(events, study, ("contact", "introducer"))
    events = pseudonymize(events, study, ("lead",), prefix="L-")
    contacts = pseudonymize(contacts, study, ("key", "introducer"))
    if shift_dates:
        offsets = {
            p: pd.Timedelta(days=(secrets.randbelow(MAX_SHIFT_DAYS) + 1) * secrets.choice((-1, 1)))
            for p in participants.participant
        }
        for frame in (events, contacts):  # every date and time column, whatever its name
            shift = pd.to_timedelta(frame.participant.map(offsets).to_numpy())
            for col in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col] + shift
    events = pseudonymize(events, study, ("participant",), prefix="P-")
    contacts = pseudonymize(contacts, study, ("participant",), prefix="P-")
    participants = pseudonymize(participants, study, ("participant",), prefix="P-")
    tables = {"events": events, "contacts": contacts, "participants": participants}
    for name, frame in tables.items():
        for col in frame.select_dtypes(include=["object", "string"]).columns:
            hit = frame[col].dropna().astype(str).str.contains(_LOOKS_PERSONAL)
            if hit.any():
                raise StudyError(
                    f"{name}.{col}: refusing to export what looks like a URL or e-mail address"
                )
    return tables

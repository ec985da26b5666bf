"""XING vCards (version 2.1 as XING writes them) as contacts, compared like snapshots.

XING has had no bulk export since 2014; users download vCards one by one into a folder (or
get one .vcf holding several cards). A card has no connection date: a new contact's first-seen
date is the folder's date (``--export-date``, default the import's day), flagged as estimated,
and the tie starts there (docs/definitions.md: a tie without ``request_accepted`` starts at
first_seen). Each folder is a snapshot: a contact of the previous folder missing from this one
gets ``contact_removed`` at the midpoint, as on LinkedIn.

vCard 2.1 details handled: folded lines, ``ENCODING=QUOTED-PRINTABLE`` with soft line breaks,
``CHARSET=`` per property (mostly ISO-8859-1; UTF-8 where given; a property without CHARSET is
read as UTF-8 if valid, else Windows-1252), bare ``QUOTED-PRINTABLE`` parameters, XING's PRODID.
"""

from __future__ import annotations

import codecs
import datetime as dt
import quopri
from dataclasses import dataclass, field
from pathlib import Path

from study.errors import StudyError
from study.importers import provenance
from study.importers.base import ImportContext, SourceFile
from study.importers.linkedin import name_identity, norm_url, taken_at
from study.importers.textfile import ImportFileError

PLATFORM = "xing"


@dataclass
class Card:
    file: str
    line: int
    props: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str:
        values = self.props.get(name)
        return values[0].strip() if values else ""


def _decode(raw: bytes, charset: str | None, file: str, line: int, prop: str) -> str:
    if charset:
        try:
            text_encoding = codecs.lookup(charset)._is_text_encoding  # not rot13, zlib, base64
        except LookupError:
            text_encoding = False
        if not text_encoding:
            raise ImportFileError(file, f"unknown CHARSET {charset!r}", line, prop) from None
        try:
            return raw.decode(charset)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                file, f"bytes not valid in CHARSET {charset} ({exc.reason})", line, prop
            ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def parse_vcards(data: bytes, file: str, errors: list[ImportFileError] | None = None) -> list[Card]:
    """The cards of a .vcf file; raise naming file and line for anything malformed, or, given
    an ``errors`` list, collect each problem there and skip that card."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        try:
            data = data[2:].decode(enc).encode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(file, f"cannot decode as {enc.upper()}") from None
    if b"\x00" in data:
        raise ImportFileError(file, "a NUL byte: this is not a vCard file")
    physical = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    # logical lines: folding (next line starts with space/tab), QP soft breaks (trailing '=')
    logical: list[tuple[int, bytes]] = []
    i = 0
    while i < len(physical):
        start, line = i + 1, physical[i]
        i += 1
        qp = b"QUOTED-PRINTABLE" in line.split(b":", 1)[0].upper()
        while i < len(physical):
            nxt = physical[i]
            if qp and line.endswith(b"="):
                line = line[:-1] + nxt
            elif nxt[:1] in (b" ", b"\t") and not qp:
                line = line + nxt[1:]
            else:
                break
            i += 1
        if line.strip():
            logical.append((start, line))
    cards: list[Card] = []
    current: Card | None = None
    skipping = False  # after a bad line (tolerant mode): until the next BEGIN:VCARD

    def bad(err: ImportFileError) -> None:
        nonlocal current, skipping
        if errors is None:
            raise err
        errors.append(err)
        current, skipping = None, True

    for lineno, line in logical:
        head, sep, value = line.partition(b":")
        try:
            head_text = head.decode("ascii").strip() if sep else ""
        except UnicodeDecodeError:
            head_text = ""
        name = head_text.split(";")[0].upper().split(".")[-1]  # item1.URL -> URL
        if skipping and not (name == "BEGIN" and value.strip().upper() == b"VCARD"):
            continue
        skipping = False
        if not sep:
            bad(ImportFileError(file, "a vCard line without ':'", lineno))
            continue
        if not head_text:
            bad(ImportFileError(file, "a property name that is not ASCII", lineno))
            continue
        params = {}
        for p in head_text.split(";")[1:]:
            k, eq, v = p.partition("=")
            params[k.strip().upper() if eq else "TYPE_" + k.strip().upper()] = v.strip()
        if name == "BEGIN":
            if value.strip().upper() != b"VCARD":
                bad(ImportFileError(file, "BEGIN of something other than a VCARD", lineno))
            elif current is not None:
                bad(ImportFileError(file, "BEGIN:VCARD inside a card (END:VCARD missing)", lineno))
            else:
                current = Card(file, lineno)
            continue
        if name == "END":
            if current is None:
                bad(ImportFileError(file, "END:VCARD without BEGIN:VCARD", lineno))
            else:
                cards.append(current)
                current = None
            skipping = False
            continue
        if current is None:
            bad(ImportFileError(file, f"{name} outside a card (no BEGIN:VCARD)", lineno))
            continue
        enc = params.get("ENCODING", "").upper()
        if enc == "QUOTED-PRINTABLE" or "TYPE_QUOTED-PRINTABLE" in params:
            raw = quopri.decodestring(value)
        elif enc in ("BASE64", "B"):
            continue  # photos and other binaries: not needed
        else:
            raw = value
        try:
            text = _decode(raw, params.get("CHARSET"), file, lineno, name)
        except ImportFileError as err:
            bad(err)
            continue
        current.props.setdefault(name, []).append(text)
    if current is not None:
        bad(ImportFileError(file, "the last card has no END:VCARD", current.line))
    return cards


def _card_name(card: Card) -> str:
    fn = card.first("FN")
    if fn:
        return " ".join(fn.split())
    n = card.first("N").split(";")
    if len(n) >= 2:
        return " ".join(f"{n[1]} {n[0]}".split())
    return " ".join(n[0].split()) if n else ""


def _xing_url(card: Card) -> str:
    for u in card.props.get("URL", []):
        if "xing.com" in u.lower():
            return norm_url(u)
    return ""


def _files(path: str) -> list[SourceFile]:
    p = Path(path)
    if not p.exists():
        raise StudyError(f"{path}: no such file or folder")
    if p.is_file():
        return [SourceFile(p.name, p.read_bytes())]
    files = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() == ".vcf")
    if not files:
        raise StudyError(f"{path}: no .vcf files in this folder")
    return [SourceFile(f"{p.name}/{q.relative_to(p).as_posix()}", q.read_bytes()) for q in files]


def run(ctx: ImportContext, path: str) -> None:
    """Import a folder of XING vCards (or one .vcf) as a snapshot of the participant's contacts."""
    b = ctx.batch
    export_day: dt.date = ctx.options.get("export_date") or ctx.now.astimezone(ctx.study.tz).date()
    snap_at = taken_at(export_day, ctx.study.tz) if ctx.options.get("export_date") else ctx.now
    present: list[str] = []
    seen: set[str] = set()
    first_file = None
    for sf in _files(path):
        first_file = first_file or sf.name
        ctx.register(sf, export_day)
        errors: list[ImportFileError] | None = [] if ctx.skip_bad_rows else None
        cards = parse_vcards(sf.data, sf.name, errors)
        for err in errors or []:
            ctx.summary.bad_rows.append(str(err))
            ctx.skip(sf.name, "malformed card")
        for card in cards:
            name, url = _card_name(card), _xing_url(card)
            if not name and not url:
                err = ImportFileError(
                    sf.name, "a card without FN, N or a XING URL", card.line, "FN"
                )
                if not ctx.skip_bad_rows:
                    raise err
                ctx.summary.bad_rows.append(str(err))
                ctx.skip(sf.name, "malformed card")
                continue
            identity = url or name_identity(name)
            if identity in seen:
                ctx.skip(sf.name, "the same person twice")
                continue
            seen.add(identity)
            key = b.find_contact(identity, platform=PLATFORM, participant=ctx.participant)
            if key is None and url:
                key = b.find_contact(
                    name_identity(name), platform=PLATFORM, participant=ctx.participant
                )
            org = card.first("ORG").split(";")[0].strip()
            title = card.first("TITLE")
            if key is None:
                key = ctx.add_contact(
                    None,
                    sf.name,
                    name or None,
                    platform=PLATFORM,
                    identity=identity,
                    first_seen=snap_at,
                    first_seen_estimated=True,
                    profile_url=url or None,
                    company=org or None,
                    position=title or None,
                    email=card.first("EMAIL") or None,
                )
            else:
                _maybe_update(ctx, sf.name, key, org, title, export_day, snap_at)
            present.append(key)
    prev = provenance.snapshot_before(ctx.conn, ctx.participant, PLATFORM, snap_at)
    later = provenance.snapshot_after_exists(ctx.conn, ctx.participant, PLATFORM, snap_at)
    if prev and not later:
        prev_at = prev[1]
        mid = prev_at + (snap_at - prev_at) / 2
        after_day = prev_at.astimezone(ctx.study.tz).date()
        now_set = set(present)
        for contact, _on, _slot in provenance.members(ctx.conn, prev[0]):
            if contact in now_set or b.ledger.removed_at(contact, mid + dt.timedelta(seconds=1)):
                continue
            ctx.log(
                None,
                "contact_removed",
                file=first_file or path,
                source="xing:snapshots",
                source_key=f"removed:{contact}:{prev_at.isoformat()}:{snap_at.isoformat()}",
                at=mid,
                contact=contact,
                removed_after=after_day,
                removed_before=export_day,
            )
        ctx.summary.notes.append(f"compared with the vCards of {after_day}")
    provenance.save_snapshot(
        ctx.conn,
        participant=ctx.participant,
        platform=PLATFORM,
        taken_at=snap_at,
        now=ctx.now,
        rows=[{"contact": k, "connected_on": None, "slot": None} for k in present],
    )
    ctx.summary.notes.append(
        f"{len(present)} XING contacts in this folder; new ones first seen {export_day} (estimated)"
    )


def _maybe_update(
    ctx: ImportContext, file: str, key: str, org: str, title: str, day: dt.date, at: dt.datetime
) -> None:
    from sqlalchemy import select

    from study import store

    if not org and not title:
        return
    ctx.batch.flush()
    d = store.contact_details.c
    row = ctx.conn.execute(select(d.company, d.position).where(d.key == key)).first()
    old_c, old_p = (row.company, row.position) if row else (None, None)
    if (old_c or "") == org and (old_p or "") == title:
        return
    ctx.batch.set_details(key, company=org or None, position=title or None)
    ctx.summary.details_updated += 1
    ctx.log(
        None,
        "note",
        file=file,
        source="xing:snapshots",
        source_key=f"details:{key}:{day}:{provenance_digest(org, title)}",
        at=at,
        contact=key,
        text=f"XING vCard of {day}: now {title or '?'} at {org or '?'} (before: {old_p or '?'} at {old_c or '?'})",
    )


def provenance_digest(*parts: str) -> str:
    from study.importers.base import digest

    return digest(*parts, n=8)

"""LinkedIn's data archive ("Get a copy of your data") as events, contacts and snapshots.

Design (docs/import.md has the user's version):

* Sources are stable across archives (``linkedin:connections``, ``linkedin:messages``, ...)
  and source keys name the thing, never the file or row: ``connection:<contact>:<date>``,
  ``message:<conversation>:<time>:<contact>:<direction>:<hash>``, ... so re-importing an
  archive, or a later one that overlaps it, adds nothing twice. File, SHA-256 and line of each
  added event are kept in ``import_rows`` (see :mod:`study.importers.provenance`).
* A contact's identity is the normalized profile URL, else ``name:<name>`` for old exports
  without URLs; a URL row also finds a contact first imported by name.
* Ghost rows (only a date) are contacts without details, identity ``ghost:<date>:<n>`` (the
  n-th ghost of that connection date). A ghost appearing where a connection of the same date
  vanished since the previous snapshot is that person turning ghost: the person is removed
  and the ghost row points at them (no second tie).
* Snapshots: the connections of each archive are kept; a connection of the previous snapshot
  missing from this one gets ``contact_removed`` at the midpoint of the two export dates, with
  ``removed_after``/``removed_before`` recording the interval. A changed company or position
  updates the contact's details and adds a ``note``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from typing import Any

from study.errors import StudyError
from study.identity import is_profile_url, name_identity, norm_person, norm_url
from study.importers import provenance, snapshots
from study.importers.archive import Archive
from study.importers.base import ImportContext, SourceFile, digest
from study.importers.dates import DateFormatError, day_of, parse_when
from study.importers.textfile import ImportFileError, Row, Table, read_table

PLATFORM = "linkedin"
SPONSOR = "linkedin member"
_EXPORT_NAME = re.compile(r"LinkedInDataExport_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)
_TRUE = {"yes", "true", "1", "y"}
#: Used for request_accepted when Invitations.csv does not cover the connection (documented).
DEFAULT_DIRECTION = "in"


def export_date_from_name(name: str) -> dt.date | None:
    m = _EXPORT_NAME.search(name)
    if not m:
        return None
    try:
        return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    except ValueError:
        return None


class LinkedInImport:
    """One archive's import (the state shared between its tables)."""

    def __init__(self, ctx: ImportContext, archive: Archive):
        self.ctx = ctx
        self.b = ctx.batch
        self.archive = archive
        self.by_url: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.newest: dt.date | None = None
        self.export_date: dt.date | None = ctx.options.get("export_date") or export_date_from_name(
            archive.name
        )
        if self.export_date is None:
            for rel in archive.files:
                self.export_date = export_date_from_name(rel)
                if self.export_date:
                    break
        self._misses: set[tuple[str, str]] = set()
        self._identities: dict[str, str] | None = None
        self._name_day: dict[tuple[str, dt.date], str] | None = None
        #: the archive's files some table was read from
        self.used: set[str] = set()
        self.me_names: set[str] = set()
        self.me_urls: set[str] = set()

    # reading -----------------------------------------------------------------------------
    def tables(
        self, pattern: str, required: list[str], optional: list[str] = (), **kw: Any
    ) -> list[Table]:
        out = []
        for sf in self.archive.table(pattern):
            self.used.add(sf.name)
            t = read_table(sf.data, sf.name, required=required, optional=optional, **kw)
            self.ctx.register(sf, self.export_date)
            out.append(t)
        return out

    def when(self, row: Row, column: str, *, required: bool = True) -> dt.date | dt.datetime | None:
        text = row.get(column).strip()
        if not text:
            if required:
                raise row.error(column, "missing date")
            return None
        try:
            value = parse_when(text)
        except DateFormatError as exc:
            raise row.error(column, str(exc)) from None
        day = day_of(value)
        if day > (self.ctx.now + dt.timedelta(days=1)).date():
            raise row.error(column, f"{text!r} lies in the future")
        if day.year < 1990:
            raise row.error(column, f"{text!r} is before LinkedIn existed")
        if self.newest is None or day > self.newest:
            self.newest = day
        return value

    # contacts ----------------------------------------------------------------------------
    def find(self, url: str = "", name: str = "") -> str | None:
        """The contact with this profile URL, else this name (this archive's connections
        first, then the study's contacts); None for someone not among the connections."""
        memo = (url, name)
        if memo in self._misses:
            return None
        key = self._find(url, name)
        if key is None:
            self._misses.add(memo)
        return key

    def _find(self, url: str, name: str) -> str | None:
        url = norm_url(url) if url and is_profile_url(url.lower()) else ""
        if url:
            key = self.by_url.get(url) or self.known(url)
            if key:
                return key
        n = norm_person(name)
        if n:
            return self.by_name.get(n) or self.known(name_identity(n)) or self.named(n)
        return None

    def named(self, name: str) -> str | None:
        """The study's one LinkedIn contact of this name, whatever its identity (a contact
        first imported from a newer archive, with a URL, is found by an older one's
        invitations and messages); None for none or several."""
        keys = self.b.contacts_named(name, participant=self.ctx.participant, platform=PLATFORM)
        return keys[0] if len(keys) == 1 else None

    def connection(self, url: str, name: str, day: dt.date) -> str | None:
        """The contact a row of Connections.csv is: by profile URL, else by name and
        connection day (an older export without URLs finds the contact a newer one made,
        and the other way round), else a contact whose identity is this name."""
        norm = norm_url(url) if url else ""
        n = norm_person(name)
        key = (self.by_url.get(norm) or self.known(norm)) if norm else None
        if key is None and n:
            key = self.by_name_and_day().get((n, day))
        if key is None and n:  # a contact first made without a URL (identity: the name)
            key = self.by_name.get(n) or self.known(name_identity(n))
        return key

    def by_name_and_day(self) -> dict[tuple[str, dt.date], str]:
        """The study's LinkedIn contacts by (normalized name, day of their connection)."""
        if self._name_day is None:
            from sqlalchemy import and_, select

            from study import store

            self.b.flush()
            c, d, e = store.contacts.c, store.contact_details.c, store.events.c
            names = dict(
                self.ctx.conn.execute(
                    select(c.key, d.display_name)
                    .select_from(store.contacts.join(store.contact_details, c.key == d.key))
                    .where(and_(c.participant == self.ctx.participant, c.platform == PLATFORM))
                ).all()
            )
            self._name_day = {}
            for key, source_key in self.ctx.conn.execute(
                select(e.contact, e.source_key).where(
                    and_(
                        e.participant == self.ctx.participant,
                        e.source == "linkedin:connections",
                    )
                )
            ):
                day = (source_key or "").rsplit(":", 1)[-1]
                if names.get(key) and len(day) == 10:
                    ident = (norm_person(names[key]), dt.date.fromisoformat(day))
                    self._name_day.setdefault(ident, key)
        return self._name_day

    def adopt_url(self, key: str, url: str) -> None:
        """A contact made from an export without URLs, found again with one: it keeps the
        URL (details and identity), so later archives find it by URL."""
        from sqlalchemy import select, update

        from study import store

        self.b.flush()
        d, c = store.contact_details.c, store.contacts.c
        have = self.ctx.conn.execute(select(d.profile_url).where(d.key == key)).scalar()
        if have:
            return
        self.b.set_details(key, profile_url=url)
        digest_ = self.ctx.study.identity_hash(self.ctx.participant, PLATFORM, url)
        if self.known(url) is None:
            self.ctx.conn.execute(
                update(store.contacts).where(c.key == key).values(identity=digest_)
            )
            assert self._identities is not None
            self._identities[digest_] = key

    def known(self, identity: str) -> str | None:
        """The study's contact with this identity (all loaded in one query, once)."""
        if self._identities is None:
            from sqlalchemy import and_, select

            from study import store

            c = store.contacts.c
            self._identities = dict(
                self.ctx.conn.execute(
                    select(c.identity, c.key).where(
                        and_(
                            c.participant == self.ctx.participant,
                            c.platform == PLATFORM,
                            c.identity.is_not(None),
                        )
                    )
                ).all()
            )
        digest_ = self.ctx.study.identity_hash(self.ctx.participant, PLATFORM, identity)
        # contacts added by this import are found through by_url and by_name
        return self._identities.get(digest_)

    def is_me(self, name: str, url: str) -> bool:
        if url and norm_url(url) in self.me_urls:
            return True
        return norm_person(name) in self.me_names


def run(ctx: ImportContext, path: str) -> None:
    """Import a LinkedIn archive (zip or folder)."""
    archive = Archive(path)
    imp = LinkedInImport(ctx, archive)
    known = [
        "connections",
        "invitations",
        "messages",
        "profile",
    ]
    if not any(archive.table(p) for p in known):
        raise StudyError(
            f"{path}: no LinkedIn tables found (expected Connections.csv, messages.csv, ...)"
        )
    _profile(imp)
    invitations = _read_invitations(imp)
    _connections(imp, invitations)
    _log_invitations(imp, invitations)
    _messages(imp)
    _recommendations(imp)
    _endorsements(imp)
    _applications(imp)
    _shares_and_comments(imp)
    _follows(imp)
    _positions(imp)
    _snapshot_diff(imp)
    ctx.summary.unused = [rel for rel, sf in archive.files.items() if sf.name not in imp.used]


# --------------------------------------------------------------------------------------------
def _profile(imp: LinkedInImport) -> None:
    for t in imp.tables("profile", ["first name", "last name"]):
        for row in imp.ctx.rows(t):
            name = f"{row.get('first name').strip()} {row.get('last name').strip()}".strip()
            if name:
                imp.me_names.add(norm_person(name))


def _read_invitations(imp: LinkedInImport) -> list[tuple[Table, Row, dict[str, Any]]]:
    out = []
    optional = [
        "message",
        "invitername",
        "inviterProfileUrn",
        "inviteeProfileUrn",
        "inviterProfileUrl",
        "inviteeProfileUrl",
    ]
    for t in imp.tables("invitations", ["from", "to", "sent at", "direction"], optional):
        for row in imp.ctx.rows(t):
            with imp.ctx.guard(row):
                direction = row.get("direction").strip().upper()
                if direction not in ("INCOMING", "OUTGOING"):
                    raise row.error("direction", f"{direction!r} is not INCOMING or OUTGOING")
                at = imp.when(row, "sent at")
                other = "to" if direction == "OUTGOING" else "from"
                url_col = "inviteeprofileurl" if direction == "OUTGOING" else "inviterprofileurl"
                out.append(
                    (
                        t,
                        row,
                        {
                            "direction": "out" if direction == "OUTGOING" else "in",
                            "at": at,
                            "name": row.get(other).strip(),
                            "url": row.get(url_col).strip(),
                            "with_message": bool(row.get("message").strip()),
                        },
                    )
                )
    return out


def _connections(imp: LinkedInImport, invitations: list[tuple[Table, Row, dict[str, Any]]]) -> None:
    ctx = imp.ctx
    inv_dir: dict[str, str] = {}
    for _t, _row, inv in invitations:
        for ident in (
            norm_url(inv["url"]) if is_profile_url(inv["url"].lower()) else "",
            norm_person(inv["name"]),
        ):
            if ident:
                inv_dir.setdefault(ident, inv["direction"])
    tables = imp.tables(
        "connections",
        ["first name", "last name", "connected on"],
        ["url", "email address", "company", "position"],
    )
    if not tables:
        imp.members = None
        return
    imp.members: list[dict[str, Any]] | None = []
    imp.present: set[str] = set()
    imp.ghosts: list[tuple[Table, Row, dt.date]] = []
    imp.changes: list[tuple[Table, Row, str, str, str]] = []
    seen: set[str] = set()
    for t in tables:
        for row in ctx.rows(t, "Connections"):
            with ctx.guard(row):
                first, last = row.get("first name").strip(), row.get("last name").strip()
                raw_url = row.get("url").strip()
                url = norm_url(raw_url) if raw_url else ""
                when = imp.when(row, "connected on")
                connected = day_of(when)
                name = f"{first} {last}".strip()
                if not name and not url:
                    if any(row.get(c).strip() for c in ("company", "position", "email address")):
                        raise row.error("first name", "a connection without name or URL")
                    imp.ghosts.append((t, row, connected))
                    continue
                identity = url or name_identity(name)
                if identity in seen:
                    ctx.skip(t.file, "the same connection twice in the export")
                    continue
                seen.add(identity)
                key = imp.connection(url, name, connected)
                if key is not None and url:
                    imp.adopt_url(key, url)
                company, position = row.get("company").strip(), row.get("position").strip()
                if key is None:
                    key = ctx.add_contact(
                        row,
                        t.file,
                        name or None,
                        platform=PLATFORM,
                        identity=identity,
                        first_seen=when,
                        columns={"first_seen": "connected on"},
                        profile_url=url or None,
                        company=company or None,
                        position=position or None,
                        email=row.get("email address").strip() or None,
                    )
                else:
                    imp.changes.append((t, row, key, company, position))
                imp._misses.clear()  # a new connection may be someone looked up before
                if url:
                    imp.by_url[url] = key
                if name:
                    imp.by_name.setdefault(norm_person(name), key)
                direction = inv_dir.get(url) or inv_dir.get(norm_person(name)) or DEFAULT_DIRECTION
                ctx.log(
                    row,
                    "request_accepted",
                    file=t.file,
                    source="linkedin:connections",
                    source_key=f"connection:{key}:{connected.isoformat()}",
                    at=when,
                    columns={"at": "connected on", "contact": "first name"},
                    contact=key,
                    direction=direction,
                )
                imp.present.add(key)
                imp.members.append({"contact": key, "connected_on": connected, "slot": None})
    imp.connection_files = tables


def _log_invitations(
    imp: LinkedInImport, invitations: list[tuple[Table, Row, dict[str, Any]]]
) -> None:
    ctx = imp.ctx
    for t, row, inv in invitations:
        with ctx.guard(row):
            key = imp.find(inv["url"], inv["name"])
            if key is None:
                ctx.skip(t.file, "invitation to or from someone not among the connections")
                continue
            kind = "request_sent" if inv["direction"] == "out" else "request_received"
            ctx.log(
                row,
                kind,
                file=t.file,
                source="linkedin:invitations",
                source_key=f"invitation:{key}:{inv['direction']}:{inv['at'].isoformat()}",
                at=inv["at"],
                columns={"at": "sent at"},
                contact=key,
                with_message=inv["with_message"],
            )


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _messages(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    optional = [
        "conversation id",
        "conversation title",
        "sender profile url",
        "recipient profile urls",
        "subject",
        "content",
        "folder",
        "attachments",
        "is message draft",
        "is conversation draft",
    ]
    tables = imp.tables("messages", ["from", "to", "date"], optional)
    if not tables:
        return
    if not imp.me_names:
        senders = Counter(
            norm_person(r.get("from"))
            for t in tables
            for r in t.rows
            if r.get("from").strip() and norm_person(r.get("from")) != SPONSOR
        )
        if senders:
            imp.me_names.add(senders.most_common(1)[0][0])
            ctx.summary.notes.append(
                "no Profile.csv: the participant is taken to be the most frequent sender"
            )
    for t in tables:
        for r in t.rows:
            if norm_person(r.get("from")) in imp.me_names and r.get("sender profile url").strip():
                imp.me_urls.add(norm_url(r.get("sender profile url")))
    leads = ctx.options.get("inmail_as_leads", False)
    for t in tables:
        for row in ctx.rows(t, "messages"):
            with ctx.guard(row):
                folder = row.get("folder").strip().upper()
                if (
                    row.get("is message draft").strip().lower() in _TRUE
                    or row.get("is conversation draft").strip().lower() in _TRUE
                    or folder in ("DRAFT", "DRAFTS")
                ):
                    ctx.skip(t.file, "draft (not a message)")
                    continue
                sender, sender_url = row.get("from").strip(), row.get("sender profile url").strip()
                if folder == "SPONSORED" or (norm_person(sender) == SPONSOR and not sender_url):
                    ctx.skip(t.file, "sponsored message from 'LinkedIn Member'")
                    continue
                at = imp.when(row, "date")
                conv = row.get("conversation id").strip() or digest(row.get("conversation title"))
                body_hash = digest(row.get("subject"), row.get("content"), n=8)
                out = imp.is_me(sender, sender_url)
                if out:
                    names = _split_list(row.get("to"))
                    urls = _split_list(row.get("recipient profile urls"))
                    if len(urls) != len(names):
                        urls = urls if len(names) <= 1 else []
                    pairs = [
                        (urls[i] if i < len(urls) else "", n) for i, n in enumerate(names or [""])
                    ]
                    keys = [k for k in (imp.find(u, n) for u, n in pairs) if k]
                else:
                    k = imp.find(sender_url, sender)
                    keys = [k] if k else []
                subject = row.get("subject").strip()
                if leads and subject and not out:
                    lead = f"inmail:{conv}"
                    ctx.log(
                        row,
                        "job_lead",
                        file=t.file,
                        source="linkedin:messages",
                        source_key=lead,
                        at=at,
                        columns={"at": "date"},
                        platform=PLATFORM,
                        lead=lead[:200],
                        contact=keys[0] if keys else None,
                        channel="recruiter",
                        stage="lead",
                    )
                if not keys:
                    ctx.skip(t.file, "message with someone not among the connections")
                    continue
                for key in keys:
                    ctx.log(
                        row,
                        "interaction",
                        file=t.file,
                        source="linkedin:messages",
                        source_key=f"message:{conv}:{at.isoformat()}:{key}:{'out' if out else 'in'}:{body_hash}",
                        at=at,
                        columns={"at": "date"},
                        force=True,  # the archive proves it happened, removed or not
                        contact=key,
                        channel="message",
                        direction="out" if out else "in",
                    )


def _recommendations(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    for pattern, direction in (
        ("recommendations_received", "in"),
        ("recommendations_given", "out"),
    ):
        for t in imp.tables(
            pattern,
            ["first name", "last name"],
            ["creation date", "status", "company", "job title", "text"],
        ):
            for row in ctx.rows(t):
                with ctx.guard(row):
                    name = f"{row.get('first name').strip()} {row.get('last name').strip()}"
                    at = imp.when(row, "creation date")
                    key = imp.find("", name)
                    if key is None:
                        ctx.skip(t.file, "recommendation of someone not among the connections")
                        continue
                    ctx.log(
                        row,
                        "interaction",
                        file=t.file,
                        source="linkedin:recommendations",
                        source_key=f"recommendation:{key}:{direction}:{at.isoformat()}",
                        at=at,
                        columns={"at": "creation date"},
                        force=True,
                        contact=key,
                        channel="recommendation",
                        direction=direction,
                    )


def _endorsements(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    for pattern, who, direction in (
        ("endorsement_received_info", "endorser", "in"),
        ("endorsement_given_info", "endorsee", "out"),
    ):
        cols = [f"{who} first name", f"{who} last name", f"{who} public url"]
        for t in imp.tables(
            pattern, ["endorsement date"], ["skill name", "endorsement status", *cols]
        ):
            for row in ctx.rows(t):
                with ctx.guard(row):
                    at = imp.when(row, "endorsement date")
                    name = f"{row.get(cols[0]).strip()} {row.get(cols[1]).strip()}"
                    key = imp.find(row.get(cols[2]), name)
                    if key is None:
                        ctx.skip(t.file, "endorsement by or of someone not among the connections")
                        continue
                    ctx.log(
                        row,
                        "interaction",
                        file=t.file,
                        source="linkedin:endorsements",
                        source_key=f"endorsement:{key}:{direction}:{at.isoformat()}:{digest(row.get('skill name'), n=8)}",
                        at=at,
                        columns={"at": "endorsement date"},
                        force=True,
                        contact=key,
                        channel="endorsement",
                        direction=direction,
                    )


def _applications(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    for t in imp.tables(
        r"job applications|job_applications",
        ["application date"],
        ["company name", "job title", "job url"],
    ):
        for row in ctx.rows(t):
            with ctx.guard(row):
                at = imp.when(row, "application date")
                lead = "application:" + digest(
                    row.get("company name").strip(),
                    row.get("job title").strip(),
                    row.get("job url").strip(),
                    day_of(at),
                    n=16,
                )
                ctx.log(
                    row,
                    "job_lead",
                    file=t.file,
                    source="linkedin:job_applications",
                    source_key=lead,
                    at=at,
                    columns={"at": "application date"},
                    platform=PLATFORM,
                    lead=lead,
                    channel="posting",
                    stage="applied",
                )


_DATE_START = re.compile(r'^"?\d{4}-\d{2}-\d{2}')


def _topic(text: str) -> str | None:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return first[:200] or None


def _shares_and_comments(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    for t in imp.tables(
        "shares", ["date"], ["sharelink", "sharecommentary", "sharedurl", "mediaurl", "visibility"]
    ):
        for row in ctx.rows(t):
            with ctx.guard(row):
                at = imp.when(row, "date")
                ctx.log(
                    row,
                    "activity",
                    file=t.file,
                    source="linkedin:shares",
                    source_key=f"share:{at.isoformat()}:{digest(row.get('sharelink'), row.get('sharecommentary'))}",
                    at=at,
                    columns={"at": "date", "topic": "sharecommentary"},
                    platform=PLATFORM,
                    type="group_post",
                    topic=_topic(row.get("sharecommentary")),
                )
    for t in imp.tables("comments", ["date", "message"], ["link"], record_start=_DATE_START):
        for row in ctx.rows(t):
            with ctx.guard(row):
                at = imp.when(row, "date")
                ctx.log(
                    row,
                    "activity",
                    file=t.file,
                    source="linkedin:comments",
                    source_key=f"comment:{at.isoformat()}:{digest(row.get('link'), row.get('message'))}",
                    at=at,
                    columns={"at": "date", "topic": "message"},
                    platform=PLATFORM,
                    type="comment",
                    topic=_topic(row.get("message")),
                )


def _follows(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    for t in imp.tables("member_follows", ["date", "fullname", "status"]):
        for row in ctx.rows(t):
            with ctx.guard(row):
                at = imp.when(row, "date")
                status = row.get("status").strip().lower()
                if status not in ("active", "unfollow", "inactive", "unfollowed"):
                    raise row.error("status", f"{status!r} is not Active or Unfollow")
                key = imp.find("", row.get("fullname"))
                if key is None:
                    ctx.skip(t.file, "follow of someone not among the connections")
                    continue
                kind = "contact_followed" if status == "active" else "contact_unfollowed"
                ctx.log(
                    row,
                    kind,
                    file=t.file,
                    source="linkedin:member_follows",
                    source_key=f"follow:{key}:{status}:{at.isoformat()}",
                    at=at,
                    columns={"at": "date"},
                    force=True,
                    contact=key,
                    direction="out",
                )


def _positions(imp: LinkedInImport) -> None:
    ctx = imp.ctx
    for t in imp.tables(
        "positions",
        ["company name", "title", "started on"],
        ["finished on", "description", "location"],
    ):
        for row in ctx.rows(t):
            with ctx.guard(row):
                at = imp.when(row, "started on")
                end = row.get("finished on").strip()
                if end:
                    imp.when(row, "finished on")
                text = (
                    f"LinkedIn position of the participant: {row.get('title').strip()} at "
                    f"{row.get('company name').strip()}, from {row.get('started on').strip()}"
                    + (f" to {end}" if end else "")
                )
                ctx.log(
                    row,
                    "note",
                    file=t.file,
                    source="linkedin:positions",
                    source_key="position:"
                    + digest(row.get("company name"), row.get("title"), row.get("started on")),
                    at=at,
                    columns={"at": "started on", "text": "title"},
                    platform=PLATFORM,
                    text=text,
                )


# --------------------------------------------------------------------------------------------
def taken_at(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=tz).astimezone(dt.UTC)


def _snapshot_diff(imp: LinkedInImport) -> None:
    """Ghosts, removals and job changes against the previous snapshot; save this one."""
    ctx, b = imp.ctx, imp.b
    if getattr(imp, "members", None) is None:
        return
    export_day = imp.export_date or imp.newest
    if export_day is None:
        raise StudyError(f"{imp.archive.name}: cannot tell the export date (give --export-date)")
    snap_at = taken_at(export_day, ctx.study.tz)
    prev = provenance.snapshot_before(ctx.conn, ctx.participant, PLATFORM, snap_at)
    later = provenance.snapshot_after_exists(ctx.conn, ctx.participant, PLATFORM, snap_at)
    prev_members = provenance.members(ctx.conn, prev[0]) if prev else []
    present: set[str] = set(imp.present)
    vanished: dict[dt.date | None, list[str]] = defaultdict(list)
    for contact, connected_on, _slot in prev_members:
        if contact not in present:
            vanished[connected_on].append(contact)
    file0 = imp.connection_files[0].file
    ordinal: Counter[dt.date] = Counter()
    for t, row, day in imp.ghosts:
        with ctx.guard(row):
            ordinal[day] += 1
            identity = f"ghost:{day.isoformat()}:{ordinal[day]}"
            slot = ctx.study.identity_hash(ctx.participant, PLATFORM, identity)
            key = b.find_contact(identity, platform=PLATFORM, participant=ctx.participant)
            mark = None
            if key is None:
                key = provenance.slot_contact(ctx.conn, ctx.participant, PLATFORM, slot)
                mark = slot if key else None
            if key is None and vanished.get(day):
                key = vanished[day].pop(0)  # the person turned ghost: removed below
                mark = slot
                ctx.skip(t.file, "ghost row: a connection whose account was closed or hidden since")
                imp.members.append({"contact": key, "connected_on": day, "slot": mark})
                continue
            if key is None:
                key = ctx.add_contact(
                    row, t.file, None, platform=PLATFORM, identity=identity, first_seen=day
                )
            ctx.log(
                row,
                "request_accepted",
                file=t.file,
                source="linkedin:connections",
                source_key=f"connection:{key}:{day.isoformat()}",
                at=day,
                columns={"at": "connected on"},
                contact=key,
                direction=DEFAULT_DIRECTION,
            )
            present.add(key)
            imp.members.append({"contact": key, "connected_on": day, "slot": mark})
    snapshots.check_mass_removal(ctx, PLATFORM, present, snap_at, imp.archive.name)
    if not later:
        _job_changes(imp, export_day)
    provenance.save_snapshot(
        ctx.conn,
        participant=ctx.participant,
        platform=PLATFORM,
        taken_at=snap_at,
        now=ctx.now,
        rows=imp.members,
    )
    snapshots.reconcile(
        ctx,
        PLATFORM,
        source="linkedin:snapshots",
        file=file0,
        source_key=lambda d, _a, _b: (
            f"{'removed' if d.kind == 'contact_removed' else 'readded'}:{d.contact}:"
            f"{d.after}:{d.before}"
        ),
        direction=DEFAULT_DIRECTION,
    )
    if prev:
        ctx.summary.notes.append(
            f"compared with the snapshot of {prev[1].astimezone(ctx.study.tz).date()}; "
            f"this export: {export_day}"
        )


def _job_changes(imp: LinkedInImport, export_day: dt.date) -> None:
    """A connection whose company or position changed: new details and a note."""
    from sqlalchemy import select

    from study import store

    ctx = imp.ctx
    d = store.contact_details.c
    keys = [k for _t, _r, k, _c, _p in imp.changes]
    if not keys:
        return
    imp.b.flush()
    current: dict[str, tuple[str | None, str | None]] = {}
    for i in range(0, len(keys), 500):
        for r in ctx.conn.execute(
            select(d.key, d.company, d.position).where(d.key.in_(keys[i : i + 500]))
        ):
            current[r.key] = (r.company, r.position)
    for t, row, key, company, position in imp.changes:
        old_c, old_p = current.get(key, (None, None))
        if (old_c or "") == company and (old_p or "") == position:
            continue
        if not company and not position:
            continue
        imp.b.set_details(key, company=company or None, position=position or None)
        ctx.summary.details_updated += 1
        ctx.log(
            row,
            "note",
            file=t.file,
            source="linkedin:snapshots",
            source_key=f"details:{key}:{export_day}",
            at=taken_at(export_day, ctx.study.tz),
            contact=key,
            text=(
                f"LinkedIn export of {export_day}: now {position or '?'} at {company or '?'} "
                f"(before: {old_p or '?'} at {old_c or '?'})"
            ),
        )


__all__ = ["run", "norm_url", "export_date_from_name", "ImportFileError", "SourceFile"]

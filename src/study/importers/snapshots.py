"""Lost ties from snapshots, in export-date order whatever order the exports came in.

Each export of a platform's connections is a snapshot (``import_snapshots``,
``snapshot_members``). A tie present in one snapshot and missing from the next one (by export
date) was removed between them: ``contact_removed`` at the midpoint, with the interval in
``removed_after`` / ``removed_before``; a tie missing and present again was re-added
(``request_accepted`` at the midpoint). A member kept only as a ghost's ``slot`` (a person
whose account was closed or hidden) counts as missing.

After every import the events this derives are recomputed over *all* snapshots and compared
with the derived events in the log: a missing one is logged; one whose interval a new
snapshot narrowed is logged anew as a correction that supersedes the old one (the log stays
append-only); one no snapshot supports any more is named in the summary and left. So archives
imported newest first end with the same removals as archives imported oldest first.

Before that, a snapshot that would remove more than half of the platform's live ties (or
holds no tie at all) stops the import with both counts, unless ``allow_mass_removal``: an
empty vCard file or a header-only ``Connections.csv`` is far more often a broken export than
a participant who removed everyone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select

from study import store
from study.errors import StudyError
from study.importers import provenance
from study.importers.base import ImportContext

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Removing more than this share of the live ties in one snapshot needs allow_mass_removal.
MASS_REMOVAL_SHARE = 0.5


@dataclass(frozen=True)
class Derived:
    """A derived event: a removal or re-addition of ``contact`` between two snapshot days."""

    kind: str  # contact_removed | request_accepted
    contact: str
    after: dt.date
    before: dt.date


def check_mass_removal(
    ctx: ImportContext, platform: str, present: set[str], taken_at: dt.datetime, what: str
) -> None:
    """Stop an import whose snapshot holds no tie, or would remove more than half of the
    ties the previous snapshot (by export date) had, unless ``allow_mass_removal``."""
    if ctx.options.get("allow_mass_removal"):
        return
    prev = provenance.snapshot_before(ctx.conn, ctx.participant, platform, taken_at)
    live = (
        {c for c, _on, slot in provenance.members(ctx.conn, prev[0]) if slot is None}
        if prev
        else set()
    )
    gone = live - present
    if present and len(gone) <= MASS_REMOVAL_SHARE * len(live):
        return
    if not present and not live and prev is None:
        raise StudyError(
            f"{what}: this export holds no {platform} ties (0 ties); nothing to import"
        )
    raise StudyError(
        f"{what}: this export has {len(present)} {platform} ties and would remove {len(gone)} "
        f"of the {len(live)} live ones (more than half): a broken export? "
        "--allow-mass-removal imports it anyway"
    )


def desired(snapshots: list[tuple[dt.date, dict[str, str | None]]]) -> list[Derived]:
    """The removals and re-additions the snapshots imply, in export-date order.

    ``snapshots``: (day, members as contact -> ghost slot) sorted by day. A contact counts
    as present where it is a member without a slot.
    """
    out: list[Derived] = []
    contacts = {c for _day, members in snapshots for c in members}
    for c in sorted(contacts):
        was, ever = None, False
        for i, (day, members) in enumerate(snapshots):
            now = c in members and members[c] is None
            if i and was and not now:
                out.append(Derived("contact_removed", c, snapshots[i - 1][0], day))
            if i and ever and not was and now:
                out.append(Derived("request_accepted", c, snapshots[i - 1][0], day))
            ever |= now
            was = now
    return out


def reconcile(
    ctx: ImportContext,
    platform: str,
    *,
    source: str,
    file: str,
    source_key: Callable[[Derived, dt.datetime, dt.datetime], str],
    direction: str = "in",
) -> None:
    """Bring the log's derived removals and re-additions in line with all snapshots."""
    conn, tz = ctx.conn, ctx.study.tz
    snaps = _snapshots(conn, ctx.participant, platform)
    if len(snaps) < 2:
        return
    days = [at.astimezone(tz).date() for _id, at in snaps]
    moments = dict(zip(days, (at for _id, at in snaps), strict=True))
    members = [
        (day, {c: slot for c, _on, slot in provenance.members(conn, sid)})
        for day, (sid, _at) in zip(days, snaps, strict=True)
    ]
    want = desired(members)
    ctx.batch.flush()
    have = _derived_in_log(conn, ctx, source)
    by_other = _removals_by_others(conn, ctx, source)
    claimed: set[int] = set()
    added = moved = earlier = 0
    for d in want:
        if d in have.values():
            continue
        mid = moments[d.after] + (moments[d.before] - moments[d.after]) / 2
        if d.kind == "contact_removed" and any(
            moments[d.after] < t <= moments[d.before] for t in by_other.get(d.contact, ())
        ):
            continue  # a removal already in the log (logged by hand) is not repeated
        old = next(
            (
                eid
                for eid, e in have.items()
                if eid not in claimed
                and e not in want
                and e.kind == d.kind
                and e.contact == d.contact
                and e.after <= d.after
                and d.before <= e.before
            ),
            None,
        )
        fields: dict[str, Any] = {"contact": d.contact}
        if d.kind == "contact_removed":
            fields.update(removed_after=d.after, removed_before=d.before)
        else:
            fields["direction"] = direction
        if old is not None:
            claimed.add(old)
            fields["supersedes"] = old
        key = source_key(d, moments[d.after], moments[d.before])
        ctx.log(None, d.kind, file=file, source=source, source_key=key, at=mid, **fields)
        if old is not None:
            moved += 1
        elif d.before != days[-1]:
            earlier += 1  # between two snapshots that were there before: re-derived
        else:
            added += 1
    stale = [e for eid, e in have.items() if eid not in claimed and e not in want]
    if moved or stale or earlier:
        ctx.summary.notes.append(
            f"re-derived from the {len(snaps)} {platform} snapshots in export-date order: "
            f"{added + earlier} removals or re-additions added ({earlier} between earlier "
            f"exports), {moved} narrowed (logged as corrections of the earlier ones)"
            + (f", {len(stale)} no longer implied (left in the log)" if stale else "")
        )


def _snapshots(conn: Any, participant: str, platform: str) -> list[tuple[int, dt.datetime]]:
    s = provenance.import_snapshots.c
    return [
        (int(r.id), r.taken_at)
        for r in conn.execute(
            select(s.id, s.taken_at)
            .where(and_(s.participant == participant, s.platform == platform))
            .order_by(s.taken_at, s.id)
        )
    ]


def _derived_in_log(conn: Any, ctx: ImportContext, source: str) -> dict[int, Derived]:
    """The removals and re-additions derived from snapshots before (not corrected ones)."""
    e = store.events.c
    gone = ctx.batch.ledger.superseded()
    found: dict[int, Derived] = {}
    for r in conn.execute(
        select(e.id, e.kind, e.contact, e.attributes, e.source_key).where(
            and_(
                e.participant == ctx.participant,
                e.source == source,
                e.kind.in_(["contact_removed", "request_accepted"]),
            )
        )
    ):
        if r.id in gone:
            continue
        if r.kind == "contact_removed":
            a = r.attributes
            if not a.get("removed_after") or not a.get("removed_before"):
                continue
            after, before = a["removed_after"], a["removed_before"]
        else:  # readded:<contact>:<after>:<before> (days, or ISO times on XING)
            found_days = _DAY.findall(r.source_key or "")
            if len(found_days) < 2:
                continue
            after, before = found_days[0], found_days[1]
        found[int(r.id)] = Derived(
            r.kind, r.contact, dt.date.fromisoformat(after), dt.date.fromisoformat(before)
        )
    return found


def _removals_by_others(conn: Any, ctx: ImportContext, source: str) -> dict[str, list[dt.datetime]]:
    e = store.events.c
    found: dict[str, list[dt.datetime]] = defaultdict(list)
    gone = ctx.batch.ledger.superseded()
    for r in conn.execute(
        select(e.id, e.contact, e.occurred_at).where(
            and_(
                e.participant == ctx.participant,
                e.kind == "contact_removed",
                e.source != source,
            )
        )
    ):
        if r.id not in gone:
            found[r.contact].append(r.occurred_at)
    return found

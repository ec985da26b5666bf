"""A frame of events against the log: the rules of :mod:`study.write.rules` per column.

The second step of ``Batch.log_frame``: over the rows that passed the stateless rules, which
break a rule that needs the log's state (a duplicate source key, an unknown contact or
participant, a removed contact, an introducer, one value per metric and period, a job lead's
stages). Rows of job leads go through the Ledger itself, in order. The first bad row is then
replayed through ``log``'s own checks (``raise_first``), which raise its error.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, select

from study import store
from study.errors import ValidationError
from study.vocabulary import (
    KINDS,
    Event,
)
from study.write.cells import (
    CHUNK_KEYS,
    from_us,
    label_error,
    member_of,
    not_none,
    row_arguments,
    to_us,
)
from study.write.rules import (
    ALLOWED_WHILE_REMOVED,
    PLATFORM_REQUIRED,
    RANK,
    READDING_KINDS,
    LeadStep,
    Ledger,
    MetricEntry,
    metric_conflict,
    metric_span,
)

if TYPE_CHECKING:
    from study.write.cells import ParsedCells
    from study.write.groups import FramePart


class Disagreement(Exception):
    """The per-column executor flagged a row the per-event one accepts (a bug; never silent)."""


class RuleChecks:
    """The checking step of :class:`study.write.events.BulkLog` (after ``parse``): fills
    ``dup`` (in the log already) and ``state_bad`` (breaks a rule of the log)."""

    out: ParsedCells
    n: int
    part: FramePart | None

    # stateful ------------------------------------------------------------------------------
    def _in_chunks(self, keys: list[Any], query: Any) -> list[Any]:
        rows: list[Any] = []
        for i in range(0, len(keys), CHUNK_KEYS):
            with self.reading():
                rows.extend(self.conn.execute(query(keys[i : i + CHUNK_KEYS])).all())
        return rows

    def _keys_in(self, sql: str, keys: list[Any], *before: Any) -> list[Any]:
        """Rows of ``sql`` (which ends with ``IN``) for ``keys``, a chunk per query, through the
        driver: SQLAlchemy would compile an expanding ``IN`` anew per chunk, a cost per key."""
        mark = self.mark
        rows: list[Any] = []
        for i in range(0, len(keys), CHUNK_KEYS):
            chunk = keys[i : i + CHUNK_KEYS]
            query = f"{sql} ({', '.join([mark] * len(chunk))})"
            with self.reading():
                rows.extend(self.conn.exec_driver_sql(query, (*before, *chunk)).all())
        return rows

    def _duplicates(self) -> np.ndarray:
        """Rows whose source key is in the log already or earlier in the frame."""
        if self.part is not None:  # settled for the whole frame, before any of it went in
            return self.part.duplicates()
        return self.duplicate_keys(self.source_key)

    def duplicate_keys(self, sk: np.ndarray) -> np.ndarray:
        """Per row of ``sk`` (source keys, None for none): the key is in the log already or
        in an earlier row."""
        has = not_none(sk)
        dup = np.zeros(len(sk), bool)
        if not has.any():
            return dup
        keys = pd.Series(sk[has], dtype=object)
        within = keys.duplicated(keep="first").to_numpy(bool)
        e = store.events.c
        known = self.batch.ledger._source_keys.get(self.source)
        if known is not None:
            in_db = keys.isin(known).to_numpy(bool)
        else:
            from sqlalchemy import func

            n_uniq = int(len(keys) - within.sum())
            # how many keys the log holds for the source, counted no further than the frame's
            stored = self.conn.execute(
                select(func.count()).select_from(
                    select(e.id)
                    .where(and_(e.source == self.source, e.source_key.is_not(None)))
                    .limit(n_uniq + 1)
                    .subquery()
                )
            ).scalar()
            if not stored:
                in_db = np.zeros(len(keys), bool)
            elif n_uniq < stored:
                # look the frame's keys up in the unique index (a log much larger than the
                # frame is not read whole: a simulator's or importer's later batches)
                found = self._keys_in(
                    f"SELECT source_key FROM events WHERE source = {self.mark} AND source_key IN",
                    list(keys[~within]),
                    self.source,
                )
                in_db = keys.isin([r[0] for r in found]).to_numpy(bool)
            else:
                stored_keys = self.conn.execute(
                    select(e.source_key).where(
                        and_(e.source == self.source, e.source_key.is_not(None))
                    )
                ).scalars()
                in_db = keys.isin(pd.Index(list(stored_keys))).to_numpy(bool)
        dup[np.flatnonzero(has)] = within | in_db
        return dup

    def check_rules(self) -> None:
        """The rules of :mod:`study.write.rules` over the rows that passed the stateless ones."""
        out = self.out
        self.dup = self._duplicates()
        live = ~out.bad & ~self.dup  # rows the per-event executor would check against the log
        self.state_bad = np.zeros(self.n, bool)
        bad = self.state_bad

        # participants: one query for the set
        parts = list(pd.unique(self.participant[live]))
        known_parts = {
            r[0] for r in self._keys_in("SELECT id FROM participants WHERE id IN", parts)
        }
        bad |= live & ~member_of(self.participant, list(known_parts))

        # contacts: one query per chunk of keys
        intro_given = out.attr("introducer")
        keys = set(pd.unique(out.contact[live & (out.contact != None)]))  # noqa: E711
        keys |= set(pd.unique(intro_given[live & (intro_given != None)]))  # noqa: E711
        contacts = self._contacts(keys)
        recorded = {st[3] for st in contacts.values() if st[3] is not None} - set(contacts)
        contacts.update(self._contacts(recorded))
        self.contacts = contacts

        has_c = live & (out.contact != None)  # noqa: E711
        cidx = np.flatnonzero(has_c)
        table = list(contacts.values())
        at = pd.Index(list(contacts), dtype=object).get_indexer(out.contact[cidx])
        c_missing = at < 0

        def column(i: int) -> np.ndarray:
            values = np.array([st[i] for st in table] + [None], dtype=object)
            return values[at]  # -1: the None at the end

        c_part, c_plat, c_intro = column(0), column(1), column(3)
        cbad = c_missing | (~c_missing & (c_part != self.participant[cidx]))
        given_pl = self.platform[cidx]
        cbad |= ~cbad & (given_pl != None) & (given_pl != c_plat)  # noqa: E711
        bad[cidx] |= cbad
        self.platform[cidx] = np.where(c_missing, given_pl, c_plat)

        # an event about a removed contact
        needs = has_c & ~bad & ~self._kind_in(ALLOWED_WHILE_REMOVED)
        if not self.force and needs.any():
            bad |= self._removed(needs, live)

        # introducer of introductions and vouch checks
        is_intro = has_c & ~bad & self._kind_in(["introduction", "vouch_check"])
        if is_intro.any():
            iidx = np.flatnonzero(is_intro)
            pos_in_c = np.searchsorted(cidx, iidx)
            given_i = intro_given[iidx]
            chosen = np.array(
                [g if g else r for g, r in zip(given_i, c_intro[pos_in_c], strict=True)],
                dtype=object,
            )
            ibad = np.array([not x for x in chosen], dtype=bool)
            ibad |= ~ibad & (chosen == out.contact[iidx])
            ist = [contacts.get(k) if k else None for k in chosen]
            ibad |= ~ibad & np.array(
                [
                    st is None or st[0] != pp
                    for st, pp in zip(ist, self.participant[iidx], strict=True)
                ],
                dtype=bool,
            )
            bad[iidx] |= ibad
            intro_given[iidx[~ibad]] = chosen[~ibad]

        # an introduction of a contact accepted without any prior contact
        if not self.force:
            is_introduction = has_c & ~bad & self._kind_in(["introduction"])
            if is_introduction.any():
                nidx = np.flatnonzero(is_introduction)
                c_basis = column(2)[np.searchsorted(cidx, nidx)]
                bad[nidx[c_basis == "none"]] = True

        # no contact: the platform is required for some kinds, else "other"
        no_c = live & (out.contact == None)  # noqa: E711
        no_pl = no_c & (self.platform == None)  # noqa: E711
        bad |= no_pl & self._kind_in(PLATFORM_REQUIRED)
        self.platform[no_pl & ~bad] = "other"

        self._check_metrics(live & ~bad & self._kind_in(["metric"]))

    def _check_metrics(self, rows_mask: np.ndarray) -> None:
        """One value per metric, platform and period (study.write.rules), over the frame's metric
        rows and the log: a row repeating an entry (the log's or an earlier row's) with the
        same value is a duplicate, with another value or an overlapping count period bad.

        Spans sorted by group: only groups where two spans meet are replayed row by row (with
        ``rules.metric_conflict``, as ``log`` checks them); the rest pass at the cost of a sort.
        """
        rows = np.flatnonzero(rows_mask)
        if not len(rows):
            return
        out = self.out
        name = out.attr("name")[rows]
        start = out.date("period_start")[rows]
        end = out.date("period_end")[rows]
        level = np.isnat(start)
        if level.any():  # a level's span is its local day
            local = (
                pd.DatetimeIndex(pd.to_datetime(self.at[rows[level]], unit="us", utc=True))
                .tz_convert(self.tz)
                .tz_localize(None)
                .to_numpy()
                .astype("datetime64[D]")
            )
            start = start.copy()
            end = end.copy()
            start[level] = local
            end[level] = local
        people = sorted(set(pd.unique(self.participant[rows])))
        with self.reading():
            self.batch.ledger.lock_metrics(people)
        logged = self._logged_metrics(people)
        spans = pd.DataFrame(
            {
                "participant": np.concatenate([logged["participant"], self.participant[rows]]),
                "platform": np.concatenate([logged["platform"], self.platform[rows]]),
                "name": np.concatenate([logged["name"], name]),
                "start": np.concatenate([logged["start"], start]),
                "end": np.concatenate([logged["end"], end]),
                "value": np.concatenate([logged["value"], out.value[rows]]),
                "row": np.concatenate([np.full(len(logged["start"]), -1), rows]),
                "id": np.concatenate([logged["id"], np.full(len(rows), -1)]),
            }
        )
        group = spans.groupby(["participant", "platform", "name"], sort=False).ngroup().to_numpy()
        order = np.lexsort((spans["start"].to_numpy(), group))
        g, st, en = group[order], spans["start"].to_numpy()[order], spans["end"].to_numpy()[order]
        reach = pd.Series(en).groupby(g).cummax().to_numpy()  # the latest end so far
        meets = np.zeros(len(order), bool)
        meets[1:] = (g[1:] == g[:-1]) & (st[1:] <= reach[:-1])
        if not meets.any():
            return
        suspect = np.unique(g[meets])
        self._replay_metrics(spans, group, suspect)

    def _logged_metrics(self, people: list[str]) -> dict[str, np.ndarray]:
        """The log's metric values of ``people`` (corrected ones left out), as spans."""
        e = store.events.c
        rows = self._in_chunks(
            people,
            lambda ks: select(
                e.id, e.participant, e.platform, e.occurred_at, e.value, e.attributes
            ).where(and_(e.participant.in_(ks), e.kind == "metric")),
        )
        gone = self.batch.ledger.superseded()
        found: dict[str, list[Any]] = {
            k: [] for k in ("id", "participant", "platform", "name", "start", "end", "value")
        }
        for r in rows:
            if r.id in gone:
                continue
            name = r.attributes["name"]
            a, b = metric_span(name, r.attributes, r.occurred_at, self.tz)
            for k, v in zip(
                found, (r.id, r.participant, r.platform, name, a, b, r.value), strict=True
            ):
                found[k].append(v)
        return {
            "id": np.asarray(found["id"], dtype=np.int64),
            "participant": np.asarray(found["participant"], dtype=object),
            "platform": np.asarray(found["platform"], dtype=object),
            "name": np.asarray(found["name"], dtype=object),
            "start": np.asarray(found["start"], dtype="datetime64[D]"),
            "end": np.asarray(found["end"], dtype="datetime64[D]"),
            "value": np.asarray(found["value"], dtype=float),
        }

    def _replay_metrics(self, spans: pd.DataFrame, group: np.ndarray, suspect: np.ndarray) -> None:
        """The rule row by row in the groups where spans meet: the log's entries first, then
        the frame's rows in frame order, each checked against those before it."""
        chosen = np.isin(group, suspect)
        sub = spans[chosen].assign(group=group[chosen]).sort_values(["group", "row"])
        entries: dict[int, list[MetricEntry]] = {}
        for r in sub.itertuples(index=False):
            a, b = pd.Timestamp(r.start).date(), pd.Timestamp(r.end).date()
            have = entries.setdefault(r.group, [])
            if r.row < 0:
                have.append(MetricEntry(int(r.id), r.platform, r.name, a, b, r.value))
                continue
            found = metric_conflict(have, a, b, r.value, self.force)
            if found is None:
                have.append(MetricEntry(None, r.platform, r.name, a, b, r.value))
            elif found[0] == "same":
                self.dup[r.row] = True
            else:
                self.state_bad[r.row] = True

    def _kind_in(self, kinds: Any) -> np.ndarray:
        """Rows of these kinds (by the kinds' codes: integers, not strings)."""
        codes = [i for i, k in enumerate(KINDS) if k in set(kinds)]
        return np.isin(self.kind_codes, codes)

    def _contacts(self, keys: set[Any]) -> dict[str, tuple[str, str, str, str | None]]:
        if not keys:
            return {}
        rows = self._keys_in(
            "SELECT key, participant, platform, basis, introducer FROM contacts WHERE key IN",
            sorted(keys),
        )
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def _db_membership(self, keys: list[str]) -> pd.DataFrame:
        e = store.events.c
        rows = self._in_chunks(
            keys,
            lambda ks: select(e.contact, e.occurred_at, e.kind, e.id).where(
                and_(e.contact.in_(ks), e.kind.in_(["contact_removed", *READDING_KINDS]))
            ),
        )
        gone = self.batch.ledger.superseded()
        if gone:
            rows = [r for r in rows if r[3] not in gone]
        return pd.DataFrame(
            {
                "contact": [r[0] for r in rows],
                "t": np.array([to_us(r[1]) for r in rows], dtype=np.int64),
                "removed": np.array([r[2] == "contact_removed" for r in rows], dtype=bool),
                "pos": np.full(len(rows), -1, dtype=np.int64),
            }
        )

    def _removed(self, needs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Rows about a contact that stands removed just before the row's time.

        The per-event executor sees the log plus the frame's earlier rows. When a contact's
        rows are in time order that is "everything earlier in time" (an as-of join); contacts
        whose rows are not are checked row by row.
        """
        out, kind = self.out, self.kind
        member = live & (out.contact != None) & self._kind_in(["contact_removed", *READDING_KINDS])  # noqa: E711
        # contacts as integer codes (joins and sorts on integers, not strings); -1: none
        codes, uniq = pd.factorize(out.contact)
        uniq = np.asarray(uniq, dtype=object)

        def flags(chosen: np.ndarray) -> np.ndarray:
            """Per row: is its contact one of ``chosen`` (codes)? (code -1 reads the last slot)"""
            table = np.zeros(len(uniq) + 1, bool)
            table[chosen] = True
            return table[codes]

        need_codes = np.unique(codes[needs])
        checked = flags(need_codes)
        db = self._db_membership(list(uniq[need_codes]))
        db_codes = pd.Index(uniq).get_indexer(db["contact"].to_numpy(dtype=object))
        fm = np.flatnonzero(member & checked)
        right = pd.DataFrame(
            {
                "contact": np.concatenate([db_codes, codes[fm]]).astype(np.int64),
                "t": np.concatenate([db["t"].to_numpy(np.int64), self.at[fm]]),
                "removed": np.concatenate(
                    [db["removed"].to_numpy(bool), kind[fm] == "contact_removed"]
                ),
            }
        )
        # contacts whose relevant rows go back in time somewhere in the frame
        rel = np.flatnonzero(needs | (member & checked))
        o = rel[np.argsort(codes[rel], kind="stable")]  # by contact, then row
        back = (np.diff(self.at[o]) < 0) & (codes[o][1:] == codes[o][:-1])
        unsorted_codes = np.unique(codes[o][1:][back])
        unsorted = flags(unsorted_codes)
        bad = np.zeros(self.n, bool)

        left_idx = np.flatnonzero(needs & ~unsorted)
        if len(left_idx) and len(right):
            left = pd.DataFrame(
                {
                    "contact": codes[left_idx].astype(np.int64),
                    "t": self.at[left_idx],
                    "row": left_idx,
                }
            ).sort_values("t", kind="stable")
            keep = ~np.isin(right["contact"].to_numpy(), unsorted_codes)
            r = right[keep].sort_values(["t", "removed"], kind="stable")
            m = pd.merge_asof(
                left,
                r,
                on="t",
                by="contact",
                allow_exact_matches=False,
                direction="backward",
            )
            hit = m["removed"].eq(True).to_numpy(bool)
            bad[m["row"].to_numpy()[hit]] = True
        if len(unsorted_codes):  # row by row, in the frame's order, as the per-event executor goes
            steps: dict[str, list[tuple[int, bool]]] = {}
            old = db[db["contact"].isin(set(uniq[unsorted_codes]))]
            for key, t, removed in zip(old["contact"], old["t"], old["removed"], strict=True):
                steps.setdefault(key, []).append((int(t), bool(removed)))
            for known in steps.values():
                known.sort()
            for row in rel[unsorted[rel]]:
                known = steps.setdefault(out.contact[row], [])
                if needs[row]:
                    i = bisect.bisect_left(known, (int(self.at[row]), False))
                    if i and known[i - 1][1]:
                        bad[row] = True
                if member[row]:
                    bisect.insort(known, (int(self.at[row]), kind[row] == "contact_removed"))
        return bad

    def check_leads(self, limit: int) -> int:
        """The lead rules row by row over the job-lead rows before ``limit``; the first bad row."""
        out = self.out
        live = ~out.bad & ~self.dup & ~self.state_bad
        idx = np.flatnonzero(live & (self.kind == "job_lead"))
        idx = idx[idx < limit]
        ledger = Ledger(self.conn, self.tz)
        self.lead_ledger = ledger
        if not len(idx):
            return limit
        lead, stage, channel = out.attr("lead"), out.attr("stage"), out.attr("channel")
        wanted = {(self.participant[i], lead[i]) for i in idx}
        for ident in wanted:
            ledger._leads[ident] = []
        e = store.events.c
        people = sorted({w[0] for w in wanted})
        rows = self._in_chunks(
            people,
            lambda ks: select(e.participant, e.occurred_at, e.attributes, e.contact, e.id).where(
                and_(e.participant.in_(ks), e.kind == "job_lead")
            ),
        )
        gone = self.batch.ledger.superseded()
        for r in rows:
            if r.id in gone:
                continue
            ident = (r.participant, r.attributes.get("lead"))
            if ident in wanted:
                a = r.attributes
                ledger._leads[ident].append(
                    LeadStep(
                        r.occurred_at,
                        RANK[a["stage"]],
                        a["stage"],
                        a.get("channel"),
                        r.contact,
                    )
                )
        for steps in ledger._leads.values():
            steps.sort()
        for i in idx:
            attrs = {"lead": lead[i], "stage": stage[i]}
            if channel[i] is not None:
                attrs["channel"] = channel[i]
            ev = Event(
                participant=self.participant[i],
                platform=self.platform[i],
                occurred_at=from_us(self.at[i]),
                kind="job_lead",
                contact=out.contact[i],
                attributes=attrs,
            )
            try:
                ledger._check_lead(ev, self.force)
            except ValidationError:
                self.state_bad[i] = True
                return int(i)
            channel[i] = ev.attributes.get("channel")
            out.contact[i] = ev.contact
            ledger.accept(ev)
        return limit

    # the first problem, as log() names it -----------------------------------------------------
    def raise_first(self, pos: int) -> None:
        """Replay row ``pos`` through the per-event executor, which raises its error."""
        from study.vocabulary import validate

        kind, kwargs, fields = row_arguments(self.frame, pos, self.source)
        label = self.frame.index[pos]
        try:
            ev = validate(kind, fields, tz=self.tz, now=self.now, **kwargs)
        except ValidationError as err:
            raise label_error(err, label) from None
        ledger = getattr(self, "lead_ledger", None) or Ledger(self.conn, self.tz)
        if ev.contact is not None:
            db = self._db_membership([ev.contact])
            steps = [(from_us(t), bool(r)) for t, r in zip(db.t, db.removed, strict=True)]
            out = self.out
            for q in range(pos):
                if (
                    out.contact[q] == ev.contact
                    and not out.bad[q]
                    and not self.dup[q]
                    and self.kind[q] in ("contact_removed", *READDING_KINDS)
                ):
                    steps.append((from_us(self.at[q]), self.kind[q] == "contact_removed"))
            ledger._membership[ev.contact] = sorted(steps)
        try:
            ledger.check(ev, force=self.force)
            if ev.kind == "metric":
                self._earlier_metrics(ledger, ev.participant, pos)
                ledger.check_metric(ev, force=self.force)
        except ValidationError as err:
            raise label_error(err, label) from None
        raise Disagreement(pos)

    def _earlier_metrics(self, ledger: Ledger, participant: str, pos: int) -> None:
        """The ledger's metric entries of ``participant``, with the frame's metric rows before
        ``pos`` that went in (as ``log`` would have accepted them)."""
        entries = ledger.metrics(participant)
        out = self.out
        for q in range(pos):
            if (
                self.kind[q] != "metric"
                or self.participant[q] != participant
                or out.bad[q]
                or self.dup[q]
                or self.state_bad[q]
            ):
                continue
            name = out.attr("name")[q]
            attrs = {
                "period_start": out.attr("period_start")[q],
                "period_end": out.attr("period_end")[q],
            }
            a, b = metric_span(name, attrs, from_us(self.at[q]), self.tz)
            entries.setdefault((self.platform[q], name), []).append(
                MetricEntry(None, self.platform[q], name, a, b, float(out.value[q]))
            )

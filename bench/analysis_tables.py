"""The analysis tables row of ``bench/run``: ours beside the same aggregations in DuckDB SQL.

Both sides start from the simulator's panel in SQLite (:mod:`sim_panel`) and end with four
tables in memory: ties (per spell: start, end, end reason, interactions in and out), weekly
metrics (count metrics spread over their periods' days into weeks, the last level of the week,
activity and profile updates per week), leads (first and last seen, first channel, contact and
platform, furthest and closing stage, the source contact's basis, interactions in the 12 months
before) and introductions (first introduction, introducer's basis, first vouch outcome, first
inbound response, the first spell).

Ours: ``Study.events(columns=...)`` and ``Study.contacts()``, then ``study.tables``.
The reference: DuckDB. Its SQLite extension is downloaded at run time, which this offline
machine cannot; so the reference fetches the same rows from the same SQLite file with ADBC's
SQLite driver (C, straight into Arrow, no Python per row), registers them in DuckDB and runs
the SQL below. The JSON attributes are parsed by DuckDB's json functions. DuckDB uses every
core (the reference); ours runs on one, so the row also notes DuckDB on one thread.
"""

from __future__ import annotations

import time

#: The event columns the four builders use.
COLUMNS = [
    "participant",
    "platform",
    "occurred_at",
    "kind",
    "contact",
    "value",
    "direction",
    "with_message",
    "outcome",
    "introducer",
    "introducer_connections",
    "name",
    "period_start",
    "period_end",
    "type",
    "section",
    "lead",
    "channel",
    "stage",
]
WINDOW_DAYS = 365


def cutoff_of(db: str):
    import sqlite3

    import pandas as pd

    con = sqlite3.connect(db)
    last = con.execute("SELECT max(occurred_at) FROM events").fetchone()[0]
    con.close()
    return pd.Timestamp(last, tz="UTC")


def child_ours(db: str) -> dict:
    import study
    from study.tables.introductions import introductions
    from study.tables.leads import leads
    from study.tables.metrics import weekly_metrics
    from study.tables.ties import ties

    cutoff = cutoff_of(db)
    s = study.open(db)
    s.events(kind="note", columns=["participant", "kind"])  # warm: imports are not the work
    t0 = time.perf_counter()
    ev = s.events(columns=COLUMNS)
    con = s.contacts()
    t_read = time.perf_counter() - t0
    tt = ties(ev, con, cutoff=cutoff, window_days=WINDOW_DAYS)
    t_ties = time.perf_counter() - t0 - t_read
    wm = weekly_metrics(ev)
    t_wm = time.perf_counter() - t0 - t_read - t_ties
    ld = leads(ev, con)
    t_ld = time.perf_counter() - t0 - t_read - t_ties - t_wm
    it = introductions(ev, con, cutoff=cutoff, window_days=WINDOW_DAYS, ties_table=tt)
    seconds = time.perf_counter() - t0
    s.close()
    return {
        "seconds": seconds,
        "events": len(ev),
        "rows": {"ties": len(tt), "weeks": len(wm), "leads": len(ld), "introductions": len(it)},
        "parts": {
            "read": t_read,
            "ties": t_ties,
            "weekly": t_wm,
            "leads": t_ld,
            "introductions": seconds - t_read - t_ties - t_wm - t_ld,
        },
    }


_EVENTS = """
SELECT participant, platform, CAST(occurred_at AS TEXT) AS occurred_at, kind, contact, value,
       attributes
FROM events
"""

#: Typed events: times as TIMESTAMP, attributes pulled out of the JSON.
SQL_EVENTS = """
CREATE TEMP TABLE ev AS
SELECT participant, platform, CAST(occurred_at AS TIMESTAMP) AS t, kind, contact, value,
       json_extract_string(attributes, '$.direction') AS direction,
       CAST(json_extract(attributes, '$.with_message') AS BOOLEAN) AS with_message,
       json_extract_string(attributes, '$.outcome') AS outcome,
       json_extract_string(attributes, '$.introducer') AS introducer,
       CAST(json_extract(attributes, '$.introducer_connections') AS DOUBLE)
           AS introducer_connections,
       json_extract_string(attributes, '$.name') AS name,
       CAST(json_extract_string(attributes, '$.period_start') AS DATE) AS period_start,
       CAST(json_extract_string(attributes, '$.period_end') AS DATE) AS period_end,
       json_extract_string(attributes, '$.type') AS type,
       json_extract_string(attributes, '$.section') AS section,
       json_extract_string(attributes, '$.lead') AS lead,
       json_extract_string(attributes, '$.channel') AS channel,
       json_extract_string(attributes, '$.stage') AS stage
FROM raw_events
"""

SQL_TIES = """
CREATE TEMP TABLE ties AS
WITH bounds AS (
    SELECT participant, contact, t, kind,
           CASE WHEN kind = 'request_accepted' THEN 1 ELSE 3 END AS o
    FROM ev WHERE kind IN ('request_accepted', 'contact_removed', 'contact_hidden')
    UNION ALL
    -- imported ties: contacts whose first boundary is not an accepted request and who have
    -- no request at all
    SELECT c.participant, c.key, c.first_seen, '_first_seen', 1
    FROM contacts c
    WHERE c.first_seen <= $cutoff AND NOT EXISTS (
        SELECT 1 FROM ev e WHERE e.contact = c.key AND e.participant = c.participant
          AND e.kind IN ('request_accepted', 'request_sent', 'request_received',
                         'request_declined', 'request_withdrawn'))
),
flagged AS (
    SELECT *, kind IN ('request_accepted', '_first_seen') AS is_start,
           lag(kind IN ('request_accepted', '_first_seen'))
               OVER (PARTITION BY participant, contact ORDER BY t, o) AS prev_start
    FROM bounds WHERE t <= $cutoff
),
numbered AS (
    SELECT *, sum(CASE WHEN is_start AND coalesce(NOT prev_start, true) THEN 1 ELSE 0 END)
               OVER (PARTITION BY participant, contact ORDER BY t, o
                     ROWS UNBOUNDED PRECEDING) AS spell
    FROM flagged
),
spells AS (
    SELECT participant, contact, spell,
           min(t) FILTER (WHERE is_start) AS start,
           min(t) FILTER (WHERE NOT is_start) AS end_event_at,
           arg_min(kind, t) FILTER (WHERE NOT is_start) AS end_event
    FROM numbered WHERE spell > 0
    GROUP BY ALL
),
horizons AS (
    SELECT *, coalesce(end_event_at, $cutoff) AS horizon FROM spells
),
inter AS (
    SELECT h.participant, h.contact, h.spell, i.t, i.direction
    FROM (SELECT * FROM ev WHERE kind = 'interaction' AND t <= $cutoff) i
    ASOF JOIN horizons h
      ON i.participant = h.participant AND i.contact = h.contact AND i.t >= h.start
    WHERE i.t <= h.horizon
),
anchors AS (
    SELECT participant, contact, spell, start AS t FROM horizons
    UNION ALL
    SELECT participant, contact, spell, t FROM inter
),
gaps AS (
    SELECT a.participant, a.contact, a.spell, a.t,
           coalesce(lead(a.t) OVER (PARTITION BY a.participant, a.contact, a.spell ORDER BY a.t),
                    h.horizon) AS nxt
    FROM anchors a JOIN horizons h USING (participant, contact, spell)
),
quiet AS (
    SELECT participant, contact, spell,
           min(t) FILTER (WHERE nxt - t >= INTERVAL ($window) DAY) AS quiet_at,
           max(t) AS last_sign
    FROM gaps GROUP BY ALL
),
ended AS (
    SELECT h.*, q.quiet_at, q.last_sign,
           CASE WHEN q.quiet_at IS NOT NULL THEN 'went_quiet'
                WHEN h.end_event = 'contact_removed' THEN 'removed'
                WHEN h.end_event IS NOT NULL THEN 'hidden' ELSE 'censored' END AS end_reason,
           coalesce(q.quiet_at, h.end_event_at, q.last_sign) AS "end"
    FROM horizons h JOIN quiet q USING (participant, contact, spell)
)
SELECT e.participant, e.contact, e.spell, c.platform, c.basis, e.start, e."end", e.end_reason,
       date_diff('second', e.start, e."end") / 86400.0 AS duration_days,
       (e.end_reason <> 'censored')::INT AS ended,
       count(i.t) FILTER (WHERE i.direction = 'in') AS n_in,
       count(i.t) FILTER (WHERE i.direction = 'out') AS n_out,
       max(i.t) FILTER (WHERE i.direction = 'in') AS last_in,
       max(i.t) FILTER (WHERE i.direction = 'out') AS last_out
FROM ended e
LEFT JOIN inter i
  ON i.participant = e.participant AND i.contact = e.contact AND i.spell = e.spell
 AND i.t <= e."end"
LEFT JOIN contacts c ON c.participant = e.participant AND c.key = e.contact
GROUP BY ALL
"""

SQL_WEEKLY = """
CREATE TEMP TABLE weekly AS
WITH counts AS (
    SELECT participant, platform, name, value, period_start, period_end,
           date_diff('day', period_start, period_end) + 1 AS n_days,
           unnest(generate_series(date_trunc('week', period_start),
                                  date_trunc('week', period_end), INTERVAL 7 DAY)) AS week
    FROM ev
    WHERE kind = 'metric' AND name IN ('profile_views', 'search_appearances',
                                       'post_impressions')
      AND value IS NOT NULL AND period_start IS NOT NULL AND period_end IS NOT NULL
),
shares AS (
    SELECT participant, platform, name, week,
           date_diff('day', greatest(period_start, week),
                     least(period_end, week + INTERVAL 6 DAY)) + 1 AS covered,
           value * covered / n_days AS share
    FROM counts
),
count_weeks AS (
    SELECT participant, week,
           sum(share) FILTER (WHERE name = 'profile_views') AS profile_views,
           sum(share) FILTER (WHERE name = 'search_appearances') AS search_appearances,
           sum(share) FILTER (WHERE name = 'post_impressions') AS post_impressions,
           least(max(days) FILTER (WHERE name = 'profile_views'), 7) AS profile_views_days
    FROM (SELECT participant, platform, name, week, sum(share) AS share, sum(covered) AS days
          FROM shares GROUP BY ALL)
    GROUP BY ALL
),
levels AS (
    SELECT participant, name, date_trunc('week', t) AS week,
           CASE WHEN name = 'googlability_rank' THEN arg_max(value, t) ELSE NULL END AS rank,
           platform, arg_max(value, t) AS last_value
    FROM ev
    WHERE kind = 'metric' AND name IN ('followers', 'connections', 'googlability_rank')
      AND value IS NOT NULL
    GROUP BY participant, name, week, platform
),
level_weeks AS (
    SELECT participant, week,
           sum(last_value) FILTER (WHERE name = 'followers') AS followers,
           sum(last_value) FILTER (WHERE name = 'connections') AS connections,
           max(rank) AS googlability_rank
    FROM levels GROUP BY ALL
),
activity AS (
    SELECT participant, date_trunc('week', t) AS week,
           count(*) FILTER (WHERE type = 'group_post') AS group_post,
           count(*) FILTER (WHERE type = 'article') AS article,
           count(*) FILTER (WHERE type = 'talk') AS talk,
           count(*) FILTER (WHERE type = 'group_moderation') AS group_moderation,
           count(*) FILTER (WHERE type = 'event_organized') AS event_organized,
           count(*) FILTER (WHERE type = 'comment') AS comment,
           count(*) AS activity
    FROM ev WHERE kind = 'activity' GROUP BY ALL
),
updates AS (
    SELECT participant, date_trunc('week', t) AS week,
           string_agg(DISTINCT section, ',') AS intervention, count(*) AS profile_updates
    FROM ev WHERE kind = 'profile_updated' GROUP BY ALL
),
keys AS (
    SELECT participant, week FROM count_weeks UNION SELECT participant, week FROM level_weeks
    UNION SELECT participant, week FROM activity UNION SELECT participant, week FROM updates
),
grid AS (
    SELECT participant,
           unnest(generate_series(min(week), max(week), INTERVAL 7 DAY)) AS week
    FROM keys GROUP BY participant
)
SELECT g.participant, g.week, c.* EXCLUDE (participant, week),
       l.* EXCLUDE (participant, week), a.* EXCLUDE (participant, week),
       u.* EXCLUDE (participant, week)
FROM grid g
LEFT JOIN count_weeks c USING (participant, week)
LEFT JOIN level_weeks l USING (participant, week)
LEFT JOIN activity a USING (participant, week)
LEFT JOIN updates u USING (participant, week)
"""

SQL_LEADS = """
CREATE TEMP TABLE leads AS
WITH jl AS (
    SELECT participant, lead, min(t) AS first_seen, max(t) AS last_seen,
           arg_min(channel, t) FILTER (WHERE channel IS NOT NULL) AS channel,
           arg_min(contact, t) FILTER (WHERE contact IS NOT NULL) AS contact,
           arg_min(platform, t) FILTER (WHERE platform IS NOT NULL) AS platform,
           max(list_position(['lead', 'applied', 'interview', 'offer', 'accepted'], stage))
               AS furthest,
           arg_max(stage, t) FILTER (WHERE stage IN ('accepted', 'rejected', 'withdrawn'))
               AS closed
    FROM ev WHERE kind = 'job_lead' GROUP BY ALL
)
SELECT jl.*, c.basis,
       (SELECT count(*) FROM ev i
         WHERE i.kind = 'interaction' AND i.participant = jl.participant
           AND i.contact = jl.contact AND i.t < jl.first_seen
           AND i.t >= jl.first_seen - INTERVAL 365 DAY) AS interactions_12m
FROM jl LEFT JOIN contacts c ON c.participant = jl.participant AND c.key = jl.contact
"""

SQL_INTRODUCTIONS = """
CREATE TEMP TABLE introductions AS
WITH intro AS (
    SELECT participant, contact, min(t) AS introduced_at,
           arg_min(introducer, t) AS event_introducer,
           arg_min(introducer_connections, t) FILTER (WHERE introducer_connections IS NOT NULL)
               AS introducer_connections
    FROM ev WHERE kind = 'introduction' AND t <= $cutoff GROUP BY ALL
),
chosen AS (
    SELECT participant, key AS contact FROM contacts
    WHERE basis = 'introduced' AND first_seen <= $cutoff
    UNION SELECT participant, contact FROM intro
),
vouch AS (
    SELECT participant, contact, arg_min(outcome, t) AS vouch_outcome, min(t) AS vouched_at
    FROM ev WHERE kind = 'vouch_check' AND t <= $cutoff GROUP BY ALL
),
inbound AS (
    SELECT participant, contact, min(t) AS first_response_at
    FROM ev WHERE kind = 'interaction' AND direction = 'in' AND t <= $cutoff GROUP BY ALL
)
SELECT ch.participant, ch.contact, c.platform,
       coalesce(i.event_introducer, c.introducer) AS introducer,
       coalesce(i.introduced_at, t.start, c.first_seen) AS introduced_at,
       i.introducer_connections, ib.basis AS introducer_basis,
       v.vouch_outcome, v.vouched_at, r.first_response_at,
       r.first_response_at IS NOT NULL AS responded,
       t.start, t."end", t.end_reason, t.duration_days, t.ended
FROM chosen ch
LEFT JOIN contacts c ON c.participant = ch.participant AND c.key = ch.contact
LEFT JOIN intro i ON i.participant = ch.participant AND i.contact = ch.contact
LEFT JOIN contacts ib ON ib.participant = ch.participant
      AND ib.key = coalesce(i.event_introducer, c.introducer)
LEFT JOIN vouch v ON v.participant = ch.participant AND v.contact = ch.contact
LEFT JOIN inbound r ON r.participant = ch.participant AND r.contact = ch.contact
LEFT JOIN ties t ON t.participant = ch.participant AND t.contact = ch.contact AND t.spell = 1
"""


def child_reference(db: str, threads: int | None = None) -> dict:
    import adbc_driver_sqlite.dbapi as adbc
    import duckdb

    cutoff = cutoff_of(db).tz_convert(None).isoformat(sep=" ")
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    if threads:
        duck.execute(f"SET threads = {int(threads)}")
    t0 = time.perf_counter()
    with adbc.connect(db) as src, src.cursor() as cur:
        cur.execute(_EVENTS)
        raw_events = cur.fetch_arrow_table()
        cur.execute(
            "SELECT key, participant, platform, basis, introducer, "
            "CAST(first_seen AS TEXT) AS first_seen FROM contacts"
        )
        raw_contacts = cur.fetch_arrow_table()
    duck.register("raw_events", raw_events)
    duck.register("raw_contacts", raw_contacts)
    t_read = time.perf_counter() - t0
    duck.execute(
        "CREATE TEMP TABLE contacts AS SELECT * REPLACE "
        "(CAST(first_seen AS TIMESTAMP) AS first_seen) FROM raw_contacts"
    )
    duck.execute(SQL_EVENTS)
    params = {"cutoff": cutoff}
    rows = {}
    for name, sql in (
        ("ties", SQL_TIES),
        ("weeks", SQL_WEEKLY),
        ("leads", SQL_LEADS),
        ("introductions", SQL_INTRODUCTIONS),
    ):
        table = sql.split("CREATE TEMP TABLE ", 1)[1].split()[0]
        sql = sql.replace("$window", str(WINDOW_DAYS)).replace(
            "$cutoff", "CAST($cutoff AS TIMESTAMP)"
        )
        duck.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
        # the results as pandas frames, as ours end
        rows[name] = len(duck.execute(f"SELECT * FROM {table}").df())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": rows, "read": t_read}

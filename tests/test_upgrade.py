"""Schema upgrades in place: a database written at version 1 opens with today's toolkit, is
upgraded step by step, and keeps every row."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest
from sqlalchemy import create_engine, inspect, select

import study
from study import store
from tests import schema_v1

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def make_v1(url: str) -> None:
    """A study as the version-1 toolkit left it: its tables, meta, a contact and events."""
    engine = create_engine(store.resolve_url(url))
    with engine.begin() as conn:
        schema_v1.metadata.create_all(conn)
        conn.execute(
            schema_v1.study_meta.insert(),
            [
                {"key": "schema_version", "value": "1"},
                {"key": "pseudonym_key", "value": "ab" * 32},
                {"key": "created_at", "value": T0.isoformat()},
                {"key": "timezone", "value": "Europe/Berlin"},
            ],
        )
        conn.execute(schema_v1.participants.insert(), [{"id": "me", "created_at": T0}])
        conn.execute(
            schema_v1.contacts.insert(),
            [
                {
                    "key": "c-0000000001",
                    "participant": "me",
                    "platform": "xing",
                    "basis": "met_in_person",
                    "introducer": None,
                    "first_seen": T0,
                    "first_seen_estimated": False,
                    "identity": "f" * 32,
                    "created_at": T0,
                }
            ],
        )
        conn.execute(
            schema_v1.contact_details.insert(),
            [{"key": "c-0000000001", "display_name": "Anna Alt", "updated_at": T0}],
        )
        conn.execute(
            schema_v1.events.insert(),
            [
                {
                    "participant": "me",
                    "platform": "xing",
                    "occurred_at": T0 + dt.timedelta(days=i),
                    "recorded_at": T0,
                    "kind": "job_lead",
                    "contact": "c-0000000001",
                    "value": None,
                    "attributes": {"lead": f"L{i}", "channel": "referral", "stage": "lead"},
                    "source": "v1",
                    "source_key": str(i),
                }
                for i in range(50)
            ],
        )
    engine.dispose()


def test_a_version_1_study_is_upgraded_in_place_with_its_data(db_url):
    make_v1(db_url)
    s = study.open(db_url)
    assert s.meta["schema_version"] == str(store.SCHEMA_VERSION) == "3"
    with s.engine.connect() as conn:
        assert conn.execute(
            select(store.study_meta.c.value).where(store.study_meta.c.key == "schema_version")
        ).scalar() == str(store.SCHEMA_VERSION)
        tables = set(inspect(conn).get_table_names())
        assert {"erasures", "named_files"} <= tables
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("events")}
        assert "ix_events_kind" not in indexes and "ix_events_job_leads" in indexes
        if s.engine.dialect.name == "postgresql":
            kind = conn.exec_driver_sql(
                "select data_type from information_schema.columns "
                "where table_name = 'events' and column_name = 'attributes'"
            ).scalar()
            assert kind == "jsonb"
    ev = s.events()
    assert len(ev) == 50 and list(ev.lead) == [f"L{i}" for i in range(50)]
    assert set(ev.stage) == {"lead"} and set(ev.contact) == {"c-0000000001"}
    assert ev.occurred_at.iloc[0] == T0
    assert s.contacts(names=True)["name"].tolist() == ["Anna Alt"]
    # the rules read the upgraded attributes (job_lead stages through the JSON column)
    s.log("job_lead", lead="L3", stage="interview", at="2025-04-01")
    with pytest.raises(study.ValidationError, match="goes backwards"):
        s.log("job_lead", lead="L3", stage="applied", at="2025-04-02")
    # the keyed hashes still match: the pseudonym key survived
    assert s.meta["pseudonym_key"] == "ab" * 32
    # and the re-import of the version-1 source is still a no-op
    with s.batch() as b:
        b.log("note", text="x", at="2025-03-01", source="v1", source_key="7")
    assert b.summary.already_present == 1
    s.close()
    # opening again finds nothing to do
    assert study.open(db_url).meta["schema_version"] == "3"


def _open(url: str) -> None:
    study.open(url).close()


def test_two_processes_upgrading_at_once_upgrade_once(db_url):
    make_v1(db_url)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(db_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    s = study.open(db_url)
    assert s.meta["schema_version"] == "3" and s.count() == 50


def _schema(url: str) -> dict[str, list]:
    engine = create_engine(store.resolve_url(url))
    with engine.connect() as conn:
        ins = inspect(conn)
        found = {
            table: sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in ins.get_indexes(table)
            )
            for table in ins.get_table_names()
        }
        found["columns"] = sorted(
            (table, c["name"]) for table in ins.get_table_names() for c in ins.get_columns(table)
        )
    engine.dispose()
    return found


def test_an_upgraded_study_has_the_schema_of_a_new_one(db_url, tmp_path, request):
    make_v1(db_url)
    study.open(db_url).close()
    if store.resolve_url(db_url).startswith("postgresql"):
        fresh = request.getfixturevalue("pg_server").new_database()
    else:
        fresh = str(tmp_path / "fresh.db")
    study.init(fresh).close()
    assert _schema(db_url) == _schema(fresh)


def test_a_job_leads_steps_are_read_through_the_job_lead_index(tmp_path):
    from study.rules import lead_steps_query

    s = study.init(tmp_path / "s.db")
    s.log("job_lead", lead="L1", stage="lead", channel="referral", at="2025-04-01")
    query = lead_steps_query("me", "L1")
    compiled = query.compile(s.engine)
    with s.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params.values())
        ).all()
        steps = conn.execute(query).all()
    assert "ix_events_job_leads" in " ".join(str(row[-1]) for row in plan)
    assert [r.attributes["stage"] for r in steps] == ["lead"]
    s.close()

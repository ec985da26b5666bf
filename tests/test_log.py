"""The log through the API: round trips, idempotent source keys, the stateful rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import study
from study.errors import DatabaseError, ValidationError


def test_round_trip_keeps_every_field(s):
    anna = s.add_contact(
        "Anna Beispiel", platform="xing", basis="met_in_person", first_seen="2025-01-10"
    )
    s.log("request_sent", contact=anna, with_message=True, at="2025-01-10T10:00")
    s.log("request_accepted", contact=anna, direction="out", at="2025-01-11")
    s.log("interaction", contact=anna, channel="meeting", direction="in", at="2025-02-01")
    s.log(
        "metric", name="profile_views", value=37, period="2025-01-01..2025-01-07", platform="xing"
    )
    s.log("job_lead", lead="L1", channel="referral", stage="lead", contact=anna, at="2025-03-01")
    ev = s.events()
    assert list(ev["kind"]) == [
        "metric",
        "request_sent",
        "request_accepted",
        "interaction",
        "job_lead",
    ]
    assert str(ev["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(ev["kind"].dtype, pd.CategoricalDtype)
    assert isinstance(ev["platform"].dtype, pd.CategoricalDtype)
    sent = ev[ev.kind == "request_sent"].iloc[0]
    assert sent.with_message is True or bool(sent.with_message)
    assert sent.occurred_at == pd.Timestamp("2025-01-10 09:00", tz="UTC")
    metric = ev[ev.kind == "metric"].iloc[0]
    assert metric.value == 37 and metric["name"] == "profile_views"
    assert metric.period_start == pd.Timestamp("2025-01-01")
    lead = ev[ev.kind == "job_lead"].iloc[0]
    assert (lead.lead, lead.stage, lead.channel, lead.contact) == ("L1", "lead", "referral", anna)
    assert (ev.platform == "xing").iloc[:4].all() and ev.platform.iloc[4] == "xing"


def test_source_key_makes_reimport_a_no_op(s):
    k = s.add_contact(platform="linkedin", first_seen="2024-01-01")
    for _ in range(2):
        with s.batch() as b:
            b.log(
                "request_accepted",
                contact=k,
                direction="in",
                at="2024-01-01",
                source="Connections.csv",
                source_key="row-1",
            )
            b.log(
                "contact_removed",
                contact=k,
                at="2024-06-01",
                source="Connections.csv",
                source_key="row-2",
            )
    assert b.summary.added == 0 and b.summary.already_present == 2
    assert s.count() == 2
    assert s.log("note", text="again", source="x", source_key="k") is not None
    assert s.log("note", text="again", source="x", source_key="k") is None
    assert s.count() == 3


def test_batch_is_all_or_nothing(s):
    k = s.add_contact(platform="xing")
    with pytest.raises(ValidationError), s.batch() as b:
        for i in range(100):
            b.log(
                "interaction",
                contact=k,
                channel="call",
                direction="out",
                at=f"2026-01-{1 + i % 28:02d}",
            )
        b.add_contact("Someone", platform="xing")
        b.log("interaction", contact=k, channel="fax", direction="out")
    assert s.count() == 0
    assert len(s.contacts()) == 1


def test_unknown_contact_and_participant(s):
    with pytest.raises(ValidationError, match="unknown contact") as err:
        s.log("interaction", contact="c-nobody", channel="call", direction="out")
    assert err.value.field == "contact"
    with pytest.raises(ValidationError, match="unknown participant"):
        s.log("note", text="x", participant="ghost")
    other = s.add_participant("p2")
    k = s.add_contact(platform="xing", participant=other)
    with pytest.raises(ValidationError, match="belongs to participant"):
        s.log("interaction", contact=k, channel="call", direction="out")


def test_event_platform_is_the_contacts(s):
    k = s.add_contact(platform="linkedin")
    s.log("interaction", contact=k, channel="message", direction="in")
    assert s.events().platform.iloc[0] == "linkedin"
    with pytest.raises(ValidationError, match="linkedin contact") as err:
        s.log("interaction", contact=k, channel="message", direction="in", platform="xing")
    assert err.value.field == "platform"
    with pytest.raises(ValidationError, match="required for metric") as err:
        s.log("metric", name="followers", value=3)
    assert err.value.field == "platform"


def test_removed_contact_until_readded(s):
    k = s.add_contact(platform="xing", first_seen="2025-01-01")
    s.log("request_accepted", contact=k, direction="in", at="2025-01-02")
    s.log("contact_removed", contact=k, at="2025-06-01")
    with pytest.raises(ValidationError, match="was removed on 2025-06-01") as err:
        s.log("interaction", contact=k, channel="call", direction="out", at="2025-07-01")
    assert err.value.forceable and "--force" in str(err.value)
    # before the removal it was fine, and requests and notes are allowed meanwhile
    s.log("interaction", contact=k, channel="call", direction="out", at="2025-05-01")
    s.log("request_sent", contact=k, at="2025-07-02")
    s.log("note", contact=k, text="asked where we know each other from", at="2025-07-02")
    s.log("request_accepted", contact=k, direction="out", at="2025-07-03")
    s.log("interaction", contact=k, channel="call", direction="out", at="2025-07-04")
    # the escape hatch
    s.log("contact_removed", contact=k, at="2025-08-01")
    assert s.log(
        "interaction", contact=k, channel="event", direction="in", at="2025-09-01", force=True
    )


def test_introduction_and_vouch_check_need_a_known_introducer(s):
    a = s.add_contact("A", platform="xing", basis="knows_personally")
    with pytest.raises(ValidationError, match="unknown contact") as err:
        s.add_contact("B", platform="xing", basis="introduced", introducer="c-none")
    assert err.value.field == "introducer"
    b = s.add_contact("B", platform="xing", basis="introduced", introducer=a)
    s.log("introduction", contact=b)
    s.log("vouch_check", contact=b, outcome="unknown")
    ev = s.events(kind=["introduction", "vouch_check"])
    assert list(ev.introducer) == [a, a]
    c = s.add_contact("C", platform="xing", basis="none")
    with pytest.raises(ValidationError, match="no recorded introducer") as err:
        s.log("vouch_check", contact=c, outcome="known")
    assert err.value.field == "introducer"
    with pytest.raises(ValidationError, match="introduce themselves"):
        s.log("introduction", contact=c, introducer=c)
    with pytest.raises(ValidationError, match="unknown contact"):
        s.log("introduction", contact="c-missing", introducer=a)


def test_lead_stages_never_go_backwards(s):
    s.log("job_lead", lead="L1", channel="recruiter", stage="lead", at="2026-01-01")
    s.log("job_lead", lead="L1", stage="interview", at="2026-02-01")
    s.log("job_lead", lead="L1", stage="interview", at="2026-02-10")  # a second interview
    with pytest.raises(ValidationError, match="goes backwards") as err:
        s.log("job_lead", lead="L1", stage="applied", at="2026-03-01")
    assert err.value.field == "stage"
    with pytest.raises(ValidationError, match="would come after"):
        s.log("job_lead", lead="L1", stage="offer", at="2026-01-15")
    s.log("job_lead", lead="L1", stage="rejected", at="2026-03-01")
    with pytest.raises(ValidationError, match="was closed"):
        s.log("job_lead", lead="L1", stage="offer", at="2026-03-05")
    with pytest.raises(ValidationError, match="first event of lead") as err:
        s.log("job_lead", lead="L2", stage="lead", at="2026-01-01")
    assert err.value.field == "channel"
    ev = s.events(kind="job_lead")
    assert set(ev.channel) == {"recruiter"}  # later stages inherit the channel
    s.log("job_lead", lead="L1", stage="applied", at="2026-03-06", force=True)


def test_lead_rules_see_earlier_events_in_the_same_batch(s):
    with pytest.raises(ValidationError, match="goes backwards"), s.batch() as b:
        b.log("job_lead", lead="L9", channel="posting", stage="offer", at="2026-01-02")
        b.log("job_lead", lead="L9", stage="lead", at="2026-01-03")
    assert s.count() == 0


def test_contacts_are_pseudonymous_unless_names_are_asked_for(s):
    s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person", company="Muster GmbH")
    plain = s.contacts()
    assert "name" not in plain.columns
    assert plain.key.iloc[0].startswith("c-")
    named = s.contacts(names=True)
    assert named["name"].iloc[0] == "Anna Beispiel"
    assert named.company.iloc[0] == "Muster GmbH"


def test_a_name_is_called_name_going_in_and_coming_out(s):
    """add_contact(name=...), set_details(name=...) and contacts(names=True)["name"]; the
    earlier spelling display_name is still accepted on writes."""
    k = s.add_contact(name="Anna Beispiel", platform="xing")
    assert s.contacts(names=True).set_index("key").loc[k, "name"] == "Anna Beispiel"
    s.set_details(k, name="Anna Beispiel-Muster")
    assert s.contacts(names=True).set_index("key").loc[k, "name"] == "Anna Beispiel-Muster"
    s.set_details(k, display_name="Anna B.", company="Muster GmbH")
    row = s.contacts(names=True).set_index("key").loc[k]
    assert (row["name"], row["company"]) == ("Anna B.", "Muster GmbH")
    other = s.add_contact(platform="xing", display_name="Bernd")
    assert s.contacts(names=True).set_index("key").loc[other, "name"] == "Bernd"
    with pytest.raises(ValidationError, match="^name: contains a NUL"):
        s.add_contact("A\x00", platform="xing")


def test_identity_finds_the_person_again(s):
    k = s.add_contact("Anna", platform="linkedin", identity="https://www.linkedin.com/in/anna")
    assert s.find_contact("https://www.linkedin.com/in/anna", platform="linkedin") == k
    assert s.find_contact("https://www.linkedin.com/in/anna", platform="xing") is None
    with pytest.raises(ValidationError, match="identity already exists"):
        s.add_contact(
            "Anna again", platform="linkedin", identity="https://www.linkedin.com/in/anna"
        )


def test_set_basis(s):
    a = s.add_contact(platform="xing", basis="knows_personally")
    b = s.add_contact(platform="xing")
    s.set_basis(b, "introduced", introducer=a)
    row = s.contacts().set_index("key").loc[b]
    assert (row.basis, row.introducer) == ("introduced", a)
    with pytest.raises(ValidationError):
        s.set_basis(b, "introduced")


def test_times_are_utc_in_the_database(s):
    s.log("note", text="x", at="2026-07-01T09:30")  # Berlin summer time
    with s.engine.connect() as conn:
        if s.engine.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("select occurred_at from events").scalar()
        else:
            raw = conn.exec_driver_sql(
                "select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') from events"
            ).scalar()
    assert raw.startswith("2026-07-01 07:30:00")


def test_filters(s):
    k = s.add_contact(platform="xing")
    s.log("interaction", contact=k, channel="call", direction="out", at="2026-01-01")
    s.log("interaction", contact=k, channel="call", direction="in", at="2026-03-01")
    s.log("note", text="x", at="2026-02-01")
    assert len(s.events(since="2026-02-01")) == 2
    assert len(s.events(until="2026-02-01")) == 2
    assert len(s.events(kind="interaction", contact=k)) == 2
    assert len(s.events(kind="interaction", since="2026-02-01", until="2026-12-31")) == 1


def test_newer_schema_is_refused(s, db_url):
    with s.engine.begin() as conn:
        conn.exec_driver_sql("update study_meta set value = '99' where key = 'schema_version'")
    s.close()
    with pytest.raises(DatabaseError, match="schema version 99, newer than this toolkit knows"):
        study.open(db_url)


def test_open_with_create_gives_a_study_to_log_to_right_away(tmp_path):
    """As after `study init`: the participant me exists."""
    with study.open(tmp_path / "new.db", create=True) as s:
        assert s.participants() == ["me"]
        k = s.add_contact("Anna Beispiel", platform="xing")
        s.log("interaction", contact=k, channel="call", direction="out")
        assert s.count("interaction") == 1
    with study.open(tmp_path / "new.db", create=True) as s:  # opening it again changes nothing
        assert s.participants() == ["me"] and s.count() == 1


def test_opening_a_missing_study_is_an_error(tmp_path):
    with pytest.raises(DatabaseError, match="run `study init` first"):
        study.open(tmp_path / "nothing.db")
    assert not (tmp_path / "nothing.db").exists()
    with pytest.raises(DatabaseError, match="does not exist"):
        study.init(tmp_path / "no" / "such" / "dir.db")


def test_sqlite_file_is_private_and_in_wal_mode(sqlite_study, db_path):
    s = sqlite_study
    assert (db_path.stat().st_mode & 0o777) == 0o600
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("pragma foreign_keys").scalar() == 1


def test_export_writes_one_file_per_table(s, tmp_path):
    k = s.add_contact("=HYPERLINK(evil)", platform="xing")
    s.log("note", contact=k, text="+1 call back", at=dt.date(2026, 1, 2))
    pq = s.export(tmp_path / "pq", "parquet")
    assert sorted(p.rsplit("/", 1)[1] for p in pq) == [
        "contacts.parquet",
        "events.parquet",
        "participants.parquet",
    ]
    back = pd.read_parquet(tmp_path / "pq" / "events.parquet")
    assert back.text.iloc[0] == "+1 call back"
    assert "name" not in pd.read_parquet(tmp_path / "pq" / "contacts.parquet").columns
    s.export(tmp_path / "csv", "csv", names=True)
    text = (tmp_path / "csv" / "events.csv").read_text()
    assert "'+1 call back" in text  # a spreadsheet would run it as a formula
    assert "'=HYPERLINK(evil)" in (tmp_path / "csv" / "contacts.csv").read_text()


def test_log_frame_goes_through_the_same_rules(s):
    k = s.add_contact(platform="xing", first_seen="2026-01-01")
    frame = pd.DataFrame(
        {
            "kind": ["request_accepted", "interaction", "metric"],
            "occurred_at": pd.to_datetime(["2026-01-02", "2026-01-03", "2026-01-04"], utc=True),
            "contact": [k, k, None],
            "direction": ["in", "out", None],
            "channel": [None, "call", None],
            "name": [None, None, "followers"],
            "value": [None, None, 12.0],
            "platform": [None, None, "xing"],
            "source_key": ["a", "b", "c"],
        }
    )
    with s.batch() as b:
        assert b.log_frame(frame, source="sim") == 3
    with s.batch() as b:
        assert b.log_frame(frame, source="sim") == 0
    assert s.count() == 3
    bad = frame.assign(channel=[None, "fax", None], source_key=["d", "e", "f"])
    with pytest.raises(ValidationError, match="channel: 'fax'"), s.batch() as b:
        b.log_frame(bad, source="sim")
    assert s.count() == 3

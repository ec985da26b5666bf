"""Re-running adds nothing twice: the README's logging commands (command line and Python), run
a second time, leave the log as it was; true repeats and corrections are explicit."""

from __future__ import annotations

import multiprocessing
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import study
from study import store
from study.api import AlreadyLogged
from study.cli.main import main
from study.errors import ValidationError

NAMES = ["Anna Beispiel", "Bernd Muster", "anna  beispiel"]


def _cli(db: str, *args: str) -> int:
    try:
        return main([*args, "--db", db])
    except SystemExit as exc:
        return int(exc.code or 0)


def snapshot(s: study.Study) -> tuple[list, list]:
    """The log without its ids and write times: what a second run must leave unchanged."""
    e, c, d = store.events.c, store.contacts.c, store.contact_details.c
    with s.engine.connect() as conn:
        events = conn.execute(
            select(
                e.participant,
                e.platform,
                e.occurred_at,
                e.kind,
                e.contact,
                e.value,
                e.attributes,
                e.source,
                e.source_key,
                e.supersedes,
            ).order_by(e.id)
        ).all()
        contacts = conn.execute(
            select(c.key, c.platform, c.basis, c.introducer, d.display_name)
            .select_from(store.contacts.outerjoin(store.contact_details, c.key == d.key))
            .order_by(c.key)
        ).all()
    return [tuple(r) for r in events], [tuple(r) for r in contacts]


# the README's "Logging by hand" and "From Python" commands, with their values drawn ----------
def contact_add(name: str, platform: str) -> tuple[str, ...]:
    return ("cli", "contact", "add", name, "--platform", platform, "--basis", "met_in_person")


def cli_interaction(name: str, channel: str) -> tuple[str, ...]:
    return ("cli", "log", "interaction", "--contact", name, "--channel", channel,
            "--direction", "out")  # fmt: skip


def cli_views(value: int, week: int) -> tuple[str, ...]:
    period = f"2026-11-{1 + 7 * week:02d}..2026-11-{7 + 7 * week:02d}"
    return ("cli", "log", "metric", "--name", "profile_views", "--value", str(value),
            "--period", period, "--platform", "xing")  # fmt: skip


def cli_lead(lead: str, stage: str) -> tuple[str, ...]:
    return ("cli", "log", "job_lead", "--lead", lead, "--channel", "recruiter", "--stage", stage)


COMMAND = st.one_of(
    st.builds(contact_add, st.sampled_from(NAMES), st.sampled_from(["xing", "linkedin"])),
    st.builds(cli_interaction, st.sampled_from(NAMES[:2]), st.sampled_from(["call", "meeting"])),
    st.builds(cli_views, st.integers(0, 90), st.integers(0, 2)),
    st.builds(cli_lead, st.sampled_from(["L1", "L2"]), st.sampled_from(["lead", "applied"])),
    st.tuples(st.just("py-contact"), st.sampled_from(NAMES), st.sampled_from(["xing"])),
    st.tuples(st.just("py-interaction"), st.sampled_from(NAMES[:2]), st.just("call")),
    st.tuples(st.just("py-batch"), st.integers(100, 130), st.sampled_from(["talk", "article"])),
)


def run_command(s: study.Study, db: str, command: tuple) -> None:
    """One command; a refusal (exit 2, ValidationError) is an outcome like any other."""
    if command[0] == "cli":
        assert _cli(db, *command[1:]) in (0, 2)
        return
    what = command[0]
    try:
        if what == "py-contact":
            s.add_contact(command[1], platform=command[2], basis="met_in_person")
        elif what == "py-interaction":
            k = s.add_contact(command[1], platform="xing", basis="met_in_person")
            s.log("interaction", contact=k, channel=command[2], direction="out")
        else:
            with s.batch() as b:
                b.log("metric", name="followers", value=command[1], platform="linkedin")
                b.log("activity", type=command[2], topic="Netzwerken mit Substanz", platform="xing")
    except ValidationError:
        pass


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COMMAND, min_size=1, max_size=7))
def test_the_readme_commands_run_twice_leave_the_log_unchanged(commands):
    # the README adds its contact first; the drawn commands may add more, namesakes included
    commands = [contact_add(NAMES[0], "xing"), contact_add(NAMES[1], "xing"), *commands]
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "study.db")
        s = study.init(db)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlreadyLogged)
            for command in commands:
                run_command(s, db, command)
            first = snapshot(s)
            for command in commands:
                run_command(s, db, command)
        assert snapshot(s) == first
        s.close()


def test_the_readme_python_snippet_twice_makes_one_contact_and_one_event(s):
    """Measured: two contacts "Anna Beispiel" (two keys) and every event doubled."""
    keys = []
    for run in range(2):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", AlreadyLogged)
            k = s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person")
            s.log("interaction", contact=k, channel="call", direction="out")
            with s.batch() as b:
                b.log("metric", name="followers", value=120, platform="linkedin")
                b.log("activity", type="talk", topic="Netzwerken mit Substanz", platform="xing")
        assert len(said) == 2 * run  # the second run says what it did not add
        assert b.summary.already_present == 2 * run
        keys.append(k)
    assert keys[0] == keys[1] and len(s.contacts()) == 1
    assert s.count() == 3


def test_a_second_run_says_so_and_names_the_event(s):
    k = s.add_contact("Anna Beispiel", platform="xing")
    first = s.log("interaction", contact=k, channel="call", direction="out", at="2026-11-02")
    with pytest.warns(AlreadyLogged, match=f"already in the log as event {first}"):
        assert (
            s.log("interaction", contact=k, channel="call", direction="out", at="2026-11-02")
            is None
        )
    with pytest.warns(AlreadyLogged, match=f"already a contact: {k}"):
        assert s.add_contact(" anna   BEISPIEL ", platform="xing") == k


def test_a_true_repeat_is_logged_explicitly(s):
    k = s.add_contact("Anna Beispiel", platform="xing")
    call = dict(contact=k, channel="call", direction="out", at="2026-11-02")
    s.log("interaction", **call)
    second = s.log("interaction", occurrence=2, **call)  # the day's second call
    assert second is not None
    with pytest.warns(AlreadyLogged):
        assert s.log("interaction", occurrence=2, **call) is None  # a re-run: still no-op
    assert s.log("interaction", again=True, **call) is not None  # the next free number
    assert s.count("interaction") == 3
    with pytest.raises(ValidationError, match="occurrences are for events logged without"):
        s.log("note", text="x", source_key="k", again=True)


def test_a_namesake_is_added_with_new(s):
    a = s.add_contact("Anna Beispiel", platform="xing")
    b = s.add_contact("Anna Beispiel", platform="xing", new=True)
    assert a != b
    with pytest.raises(ValidationError, match="2 contacts on xing are called"):
        s.add_contact("Anna Beispiel", platform="xing")
    # the same name on another platform is another tie
    assert s.add_contact("Anna Beispiel", platform="linkedin") not in (a, b)
    # a profile URL finds the person whatever the name
    u = s.add_contact("Bernd Muster", platform="xing", profile_url="https://www.xing.com/profile/B")
    with pytest.warns(AlreadyLogged, match="same profile URL"):
        assert (
            s.add_contact(
                "B. Muster", platform="xing", profile_url="HTTPS://www.xing.com/profile/b/?sc=1"
            )
            == u
        )


def test_the_same_metric_twice_and_overlapping_counts(s):
    """Measured: the same count stored twice; overlapping periods of a count accepted."""
    views = dict(name="profile_views", period="2026-11-01..2026-11-07", platform="xing")
    first = s.log("metric", value=37, **views)
    with pytest.warns(AlreadyLogged):
        assert s.log("metric", value=37, **views) is None
    with pytest.raises(ValidationError, match=f"already logged as event {first} with the value 37"):
        s.log("metric", value=38, **views)
    with pytest.raises(ValidationError, match="overlaps the period 2026-11-01..2026-11-07") as err:
        s.log("metric", name="profile_views", value=9, period="2026-11-05..2026-11-11",
              platform="xing")  # fmt: skip
    assert err.value.forceable
    # another platform, another metric, the next week: all fine
    s.log("metric", value=37, **{**views, "platform": "linkedin"})
    s.log("metric", value=5, **{**views, "name": "search_appearances"})
    s.log(
        "metric", name="profile_views", value=40, period="2026-11-08..2026-11-14", platform="xing"
    )
    # the same figure from a spreadsheet is the value already logged, not a second one
    with s.batch() as b:
        b.log("metric", value=37, source="csv:metric", source_key="row:1", **views)
    assert b.summary.already_present == 1
    # a level: one value per day
    s.log("metric", name="followers", value=120, platform="linkedin", at="2026-11-03 09:00")
    with pytest.raises(ValidationError, match="for the day 2026-11-03 is already logged"):
        s.log("metric", name="followers", value=121, platform="linkedin", at="2026-11-03 18:00")
    assert s.count("metric") == 5


def test_a_correction_supersedes_and_reads_show_it(s):
    views = dict(name="profile_views", period="2026-11-01..2026-11-07", platform="xing")
    first = s.log("metric", value=37, **views)
    fixed = s.log("metric", value=39, supersedes=first, **views)
    assert s.count("metric") == 2  # append-only: both rows stay
    ev = s.events(kind="metric")
    assert ev.value.tolist() == [39.0] and ev.id.tolist() == [fixed]
    both = s.events(kind="metric", superseded=True)
    assert sorted(both.value.tolist()) == [37.0, 39.0]
    with s.engine.connect() as conn:
        assert (
            conn.execute(
                select(store.events.c.supersedes).where(store.events.c.id == fixed)
            ).scalar()
            == first
        )
    with pytest.warns(AlreadyLogged):  # the correction re-run, and the original re-run
        assert s.log("metric", value=39, supersedes=first, **views) is None
    with pytest.warns(AlreadyLogged):
        assert s.log("metric", value=37, **views) is None
    with pytest.raises(ValidationError, match=f"corrected already by event {fixed}"):
        s.log("metric", value=40, supersedes=first, **views)
    s.log("metric", value=40, supersedes=fixed, **views)  # a chain: correct the correction
    assert s.events(kind="metric").value.tolist() == [40.0]
    with pytest.raises(ValidationError, match="same kind and participant"):
        s.log("note", text="x", supersedes=first)
    with pytest.raises(ValidationError, match="there is no event 999"):
        s.log("metric", value=1, supersedes=999, **views)


def test_a_corrected_removal_no_longer_ends_the_tie(s):
    """The rules, too, see only the newest of a chain."""
    k = s.add_contact("Anna Beispiel", platform="xing")
    s.log("request_accepted", contact=k, direction="in", at="2026-01-01")
    gone = s.log("contact_removed", contact=k, at="2026-03-01")
    with pytest.raises(ValidationError, match="was removed on 2026-03-01"):
        s.log("interaction", contact=k, channel="call", direction="out", at="2026-04-01")
    s.log("contact_removed", contact=k, at="2026-05-01", supersedes=gone)  # it was later
    s.log("interaction", contact=k, channel="call", direction="out", at="2026-04-01")
    assert s.events(kind="contact_removed").occurred_at.dt.month.tolist() == [5]


def _log_once(db: str, barrier) -> None:  # type: ignore[no-untyped-def]
    s = study.open(db)
    barrier.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlreadyLogged)
        s.log("metric", name="profile_views", value=37, period="2026-11-01..2026-11-07",
              platform="xing")  # fmt: skip
        s.log("note", text="the same note", at="2026-11-02 10:00")
    s.close()


def test_two_processes_logging_the_same_event_at_once_store_it_once(db_url):
    study.init(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_log_once, args=(db_url, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    s = study.open(db_url)
    assert s.count("metric") == 1 and s.count("note") == 1


def test_the_command_line_says_what_a_rerun_did(tmp_path, capsys):
    db = str(tmp_path / "s.db")
    study.init(db).close()
    assert _cli(db, *contact_add("Anna Beispiel", "xing")[1:]) == 0
    key = capsys.readouterr().out.strip()
    assert _cli(db, *contact_add("Anna Beispiel", "xing")[1:]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == key and f"already a contact: {key}" in err and "--new" in err
    assert _cli(db, *cli_views(37, 0)[1:]) == 0
    assert "logged metric as event 1" in capsys.readouterr().out
    assert _cli(db, *cli_views(37, 0)[1:]) == 0
    assert "already in the log as event 1" in capsys.readouterr().out
    assert _cli(db, *cli_views(38, 0)[1:]) == 2
    assert "--supersedes 1" in capsys.readouterr().err
    assert _cli(db, *cli_views(38, 0)[1:], "--supersedes", "1") == 0
    assert _cli(db, *cli_interaction("Anna Beispiel", "call")[1:], "--at", "2026-11-02") == 0
    assert _cli(db, *cli_interaction("Anna Beispiel", "call")[1:], "--at", "2026-11-02") == 0
    assert "already in the log" in capsys.readouterr().out
    assert _cli(db, *cli_interaction("Anna Beispiel", "call")[1:], "--at", "2026-11-02",
                "--again") == 0  # fmt: skip
    assert study.open(db).count("interaction") == 2

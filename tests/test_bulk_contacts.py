"""``Batch.add_contacts`` (per column) and a loop of ``Batch.add_contact`` (per row) are one rule
book.

For random frames, mixing valid and broken cells, both executors must write the same rows to
``contacts`` and ``contact_details`` (read back raw from the driver, so even the stored text of
a time must match) or raise the same first error, word for word, and write nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

import study
from study import store
from study.bulk_contacts import CONTACTS_COLUMNS, add_contacts_rows
from study.errors import ValidationError
from tests.conftest import ENGINES

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module", params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A study with contacts in the states the rules care about, on each engine."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("contacts") / "study.db")
    else:
        db = request.getfixturevalue("pg_server").new_database()
    s = study.init(db)
    s.add_participant("p2")
    k = {}
    k["a"] = s.add_contact(platform="xing", basis="knows_personally", first_seen="2024-01-01")
    k["b"] = s.add_contact(
        platform="linkedin", basis="introduced", introducer=k["a"], first_seen="2024-01-01"
    )
    k["d"] = s.add_contact(platform="xing", participant="p2", first_seen="2024-01-01")
    s.add_contact("Known", platform="xing", identity="https://xing.example/known", key="known")
    yield s, k
    s.close()


FIRST_SEEN_GOOD = [
    "2025-01-01",
    " 2025-02-03T10:00 ",
    "2025-02-03T10:00:00+02:00",
    dt.date(2024, 5, 6),
    dt.datetime(2024, 5, 6, 7, 8, 9),  # naive: the study's time zone
    dt.datetime(2024, 3, 31, 2, 30),  # a time that does not exist in Berlin
    pd.Timestamp("2025-07-01 08:30:00.123456789", tz="UTC"),
    pd.Timestamp("2025-07-01 08:30", tz="America/New_York"),
    NOW + dt.timedelta(minutes=5),  # within the tolerated clock skew
]
FIRST_SEEN_BAD = ["soon", "20250101", "2030-01-01", NOW + dt.timedelta(minutes=11), 7, "  "]


def _value(rng: random.Random, col: str, keys: dict[str, str], bad: bool, row: int) -> object:
    frame_keys = [f"k{j}" for j in range(row + 3)]  # earlier, this and later rows' keys
    good, broken = {
        "key": (
            [None, "", f"k{row}", f"k{row}", f"k{row}", " k "],
            [keys["a"], "known", "q", "k0"],
        ),
        "platform": (["xing", "linkedin", "other", " xing "], ["fax", None, "", 3, "xing\x00"]),
        "basis": (
            [None, "", "knows_personally", "met_in_person", "none", " unknown", "introduced"],
            ["friend", 1, "none\x00"],
        ),
        "introducer": (
            [None, None, keys["a"], keys["b"], "q", *frame_keys[:row] * 2],
            ["c-nobody", keys["d"], *frame_keys[row:]],
        ),
        "participant": ([None, None, "me", ""], ["ghost", "p2", " me"]),
        "first_seen": ([None, *FIRST_SEEN_GOOD], FIRST_SEEN_BAD),
        "first_seen_estimated": (
            [None, True, False, 0, 1, 1.0, "no", " Ja", "false"],
            ["maybe", 2, "nope"],
        ),
        "identity": (
            [None, None, f"https://xing.example/{row}", "HTTPS://XING.EXAMPLE/0 "],
            ["https://xing.example/known", "https://xing.example/q"],
        ),
        "name": ([None, "Ann Example", "  Bo ", "", 42, "Émile"], ["nul\x00", "\udcff"]),
        "profile_url": ([None, "https://x.example/p", "", "  "], ["\x00"]),
        "company": ([None, "ACME", 0, False], ["bad\udcfftext"]),
        "position": ([None, "Engineer"], [None]),
        "email": ([None, "ann@example.org"], [None]),
    }[col]
    return rng.choice(broken if bad else good)


def random_frame(seed: int, keys: dict[str, str]) -> pd.DataFrame:
    rng = random.Random(seed)
    n = rng.randint(1, 12)
    bad_rate = rng.choice([0.0, 0.0, 0.0, 0.02, 0.05, 0.15])
    columns = [c for c in CONTACTS_COLUMNS if c == "platform" or rng.random() < 0.6]
    chain = "introducer" in columns and rng.random() < 0.4  # introduced by earlier rows
    if chain and "key" not in columns:
        columns.insert(0, "key")
    rows = []
    for i in range(n):
        row = {c: _value(rng, c, keys, rng.random() < bad_rate, i) for c in columns}
        if chain and row["key"] in (None, "", " k "):
            row["key"] = f"k{i}"
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns, index=[f"line {i + 2}" for i in range(n)])
    if "first_seen" in frame and rng.random() < 0.4:  # a tz-aware column: the fast path
        frame["first_seen"] = pd.to_datetime(
            [
                NOW - dt.timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86400))
                if rng.random() < 0.8
                else None
                for _ in range(n)
            ],
            utc=True,
        ).tz_convert(rng.choice(["UTC", "Europe/Berlin"]))
        if rng.random() < bad_rate * 3:
            frame.iloc[rng.randrange(n), columns.index("first_seen")] = pd.Timestamp(
                "2031-01-01", tz="UTC"
            )
    if "first_seen" in frame and rng.random() < 0.1:  # a naive datetime64 column
        frame["first_seen"] = pd.to_datetime(["2025-03-30 02:30"] * n)
    if "platform" in frame and rng.random() < 0.2:
        frame["platform"] = frame["platform"].astype("category")
    if "name" in frame and rng.random() < 0.2:
        frame["name"] = frame["name"].map(lambda v: v if v is None else str(v)).astype("string")
    return frame


def _tokens():
    """Deterministic generated keys, the same sequence for both executors."""
    counter = itertools.count()
    return lambda nbytes=None: f"{next(counter):010x}"


def _run(world, executor, frame: pd.DataFrame, *, queue: bool = True, patch=None):
    s, _ = world
    patch.setattr(secrets, "token_hex", _tokens())
    try:
        with s.batch() as b:
            b.now = NOW
            if queue:  # a contact queued in the batch before the frame
                b.add_contact(platform="xing", key="q", identity="https://xing.example/q")
            before = b.summary.contacts_added
            try:
                keys = executor(b, frame)
            except ValidationError as err:
                outcome = ("error", str(err), err.field, getattr(err, "row", None))
            else:
                b.flush()
                contacts = b.conn.exec_driver_sql("SELECT * FROM contacts ORDER BY key").fetchall()
                details = b.conn.exec_driver_sql(
                    "SELECT * FROM contact_details ORDER BY key"
                ).fetchall()
                outcome = (
                    "ok",
                    keys,
                    b.summary.contacts_added - before,
                    [tuple(r) for r in contacts],
                    [tuple(r) for r in details],
                )
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def _bulk(b, frame):
    return b.add_contacts(frame)


def test_add_contacts_and_add_contact_agree(world, monkeypatch):
    _, keys = world
    outcomes, errors, chained = [], Counter(), 0
    for seed in range(250):
        frame = random_frame(seed, keys)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a disagreement must not hide
            ours = _run(world, _bulk, frame, patch=monkeypatch)
        reference = _run(world, add_contacts_rows, frame, patch=monkeypatch)
        assert ours == reference, (seed, frame.to_dict("list"))
        outcomes.append(ours[0])
        if ours[0] == "ok" and "introducer" in frame and "key" in frame:
            chained += any(i in set(frame.key.iloc[:p]) for p, i in enumerate(frame.introducer))
        errors.update([ours[2]] if ours[0] == "error" else [])
    # the random frames cover both outcomes, introducers added in the same frame, every rule
    assert outcomes.count("ok") >= 40 and outcomes.count("error") >= 40
    assert chained >= 15
    assert {"platform", "basis", "introducer", "participant", "key", "first_seen"} <= set(errors)
    assert {"identity", "name"} & set(errors)


def test_agreement_on_a_large_frame_with_many_distinct_names(world, monkeypatch):
    """Over 1,000 distinct names take _Text's Arrow path; introducers chain down the frame."""
    n = 1500
    names = [f"Person {i}" for i in range(n)]
    names[10] = "  Padded Name\t"
    names[20] = "\u2003Unicode space"
    frame = pd.DataFrame(
        {
            "key": [f"k{i}" for i in range(n)],
            "platform": np.where(np.arange(n) % 2 == 0, "xing", "linkedin"),
            "basis": ["none"] + ["introduced"] * (n - 1),
            "introducer": [None] + [f"k{i // 2}" for i in range(1, n)],
            "first_seen": pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(n), unit="min"),
            "name": names,
        }
    )
    ours = _run(world, _bulk, frame, patch=monkeypatch)
    assert ours[0] == "ok" and ours[2] == n
    assert ours == _run(world, add_contacts_rows, frame, patch=monkeypatch)
    frame.loc[1400, "introducer"] = "k1401"  # a later row: unknown when row 1400 is added
    ours = _run(world, _bulk, frame, patch=monkeypatch)
    assert ours == (
        "error",
        "row 1400: introducer: unknown contact 'k1401' (add it with `study contact add`)",
        "introducer",
        1400,
    )
    assert ours == _run(world, add_contacts_rows, frame, patch=monkeypatch)


def test_error_names_the_row_and_nothing_of_the_frame_is_written(s):
    s.add_contact(platform="xing", key="old")
    frame = pd.DataFrame(
        {"key": ["n1", "n2", "old"], "platform": ["xing", "xing", "xing"], "name": ["A", "B", "C"]},
        index=[15, 16, 17],
    )
    with s.batch() as b:
        with pytest.raises(ValidationError) as err:
            b.add_contacts(frame)
        assert str(err.value) == "row 17: key: contact 'old' already exists"
        assert err.value.field == "key" and err.value.row == 17
        # the batch goes on: nothing of the frame is queued or written
        b.flush()
        c = store.contacts.c
        assert b.conn.execute(select(func.count()).where(c.key.in_(["n1", "n2"]))).scalar() == 0
        assert b.ledger.contact("n1") is None
        assert b.summary.contacts_added == 0
        b.add_contact(platform="linkedin", key="n1")
    assert set(s.contacts().key) == {"old", "n1"}
    assert s.contacts(names=True)["name"].isna().all()


def test_a_failed_batch_rolls_back_the_frame(s):
    frame = pd.DataFrame({"platform": ["xing", "fax"], "first_seen": ["2025-01-01", None]})
    with (
        pytest.raises(ValidationError, match=r"^row 1: platform: 'fax' is not allowed"),
        s.batch() as b,
    ):
        b.add_contact(platform="xing", key="before")
        b.add_contacts(frame)
    assert s.contacts().empty


def test_rows_details_and_reread(s):
    s.add_participant("p2")
    intro = s.add_contact(platform="xing", participant="p2", key="intro")
    frame = pd.DataFrame(
        {
            "key": ["x1", None, "x3"],
            "participant": ["p2", "p2", None],
            "platform": ["xing", " linkedin", "xing"],
            "basis": ["introduced", "introduced", None],
            "introducer": [intro, "x1", None],
            "first_seen": pd.DatetimeIndex(
                [pd.Timestamp("2025-03-01 10:15:30.25"), pd.Timestamp("2025-03-02"), pd.NaT]
            ).tz_localize("Europe/Berlin"),
            "first_seen_estimated": [True, None, False],
            "name": ["  Ann Example ", None, None],
            "company": ["ACME", None, None],
            "email": [None, "bo@example.org", ""],
            "identity": [None, "https://linkedin.example/bo", None],
        }
    )
    with s.batch() as b:
        b.now = NOW
        keys = b.add_contacts(frame)
        assert b.summary.contacts_added == 3
    assert keys[0] == "x1" and keys[2] == "x3" and keys[1].startswith("c-")
    got = s.contacts(names=True).set_index("key")
    assert set(got.index) == {"x1", keys[1], "x3", "intro"}
    assert got.loc["x1", "first_seen"] == pd.Timestamp("2025-03-01 09:15:30.25", tz="UTC")
    assert got.loc[keys[1], "first_seen"] == pd.Timestamp("2025-03-01 23:00", tz="UTC")
    assert got.loc["x3", "first_seen"] == pd.Timestamp(NOW)
    assert got.loc[keys[1], "platform"] == "linkedin" and got.loc[keys[1], "introducer"] == "x1"
    assert got.loc["x1", "first_seen_estimated"] and not got.loc["x3", "first_seen_estimated"]
    assert got.loc["x1", "name"] == "Ann Example" and got.loc["x1", "company"] == "ACME"
    assert got.loc[keys[1], "email"] == "bo@example.org"
    assert pd.isna(got.loc[keys[1], "name"])
    assert got.loc["x3"][["name", "email", "company"]].isna().all()  # no details row
    with s._read() as conn:
        d = store.contact_details.c
        assert sorted(conn.execute(select(d.key)).scalars()) == sorted(["x1", keys[1]])
    assert (
        s.find_contact("https://linkedin.example/bo", platform="linkedin", participant="p2")
        == (keys[1])
    )
    assert set(s.contacts(participant="p2").key) == {"intro", "x1", keys[1]}


def test_later_writes_in_the_batch_see_the_contacts(s):
    frame = pd.DataFrame(
        {
            "key": ["m1", "m2"],
            "platform": ["xing", "linkedin"],
            "first_seen": ["2025-01-01", "2025-01-02"],
            "identity": ["Ann", None],
        }
    )
    with s.batch() as b:
        b.add_contacts(frame)
        assert b.ledger.contact("m2").platform == "linkedin"
        b.log("interaction", contact="m1", channel="call", direction="in", at="2025-02-01")
        events = pd.DataFrame(
            {
                "kind": ["request_accepted"],
                "occurred_at": [pd.Timestamp("2025-01-03", tz="UTC")],
                "contact": ["m2"],
                "direction": ["out"],
            }
        )
        assert b.log_frame(events, source="f") == 1
        with pytest.raises(ValidationError, match="contact 'm1' already exists"):
            b.add_contact(platform="xing", key="m1")
        with pytest.raises(ValidationError, match="identity already exists"):
            b.add_contact(platform="xing", identity=" ann ")
        assert b.find_contact("ANN", platform="xing") == "m1"
        assert b.summary.contacts_added == 2
    assert s.count() == 2
    assert set(s.events().contact) == {"m1", "m2"}


def test_text_with_nul_characters_is_not_taken_for_shorter_text(sqlite_study):
    """pandas' factorize reads "k1\\x00b" as "k1"; such frames go row by row."""
    s = sqlite_study
    frame = pd.DataFrame({"key": ["k1", "k1\x00b"], "platform": ["xing", "xing"]})
    with s.batch() as b:
        assert b.add_contacts(frame) == ["k1", "k1\x00b"]
    assert len(s.contacts()) == 2
    frame = pd.DataFrame({"platform": ["xing", "xing\x00"], "name": ["A", "B"]})
    with (
        pytest.raises(ValidationError, match=r"^row 1: platform: 'xing\\x00' is not allowed"),
        s.batch() as b,
    ):
        b.add_contacts(frame)
    frame = pd.DataFrame({"key": ["n1", "n2"], "platform": "xing", "name": ["A", "\x00"]})
    with s.batch() as b:
        with pytest.raises(ValidationError, match="^row 1: name: contains a NUL"):
            b.add_contacts(frame)
        assert b._contacts == [] and b._details == [] and b.ledger.contact("n1") is None
        assert b.summary.contacts_added == 0
        b.add_contact(platform="xing", key="n1")  # the batch goes on
    assert len(s.contacts()) == 3


def test_unknown_columns_and_empty_frames(s):
    with pytest.raises(ValidationError, match="'display_name' is not a column"), s.batch() as b:
        b.add_contacts(pd.DataFrame({"platform": ["xing"], "display_name": ["A"]}))
    with s.batch() as b:
        assert b.add_contacts(pd.DataFrame({"platform": []})) == []
    with (
        pytest.raises(ValidationError, match="^row 0: platform: missing is not allowed"),
        s.batch() as b,
    ):
        b.add_contacts(pd.DataFrame({"key": ["z"]}))
    assert s.contacts().empty


def test_the_simulator_writes_its_contacts_with_add_contacts(tmp_path: Path, monkeypatch):
    from study.api import Batch
    from study.simulate import Params, run

    calls = []
    original = Batch.add_contacts

    def spy(self, frame):
        calls.append(len(frame))
        return original(self, frame)

    monkeypatch.setattr(Batch, "add_contacts", spy)
    monkeypatch.setattr(Batch, "add_contact", lambda *a, **k: pytest.fail("one contact at a time"))
    r = run(Params(), 3, tmp_path / "sim.db", participants=2, months=4, end=dt.date(2026, 10, 31))
    assert sum(calls) == r.contacts > 0
    with study.open(tmp_path / "sim.db") as s:
        assert len(s.contacts()) == r.contacts
    again = run(
        Params(), 3, tmp_path / "sim.db", participants=2, months=4, end=dt.date(2026, 10, 31)
    )
    assert again.events_added == 0 and calls[-1] == 0


@pytest.mark.parametrize("bulk", [False, True])
def test_first_seen_estimated_reads_yes_and_no_not_the_truth_of_the_cell(sqlite_study, bulk):
    """The text "no" is no (``bool("no")`` would be yes); a cell that is neither is an error
    naming the field, and nothing of the batch is written."""
    cells = ["no", "yes", "nein", "1", 0, True]
    frame = pd.DataFrame(
        {
            "key": [f"c-e{i}" for i in range(len(cells))],
            "platform": "xing",
            "first_seen_estimated": cells,
        }
    )
    with sqlite_study.batch() as b:
        if bulk:
            b.add_contacts(frame)
        else:
            for row in frame.itertuples(index=False):
                b.add_contact(
                    key=row.key,
                    platform=row.platform,
                    first_seen_estimated=row.first_seen_estimated,
                )
    got = sqlite_study.contacts().set_index("key")["first_seen_estimated"]
    assert got.loc[frame.key].tolist() == [False, True, False, True, False, True]
    before = len(sqlite_study.contacts())
    bad = pd.DataFrame({"key": ["c-e9"], "platform": ["xing"], "first_seen_estimated": ["maybe"]})
    message = "first_seen_estimated: 'maybe' is not yes or no"
    with pytest.raises(ValidationError, match=message), sqlite_study.batch() as b:
        b.add_contact(key="c-ok", platform="xing")
        if bulk:
            b.add_contacts(bad)
        else:
            b.add_contact(key="c-e9", platform="xing", first_seen_estimated="maybe")
    assert len(sqlite_study.contacts()) == before

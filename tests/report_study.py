"""A small study built through the API for the report tests: named contacts, and events of
several kinds over three months (August to October 2026)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import study

#: Real-looking names that must never appear in a report made with names=False.
NAMES = {
    "anna": "Anna Beispielfrau",
    "bernd": "Bernd Mustermann",
    "carla": "Carla Testerin",
    "dieter": "Dieter Probekontakt",
    "erika": "Erika Vorstellung",
    "franz": "Franz Sammlerkontakt",
}


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0)


def make_small_study(path: Path) -> study.Study:
    s = study.init(path)
    k = {}
    with s.batch() as b:
        k["anna"] = b.add_contact(
            NAMES["anna"], platform="xing", basis="met_in_person", first_seen=at(7, 1)
        )
        k["bernd"] = b.add_contact(
            NAMES["bernd"], platform="linkedin", basis="knows_personally", first_seen=at(7, 2)
        )
        k["carla"] = b.add_contact(
            NAMES["carla"], platform="xing", basis="none", first_seen=at(7, 3)
        )
        k["franz"] = b.add_contact(
            NAMES["franz"], platform="xing", basis="unknown", first_seen=at(7, 4)
        )
        k["dieter"] = b.add_contact(
            NAMES["dieter"],
            platform="xing",
            basis="introduced",
            introducer=k["anna"],
            first_seen=at(8, 5),
        )
        k["erika"] = b.add_contact(
            NAMES["erika"],
            platform="xing",
            basis="introduced",
            introducer=k["franz"],
            first_seen=at(8, 6),
        )
        for i, key in enumerate(k.values()):
            b.log("request_accepted", contact=key, direction="out", at=at(8, 1 + i))
        b.log("introduction", contact=k["dieter"], introducer=k["anna"], at=at(8, 10))
        b.log("introduction", contact=k["erika"], introducer=k["franz"], at=at(9, 10))
        for day, who, channel, direction in [
            (12, "anna", "call", "out"),
            (15, "bernd", "message", "in"),
            (20, "dieter", "meeting", "out"),
        ]:
            b.log(
                "interaction", contact=k[who], channel=channel, direction=direction, at=at(8, day)
            )
        for day, who, channel, direction in [
            (3, "anna", "message", "in"),
            (9, "bernd", "call", "out"),
            (21, "anna", "meeting", "out"),
        ]:
            b.log(
                "interaction", contact=k[who], channel=channel, direction=direction, at=at(10, day)
            )
        b.log("contact_removed", contact=k["carla"], at=at(10, 15))
        for n, (who, intro, outcome) in enumerate(
            [
                ("dieter", "anna", "known"),
                ("dieter", "anna", "known"),
                ("erika", "franz", "unknown"),
                ("erika", "franz", "unknown"),
                ("dieter", "anna", "known"),
                ("erika", "franz", "known"),
            ]
        ):
            b.log(
                "vouch_check", contact=k[who], introducer=k[intro], outcome=outcome, at=at(9, 1 + n)
            )
        for month in (8, 9, 10):
            b.log(
                "metric",
                name="profile_views",
                value=30 + 10 * month,
                period_start=dt.date(2026, month, 1),
                period_end=dt.date(2026, month, 28),
                platform="xing",
                at=at(month, 28),
            )
            b.log(
                "metric", name="followers", value=100 + month, platform="linkedin", at=at(month, 28)
            )
        b.log("profile_updated", section="about", completeness=80, platform="xing", at=at(8, 2))
        b.log("activity", type="talk", topic="Netzwerken", platform="xing", at=at(10, 5))
        b.log("activity", type="group_post", topic="Vertrauen", platform="xing", at=at(10, 6))
        b.log(
            "job_lead",
            lead="L1",
            channel="recruiter",
            stage="lead",
            contact=k["bernd"],
            at=at(9, 2),
        )
        b.log("job_lead", lead="L1", stage="interview", at=at(10, 2))
        b.log(
            "job_lead", lead="L2", channel="referral", stage="lead", contact=k["anna"], at=at(10, 4)
        )
    return s

"""``study init``, ``study participant add``, ``study participants``."""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, open_study


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "init",
        help="create a study (or check an existing one) and its default participant `me`",
        examples="  study init\n  study init --db postgresql+psycopg://team@db.example/study\n"
        "  study init --db data/pilot.db --timezone Europe/Vienna",
    )
    p.add_argument(
        "--timezone", help="time zone for times given without one (default Europe/Berlin)"
    )
    p.set_defaults(func=run_init)

    p = add_command(
        sub, "participant", help="manage participants", examples="  study participant add anna"
    )
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = add_command(
        psub,
        "add",
        help="add a participant to a panel study",
        examples="  study participant add anna",
    )
    add.add_argument("id", help="the participant's pseudonymous id")
    add.set_defaults(func=run_participant_add)

    p = add_command(
        sub, "participants", help="list the participants", examples="  study participants"
    )
    p.set_defaults(func=run_participants)


def run_init(args: argparse.Namespace) -> int:
    from study.api import init

    s = init(getattr(args, "db", None), timezone=args.timezone)
    print(
        f"study at {s.name}: schema version {s.meta['schema_version']}, time zone {s.tz.key}, "
        f"participants {', '.join(s.participants())}, {s.count()} events"
    )
    return 0


def run_participant_add(args: argparse.Namespace) -> int:
    s = open_study(args)
    print(s.add_participant(args.id))
    return 0


def run_participants(args: argparse.Namespace) -> int:
    for pid in open_study(args).participants():
        print(pid)
    return 0

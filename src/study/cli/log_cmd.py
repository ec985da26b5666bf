"""``study log KIND [fields]``: append one event. Options are built from the vocabulary.

Kept light: it imports the API (and so SQLAlchemy) but never pandas.
"""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, open_study, required_options
from study.vocabulary import DEFAULT_PARTICIPANT, KINDS, PLATFORMS, Field


def _option(f: Field) -> str:
    return "--" + f.name.replace("_", "-")


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "log",
        help="append one event to the log",
        examples="\n".join("  " + k.example for k in KINDS.values() if k.example),
    )
    ksub = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in KINDS.values():
        kp = add_command(ksub, kind.name, help=kind.doc, examples="  " + kind.example)
        required = required_options(kp)
        for f in kind.fields:
            if f.name in ("period_start", "period_end"):
                continue
            if f.type == "bool":
                group = kp.add_mutually_exclusive_group()
                group.add_argument(
                    "--with-message", dest=f.name, action="store_true", default=None, help=f.help
                )
                group.add_argument(
                    "--no-message",
                    dest=f.name,
                    action="store_false",
                    help="no personal message came with it",
                )
                continue
            kwargs: dict[str, Any] = {"dest": f.name, "help": f.help, "required": f.required}
            if f.choices:
                kwargs["metavar"] = "{" + ",".join(f.choices) + "}"
            elif f.type == "contact":
                kwargs["metavar"] = "KEY"
            (required if f.required else kp).add_argument(_option(f), **kwargs)
        if kind.name == "metric":
            kp.add_argument(
                "--period",
                metavar="PERIOD",
                help="the days a count covers (count metrics): 2026-11-01..2026-11-07, "
                "a month 2026-11, a quarter 2026-Q3 or a year 2026",
            )
        kp.add_argument(
            "--at",
            metavar="WHEN",
            help="when it happened: a date or date and time (default: now; study time zone)",
        )
        kp.add_argument(
            "--platform",
            metavar="{" + ",".join(PLATFORMS) + "}",
            help="the network (default: the contact's)",
        )
        kp.add_argument(
            "--participant", default=DEFAULT_PARTICIPANT, help="whose event (default: me)"
        )
        kp.add_argument("--source", default="manual", help=argparse.SUPPRESS)
        kp.add_argument("--source-key", help="a key that makes re-logging the same thing a no-op")
        kp.add_argument(
            "--force",
            action="store_true",
            help="let the event through a rule a researcher may legitimately break",
        )
        kp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kind = KINDS[args.kind]
    fields = {f.name: getattr(args, f.name, None) for f in kind.fields}
    if kind.name == "metric":
        fields["period"] = args.period
    s = open_study(args)
    event_id = s.log(
        kind.name,
        participant=args.participant,
        platform=args.platform,
        at=args.at,
        source=args.source,
        source_key=args.source_key,
        force=args.force,
        **fields,
    )
    if event_id is None:
        print("already in the log (same source key); nothing added")
    else:
        print(f"logged {kind.name} as event {event_id}")
    return 0

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
        kp.add_argument(
            "--source-key",
            help="your own key of the event (default: made from its content, so logging the "
            "same event again is a no-op)",
        )
        repeat = kp.add_mutually_exclusive_group()
        repeat.add_argument(
            "--again",
            action="store_true",
            help="log it although the same event is in the log already (a second call that day)",
        )
        repeat.add_argument(
            "--occurrence",
            type=int,
            metavar="N",
            help="the N-th such event (a script logging a day's second call: still a no-op "
            "when run again)",
        )
        kp.add_argument(
            "--supersedes",
            metavar="ID",
            help="correct event ID: this event replaces it in every read (both stay in the log)",
        )
        kp.add_argument(
            "--force",
            action="store_true",
            help="let the event through a rule a researcher may legitimately break",
        )
        kp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from study.api import AlreadyLogged

    kind = KINDS[args.kind]
    fields = {f.name: getattr(args, f.name, None) for f in kind.fields}
    if kind.name == "metric":
        fields["period"] = args.period
    s = open_study(args)
    for name in ("contact", "introducer"):  # a key, or a name that only one contact has
        if fields.get(name):
            fields[name] = s.resolve_contact(
                fields[name], participant=args.participant, field=name, missing_ok=True
            )
    extra = {}
    if args.again:
        extra["again"] = True
    if args.occurrence is not None:
        extra["occurrence"] = args.occurrence
    if args.supersedes is not None:
        extra["supersedes"] = args.supersedes
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", AlreadyLogged)
        event_id = s.log(
            kind.name,
            participant=args.participant,
            platform=args.platform,
            at=args.at,
            source=args.source,
            source_key=args.source_key,
            force=args.force,
            **extra,
            **fields,
        )
    if event_id is None:
        why = next((str(w.message) for w in said if w.category is AlreadyLogged), "")
        print(why.replace("again=True", "--again") or "already in the log; nothing added")
    else:
        print(f"logged {kind.name} as event {event_id}")
    return 0

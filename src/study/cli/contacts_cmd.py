"""``study contact add|set-basis`` and ``study contacts``."""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, open_study, print_frame, required_options
from study.vocabulary import BASES, DEFAULT_PARTICIPANT, PLATFORMS


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "contact",
        help="add or classify a contact",
        examples='  study contact add "Anna Beispiel" --platform xing --basis met_in_person\n'
        "  study contact set-basis c-1a2b3c4d5e introduced --introducer c-0f9e8d7c6b",
    )
    csub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = add_command(
        csub,
        "add",
        help="add a contact; prints the new contact's pseudonymous key",
        examples='  study contact add "Anna Beispiel" --platform xing --basis met_in_person\n'
        '  study contact add "Bernd Muster" --platform linkedin --basis introduced --introducer c-1a2b3c4d5e',
    )
    add.add_argument("name", help="the person's name (stored apart from the events)")
    required_options(add).add_argument(
        "--platform", required=True, choices=PLATFORMS, help="the network the tie is on"
    )
    add.add_argument(
        "--basis",
        default="unknown",
        choices=BASES,
        help="how the contact meets the acceptance rule (default: unknown)",
    )
    add.add_argument(
        "--introducer", metavar="KEY", help="the introducing contact (basis introduced)"
    )
    add.add_argument(
        "--participant", default=DEFAULT_PARTICIPANT, help="whose contact (default: me)"
    )
    add.add_argument("--first-seen", metavar="DATE", help="when the tie began (default: now)")
    add.add_argument("--url", help="profile URL")
    add.add_argument("--company", help="the contact's company (a personal detail)")
    add.add_argument("--position", help="the contact's position (a personal detail)")
    add.set_defaults(func=run_add)

    sb = add_command(
        csub,
        "set-basis",
        help="set a contact's basis (and introducer)",
        examples="  study contact set-basis c-1a2b3c4d5e knows_personally",
    )
    sb.add_argument("key", help="the contact's key (c-...)")
    sb.add_argument("basis", choices=BASES, help="how the contact meets the acceptance rule")
    sb.add_argument(
        "--introducer", metavar="KEY", help="the introducing contact (needed for introduced)"
    )
    sb.set_defaults(func=run_set_basis)

    ls = add_command(
        sub,
        "contacts",
        help="list contacts (pseudonymous keys unless --names); `annotate` for the basis round trip",
        examples="  study contacts --basis introduced\n  study contacts --platform xing --names\n"
        "  study contacts annotate --out unclassified.csv   # fill in basis and introducer, then\n"
        "  study contacts annotate --in unclassified.csv",
    )
    ls.add_argument(
        "action",
        nargs="?",
        choices=("annotate",),
        help="annotate: write unclassified contacts (--out FILE) or read them back (--in FILE)",
    )
    ls.add_argument("--out", metavar="FILE", help="annotate: write the unclassified contacts here")
    ls.add_argument(
        "--in", dest="in_file", metavar="FILE", help="annotate: read basis and introducer from here"
    )
    ls.add_argument("--dry-run", action="store_true", help="annotate --in: check, write nothing")
    ls.add_argument("--basis", choices=BASES, help="only contacts of this basis")
    ls.add_argument("--platform", choices=PLATFORMS, help="only contacts on this network")
    ls.add_argument("--participant", help="only this participant's contacts (default: all)")
    ls.add_argument("--names", action="store_true", help="show names and other personal details")
    ls.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="an aligned table, CSV or JSON lines (default: table)",
    )
    ls.set_defaults(func=run_list)


def run_add(args: argparse.Namespace) -> int:
    s = open_study(args)
    key = s.add_contact(
        args.name,
        platform=args.platform,
        basis=args.basis,
        introducer=args.introducer,
        participant=args.participant,
        first_seen=args.first_seen,
        profile_url=args.url,
        company=args.company,
        position=args.position,
    )
    print(key)
    return 0


def run_set_basis(args: argparse.Namespace) -> int:
    open_study(args).set_basis(args.key, args.basis, args.introducer)
    return 0


def run_list(args: argparse.Namespace) -> int:
    if args.action == "annotate":
        from study.cli.import_cmd import run_annotate

        return run_annotate(args)
    if args.out or args.in_file or args.dry_run:
        from study.cli.base import fail

        fail("--out, --in and --dry-run belong to `study contacts annotate`")
    df = open_study(args).contacts(
        names=args.names, participant=args.participant, basis=args.basis, platform=args.platform
    )
    print_frame(df, args.format)
    return 0

"""``study forget CONTACT``: erase a person (docs/privacy.md says what is kept and why)."""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, open_study


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "forget",
        help="erase a contact completely: details, notes, name in free text, files with names",
        examples='  study forget c-1a2b3c4d5e\n  study forget "Anna Beispiel"',
    )
    p.add_argument("contact", help="the contact's key, or their exact name")
    p.set_defaults(func=run_forget)


def run_forget(args: argparse.Namespace) -> int:
    from study.privacy import forget

    done = forget(open_study(args), args.contact)
    print(
        f"forgot {done.contact}: details and identity deleted, {done.events_deleted} note(s) "
        f"deleted, {done.events_rewritten} event(s) kept under a new unlinked key, "
        f"{done.texts_redacted} text(s) redacted, {len(done.files_deleted)} file(s) with names "
        "deleted"
    )
    for path in done.files_deleted:
        print(f"  deleted {path} (run the report again to regenerate it)")
    for path in done.backups_kept:
        print(f"  backup {path} still holds this person; `study restore` forgets them again")
    for warning in done.warnings:
        print(f"  warning: {warning}")
    return 0

"""``study simulate``, ``study demo`` and ``study power``: studies with known ground truth."""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, fail, required_options


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "simulate",
        help="write a simulated study with known ground truth (the truth goes beside it)",
        examples="  study simulate --participants 1 --months 24 --seed 7 --db sim.db\n"
        "  study simulate --participants 200 --months 36 --params my_params.toml --db panel.db",
    )
    p.add_argument(
        "--participants", type=_participants, default=1, metavar="N", help="how many (default: 1)"
    )
    p.add_argument("--months", type=_months, default=24, metavar="N", help="how long (default: 24)")
    p.add_argument(
        "--seed", type=_seed, default=7, help="the same seed writes the same log (default: 7)"
    )
    p.add_argument("--params", metavar="FILE.toml", help="settings that differ from the defaults")
    p.add_argument(
        "--end", metavar="DATE", help="last day (default: end of the last complete month)"
    )
    p.set_defaults(func=run_simulate)

    d = add_command(
        sub,
        "demo",
        help="build the demo study (one participant, 24 months, both platforms, every kind)",
        examples="  study demo\n  study demo --db demo.db --force",
    )
    d.add_argument(
        "--force",
        action="store_true",
        help="rebuild into a fresh file (the old one is moved aside to FILE.bak)",
    )
    d.set_defaults(func=run_demo)

    w = add_command(
        sub,
        "power",
        help="estimate by repeated simulation how likely the analysis detects an effect",
        examples="  study power --effect basis_hr --values 0.5 --months 12 24 --participants 1 --reps 20\n"
        "  study power --effect view_step --values 1.3 1.8 --months 6 12 --reps 50",
    )
    required = required_options(w)
    required.add_argument(
        "--effect",
        required=True,
        choices=("basis_hr", "view_step"),
        help="basis_hr: hazard ratio of a tie of basis none vs knows_personally; view_step: "
        "rate ratio of the weekly profile views' level change after the profile was completed",
    )
    required.add_argument(
        "--values",
        type=float,
        nargs="+",
        required=True,
        metavar="X",
        help="the true effects to simulate (ratios, e.g. 0.5 or 1.3 1.8)",
    )
    w.add_argument(
        "--months",
        type=_months,
        nargs="+",
        default=[12, 24],
        metavar="N",
        help="study lengths to compare (default: 12 24)",
    )
    w.add_argument(
        "--participants",
        type=_participants,
        default=1,
        metavar="N",
        help="participants per simulated study (default: 1)",
    )
    w.add_argument(
        "--reps",
        type=_reps,
        default=20,
        metavar="N",
        help="simulated studies per setting (more: a narrower interval for the power; default: 20)",
    )
    w.add_argument("--seed", type=_seed, default=1, help="the first seed (default: 1)")
    w.add_argument(
        "--params", metavar="FILE.toml", help="simulator settings that differ from the defaults"
    )
    w.set_defaults(func=run_power)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} must be 1 or more")
    return n


#: Longest simulated study: 50 years, so its first day stays inside the dates the log holds.
MAX_MONTHS = 600


def _months(text: str) -> int:
    n = _positive_int(text)
    if n > MAX_MONTHS:
        raise argparse.ArgumentTypeError(f"{n} months is more than {MAX_MONTHS} (50 years)")
    return n


#: Largest simulated panel and number of repetitions: beyond them a run would not end (or
#: not fit in memory) on any machine the toolkit is meant for.
MAX_PARTICIPANTS, MAX_REPS = 100_000, 10_000


def _participants(text: str) -> int:
    n = _positive_int(text)
    if n > MAX_PARTICIPANTS:
        raise argparse.ArgumentTypeError(f"{n} is more than {MAX_PARTICIPANTS:,} participants")
    return n


def _reps(text: str) -> int:
    n = _positive_int(text)
    if n > MAX_REPS:
        raise argparse.ArgumentTypeError(f"{n} is more than {MAX_REPS:,} repetitions")
    return n


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is negative (a seed is 0 or more)")
    return n


def _params(args: argparse.Namespace) -> Any:
    from study.simulate import Params

    return Params.from_toml(args.params) if args.params else Params()


def _print_result(r: Any) -> None:
    print(f"study: {r.db}")
    print(f"participants: {len(r.participants)}  contacts: {r.contacts}  seed: {r.seed}")
    print(f"events: {r.events_added} added, {r.events_present} already present")
    width = max((len(k) for k in r.by_kind), default=4)
    for kind, n in sorted(r.by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {kind:<{width}}  {n:>9}")
    print(
        f"seconds: {r.seconds:.1f} (generate {r.generate_seconds:.1f}, write {r.write_seconds:.1f})"
    )
    where = f"{r.truth_path} and " if r.truth_path else ""
    print(f"truth: {where}study_meta 'simulation_truth' (study.simulate.truth)")


def run_simulate(args: argparse.Namespace) -> int:
    from study.simulate import run
    from study.vocabulary import parse_date

    end = parse_date(args.end, "end") if args.end else None
    r = run(
        _params(args),
        args.seed,
        getattr(args, "db", None),
        participants=args.participants,
        months=args.months,
        end=end,
    )
    _print_result(r)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from study import store
    from study.simulate import SOURCE, demo_seed, run
    from study.simulate.truth import read_truth

    url = store.resolve_url(getattr(args, "db", None))
    path = store.sqlite_path(url)
    if args.force:
        if path is None:
            fail("--force rebuilds a SQLite file; for a server database drop the study yourself")
        if path.exists():
            for suffix in ("", "-wal", "-shm", ".truth.json"):
                old = path.with_name(path.name + suffix)
                if old.exists():
                    old.replace(old.with_name(old.name + ".bak"))
    elif path is None or path.exists():
        from sqlalchemy import func, select

        from study.api import Study

        with Study(url, create=True) as s, s._read() as conn:
            e = store.events.c
            foreign = conn.execute(
                select(func.count()).select_from(store.events).where(e.source != SOURCE)
            ).scalar()
            old = read_truth(conn)
        if old is not None and not foreign:
            print(
                f"{store.describe(url)} already holds a simulated study (seed {old['seed']}, "
                f"{old['start']}..{old['end']}); use --force to rebuild it"
            )
            return 0
        if foreign:
            fail(
                f"{store.describe(url)} already holds {foreign} events of a real study; "
                "the demo goes into a fresh file (--db demo.db) or use --force to move it aside"
            )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    r = run(None, demo_seed(), url, participants=1, months=24)
    _print_result(r)
    return 0


def run_power(args: argparse.Namespace) -> int:
    from study.cli.base import print_frame
    from study.simulate.power import EFFECTS, power

    table = power(
        args.effect,
        args.values,
        args.months,
        args.participants,
        args.reps,
        params=_params(args),
        seed=args.seed,
    )
    print(f"{args.effect}: {EFFECTS[args.effect][2]}; detected = 95% CI excludes 1")
    cols = ["value", "months", "participants", "reps", "detected", "not_estimable"]
    shown = table[[*cols, "power", "low", "high"]]
    shown = shown.assign(median_estimate=table["median_estimate"].round(2))
    for col in ("power", "low", "high"):
        shown[col] = shown[col].round(2)
    print_frame(shown, "table")
    return 0

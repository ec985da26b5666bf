"""``python -m study.validation``: run the harness and write docs/validation.md."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from study.validation.harness import timed_run, verdict
from study.validation.report import markdown, write
from study.validation.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m study.validation",
        description="Bias and coverage of every estimand the report prints, on simulated studies.",
    )
    parser.add_argument("--seeds", type=int, default=200, help="seeds per scenario (default 200)")
    parser.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="a scenario to run (repeatable; default: all)",
    )
    parser.add_argument(
        "--results",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only the results matching this pattern, e.g. 'job_search.*' (repeatable)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="processes (default: all cores)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/validation.md"),
        help="the page to write (default docs/validation.md); - prints it",
    )
    parser.add_argument(
        "--seeds-for",
        action="append",
        default=[],
        metavar="SCENARIO=N",
        help="another number of seeds for one scenario (repeatable), e.g. panel=100",
    )
    parser.add_argument("--rows", type=Path, help="also write every seed's rows to this CSV")
    args = parser.parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    counts = {name: args.seeds for name in names}
    for item in args.seeds_for:
        name, _, n = item.partition("=")
        if name not in SCENARIOS or not n.isdigit() or int(n) < 1:
            parser.error(
                f"--seeds-for {item!r}: give SCENARIO=N, a scenario of {sorted(SCENARIOS)}"
            )
        if name in counts:
            counts[name] = int(n)
    seeds = {name: list(range(args.first_seed, args.first_seed + n)) for name, n in counts.items()}
    print(
        f"validating {len(names)} scenario(s) × "
        + ", ".join(sorted({str(n) for n in counts.values()}))
        + f" seeds on {args.workers} processes",
        file=sys.stderr,
    )
    rows, summary, seconds = timed_run(
        names,
        seeds,
        workers=args.workers,
        results_only=args.results,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    command = "python -m study.validation " + shlex.join(argv if argv is not None else sys.argv[1:])
    per = counts if len(set(counts.values())) > 1 else args.seeds
    text = markdown(summary, seeds=per, seconds=seconds, command=command.strip())
    if str(args.out) == "-":
        print(text)
    else:
        write(text, args.out)
        print(f"wrote {args.out} ({seconds / 60:.1f} minutes)", file=sys.stderr)
    if args.rows:
        rows.to_csv(args.rows, index=False)
    bad = summary[[verdict(r) in ("under", "over") for _, r in summary.iterrows()]]
    for _, r in bad.iterrows():
        print(f"coverage {verdict(r)}: {r['scenario']}: {r['estimand']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

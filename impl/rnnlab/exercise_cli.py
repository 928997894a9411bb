"""``rnnlab exercise init | status``: the learner's commands, kept free of torch so that they start fast.

``rnnlab.launch`` runs them without importing the rest of the command line (which imports
torch, about 2 s on a 2-core CPU); ``rnnlab.cli`` adds the same parsers to its own, so
``rnnlab --help`` lists them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.errors import RnnlabError
from rnnlab.usage import Parser, UsageError


def cmd_exercise_init(args: argparse.Namespace) -> int:
    from rnnlab import exercise

    target = exercise.init(args.dir)
    print(f"wrote {target}: {len(exercise.EXERCISES)} exercises stubbed, in this order:")
    for e in exercise.EXERCISES:
        print(f"  {e.number:<9} {e.title:<50} {exercise.where(e)}")
    first = exercise.EXERCISES[0]
    print(f"progress:  rnnlab exercise status {args.dir}   (one exercise: ... status {args.dir} {first.id})")
    print(f"its specs: pytest spec --impl {args.dir} -m {first.marker}   (from the checkout)")
    print(f"your code trained, in the report: RNNLAB_IMPL={args.dir} tox -e acceptance")
    return 0


def cmd_exercise_status(args: argparse.Namespace) -> int:
    from rnnlab import exercise

    folder = Path(args.dir)
    if not (folder / "rnnlab" / "__init__.py").is_file():
        what = "does not exist" if not folder.exists() else "holds no rnnlab package"
        raise UsageError(f"{folder} {what}; create a learner copy with `rnnlab exercise init {folder}`")
    only = [_exercise_id(name) for name in args.exercises] or None
    try:
        specs = exercise.spec_dir_for(args.dir, args.specs)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    rows = exercise.status(args.dir, specs, only, args.time_limit)
    print(exercise.format_status(rows, full=args.full))
    done = sum(r["state"] == "done" for r in rows)
    print(f"\n{done}/{len(rows)} exercises done" + ("" if only else f" ({len(exercise.EXERCISES)} in all)"))
    print(exercise.next_step(rows, args.dir, specs, checked_all=only is None))
    return 0


def _exercise_id(name: str) -> str:
    """An exercise named by id (lab01.tbptt), marker (lab01_tbptt) or number (01.3, "Lab 01.3")."""
    from rnnlab import exercise

    key = name.strip().lower().removeprefix("lab ").replace("_", ".", 1)
    for e in exercise.EXERCISES:
        if key in (e.id, e.number.lower().removeprefix("lab ")):
            return e.id
    known = ", ".join(f"{e.number.removeprefix('Lab ')} {e.id}" for e in exercise.EXERCISES)
    raise UsageError(f"unknown exercise {name!r}; name one by number or id: {known}")


def _time_limit() -> float:
    from rnnlab.exercise import TIME_LIMIT

    return TIME_LIMIT


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def add_exercise_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ex = sub.add_parser("exercise", help="learner exercises: stubbed copies of the package, and progress")
    ex_sub = ex.add_subparsers(dest="action", required=True, metavar="ACTION")
    ex_init = ex_sub.add_parser("init", help="write DIR/rnnlab with every exercise region stubbed")
    ex_init.add_argument("dir")
    ex_init.set_defaults(func=cmd_exercise_init)
    ex_status = ex_sub.add_parser("status", help="run the specs against DIR and print progress per exercise")
    ex_status.add_argument("dir")
    ex_status.add_argument(
        "exercises", nargs="*", default=[], metavar="EXERCISE", help="only these (by number, 01.3, or id, lab01.tbptt)"
    )
    ex_status.add_argument(
        "--specs", default=None, help="the spec folder of an rnnlab checkout (default: the one `init` recorded)"
    )
    ex_status.add_argument("--full", action="store_true", help="print every failing message in full")
    ex_status.add_argument(
        "--time-limit",
        type=_seconds,
        default=_time_limit(),
        metavar="SECONDS",
        help="stop the specs after this long (a function that never returns) (default: %(default)s)",
    )
    ex_status.set_defaults(func=cmd_exercise_status)


def main(argv: list[str]) -> int:
    """``rnnlab exercise ...`` alone: the same parsers and one-line errors as ``rnnlab.cli.main``."""
    parser = Parser(prog="rnnlab")
    add_exercise_parsers(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help
            return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
        code: int = args.func(args)
        return code
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return 130
    except (RnnlabError, OSError) as exc:  # rnnlab's refusals and the machine's; anything else is a bug
        print(f"rnnlab: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2

"""``rnnlab exercise init | status``: the learner's commands, kept free of torch so that they start fast.

``rnnlab.launch`` runs them without importing the rest of the command line (which imports
torch, about 2 s on a 2-core CPU); ``rnnlab.cli`` adds the same parsers to its own, so
``rnnlab --help`` lists them.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from rnnlab.errors import RnnlabError
from rnnlab.signals import Terminated, _stop_handlers
from rnnlab.usage import Parser, UsageError, point_stdout_at_nothing, quote_path


def cmd_exercise_init(args: argparse.Namespace) -> int:
    from rnnlab import exercise

    where = Path(args.dir).expanduser().resolve()
    if (where / "impl" / "rnnlab").is_dir() and (where / "spec" / "conftest.py").is_file():
        raise UsageError(
            f"{args.dir} is an rnnlab checkout: a copy there would shadow impl/rnnlab for the specs and the harness; "
            "give a folder of your own, e.g. `rnnlab exercise init ~/my-rnnlab`"
        )
    target = exercise.init(args.dir)
    print(f"wrote {target}: {len(exercise.EXERCISES)} exercises stubbed, in this order:")
    for e in exercise.EXERCISES:
        print(f"  {e.number:<9} {e.title:<50} {exercise.where(e)}")
    first = exercise.EXERCISES[0]
    q = quote_path(args.dir)
    print(f"progress:  rnnlab exercise status {q}   (one exercise: ... status {q} {first.id})")
    print(f"its specs: pytest spec --impl {q} -m {first.marker}   (from the checkout)")
    print(f"your code trained, one lab:  rnnlab exercise accept {q} --lab 01   (report: {args.dir}/reports/lab01/)")
    return 0


def _learner_copy(given: str) -> None:
    """Check that ``given`` is a learner's copy (a folder holding ``rnnlab``); a ``UsageError`` names what it is
    instead."""
    folder = Path(given).expanduser()
    if (folder / "rnnlab" / "__init__.py").is_file():
        return
    if folder.is_file():
        raise UsageError(f"{given} is a file, not a learner's copy; give the folder `rnnlab exercise init` made")
    what = "does not exist" if not folder.exists() else "holds no rnnlab package"
    raise UsageError(f"{given} {what}; create a learner copy with `rnnlab exercise init {quote_path(given)}`")


def cmd_exercise_status(args: argparse.Namespace) -> int:
    from rnnlab import exercise

    _learner_copy(args.dir)
    only = [_exercise_id(name) for name in args.exercises] or None
    try:
        specs = exercise.spec_dir_for(args.dir, args.specs)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    rows = exercise.status(args.dir, specs, only, args.time_limit)
    done = sum(r["state"] == "done" for r in rows)
    with _reader_may_stop():  # `status DIR | head -1`: the reader stopping is a normal end, as for `rnnlab sample`
        print(exercise.format_status(rows, full=args.full))
        print(f"\n{done}/{len(rows)} exercises done" + ("" if only else f" ({len(exercise.EXERCISES)} in all)"))
        print(exercise.next_step(rows, args.dir, specs, checked_all=only is None), flush=True)
    return 1 if any(r["state"] == "in progress" for r in rows) else 0  # a checked exercise fails: not a success


@contextlib.contextmanager
def _reader_may_stop() -> Iterator[None]:
    """Printing to a reader that may stop reading (`| head`): its going is a quiet end of the output, not an error;
    what is still to be written goes nowhere."""
    try:
        yield
    except BrokenPipeError:
        point_stdout_at_nothing()


LABS = ("lab01", "lab02", "lab03", "bridge")  # --lab NN -> acceptance/test_NAME.py


def _lab(text: str) -> str:
    """A lab named as 01, 1, lab01, "Lab 01" or bridge."""
    key = text.strip().lower().replace(" ", "").removeprefix("lab")
    name = "bridge" if key == "bridge" else f"lab{key.zfill(2)}" if key.isdigit() else text
    if name not in LABS:
        raise argparse.ArgumentTypeError(f"expected 01, 02, 03 or bridge, got {text!r}")
    return name


def cmd_exercise_accept(args: argparse.Namespace) -> int:
    """Train one lab with the learner's copy and write the learner's own report (never the reference's)."""
    _learner_copy(args.dir)
    folder = Path(args.dir).expanduser().resolve()
    from rnnlab import exercise

    try:
        checkout = exercise.spec_dir_for(folder, args.specs).parent
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    lab = args.lab
    tests = checkout / "acceptance" / f"test_{lab}.py"
    if not tests.is_file():
        raise UsageError(f"{checkout} has no acceptance harness ({tests} is missing); use a clone of rnnlab")
    # each lab's report in a folder of its own, so that accepting one lab never replaces another's (#35)
    reports = Path(args.reports).expanduser().resolve() if args.reports else folder / "reports" / lab
    reference = (checkout / "reports").resolve()
    if reports == reference or reference in reports.parents:
        raise UsageError(
            f"--reports {args.reports}: that is the checkout's own reports folder, the reference's report; give "
            f"a folder of yours (the default is {folder / 'reports' / lab})"
        )
    if reports.exists() and not reports.is_dir():
        raise UsageError(f"--reports {args.reports}: a file is in the way; give a folder")
    again = f"rnnlab exercise accept {quote_path(folder)} --lab {lab.removeprefix('lab')} --profile {args.profile}"
    env = {
        **os.environ,
        "RNNLAB_IMPL": str(folder),
        "RNNLAB_REPORTS": str(reports),
        "RNNLAB_PROFILE": args.profile,
        "RNNLAB_COMMAND": again,
    }
    env.pop("RNNLAB_REPORT_HTML", None)
    env.pop("RNNLAB_MODELS", None)
    if args.as_written:
        env["RNNLAB_AS_WRITTEN"] = "1"
        again += " --as-written"
        env["RNNLAB_COMMAND"] = again
    if args.model is not None:
        from rnnlab.cells import MODEL_KINDS

        kind = args.model.strip().lower()
        if lab != "lab02":
            raise UsageError(
                f"--model chooses among Lab 02's models; give it with --lab 02, not --lab {lab.removeprefix('lab')}"
            )
        if kind not in MODEL_KINDS:
            raise UsageError(f"--model {args.model}: not a model kind; choose one of {', '.join(MODEL_KINDS)}")
        env["RNNLAB_MODELS"] = kind
        env["RNNLAB_COMMAND"] = f"{again} --model {kind}"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(tests),
        "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(checkout / "tox.ini"),
        # what the learner's code prints reaches this command (which bounds it, ``_Relay``), not pytest's capture:
        # a cell printing 1 MB per call filled 11 GB of capture files and 22 GB of memory (#35)
        "--capture=no",
        *(["--color=yes"] if sys.stdout.isatty() else []),
    ]
    print(f"training {lab} with {folder / 'rnnlab'} ({args.profile} profile); the report goes to {reports}", flush=True)
    started = time.time()
    posix = os.name == "posix"
    # a stop signal waits while the harness is started, so that it always finds the harness known and stops it:
    # one arriving inside Popen left the harness running without its command (#35)
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING) if posix else set()
    try:
        process = subprocess.Popen(
            command,
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_harness_signals(held) if posix else None,
        )
    except BaseException:
        if posix:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    assert process.stdout is not None
    # the reader of this command's output gone (`accept ... | head`), the harness is stopped as Ctrl-C stops it:
    # its output, no longer read, filled the pipe and hung it in a write for the hour of --time-limit
    relay = _Relay(process.stdout, on_lost=lambda: _interrupt(process))
    relay.start()
    try:
        if posix:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        code = process.wait(timeout=args.time_limit)
        relay.finish()
    except subprocess.TimeoutExpired:  # a learner's function that never returns: stopped, as Ctrl-C would (#35)
        _stop(process, at_once=True)
        with _reader_may_stop():
            print(
                f"stopped after {args.time_limit:g} s (--time-limit): a function of yours may never return (a loop "
                f"whose condition never changes?); no report written. Find it with `rnnlab exercise status "
                f"{quote_path(folder)}`"
            )
        return 124
    except KeyboardInterrupt as exc:  # Ctrl-C reached the harness too; a kill reached only this command
        _stop(process, at_once=isinstance(exc, Terminated))
        raise
    html = reports / "acceptance.html"
    written = html.is_file() and html.stat().st_mtime >= started  # a report of an earlier run is not this run's
    if relay.lost is not None:
        what = (
            "the reader of its output went away (a closed pipe)"
            if isinstance(relay.lost, BrokenPipeError)
            else f"its output could not be written ({relay.lost.strerror or relay.lost})"
        )
        outcome = f"your report was written first: {html}" if written else "no report written"
        print(f"rnnlab: {what}: the harness was stopped as Ctrl-C stops it; {outcome}", file=sys.stderr)
        return 141 if isinstance(relay.lost, BrokenPipeError) else 2
    with _reader_may_stop():
        if not written:
            print(f"no report written: this run ended (exit status {code}) before writing {html}; see the lines above")
            return 1
        print(f"your report: {html} (each criterion beside a reference run's value)")
    return 0 if code == 0 else 1


class _Relay(threading.Thread):
    """The harness's output, passed on to this command's as it comes, up to ``HEAD`` bytes; past that only the last
    ``TAIL`` bytes are kept, and shown when the run ends with how much was left out: whatever the learner's code
    prints, this command holds at most ``TAIL`` bytes of it and writes nothing to disk (#35)."""

    HEAD, TAIL = 1 << 20, 64 << 10

    def __init__(self, source: IO[bytes], on_lost: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="rnnlab accept output")
        self.source = source
        self.on_lost = on_lost
        self.lost: OSError | None = None  # why this command's output could not be written (a closed pipe, a full disk)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.shown = self.left_out = 0
        self.tail = bytearray()

    def _write(self, data: bytes) -> None:
        """Pass ``data`` on; where that fails (the reader gone, a full disk), say so once (``on_lost``) and pass
        nothing more on, but go on reading the harness's output, which would otherwise fill the pipe and hang it."""
        if self.lost is not None:
            return
        try:
            sys.stdout.write(self.decoder.decode(data))
            sys.stdout.flush()
        except OSError as exc:
            self.lost = exc
            point_stdout_at_nothing()
            self.on_lost()

    def run(self) -> None:
        fd = self.source.fileno()
        while chunk := os.read(fd, 1 << 16):
            if self.shown < self.HEAD:
                part = chunk[: self.HEAD - self.shown]
                self._write(part)
                self.shown += len(part)
                chunk = chunk[len(part) :]
                if self.shown >= self.HEAD:
                    self._write(
                        f"\n[more than {self.HEAD >> 20} MB of output: the rest is cut; its end follows]\n".encode()
                    )
            if chunk:
                self.tail += chunk
                if len(self.tail) > self.TAIL:
                    self.left_out += len(self.tail) - self.TAIL
                    del self.tail[: len(self.tail) - self.TAIL]

    def finish(self) -> None:
        """After the harness ends: wait for the rest of its output, then show the kept end."""
        self.join(timeout=30)
        if self.left_out:
            self._write(f"\n[{self.left_out:,} bytes of output left out (your code printed them?)]\n".encode())
        if self.tail:
            self._write(bytes(self.tail))
        sys.stdout.write(self.decoder.decode(b"", final=True))
        sys.stdout.flush()


STOPPING = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n)}


def _harness_signals(held: set[int | signal.Signals]) -> Callable[[], None]:
    """What the harness's process does before it starts (POSIX): the signal mask this command had; Ctrl-C (SIGINT)
    as Python's KeyboardInterrupt, even where this command was started with it ignored (a background job), so that
    ``_stop`` can use it; and on Linux SIGTERM when this command dies without stopping it (``kill -9``, #35), so that
    no training goes on without its command and the harness still removes its temporary copy."""
    parent = os.getpid()

    def before_start() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if sys.platform.startswith("linux"):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the command died before the death signal was set
                os._exit(143)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)

    return before_start


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C to the harness, if it still runs: it stops, leaves the report as it was and removes its copy."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)


def _stop(process: subprocess.Popen[bytes], at_once: bool = False) -> None:
    """Stop the harness, if it still runs, as Ctrl-C does, so that it leaves the report as it was and
    removes its temporary copy: a terminal's Ctrl-C reached it already (give it time to stop); a kill of
    this command did not (``at_once``: send it)."""
    if process.poll() is not None:
        return
    if not at_once:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
            return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _exercise_id(name: str) -> str:
    """An exercise named by id (lab01.tbptt), marker (lab01_tbptt) or number (01.3, "Lab 01.3")."""
    from rnnlab import exercise

    key = name.strip().lower().removeprefix("lab ").replace("_", ".", 1)
    for e in exercise.EXERCISES:
        if key in (e.id, e.number.lower().removeprefix("lab ")):
            return e.id
    known = ", ".join(f"{e.number.removeprefix('Lab ')} {e.id}" for e in exercise.EXERCISES)
    raise UsageError(f"unknown exercise {name!r}; name one by number or id: {known}")


# seconds an accept may run before it is stopped: one lab takes up to about 4 minutes on 2 cores in the quick
# profile, and the full profile's longest about 15; a learner's function that never returns stops here
ACCEPT_TIME_LIMIT = 3600.0


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
    ex_accept = ex_sub.add_parser(
        "accept",
        help="train one lab with DIR's code and write DIR/reports/LAB/acceptance.html, a reference run's values beside",
    )
    ex_accept.add_argument("dir")
    ex_accept.add_argument(
        "--lab",
        required=True,
        type=_lab,
        metavar="{01,02,03,bridge}",
        help="which lab to train (bridge trains Lab 02 too)",
    )
    ex_accept.add_argument(
        "--profile", default="quick", choices=["quick", "full", "smoke"], help="the budget (default: quick)"
    )
    ex_accept.add_argument(
        "--model",
        default=None,
        metavar="KIND",
        help="with --lab 02: train only this model kind (rnn, lstm, gru), about a third of the lab's time",
    )
    ex_accept.add_argument("--reports", default=None, help="where the report goes (default: DIR/reports)")
    ex_accept.add_argument(
        "--specs", default=None, help="the spec folder of an rnnlab checkout (default: the one `init` recorded)"
    )
    ex_accept.add_argument(
        "--time-limit",
        type=_seconds,
        default=ACCEPT_TIME_LIMIT,
        metavar="SECONDS",
        help="stop the run after this long (a function of yours that never returns) (default: %(default)s)",
    )
    ex_accept.add_argument(
        "--as-written",
        action="store_true",
        help="train your cells and loop as written, never the reference's fast kernel in their place (slower)",
    )
    ex_accept.set_defaults(func=cmd_exercise_accept)


def main(argv: list[str]) -> int:
    """``rnnlab exercise ...`` alone: the same parsers and one-line errors as ``rnnlab.cli.main``."""
    parser = Parser(prog="rnnlab")
    add_exercise_parsers(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    previous = _stop_handlers()  # a kill (SIGTERM, SIGHUP) ends it as Ctrl-C does: `finally` blocks run
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help
            return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
        code: int = args.func(args)
        return code
    except KeyboardInterrupt as exc:
        print("rnnlab: interrupted", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130
    except BrokenPipeError:  # the reader of the output went away (`| head`) before the command ended: quietly, as a
        point_stdout_at_nothing()  # program stopped by SIGPIPE does (128 + 13); status and accept end on their own
        return 141
    except (RnnlabError, OSError) as exc:  # rnnlab's refusals and the machine's; anything else is a bug
        print(f"rnnlab: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""Which rnnlab is under test: the reference, or a learner's copy (``rnnlab exercise init DIR``).

``pytest spec --impl DIR`` (or ``RNNLAB_IMPL=DIR``) runs the specs, and ``RNNLAB_IMPL=DIR tox -e
acceptance`` trains the labs, with the copy's ``rnnlab``: ``activate`` puts ``DIR`` first on
``sys.path``, as pytest's own ``pythonpath`` setting does, from the first hook that runs (before
anything imports ``rnnlab``). The specs and the harness share this module, a package of its own beside
``rnnlab`` (neither imports the other's tree); it imports no ``rnnlab`` at module level, and no pytest:
its errors are ``UnderTestError``, which each caller turns into its own usage error.

The copy carries no fast kernels (they spell out every cell's equations). For each built-in cell,
``rnnlab.fast.adopt`` checks the reference kernel, in the run, against the learner's own cell and
loop (outputs and every gradient, float64, padded rows included); only if they agree is it used for
that cell, so the function trained is the learner's, computed faster. Otherwise the learner's cell
trains as written, through the plain loop (``verify_kernels``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class UnderTestError(Exception):
    """A learner's copy that cannot be put under test: the message names the folder and the fix."""


@dataclass
class Learner:
    directory: Path
    stubbed: list[str] = field(default_factory=list)  # exercise ids still stubs, curriculum order
    recurrence: dict[str, str] = field(default_factory=dict)  # cell -> how it trains (fast path or plain loop)
    # the acceptance harness trains a completed copy: each stub filled in from the reference (``complete``)
    from_reference: list[str] = field(default_factory=list)
    trained: Path | None = None  # the completed copy's folder, when there is one


_STATE: dict[str, Learner | None] = {"learner": None}


def directory() -> Path | None:
    value = os.environ.get("RNNLAB_IMPL")
    return Path(value).expanduser().resolve() if value else None


def activate(path: Path | None = None, complete: bool = False) -> Learner | None:
    """Make ``import rnnlab`` find the learner's copy at ``path`` (default: ``RNNLAB_IMPL``;
    no-op without either). With ``complete`` (the acceptance harness), a copy with stubs left is
    first completed from the reference in a temporary folder (``rnnlab.exercise.complete``), and
    that is what imports: the specs never complete a copy."""
    path = path or directory()
    if path is None:
        return None
    if not (path / "rnnlab" / "__init__.py").is_file():
        raise UnderTestError(f"{path}: no rnnlab package there; create one with `rnnlab exercise init {path}`")
    filled, trained = _completed(path) if complete else ([], None)
    where = trained or path
    loaded = sys.modules.get("rnnlab")
    if loaded is not None and Path(loaded.__file__ or "").parent != where / "rnnlab":
        raise UnderTestError(
            "rnnlab was imported before RNNLAB_IMPL took effect; the harness would train the wrong code"
        )
    if str(where) not in sys.path:
        sys.path.insert(0, str(where))
    from rnnlab import exercise

    learner = Learner(path, stubbed=exercise.stubbed(path), from_reference=filled, trained=trained)
    _STATE["learner"] = learner
    return learner


REFERENCE = Path(__file__).resolve().parent.parent  # where the reference rnnlab lies, beside this package


def _completed(path: Path) -> tuple[list[str], Path | None]:
    """The learner's copy with every stub filled in from the reference, in a temporary folder removed
    when this process exits: (the exercises filled in, the folder), or ([], None) if nothing was
    left to fill. Run by the reference rnnlab in a child process: this one must import only the
    copy's."""
    code = "import json, sys; from rnnlab.exercise import complete; print(json.dumps(complete(*sys.argv[1:])))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REFERENCE), os.environ.get("PYTHONPATH")]))}
    # A stop signal (Ctrl-C, SIGTERM, ...) waits until the folder's removal is registered and the child is known:
    # one arriving while Popen started the child left it running, and it wrote the folder again after its removal
    # (#35). The child starts with the signals as they were.
    posix = hasattr(signal, "pthread_sigmask")  # not on Windows, which has none of these signals to wait for
    stopping = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)}
    held = signal.pthread_sigmask(signal.SIG_BLOCK, stopping) if posix else set()
    child: subprocess.Popen[str] | None = None
    try:
        folder = Path(tempfile.mkdtemp(prefix="rnnlab-completed-"))
        owner = os.getpid()

        def remove_in_owner() -> None:  # not in a forked child, whose copy of this handler runs at its exit
            if os.getpid() == owner:
                shutil.rmtree(folder, ignore_errors=True)

        atexit.register(remove_in_owner)
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(path), str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=(lambda: signal.pthread_sigmask(signal.SIG_SETMASK, held)) if posix else None,
        )
        if posix:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a signal that waited is raised here, the child known
        out, err = child.communicate()
    finally:  # stopped: the child is killed and waited for, so nothing writes into the folder after its removal
        if posix:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if child is not None:
            if child.poll() is None:
                child.kill()
            child.wait()
    done = subprocess.CompletedProcess(child.args, child.returncode, out, err)
    if done.returncode:
        raise UnderTestError(f"{path}: could not fill its stubs in from the reference:\n{done.stderr.strip()}")
    filled = json.loads(done.stdout)
    if not filled:
        shutil.rmtree(folder, ignore_errors=True)
        return [], None
    return filled, folder


def current() -> Learner | None:
    return _STATE["learner"]


def verify_kernels() -> dict[str, str]:
    """Decide now, for each built-in cell of the copy, whether the reference kernel runs it
    (only if proven equal to the learner's cell and loop: ``rnnlab.fast.adopt``), and keep
    the verdicts for the report."""
    from rnnlab.fast import adopt

    learner = current()
    assert learner is not None
    learner.recurrence = adopt.decisions()
    return learner.recurrence

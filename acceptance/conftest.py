"""The acceptance harness: each lab criterion is a test that records what it measured
(``acceptance/harness.py`` holds the fixtures and hooks).

``RNNLAB_IMPL=DIR`` trains a learner's copy instead of the reference: the copy is put first on the
import path in the first hook, before anything imports rnnlab, and only then is the harness
(which imports rnnlab) registered.
"""

from __future__ import annotations

import os
import signal

import pytest

from acceptance import learner  # imports no rnnlab


def _stop_as_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _cannot_train(exc: BaseException, copy: object) -> str:
    """One line for a learner's copy that cannot be imported, naming the learner's own file (the harness imports a
    temporary completed copy of it, whose path means nothing to the learner)."""
    what = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    trained, directory = getattr(copy, "trained", None), getattr(copy, "directory", None)
    if trained is not None and directory is not None:
        what = what.replace(str(trained), str(directory))
    if isinstance(exc, SyntaxError) and exc.filename:
        where = exc.filename.replace(str(trained), str(directory)) if trained is not None else exc.filename
        what = f"{type(exc).__name__}: {exc.msg} ({where}, line {exc.lineno})"
    return (
        f"RNNLAB_IMPL={os.environ.get('RNNLAB_IMPL')!r}: its rnnlab cannot be trained ({what}); fix it (`rnnlab "
        "exercise status` shows where), or unset RNNLAB_IMPL"
    )


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM, SIGHUP and SIGQUIT stop the session as Ctrl-C does, from before the learner's temporary copy is made:
    # every child is stopped and the copy removed (#35: a signal to the group left $TMPDIR/rnnlab-completed-*).
    # Set here, without rnnlab (not imported before RNNLAB_IMPL takes effect); a signal started ignored stays so.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, _stop_as_ctrl_c)
    # RNNLAB_IMPL=DIR: from here on, `import rnnlab` is the learner's copy, each stub left filled in from the reference
    try:
        copy = learner.activate(complete=True)
    except learner.UnderTestError as exc:
        raise pytest.UsageError(str(exc)) from None
    except (Exception, SystemExit) as exc:  # a folder holding some other `rnnlab`, a copy that cannot be imported
        raise pytest.UsageError(_cannot_train(exc, None)) from None
    try:  # both import the rnnlab under test: a learner's modules are first imported here
        from acceptance import environment

        environment.check()  # every RNNLAB_* setting, one line each, before anything imports the harness or trains
        from acceptance import harness
    except pytest.UsageError:
        raise
    except (Exception, SystemExit) as exc:  # a SyntaxError, an ImportError or a sys.exit in the learner's code
        if copy is None:
            raise
        raise pytest.UsageError(_cannot_train(exc, copy)) from None
    config.pluginmanager.register(harness, "rnnlab-acceptance-harness")

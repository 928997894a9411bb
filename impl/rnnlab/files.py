"""Writing files safely: atomically, by one writer at a time, with errors that name the fix.

``atomic_write(path, data)`` writes to a temporary file beside ``path``, syncs it, and moves
it into place with ``os.replace``: a reader sees the old file or the new one, never half of
one, and an interrupted write (Ctrl-C, SIGTERM, a full disk) leaves the old file untouched
and no temporary file behind.

``writer_lock(path)`` makes sure one process at a time writes ``path``: a lock file beside
it (``.NAME.lock``, holding the writer's pid and host) is created exclusively, removed on
exit, and taken over when the process that left it is gone (killed with SIGKILL, say).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from rnnlab.errors import RnnlabError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class FileGuardError(RnnlabError, RuntimeError):
    """A file cannot be written safely (held by another run, no space left, ...); the message says why."""


# The signals that stop a run: Ctrl-C, `kill`, the terminal closing (SIGHUP) and Ctrl-\ (SIGQUIT);
# the last two are absent on Windows.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold the signals that stop a run (``STOP_SIGNALS``) for the length of the block, then
    deliver them.

    A checkpoint write and the note of which step it holds must happen together: a signal
    between the two would make the run name an older checkpoint than the one on disk. Signals
    that arrive inside the block are recorded and raised again, in order, once it is left.
    A signal the process ignores (Ctrl-C in a background job, SIGHUP under nohup) stays ignored.
    Outside the main thread (where Python runs signal handlers) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    # getsignal() is None for a handler set outside Python, which cannot be put back: leave those alone
    wanted = [sig for sig in STOP_SIGNALS if signal.getsignal(sig) not in (None, signal.SIG_IGN)]
    previous = {sig: signal.signal(sig, lambda signum, frame: held.append(signum)) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in held:
            signal.raise_signal(signum)


def os_reason(exc: OSError) -> str:
    """What an OSError means to the person who can fix it, in their words."""
    reasons = {
        errno.EACCES: "permission denied: check the folder's permissions",
        errno.EPERM: "operation not permitted: check the folder's permissions",
        errno.EROFS: "the file system is read-only: choose a writable folder",
        errno.ENOSPC: "no space left on device: free some space",
        errno.EDQUOT: "disk quota exceeded: free some space",
        errno.EEXIST: "a file is in the way: choose another path",
        errno.ENOTDIR: "a file stands where a folder is needed: choose another path",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def temp_pattern(path: Path) -> str:
    """The glob of ``atomic_write``'s temporary files for ``path``."""
    return f".{glob.escape(path.name)}.*.tmp"


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; the folder must exist. A full disk is a
    ``FileGuardError`` saying so, with whatever was at ``path`` before left as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _mode_for(path))  # mkstemp's 0600 would make every report and checkpoint private
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            raise FileGuardError(
                f"cannot write {path}: no space left on device ({len(data):,} bytes needed); free some space "
                "and run again (the file that was there before, if any, is intact)"
            ) from None
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permissions a replaced file keeps, or what a new file gets under the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _holder(lock: Path) -> tuple[int, str] | None:
    try:
        pid, host = lock.read_text().split()[:2]
        return int(pid), host
    except (OSError, ValueError):
        return None  # empty or half-written: its writer died while creating it


@contextlib.contextmanager
def writer_lock(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``.NAME.lock`` beside ``path`` while the block runs; refuse if a live process
    holds it. Once held, temporary files that an earlier, killed writer of ``path`` left
    behind are removed."""
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is not None and (holder[1] != socket.gethostname() or _pid_alive(holder[0])):
                pid, host = holder
                raise FileGuardError(
                    f"another rnnlab run (pid {pid} on {host}) is writing {path}; wait for it to finish, "
                    f"or give this run another --out (if that run is gone, delete {lock})"
                ) from None
            lock.unlink(missing_ok=True)  # stale: the process that held it is gone
            continue
        except OSError as exc:
            raise FileGuardError(f"cannot take the lock {lock} to write {path}: {os_reason(exc)}") from None
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        except BaseException as exc:
            lock.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise FileGuardError(f"cannot take the lock {lock} to write {path}: {os_reason(exc)}") from None
            raise
        break
    else:  # pragma: no cover - three stale locks reappearing means another writer keeps racing us
        raise FileGuardError(f"could not take the lock {lock}; another run keeps taking it")
    try:
        for stale in path.parent.glob(temp_pattern(path)):
            stale.unlink(missing_ok=True)
        yield lock
    finally:
        lock.unlink(missing_ok=True)

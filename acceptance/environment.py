"""The acceptance harness's environment variables, read and checked in one place before anything trains (#35).

Each bad value is one line naming the variable, what it holds and what to give instead (``pytest.UsageError``:
pytest prints it as one ``ERROR:`` line and exits 4), never a traceback from deep inside the harness. Checked
in ``acceptance/conftest.py`` once the rnnlab under test is chosen (``RNNLAB_IMPL``), since the checks of the
profile and device import it.
"""

from __future__ import annotations

import os

import pytest


def _whole(name: str, least: int) -> None:
    text = os.environ.get(name)
    if text is None:
        return
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise pytest.UsageError(f"{name}={text!r} is not a whole number of at least {least}; unset it or give one")


def check() -> None:
    """Refuse a bad RNNLAB_PROFILE, RNNLAB_SEED, RNNLAB_MODELS, RNNLAB_DEVICE, RNNLAB_THREADS or RNNLAB_WORKERS, and a
    record under acceptance/measured/ that cannot be read."""
    from acceptance import profiles
    from rnnlab.device import resolve_device
    from rnnlab.errors import RnnlabError

    _whole("RNNLAB_THREADS", 1)
    _whole("RNNLAB_WORKERS", 1)
    try:
        profiles.current()  # RNNLAB_PROFILE, RNNLAB_SEED, RNNLAB_MODELS
    except SystemExit as exc:
        raise pytest.UsageError(str(exc)) from None
    from acceptance import records

    for path in sorted(records.MEASURED.glob("*.json")):  # a damaged record fails here, not after the training
        try:
            records.read_json(path)
        except records.RecordError as exc:
            raise pytest.UsageError(str(exc)) from None
    device = os.environ.get("RNNLAB_DEVICE", "auto")
    try:
        resolve_device(device)
    except (RnnlabError, ValueError) as exc:
        raise pytest.UsageError(f"RNNLAB_DEVICE={device!r}: {exc}") from None

"""Argument checks shared by every config: one wording for one mistake."""

from __future__ import annotations


def require_positive_ints(owner: str, **values: object) -> None:
    """Raise ``ValueError("<owner>: <name> must be a positive integer, got <value>")`` for the first bad value."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")

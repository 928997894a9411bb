"""The bench's closing summary: every speed goal measured this run, judged or a finding (acceptance/speed.py)."""

from __future__ import annotations

from typing import Any

import pytest

from acceptance.speed import goal_key, summary


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    measured: dict[str, dict[str, Any]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "speed_goal" and getattr(report, "when", "") == "call":
                    measured[goal_key(value["kind"], value["hidden"])] = value
    if measured:
        terminalreporter.write_sep("=", "speed goals")
        for line in summary(measured):
            terminalreporter.write_line(line)

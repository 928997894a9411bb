"""The bench's closing summary: every speed goal measured this run, judged or a finding (acceptance/speed.py)."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    measured: dict[str, dict[str, Any]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "speed_goal" and getattr(report, "when", "") == "call":
                    measured[f"{value['kind']} H={value['hidden']}"] = value
    if measured:
        from acceptance.speed import summary

        terminalreporter.write_sep("=", "speed goals")
        for line in summary(measured):
            terminalreporter.write_line(line)

"""The reliability suite's figures, printed at the end of any run that measured some (tests/conftest.py
imports the hook: the root conftest is the one xdist's controller loads). Each test records them with the
`figure` fixture (tests/reliability/conftest.py); they travel with the test's report, across xdist too."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        f"{report.nodeid.split('::')[-1]}: {name.removeprefix('figure: ')} = {value}"
        for key in ("passed", "failed")
        for report in terminalreporter.stats.get(key, [])
        if getattr(report, "when", "") == "call"
        for name, value in getattr(report, "user_properties", [])
        if str(name).startswith("figure: ")
    ]
    if lines:
        terminalreporter.section("reliability figures")
        for line in sorted(lines):
            terminalreporter.line(line)

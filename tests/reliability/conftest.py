"""The reliability suite: the real slack-bolt and botbuilder stacks (their rigs, reused from tests/slack and
tests/teams), `tandem serve` subprocesses, and figures printed for bench/README.md."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.slack.conftest import fake_slack, tandem
from tests.teams.conftest import connector, rig

__all__ = ["connector", "fake_slack", "rig", "tandem"]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that carry a traceback or say a handler failed: each is a crash somebody must read."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info is not None
        or (r.levelno >= logging.ERROR and "Error handling request" in r.getMessage())
    ]


Figure = Callable[[str, object], None]


@pytest.fixture
def figure(record_property: Callable[[str, object], None]) -> Figure:
    """`figure(name, value)`: a measured figure, printed at the end of the run (also under xdist: the
    figures travel with the test's report) and recorded by hand in bench/README.md."""

    def record(name: str, value: object) -> None:
        record_property(f"figure: {name}", value)

    return record

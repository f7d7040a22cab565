"""`TANDEM_LOG_FORMAT=json`: one JSON object per line per log event, a traceback inside its line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json")
    logs.configure("json")  # configured twice (tests, a re-read of settings): still one line per event
    log = logging.getLogger("tandem.delivery")
    log.info("sent %d messages", 3, extra={"team": "Riverside DLT"})
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        log.exception("a send failed")
    logging.getLogger("alembic.runtime").info("noise")  # library chatter stays below WARNING
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    first, second = (json.loads(line) for line in lines)
    assert {k: first[k] for k in ("level", "logger", "message", "team")} == {
        "level": "info",
        "logger": "tandem.delivery",
        "message": "sent 3 messages",
        "team": "Riverside DLT",
    }
    assert first["time"].endswith("+00:00") and isinstance(first["pid"], int)
    assert second["level"] == "error" and "RuntimeError: boom\nsecond line" in second["exception"]


def test_text_is_the_default(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure()
    logging.getLogger("tandem").warning("plain")
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith(" WARNING tandem: plain")

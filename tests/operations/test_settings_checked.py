"""Every setting checked at start-up, one line each (issue 19, item 3), and what a refused team file leaves
behind: nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.app import build_app
from bot.cli import main
from bot.runtime import Runtime
from bot.settings import SettingsError, load_settings
from tests.conftest import team_spec
from tests.serve_process import tandem_serve

TANDEM = [sys.executable, "-m", "bot.cli"]
PLATFORM_PREFIXES = ("TANDEM_", "SLACK_", "MICROSOFT_")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    env.update(extra)
    return env


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(PLATFORM_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("values", "line"),
    [
        (
            {"TANDEM_DATABASE_URL": "sqlite+aiosqlite:////nonexistent/dir/x.db"},
            "TANDEM_DATABASE_URL: the folder /nonexistent/dir for the SQLite database does not exist",
        ),
        ({"MICROSOFT_APP_TYPE": "Weird"}, "MICROSOFT_APP_TYPE: must be one of MultiTenant, SingleTenant"),
        ({"MICROSOFT_APP_ID": "1b2c"}, "MICROSOFT_APP_PASSWORD: not set, but MICROSOFT_APP_ID is"),
        (
            {"MICROSOFT_APP_ID": "1b2c", "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TYPE": "SingleTenant"},
            "MICROSOFT_APP_TENANT_ID: required with MICROSOFT_APP_TYPE=SingleTenant",
        ),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN: not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET: not set"),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"},
            "TANDEM_SECRET_KEY: required for Slack OAuth installs",
        ),
        (
            {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2", "TANDEM_SECRET_KEY": "k"},
            "SLACK_CLIENT_SECRET: not set, but SLACK_CLIENT_ID is",
        ),
        ({"TANDEM_LOG_FORMAT": "xml"}, "TANDEM_LOG_FORMAT: must be one of text, json, not 'xml'"),
    ],
)
def test_each_bad_setting_or_combination_is_one_line_naming_the_variable(
    clean_env: pytest.MonkeyPatch, values: dict[str, str], line: str
) -> None:
    for name, value in values.items():
        clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings(complete=True)
    assert str(refused.value).startswith(line), str(refused.value)
    assert "\n" not in str(refused.value)


def test_good_combinations_still_start(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MICROSOFT_APP_ID", "1b2c")
    clean_env.setenv("MICROSOFT_APP_PASSWORD", "p")
    clean_env.setenv("MICROSOFT_APP_TYPE", "singletenant")
    clean_env.setenv("MICROSOFT_APP_TENANT_ID", "t")
    settings = load_settings(complete=True)
    assert settings.teams_enabled and settings.microsoft_app_type == "SingleTenant"


def test_a_missing_sqlite_folder_stops_serve_with_one_line() -> None:
    url = "sqlite+aiosqlite:////nonexistent/dir/x.db"
    result = subprocess.run(
        [*TANDEM, "serve"], env=_env(TANDEM_DATABASE_URL=url), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("tandem: TANDEM_DATABASE_URL: the folder /nonexistent/dir ")


async def test_bolt_never_enables_its_file_based_stores(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """OAuth installs live in Tandem's database; bolt, seeing SLACK_CLIENT_ID and SLACK_CLIENT_SECRET in the
    environment, would otherwise turn on its own file stores (and say so in the log)."""
    for name, value in {
        "TANDEM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_CLIENT_ID": "111.222",
        "SLACK_CLIENT_SECRET": "shh",
        "TANDEM_SECRET_KEY": "k" * 32,
    }.items():
        clean_env.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    runtime = Runtime(load_settings(complete=True))
    try:
        app = build_app(runtime)
    finally:
        await runtime.db.dispose()
    assert "/slack/install" in {r.resource.canonical for r in app.router.routes() if r.resource}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "file-based" not in logged and "InstallationStore" not in logged
    assert os.environ["SLACK_CLIENT_ID"] == "111.222"  # hidden from bolt only while it was built


def _team_file(tmp_path: Path, spec: object) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "line"),
    [
        (lambda d: d, "is a folder; give the team file"),
        (
            lambda d: _team_file(d, {**team_spec(), "notes": "x" * (300 * 1024)}),
            "is over 256 KB; a team file is a few KB",
        ),
        (
            lambda d: _team_file(d, team_spec(language="klingon")),
            "language: no catalog for language 'klingon'",
        ),
    ],
)
def test_a_refused_team_file_creates_no_database(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    make: Callable[[Path], Path],
    line: str,
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    path = make(folder)
    database = tmp_path / "fresh.db"
    clean_env.setenv("TANDEM_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main(["team", "import", str(path)]) == 2
    (said,) = capsys.readouterr().err.strip().splitlines()
    assert line in said and "database" not in said
    assert not database.exists()


async def test_a_port_in_use_stops_serve_with_one_line(tmp_path: Path) -> None:
    """Someone else listens on the port: one line and exit 2, even though the database was opened and a
    first tick may be under way (a tick left running once kept the process alive for ever)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "TANDEM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}",
            "TANDEM_PORT": str(port),
        }
        async with tandem_serve(env, wait_healthy=False) as served:
            await asyncio.wait_for(served.process.wait(), timeout=60)
    assert served.process.returncode == 2, served.output
    assert "Traceback" not in served.output
    assert served.output.strip().splitlines()[-1] == (  # after the log's warnings of the start-up
        f"tandem: cannot listen on 127.0.0.1:{port}: error while attempting to bind on address "
        f"('127.0.0.1', {port}): address already in use"
    )
    assert "Tandem is running" not in served.output

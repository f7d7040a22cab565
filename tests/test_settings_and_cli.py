"""Settings, the `tandem` command and `tandem serve` as a person runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings, SettingsError, load_settings

TANDEM = [sys.executable, "-m", "bot.cli"]


def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("TANDEM_", "SLACK_", "MICROSOFT_")):
            monkeypatch.delenv(name)


def _tandem(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`tandem ARGS` through the command's own entry point, in this process (a subprocess costs about two
    seconds of start-up; the serve test below runs the real command in a shell): exit code, out, err."""
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's --help
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "SLACK_", "MICROSOFT_"))}
    env.update(extra)
    return env


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean(monkeypatch)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./tandem.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 3978)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.slack_enabled and not settings.teams_enabled
    assert settings.public_url is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "TANDEM_DATABASE_URL",
            "not a url",
            "TANDEM_DATABASE_URL: could not parse 'not a url' as a database URL",
        ),
        ("TANDEM_DATABASE_URL", "mysql://x@y/z", "TANDEM_DATABASE_URL: unsupported database 'mysql'"),
        ("TANDEM_PORT", "eighty", "TANDEM_PORT:"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "SLACK_APP_TOKEN: must be an app-level token (xapp-…"),
        ("TANDEM_PUBLIC_URL", "tandem.example.org", "TANDEM_PUBLIC_URL: must be the bot's address"),
    ],
)
def test_a_bad_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str, message: str
) -> None:
    _clean(monkeypatch)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith(message)
    code, _, err = _tandem(capsys, "serve")  # `tandem serve` as typed; a real shell: the serve test below
    assert code == 2
    assert err.strip().splitlines() == [f"tandem: {refused.value}"]
    assert "Traceback" not in err


def test_postgresql_without_a_secret_key_refuses_to_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    """Sealed poll answers need one key on every replica: none with PostgreSQL is a refusal, not a
    random key that a restart or a second replica would not know (bot/sealing_key.py)."""
    _clean(monkeypatch)
    monkeypatch.setenv("TANDEM_DATABASE_URL", postgres_url)
    code, _, err = _tandem(capsys, "serve")
    assert code == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("tandem: TANDEM_SECRET_KEY is required with PostgreSQL: it seals poll answers")


def test_sqlite_without_a_secret_key_keeps_one_beside_the_database(tmp_path: Path) -> None:
    from bot.sealing_key import sealer_for

    settings = Settings(
        TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}", TANDEM_SECRET_KEY=""
    )  # type: ignore[call-arg]
    first = sealer_for(settings)
    key_file = tmp_path / "tandem.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert sealer_for(settings).key == first.key  # a restart opens what was sealed before it


def test_postgres_urls_get_the_async_driver() -> None:
    settings = Settings(TANDEM_DATABASE_URL="postgresql://postgres@127.0.0.1/db")  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1/db"


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _tandem(capsys, "--help")
    assert code == 0
    for word in ("serve", "db", "demo", "team"):
        assert word in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_health(port: int, proc: subprocess.Popen[str]) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                body: bytes = response.read()
                return body
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve never became healthy")


@pytest.mark.slow  # two `tandem serve` processes: scheduled first (tests/conftest.py)
def test_serve_starts_without_credentials_and_refuses_a_second_scheduler_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The real command, started as a shell would; the second one (in this process) is refused."""
    port = _free_port()
    env = _env(TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}", TANDEM_PORT=str(port))
    proc = subprocess.Popen(
        [*TANDEM, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert b'"status": "ok"' in _wait_for_health(port, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'tandem_outbox_messages{status="pending"} 0' in metrics
        _clean(monkeypatch)
        for name, value in {**env, "TANDEM_PORT": str(_free_port())}.items():
            if name.startswith("TANDEM_"):
                monkeypatch.setenv(name, value)
        code, _, err = _tandem(capsys, "serve")
        assert code == 2
        assert "another Tandem scheduler is already running on this SQLite database" in err
        assert "Traceback" not in err
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "Slack: off. To turn it on, set SLACK_SIGNING_SECRET" in output
    assert "Teams: local development only." in output and "set MICROSOFT_APP_ID" in output
    assert proc.returncode == 0


def test_db_upgrade_and_team_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _clean(monkeypatch)
    monkeypatch.setenv("TANDEM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}")
    code, out, _ = _tandem(capsys, "db", "upgrade")
    assert code == 0 and "up to date" in out
    example = Path(__file__).parent.parent / "examples" / "team.yaml"
    code, out, err = _tandem(capsys, "team", "import", str(example))
    assert code == 0, err
    assert out.startswith("Created team")
    code, out, _ = _tandem(capsys, "team", "show", "Riverside District Learning Team")
    assert code == 0 and "Co-chairs" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(example.read_text().replace("America/Los_Angeles", "America/Springfield"))
    code, _, err = _tandem(capsys, "team", "import", str(bad))
    assert code == 2
    assert err.startswith("tandem: timezone: unknown IANA time zone 'America/Springfield'")


def test_the_scheduler_tick_does_not_log_a_line_every_five_seconds() -> None:
    import logging

    logging.getLogger("apscheduler").setLevel(logging.NOTSET)
    assert main([]) == 0
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)

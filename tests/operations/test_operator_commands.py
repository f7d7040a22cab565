"""Operator commands (issue 19, item 2): `tandem outbox`, `outbox retry`, `team list`, `team remove`,
`--version`, `doctor`."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import doctor, outbox_report, team_admin
from bot.cli import main
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.setup.team_file import import_team, parse_team_file
from storage import outbox
from storage.models import Identity, Membership, OutboxMessage, Person, Schedule, Team, TeamChannel
from storage.pulse_models import PulsePoll
from tests.conftest import team_spec

SLACK_TEAM = team_spec(
    name="Riverside DLT",
    channels=[{"platform": "slack", "id": "C0LMTEAM", "name": "#lm-team"}],
)


async def _team(sessions: async_sessionmaker[AsyncSession], clock: ManualClock, spec: dict[str, Any]) -> int:
    async with sessions() as session, session.begin():
        return (await import_team(session, parse_team_file(spec), clock.now())).id


async def _queue(
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    team_id: int,
    *,
    error: str | None = None,
    sensitive: bool = False,
) -> int:
    async with sessions() as session, session.begin():
        await outbox.add(
            session,
            team_id=team_id,
            platform="slack",
            target={"address": "C0LMTEAM"},
            payload={"summary": "Meeting today"},
            sensitive=sensitive,
            now=clock.now(),
        )
        row_id = int((await session.execute(select(func.max(OutboxMessage.id)))).scalar_one())
        if error is not None:
            await outbox.mark_failed(session, row_id, attempts=1, error=error)
    return row_id


async def test_outbox_says_what_failed_and_what_to_do(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    team_id = await _team(sessions, clock, SLACK_TEAM)
    waiting = await _queue(sessions, clock, team_id)
    failed = await _queue(sessions, clock, team_id, error="chat.postMessage: not_in_channel")
    everything = await outbox_report.report(sessions, clock.now(), failed_only=False, team=None)
    assert f"#{waiting}  waiting  Riverside DLT → slack #lm-team" in everything
    assert "not in channel — invite @Tandem to #lm-team" in everything
    only_failed = await outbox_report.report(sessions, clock.now(), failed_only=True, team="Riverside DLT")
    assert f"#{waiting} " not in only_failed and f"#{failed}  failed" in only_failed
    assert "tandem outbox retry ID (or --all-failed)" in only_failed
    with pytest.raises(ValueError, match="no team named 'Nope' \\(teams: Riverside DLT\\)"):
        await outbox_report.report(sessions, clock.now(), failed_only=False, team="Nope")


@pytest.mark.both_databases
async def test_outbox_retry_queues_failed_rows_again(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    team_id = await _team(sessions, clock, SLACK_TEAM)
    failed = await _queue(sessions, clock, team_id, error="chat.postMessage: not_in_channel")
    private = await _queue(sessions, clock, team_id, error="chat.postMessage: not_in_channel", sensitive=True)
    waiting = await _queue(sessions, clock, team_id)
    said = await outbox_report.retry(sessions, clock.now(), [failed, private, waiting, 9999])
    assert said.splitlines() == [
        f"Queued again: #{failed}.",
        f"#{private}: its content was erased when it failed (private); it cannot be resent.",
        f"#{waiting}: not failed (pending); nothing to do.",
        "#9999: no such message (sent ones are deleted after a while).",
    ]
    async with sessions() as session:
        row = await session.get(OutboxMessage, failed)
        assert row is not None and (row.status, row.attempts) == ("pending", 0)
    assert await outbox_report.retry(sessions, clock.now(), None) == "Nothing queued again."


async def _count(sessions: async_sessionmaker[AsyncSession], model: Any, **where: Any) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return int((await session.execute(stmt)).scalar_one())


async def _released_poll(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, team_id: int
) -> None:
    async with sessions() as session, session.begin():
        for status in ("released", "withheld"):
            session.add(
                PulsePoll(
                    team_id=team_id,
                    instrument_id="relational-trust",
                    instrument={},
                    status=status,
                    min_responses=5,
                    invited=6,
                    remind_days=[],
                    reminders_sent=0,
                    sides_recorded=False,
                    opened_at=clock.now(),
                    opened_local="2026-10-01T09:00:00",
                    closes_at=clock.now(),
                )
            )


@pytest.mark.both_databases  # deleting across every table that refers to the team: cascades differ
async def test_team_list_and_remove(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    riverside = await _team(sessions, clock, SLACK_TEAM)
    other = team_spec(name="Hillcrest DLT", channels=[{"platform": "local", "id": "hill", "name": "#hill"}])
    other["members"] = [*other["members"][:2], {"name": "Zed Only", "side": "labor", "local": "zed"}]
    hillcrest = await _team(sessions, clock, other)
    await _queue(sessions, clock, riverside, error="chat.postMessage: not_in_channel")
    await _released_poll(sessions, clock, riverside)
    await _released_poll(sessions, clock, hillcrest)
    listed = (await team_admin.list_teams(sessions)).splitlines()
    assert listed[0] == "Hillcrest DLT  (America/Los_Angeles, 3 members; local #hill)"
    assert listed[1].startswith("Riverside DLT  (America/Los_Angeles, 6 members; slack #lm-team)")
    assert listed[1].endswith("outbox: 0 waiting, 1 failed")

    asked: list[str] = []
    no = await team_admin.remove(
        sessions, "Hillcrest DLT", include_history=False, confirm=lambda q: bool(asked.append(q))
    )
    assert no == "Nothing removed." and "Remove team 'Hillcrest DLT': its 3 members" in asked[0]
    assert await _count(sessions, Team) == 2

    # without --include-history, the released report stays (aggregates only); the rest goes
    said = await team_admin.remove(sessions, "Hillcrest DLT", include_history=False, confirm=lambda q: True)
    assert "Kept its 1 released poll report(s)" in said
    assert await _count(sessions, Membership, team_id=hillcrest) == 0
    assert await _count(sessions, TeamChannel, team_id=hillcrest) == 0
    assert await _count(sessions, Schedule, team_id=hillcrest) == 0
    assert await _count(sessions, PulsePoll, team_id=hillcrest) == 1
    assert await _count(sessions, Identity, user_id="zed") == 0  # in no other team: gone
    assert await _count(sessions, Identity, user_id="ana") == 1  # still in Riverside
    assert "removed: released poll history kept" in await team_admin.list_teams(sessions)

    said = await team_admin.remove(sessions, "Riverside DLT", include_history=True, confirm=lambda q: True)
    assert said == "Removed team 'Riverside DLT' and everything of it."
    assert await _count(sessions, Team, id=riverside) == 0
    assert await _count(sessions, OutboxMessage) == 0
    assert await _count(sessions, PulsePoll, team_id=riverside) == 0
    assert await _count(sessions, Person) == 0  # no one is left in any team


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("tandem ") and out.split()[1][0].isdigit()


class FakePlatforms:
    """Slack's auth.test, Microsoft's token endpoint and Tandem's own /healthz, on one loopback server."""

    def __init__(self) -> None:
        self.slack_ok = True
        self.teams_ok = True
        self.forms: list[dict[str, str]] = []
        app = web.Application()
        app.router.add_post("/api/auth.test", self.auth_test)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        app.router.add_get("/healthz", self.healthz)
        self.server = TestServer(app, host="127.0.0.1")

    async def auth_test(self, request: web.Request) -> web.Response:
        if self.slack_ok and request.headers.get("Authorization") == "Bearer xoxb-good":
            return web.json_response({"ok": True, "team": "District", "user": "tandem"})
        return web.json_response({"ok": False, "error": "invalid_auth"})

    async def token(self, request: web.Request) -> web.Response:
        self.forms.append({k: str(v) for k, v in (await request.post()).items()})
        if self.teams_ok:
            return web.json_response({"access_token": "t", "expires_in": 3600})
        return web.json_response(
            {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."},
            status=401,
        )

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def url(self, path: str = "") -> str:
        return str(self.server.make_url(path))


@pytest.fixture
async def platforms() -> AsyncIterator[FakePlatforms]:
    fake = FakePlatforms()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


async def test_doctor_checks_each_dependency_and_says_what_to_fix(
    database_url: str, platforms: FakePlatforms
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        TANDEM_DATABASE_URL=database_url,
        TANDEM_SECRET_KEY="k" * 32,
        TANDEM_PUBLIC_URL=platforms.url().rstrip("/"),
        SLACK_SIGNING_SECRET="s",
        SLACK_BOT_TOKEN="xoxb-good",
        SLACK_API_URL=platforms.url("/api/"),
        MICROSOFT_APP_ID="00000000-0000-0000-0000-000000000001",
        MICROSOFT_APP_PASSWORD="secret",
        MICROSOFT_LOGIN_URL=platforms.url().rstrip("/"),
    )
    report, fine = await doctor.run(settings)
    assert fine, report
    assert "ok   slack: bot token works (workspace District, bot tandem)" in report
    assert "ok   teams: a bot token was issued" in report
    assert "ok   database:" in report and "migrations up to date" in report
    assert platforms.forms[0]["scope"] == "https://api.botframework.com/.default"

    platforms.slack_ok = platforms.teams_ok = False
    broken = settings.model_copy(
        update={
            "public_url": "http://127.0.0.1:9",
            "database_url": "postgresql+asyncpg://nobody@127.0.0.1:9/x",
        }
    )
    report, fine = await doctor.run(broken)
    assert not fine
    lines = report.splitlines()
    assert lines[-1] == "4 thing(s) to fix."
    assert any(line.startswith("FIX  slack: Slack refused SLACK_BOT_TOKEN (invalid_auth)") for line in lines)
    assert any("FIX  teams: no token (invalid_client: AADSTS7000215" in line for line in lines)
    assert any(line.startswith("FIX  database: cannot reach 127.0.0.1:9/x") for line in lines)
    assert any(
        line.startswith("FIX  public url: http://127.0.0.1:9/healthz is not reachable") for line in lines
    )


def test_doctor_in_the_shell_reports_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "MICROSOFT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MICROSOFT_APP_ID", "x")
    assert main(["doctor"]) == 2
    assert capsys.readouterr().out.startswith("FIX  settings: MICROSOFT_APP_PASSWORD: not set")


def test_the_commands_from_the_shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same commands through `main`, as typed: import, list, outbox, remove (asks; --yes)."""
    for name in list(os.environ):
        if name.startswith(("TANDEM_", "SLACK_", "MICROSOFT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TANDEM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}")
    team_file = tmp_path / "team.yaml"
    team_file.write_text(yaml.safe_dump(SLACK_TEAM), encoding="utf-8")

    def tandem(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    assert tandem("team", "import", str(team_file))[0] == 0
    assert tandem("team", "list")[1].startswith(
        "Riverside DLT  (America/Los_Angeles, 6 members; slack #lm-team)"
    )
    assert tandem("outbox")[1].strip() == "Nothing waiting: every message has been sent."
    assert tandem("outbox", "--failed")[1].strip() == "No failed messages."
    with pytest.raises(SystemExit):
        tandem("outbox", "retry")  # neither ids nor --all-failed
    assert "give message ids, or --all-failed" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal to ask on
    code, _, err = tandem("team", "remove", "Riverside DLT")
    assert code == 2 and "Run again with --yes to confirm" in err
    code, out, _ = tandem("team", "remove", "Riverside DLT", "--yes")
    assert code == 0 and out.strip() == "Removed team 'Riverside DLT' and everything of it."
    assert tandem("team", "list")[1].startswith("No teams yet")

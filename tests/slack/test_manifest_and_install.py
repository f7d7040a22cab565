"""manifest.yml agrees with the code; OAuth install stores an encrypted token; a Form opens as a modal."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import yaml
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from adapters.slack import spec
from adapters.slack.install import TokenBox
from bot.app import build_app
from bot.runtime import Runtime
from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, Engine, FlowContext, ScheduleHandler
from flows.core.types import ActionEvent, Choice, CommandEvent, Form, Question, TextInput
from storage.slack_install import SlackWorkspace
from tests.slack.conftest import FakeSlack, Scripted, SlackTandem, fixture, settings_for

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_matches_the_code() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(spec.BOT_SCOPES)
    settings = manifest["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(spec.BOT_EVENTS)
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == spec.COMMAND
    urls = [
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert {urlparse(u).path for u in urls} == {spec.EVENTS_PATH}
    assert [urlparse(u).path for u in manifest["oauth_config"]["redirect_urls"]] == [spec.OAUTH_REDIRECT_PATH]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # every Web API method the adapter calls is listed with its scope, and that scope is requested
    source = "\n".join(p.read_text() for p in (ROOT / "adapters" / "slack").glob("*.py"))
    called = set(re.findall(r'_call\(\s*\w+,\s*"([a-z]+\.[A-Za-z.]+)"', source))
    called |= {"auth.test", "oauth.v2.access"} if "auth_test(" in source else set()
    if "files_upload_v2(" in source:
        called |= {"files.getUploadURLExternal", "files.completeUploadExternal"}
    assert called and called <= set(spec.METHOD_SCOPES), called - set(spec.METHOD_SCOPES)
    for method in called:
        scope = spec.METHOD_SCOPES[method]
        assert scope is None or scope in spec.BOT_SCOPES


async def test_the_routes_the_manifest_names_exist(tandem: SlackTandem) -> None:
    paths = {r.resource.canonical for r in tandem.server.app.router.routes() if r.resource is not None}
    assert {spec.EVENTS_PATH, spec.INSTALL_PATH, spec.OAUTH_REDIRECT_PATH} <= paths


async def test_oauth_install_stores_an_encrypted_token(
    database_url: str, fake_slack: FakeSlack, clock: Any
) -> None:
    settings = settings_for(
        database_url, fake_slack.api_url, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="shh"
    ).model_copy(update={"slack_bot_token": None})
    runtime = Runtime(settings, clock=clock)
    app = build_app(runtime)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake_slack.then(
        "oauth.v2.access",
        Scripted(
            200,
            {
                "ok": True,
                "access_token": "xoxb-installed",
                "scope": ",".join(spec.BOT_SCOPES),
                "bot_user_id": "UB2",
                "team": {"id": "T999", "name": "District"},
                "enterprise": None,
                "authed_user": {"id": "W999"},
            },
        ),
    )
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.make_url("/slack/install"), allow_redirects=False) as response:
                assert response.status == 302
                query = parse_qs(urlparse(response.headers["Location"]).query)
            assert query["client_id"] == ["111.222"] and "chat:write" in query["scope"][0]
            state = query["state"][0]
            redirect = server.make_url("/slack/oauth_redirect").with_query(code="c0de", state=state)
            async with http.get(redirect) as response:
                assert response.status == 200, await response.text()
            async with http.get(redirect) as response:  # a state is good once
                assert response.status == 400
        async with runtime.sessions() as session:
            (row,) = (await session.execute(select(SlackWorkspace))).scalars()
        assert row.team_id == "T999" and row.bot_user_id == "UB2"
        assert row.bot_token_encrypted and "xoxb" not in row.bot_token_encrypted
        assert (
            TokenBox("test-secret-key-not-for-production").open(row.bot_token_encrypted) == "xoxb-installed"
        )
        adapter = app[__import__("bot.slack_mount", fromlist=["SLACK"]).SLACK].adapter
        await adapter.send(
            {"address": "C1", "workspace": "T999"}, __import__("flows.core.types").core.types.Card.plain("hi")
        )
        assert fake_slack.called("chat.postMessage")[0].token == "xoxb-installed"
    finally:
        await server.close()
        await runtime.stop()


class FormFlow:
    """A real flow that opens a form from a command and records the submission."""

    name = "survey"

    def __init__(self) -> None:
        self.submitted: list[dict[str, str]] = []

    def commands(self) -> Sequence[Command]:
        return (Command("survey", "survey", "Open the survey.", self._open),)

    def actions(self) -> dict[str, ActionHandler]:
        return {"survey.submit": self._submitted}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _open(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        ctx.open_form(
            Form(
                "survey.submit",
                "Survey",
                (
                    Question("q", "How?", (Choice("1", "One"), Choice("2", "Two")), style="radio"),
                    TextInput("t", "Why"),
                ),
                metadata="m-7",
            )
        )

    async def _submitted(self, ctx: FlowContext, event: ActionEvent) -> None:
        self.submitted.append({**event.values, "metadata": event.metadata})


async def test_a_form_opens_as_a_modal_and_its_submission_comes_back(tandem: SlackTandem) -> None:
    flow = FormFlow()
    engine = Engine(tandem.runtime.sessions, tandem.clock, [flow])
    inbound = tandem.inbound
    inbound.handle = engine.handle
    assert (await tandem.command("survey")).status == 200
    await tandem.settle()
    (opened,) = tandem.fake.called("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == "survey.submit" and opened.args["trigger_id"].endswith(".111.xxx")
    submission = fixture("view_submission.json")
    submission["view"].update(
        callback_id="survey.submit",
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],  # Slack echoes the modal's own blocks
        state={
            "values": {
                "q": {"q": {"type": "radio_buttons", "selected_option": {"value": "2"}}},
                "t": {"t": {"type": "plain_text_input", "value": "because"}},
            }
        },
    )
    assert (await tandem.interactive(submission)).status == 200
    await tandem.settle()
    assert flow.submitted == [{"q": "2", "t": "because", "metadata": "m-7"}]


async def test_with_slack_off_its_routes_answer_503_naming_the_variable(
    database_url: str, fake_slack: FakeSlack, clock: Any
) -> None:
    base = settings_for(database_url, fake_slack.api_url)
    cases = [
        (base.model_copy(update={"slack_signing_secret": None}), "SLACK_SIGNING_SECRET is not set"),
        (
            base.model_copy(update={"slack_bot_token": None, "slack_client_id": None}),
            "neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID",
        ),
    ]
    for settings, reason in cases:
        assert not settings.slack_enabled
        runtime = Runtime(settings, clock=clock)
        server = TestServer(build_app(runtime), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http:
                body = json.dumps(fixture("url_verification.json")).encode()
                async with http.post(
                    server.make_url(spec.EVENTS_PATH), data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    assert response.status == 503
                    text = await response.text()
                async with http.get(server.make_url(spec.INSTALL_PATH)) as response:
                    assert response.status == 503 and await response.text() == text
            assert reason in text and text.startswith("Slack is off") and text.count("\n") == 1
        finally:
            await server.close()
            await runtime.stop()
    assert fake_slack.calls == []

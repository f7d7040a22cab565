"""A fake Slack Web API on loopback, and Tandem's real aiohttp app with Slack mounted (SQLite and PostgreSQL).

The fake records every call and can be told to answer 429 with Retry-After, `ok: false` errors or slowly.
Requests into Tandem are signed with slack_sdk's SignatureVerifier, exactly as Slack signs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

from adapters.slack import SlackInbound, render
from bot.app import build_app
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack_mount import SLACK
from flows.core.clock import ManualClock
from flows.setup.team_file import import_team, parse_team_file
from storage.models import Team

FIXTURES = Path(__file__).parent / "fixtures"  # Slack-authored payloads; sources in fixtures/README.md
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
BOT_USER = "UBOT"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeSlack:
    """Slack's Web API (`/api/<method>`), response URLs (`/respond/<id>`) and file upload URLs
    (`/upload/<file id>`, handed out by files.getUploadURLExternal), recorded."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.script: dict[str, list[Scripted]] = {}
        self._ts = itertools.count(1)
        self._message_ts = itertools.count(1)  # its own, so concurrent views.publish calls don't shift it
        self.server: TestServer | None = None
        self.names: dict[str, str] = {}  # users.info display names by user id
        self.views: dict[str, dict[str, Any]] = {}  # open modals by view id, as last opened or updated
        self.opened: dict[str, str] = {}  # trigger id → the id of the modal it opened
        self.sockets: list[web.WebSocketResponse] = []  # Socket Mode connections
        self.acks: list[dict[str, Any]] = []  # Socket Mode acknowledgements received
        self.socket_open = asyncio.Event()
        self.socket_closed = asyncio.Event()
        self.trigger_ttl = 3.0  # seconds a trigger_id can open a modal (Slack: 3)
        self.pending_files: dict[str, dict[str, Any]] = {}  # files.getUploadURLExternal, by file id
        self.uploads: dict[str, bytes] = {}  # bytes POSTed to each upload_url
        self.shared_files: list[dict[str, Any]] = []  # files.completeUploadExternal, one entry a file

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def response_url(self, name: str = "r1") -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/respond/{name}"))

    def then(self, method: str, *answers: Scripted) -> None:
        """The next calls of `method` get these answers, in order; then the defaults again."""
        self.script.setdefault(method, []).extend(answers)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = dict(request.query)  # slack_sdk sends some methods' arguments as query parameters
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update({k: v[0] for k, v in parse_qs(await request.text()).items()})
        auth = request.headers.get("Authorization", "")
        call = Call(method, args, auth.removeprefix("Bearer ") or None, time.monotonic())
        if method == "apps.connections.open" and not (call.token or "").startswith("xapp-"):
            self.calls.append(Call(method + "!failed", args, call.token, call.at))
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        queued = self.script.get(method)
        if queued:
            answer = queued.pop(0)
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if answer.status != 200 or (answer.body or {}).get("ok") is False:
                self.calls.append(Call(method + "!failed", args, call.token, call.at))
                return web.json_response(
                    answer.body or {"ok": False, "error": "ratelimited"},
                    status=answer.status,
                    headers=answer.headers,
                )
            if answer.body is not None:
                self.calls.append(call)
                return web.json_response(answer.body, headers=answer.headers)
        answer_body = self._default(method, args)
        self.calls.append(
            call if answer_body.get("ok") else Call(method + "!failed", args, call.token, call.at)
        )
        return web.json_response(answer_body)

    def _default(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T111", "team": "Test"}
        if method == "chat.postMessage":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": f"1700000000.{next(self._message_ts):06d}",
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))}}
        if method == "users.info":
            user = str(args.get("user", ""))
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "name": user.lower(),
                    "real_name": self.names.get(user, f"Person {user}"),
                    "tz": "America/Chicago",
                    "locale": "es-US",
                    "profile": {"display_name": self.names.get(user, ""), "real_name": f"Person {user}"},
                },
            }
        if method == "views.open":
            # Trigger ids these tests mint start with their issue time (ns): honour Slack's 3-second expiry.
            trigger = str(args.get("trigger_id") or "")
            issued = trigger.split(".")[0]
            fresh = (
                not issued.isdigit()
                or int(issued) < 10**18
                or time.time_ns() - int(issued) < self.trigger_ttl * 1e9
            )
            if not fresh:
                return {"ok": False, "error": "expired_trigger_id"}
            view = self._store_view(f"V{next(self._ts)}", args.get("view") or {})
            self.opened[trigger] = view["id"]
            return {"ok": True, "view": view}
        if method == "views.update":
            view_id = str(args.get("view_id") or "")
            if view_id not in self.views:
                return {"ok": False, "error": "not_found"}
            if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            return {"ok": True, "view": self._store_view(view_id, args.get("view") or {})}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url()}
        if method == "views.publish":
            return {"ok": True, "view": {"id": f"V{next(self._ts)}"}}
        if method == "files.getUploadURLExternal":
            if not args.get("filename") or int(args.get("length") or 0) <= 0:
                return {"ok": False, "error": "missing_argument"}
            file_id = f"F{next(self._ts):05d}"
            self.pending_files[file_id] = {"filename": args["filename"], "length": int(args["length"])}
            return {"ok": True, "file_id": file_id, "upload_url": self.upload_url(file_id)}
        if method == "files.completeUploadExternal":
            files = json.loads(args.get("files") or "[]")
            shared = []
            for item in files:
                file_id = str(item.get("id"))
                pending = self.pending_files.get(file_id)
                if pending is None or file_id not in self.uploads:
                    return {"ok": False, "error": "file_not_found"}
                if len(self.uploads[file_id]) != pending["length"]:
                    return {"ok": False, "error": "file_size_mismatch"}
                shared.append({"id": file_id, "title": item.get("title"), "name": pending["filename"]})
            self.shared_files.extend(
                {**f, "channel": args.get("channel_id"), "thread_ts": args.get("thread_ts")} for f in shared
            )
            return {"ok": True, "files": shared}
        return {"ok": True}

    def _store_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = {**view, "id": view_id, "hash": f"{time.time_ns()}.{view_id}"}
        self.views[view_id] = stored
        return stored

    # ------------------------------------------------------------ Socket Mode

    def socket_url(self) -> str:
        assert self.server is not None
        url = self.server.make_url("/link/").with_scheme("ws").with_query(ticket="t-1", app_id="A111")
        return str(url)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode endpoint: `hello`, then the envelopes the test sends; acks are recorded."""
        ws = web.WebSocketResponse()  # answers the client's pings (autoping)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len([w for w in self.sockets if not w.closed]),
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A111"},
            }
        )
        self.socket_open.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        self.socket_open.clear()
        self.socket_closed.set()
        return ws

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await asyncio.wait_for(self.socket_open.wait(), timeout=10)
        await self.sockets[-1].send_json(envelope)

    async def acked(self, envelope_id: str, times: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The acknowledgements of `envelope_id`, once there are `times` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [a for a in self.acks if a.get("envelope_id") == envelope_id]
            if len(found) >= times:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"envelope {envelope_id} acknowledged {len(found)} times, not {times}")

    def upload_url(self, file_id: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/upload/{file_id}"))

    async def _upload(self, request: web.Request) -> web.Response:
        """Slack's upload URL (files.slack.com/upload/v1/…): the file's bytes, raw or multipart."""
        file_id = request.match_info["file_id"]
        if file_id not in self.pending_files:
            return web.Response(status=404, text="unknown upload url")
        self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["name"], await request.json()))
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link/", self._socket)
        return app


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    try:
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    except UnicodeDecodeError:  # Slack never sends this; sign the raw bytes the same way
        digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        signature = f"v0={digest}"
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@dataclass
class SlackClient:
    """What Slack sends a Tandem at `url` (its /slack/events), signed, with the fake Slack behind it."""

    http: aiohttp.ClientSession
    fake: FakeSlack
    url: str

    async def post(
        self, body: bytes, content_type: str, *, headers: dict[str, str] | None = None, signed: bool = True
    ) -> aiohttp.ClientResponse:
        all_headers = {"Content-Type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        async with self.http.post(self.url, data=body, headers=all_headers) as response:
            await response.read()
            return response

    async def event(self, body: dict[str, Any], **kw: Any) -> aiohttp.ClientResponse:
        return await self.post(json.dumps(body).encode(), "application/json", **kw)

    async def interactive(self, payload: dict[str, Any], **kw: Any) -> aiohttp.ClientResponse:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def command(self, text: str, *, user: str = "W111", channel: str = "C111", **kw: Any) -> Any:
        form = fixture("slash_command.json")
        form.update(
            command="/tandem",
            text=text,
            user_id=user,
            channel_id=channel,
            trigger_id=f"{time.time_ns()}.111.xxx",
            response_url=self.fake.response_url(f"{user}-{channel}"),
        )
        return await self.post(urlencode(form).encode(), "application/x-www-form-urlencoded", **kw)

    async def click(
        self,
        user: str,
        button: dict[str, Any],
        *,
        channel: str,
        message_ts: str = "1700000000.000001",
        trigger_id: str | None = None,
    ) -> aiohttp.ClientResponse:
        """`user` presses a rendered Block Kit `button` in a message in `channel` (block_actions)."""
        payload = fixture("block_actions_button.json")
        payload["user"]["id"] = user
        payload["trigger_id"] = trigger_id or f"{time.time_ns()}.{user}.trigger"
        payload["channel"]["id"] = channel
        payload["container"].update(channel_id=channel, message_ts=message_ts, is_ephemeral=False)
        payload["response_url"] = self.fake.response_url(f"click-{user}")
        payload["actions"][0].update(
            action_id=button["action_id"], value=button.get("value", ""), action_ts=f"{time.time():.6f}"
        )
        return await self.interactive(payload)

    def modal_of(self, user: str) -> tuple[str, dict[str, Any]]:
        """(view id, view as now shown) of the modal opened by `user`'s latest click (see `click`)."""
        trigger = [t for t in self.fake.opened if f".{user}." in t][-1]
        view_id = self.fake.opened[trigger]
        return view_id, self.fake.views[view_id]

    async def submit(
        self,
        user: str,
        view: dict[str, Any],
        values: dict[str, str],
        view_id: str,
        trigger_id: str | None = None,
    ) -> Any:
        """`user` submits the modal `view` (as opened with views.open) with `values` by block id; an input
        without a value is in the state as Slack sends it, with a null value."""
        payload = fixture("view_submission.json")
        payload["user"]["id"] = user
        if trigger_id is not None:
            payload["trigger_id"] = trigger_id
        state = {}
        for block in view["blocks"]:
            if block["type"] != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"])
            if element["type"] == "plain_text_input":
                answer: dict[str, Any] = {"type": element["type"], "value": value}
            else:
                chosen = None if value is None else {"value": value}
                answer = {"type": element["type"], "selected_option": chosen}
            state[block["block_id"]] = {element["action_id"]: answer}
        payload["view"].update(
            id=view_id,
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            blocks=view["blocks"],
            state={"values": state},
        )
        return await self.interactive(payload)


@dataclass
class SlackTandem(SlackClient):
    """Tandem's real aiohttp app with Slack mounted, served on loopback in this process."""

    runtime: Runtime
    inbound: SlackInbound
    server: TestServer
    clock: ManualClock

    async def settle(self) -> None:
        """Wait for acknowledged requests to be processed and their messages sent."""
        await self.inbound.drain()
        await self.runtime.worker.drain()

    async def import_team(self, spec: dict[str, Any]) -> Team:
        async with self.runtime.sessions() as session, session.begin():
            return await import_team(session, parse_team_file(spec), self.clock.now())


def settings_for(database_url: str, api_url: str, **extra: str) -> Settings:
    values = {
        "TANDEM_DATABASE_URL": database_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": api_url,
        "TANDEM_SECRET_KEY": "test-secret-key-not-for-production",
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_tandem(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock, **settings: str
) -> AsyncIterator[SlackTandem]:
    """Tandem's aiohttp app served on loopback (start-up and cleanup hooks included), Slack at the fake."""
    runtime = Runtime(settings_for(database_url, fake_slack.api_url, **settings), clock=clock)
    runtime.worker.base_backoff = 1.0
    app = build_app(runtime)
    await runtime.start(migrate=False, schedule=False, deliver=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    try:
        url = str(server.make_url("/slack/events"))
        yield SlackTandem(http, fake_slack, url, runtime, app[SLACK], server, clock)
    finally:
        await http.close()
        await server.close()
        await runtime.stop()


@pytest.fixture
async def tandem(database_url: str, fake_slack: FakeSlack, clock: ManualClock) -> AsyncIterator[SlackTandem]:
    async with running_tandem(database_url, fake_slack, clock) as running:
        yield running


def slack_team_spec(**overrides: Any) -> dict[str, Any]:
    """A team whose channel and members are on Slack (W111 is Ana, a labor co-chair)."""
    spec: dict[str, Any] = {
        "name": "Slack Solutions Team",
        "timezone": "America/Los_Angeles",
        "channels": [{"platform": "slack", "id": "C111", "name": "#solutions"}],
        "meeting": {
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "start": "2026-09-01T16:00:00",
            "reminder_minutes_before": 30,
        },
        "members": [
            {"name": "Ana Labor", "side": "labor", "co_chair": True, "slack": "W111"},
            {"name": "Ben Manager", "side": "management", "co_chair": True, "slack": "W222"},
            {"name": "Cy Teacher", "side": "labor", "slack": "W333"},
            {"name": "Di Principal", "side": "management", "slack": "W444"},
        ],
    }
    spec.update(overrides)
    return spec


def with_response_url(payload: dict[str, Any], url: str) -> dict[str, Any]:
    data = copy.deepcopy(payload)
    if "response_url" in data:
        data["response_url"] = url
    return data


POLL_MEMBERS = [
    {"name": "Ana Labor", "side": "labor", "co_chair": True, "slack": "W111"},
    {"name": "Ben Manager", "side": "management", "co_chair": True, "slack": "W222"},
    {"name": "Cy Teacher", "side": "labor", "slack": "W333"},
    {"name": "Di Principal", "side": "management", "slack": "W444"},
    {"name": "Ed Counselor", "side": "labor", "slack": "W555"},
    {"name": "Flo Clerk", "side": "management", "slack": "W666"},
]


def buttons(call_args: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """The rendered buttons of a posted message whose (neutral) action id is `action_id`."""
    return [
        e
        for b in call_args.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if render.neutral_action_id(e.get("action_id", "")) == action_id
    ]


async def start_poll(tandem: SlackTandem) -> Team:
    """A six-member Slack team; its labor co-chair W111 starts a trust poll in the channel C111."""
    team = await tandem.import_team(slack_team_spec(members=POLL_MEMBERS))
    assert (await tandem.command("pulse start", user="W111", channel="C111")).status == 200
    await tandem.settle()
    return team


def invitation_button(tandem: SlackClient, user: str) -> dict[str, Any]:
    """The "Answer now" button of the poll invitation in `user`'s DM."""
    invitation = next(c for c in tandem.fake.called("chat.postMessage") if c.args["channel"] == f"D{user}")
    (button,) = buttons(invitation.args, "pulse.answer")
    return button


def trust_answers(value: str = "4") -> dict[str, str]:
    from flows.content.instruments import instruments

    return {item.id: value for item in instruments()["relational-trust"].items}

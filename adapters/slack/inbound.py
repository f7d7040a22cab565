"""The Slack adapter's inbound half: `POST /slack/events` through slack-bolt's AsyncApp.

A thin aiohttp handler sits in front of bolt: it checks the signature (forged, stale or replayed → 401
before anything is parsed or stored), then the body's shape (malformed → 400 with a reason), then hands
the request to bolt's AsyncApp (`process_before_response=True`, so bolt answers as soon as the listener
returns). Every listener acks at once and leaves the real work, the engine's database transaction, to a
background task: the ack never waits for the database. Those tasks run one at a time (`concurrency`), so
under a burst a request can wait seconds for its turn, longer than a trigger id lives (3 seconds). A
click on a button that opens a form (`Button.opens_form`) therefore opens a "loading" modal at once, beside
the queue, and the form replaces it with `views.update` when the flow has run (or a short notice, if the
flow declined and replied instead). A Form returned for anything else (a slash command) is opened with
`views.open` from the task, as soon as the flow returns. A modal submit that breaks its form's rules
(flows/core/form_rules.py, read from the modal's blocks as the payload echoes them) is answered in the ack
itself with `response_action: errors`, each problem beside its field, and goes no further.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.slack import events, render
from adapters.slack.adapter import SlackAdapter, web_client
from adapters.slack.install import Workspaces
from adapters.slack.users import Directory
from flows.core.types import Actor, Card, CommandEvent, Event, Form, Handle, InstalledEvent

log = logging.getLogger("tandem.slack")

HomeCard = Callable[[str, str], Awaitable[Card]]  # (workspace, user id) → the App Home card
# Hands an acknowledged request (its body, the workspace's bot user id) to another process's `process`.

REPLAY_WINDOW = 60 * 5
# Slack signs with the request's timestamp and refuses anything older than five minutes.
MAX_BODY = 1024 * 1024


class ReplayGuard:
    """Signatures seen in the last five minutes: the same signed request twice is a replay. Per process;
    across replicas the events' idempotency keys still drop the duplicate."""

    def __init__(self, window: float = REPLAY_WINDOW, limit: int = 200_000) -> None:
        self.window = window
        self.limit = limit
        self._seen: dict[str, float] = {}

    def first_time(self, signature: str) -> bool:
        now = time.monotonic()
        if len(self._seen) > self.limit or (
            self._seen and next(iter(self._seen.values())) < now - self.window
        ):
            self._seen = {s: t for s, t in self._seen.items() if t >= now - self.window}
        if signature in self._seen:
            return False
        self._seen[signature] = now
        return True


BOLT_APP_NAME = "slack_bolt.tandem"  # bolt's app logger, under slack_bolt's (never "tandem": see below)
_BOLT_LOG = logging.getLogger(BOLT_APP_NAME)


class _CheckedRequest(AsyncBoltRequest):
    """bolt's request for a body this handler has already parsed and checked. (slack-bolt's aiohttp
    adapter, `to_bolt_request`, would parse it a second time: a URL-decode and a JSON parse of up to a
    megabyte, on every request, in the ack's path.)"""

    def __init__(self, request: web.Request, raw: bytes, body: dict[str, Any]) -> None:
        super().__init__(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        self.raw_body = raw.decode("utf-8")
        self.body = body
        # with a logger from the start: bolt writes a debug line while building the context when a modal
        # sends several response URLs, and without one that was a KeyError (bolt sets its own later)
        self.context = build_async_context(AsyncBoltContext({"logger": _BOLT_LOG}), body)


class _PerKeyOrder:
    """`async with order(key):` one holder per key at a time, in arrival order (asyncio.Lock's waiters
    are first come, first served); a key's lock is dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def __call__(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class SlackInbound:
    """Owns the bolt AsyncApp and the background work started by acks."""

    def __init__(
        self,
        *,
        signing_secret: str,
        workspaces: Workspaces,
        adapter: SlackAdapter,
        handle: Handle,
        home_card: HomeCard | None = None,
        api_url: str = "https://slack.com/api/",
        attempts: int = 3,
        concurrency: int = 1,
    ) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.workspaces = workspaces
        self.adapter = adapter
        self.handle = handle
        self.home_card = home_card
        self.attempts = attempts
        self.replays = ReplayGuard()
        self._tasks: set[asyncio.Task[None]] = set()
        # At most this many acknowledged requests are processed at once; the rest wait, parked, so the
        # event loop's ready queue stays short and a new request's ack is not queued behind a burst
        # of database work (bench/slack_ack.py measures it). One person's requests run in the order
        # they were acknowledged, whatever the concurrency (a second click must not overtake the first).
        self._working = asyncio.Semaphore(concurrency)
        self._in_order = _PerKeyOrder()
        self._bot_user_ids: dict[str, str | None] = {}
        self.directory = Directory(adapter._call, workspaces.sessions)
        self.app = AsyncApp(
            signing_secret=signing_secret,
            authorize=self._bolt_authorize(),
            client=web_client(api_url),
            process_before_response=True,
            # http_handler has checked the signature (and the replay) before bolt sees the request;
            # Socket Mode requests carry none. Checking again here would only cost the ack time.
            request_verification_enabled=False,
            ignoring_self_events_enabled=False,  # events.py drops the bot's own messages
            url_verification_enabled=True,
            ssl_check_enabled=True,
            # bolt names its logger after the app and sets that logger's level to the root's on every
            # request: named "tandem", it overwrote the level of Tandem's own loggers.
            name=BOLT_APP_NAME,
        )
        any_ = re.compile(".*")

        async def ack_and_process(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
            await ack()  # the ack goes back to Slack now; the database work runs after it
            self.after_ack(body)

        async def check_ack_and_process(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
            # A modal submit its form's rules refuse is answered now, the problems beside the fields (no
            # database: the rules come with the modal's blocks); it never reaches the engine.
            problems = events.form_problems(body)
            if problems:
                await ack(response_action="errors", errors=problems)
                return
            await ack_and_process(ack, body)

        self.app.command(any_)(ack_and_process)
        self.app.action(any_)(ack_and_process)
        self.app.view(any_)(check_ack_and_process)
        self.app.event(any_)(ack_and_process)

    # ------------------------------------------------------------ bolt

    def _bolt_authorize(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        # bolt passes arguments by parameter name, so it needs a plain function, not a bound method
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return await self._authorize(enterprise_id, team_id)

        return authorize

    async def _authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """Bolt asks for the workspace's token on every request: answered from memory after the first."""
        team = team_id or ""
        bot = self.workspaces.single_bot if self.workspaces.single else None
        if bot is None:
            bot = await self.workspaces.find(team, enterprise_id or "")
        if self.workspaces.single and self.workspaces.single_bot is None and bot is not None:
            bot = await self._identify_single(bot.token, team, enterprise_id or "")
        if bot is None:
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id)
        self._bot_user_ids[team] = bot.bot_user_id
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot.token,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
        )

    async def _identify_single(self, token: str, team: str, enterprise: str) -> Any:
        try:
            data = (await self.adapter.client(token).auth_test()).data
        except Exception:
            log.exception("auth.test failed for SLACK_BOT_TOKEN; continuing without the bot's user id")
            return self.workspaces.remember_single(team, enterprise, None, None)
        assert isinstance(data, dict)
        return self.workspaces.remember_single(
            str(data.get("team_id") or team),
            str(data.get("enterprise_id") or enterprise or ""),
            data.get("user_id"),
            data.get("bot_id"),
        )

    # ------------------------------------------------------------ HTTP

    async def http_handler(self, request: web.Request) -> web.StreamResponse:
        """`POST /slack/events`: 401 unsigned/stale/replayed, 400 malformed, else bolt's answer."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"ok": False, "error": "body too large"}, status=413)
        try:
            body = await request.read()
        except web.HTTPException:
            raise
        except Exception as exc:  # a truncated upload
            return web.json_response({"ok": False, "error": f"could not read the body: {exc}"}, status=400)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return web.json_response({"ok": False, "error": "missing Slack signature headers"}, status=401)
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            # slack_sdk's check would raise on int(timestamp): a 500 instead of a refusal
            return web.json_response({"ok": False, "error": "malformed Slack request timestamp"}, status=401)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"ok": False, "error": "body is not UTF-8"}, status=400)
        if not self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return web.json_response({"ok": False, "error": "invalid or expired signature"}, status=401)
        if not self.replays.first_time(signature):
            return web.json_response({"ok": False, "error": "replayed request"}, status=401)
        try:
            checked = events.parse_request(body, request.content_type)
        except events.PayloadError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        try:
            bolt_response = await self.app.async_dispatch(_CheckedRequest(request, body, checked.body))
        except Exception:
            log.exception("slack-bolt failed on a valid, signed request")
            return web.json_response({"ok": False, "error": "could not process the request"}, status=400)
        if (
            bolt_response.status == 404
        ):  # an event type nobody listens to: acknowledge, don't make Slack retry
            return web.Response(status=200)
        if bolt_response.status >= 500:  # bolt could not route a body the checks let through (it logged why)
            return web.json_response({"ok": False, "error": "could not process the request"}, status=400)
        return await to_aiohttp_response(bolt_response)

    # ------------------------------------------------------------ after the ack

    def after_ack(self, body: dict[str, Any]) -> None:
        """Start the work on an acknowledged request, in the background (`process`)."""
        self._track(self.process(body))

    async def process(self, body: dict[str, Any]) -> None:
        """Process an acknowledged request: in order with the same person's others, at most `concurrency`
        at once."""
        loading = self._open_loading(body)  # beside the queue: a trigger id lives 3 seconds
        async with self._in_order(events.sender_of(body)), self._working:
            await self._process(body, loading)

    def _track(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("Slack request processing failed after the ack")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every acknowledged request to finish (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _open_loading(self, body: dict[str, Any]) -> asyncio.Task[tuple[str, str] | None] | None:
        """For a click on a form button: start opening the loading modal now, not after the queue."""
        if not self._has_loading(body):
            return None
        team, _ = events.workspace_of(body)
        return asyncio.create_task(self.adapter.open_loading(team or None, str(body["trigger_id"])))

    async def _process(
        self, body: dict[str, Any], loading: asyncio.Task[tuple[str, str] | None] | None = None
    ) -> None:
        form: Form | None = None
        done = False
        routing: dict[str, Any] = {}
        team, _ = events.workspace_of(body)
        try:
            form, routing = await self._run(body)
            done = True
        finally:
            if loading is not None:
                await self._fill_loading(loading, team, body, form, routing, done)

    async def _fill_loading(
        self,
        loading: asyncio.Task[tuple[str, str] | None],
        workspace: str,
        body: dict[str, Any],
        form: Form | None,
        routing: dict[str, Any],
        done: bool,
    ) -> None:
        """Replace the loading modal with the form, else with a note (the flow replied instead, or failed)."""
        opened = await loading
        if opened is None:  # the loading modal never opened: try the trigger id itself, it may still live
            if form is not None:
                await self.adapter.open_form(workspace or None, str(body["trigger_id"]), form, routing)
            return
        if form is not None:
            view = render.modal(form, routing)
        elif done:
            view = render.notice_modal(
                "Nothing to fill in here. Tandem has sent you a message that says why."
            )
        else:
            view = render.notice_modal(
                "Something went wrong on Tandem's side and nothing was recorded. Please try again shortly."
            )
        await self.adapter.update_view(workspace or None, opened, view)

    async def _run(self, body: dict[str, Any]) -> tuple[Form | None, dict[str, Any]]:
        """Translate and handle one acknowledged request; the Form a flow wants shown to a click on a form
        button (the caller fills the loading modal with it) and its routing."""
        kind: events.Kind = (
            "command"
            if "command" in body
            else "event"
            if body.get("type") == "event_callback"
            else "interactive"
        )
        team, _ = events.workspace_of(body)
        translated = events.to_event(events.Inbound(kind, body), self._bot_user_ids.get(team))
        lifecycle = translated.lifecycle
        if lifecycle is not None:
            if lifecycle.kind == "uninstalled":
                await self.workspaces.revoke(lifecycle.team_id, lifecycle.enterprise_id)
            elif lifecycle.kind == "home_opened" and lifecycle.user_id and self.home_card is not None:
                card = await self.home_card(lifecycle.team_id, lifecycle.user_id)
                await self.adapter.publish_home(lifecycle.team_id, lifecycle.user_id, card)
            return None, {}
        event = translated.event
        if event is None:
            return None, {}
        event = await self._identify(event, translated.workspace)
        form = await self._handle_with_retry(event)
        routing: dict[str, Any] = {}
        if form is not None:
            routing = {"c": event.conversation.conversation_id} if not event.conversation.is_direct else {}
            if event.conversation.thread:
                routing["t"] = event.conversation.thread
        if form is not None and translated.trigger_id and not self._has_loading(body):
            await self.adapter.open_form(translated.workspace, translated.trigger_id, form, routing)
            return None, routing
        return form, routing

    @staticmethod
    def _has_loading(body: dict[str, Any]) -> bool:
        """A click on a form button, with a trigger id: it gets a loading modal at once."""
        actions = body.get("actions") or []
        return (
            body.get("type") == "block_actions"
            and bool(body.get("trigger_id"))
            and bool(actions)
            and render.opens_form(str(actions[0].get("action_id") or ""))
        )

    async def _identify(self, event: Event, workspace: str) -> Event:
        """First contact: record the workspace, look the person up (users.info, cached); a command's
        actor and the people it mentions get their Slack names."""
        if isinstance(event, InstalledEvent):
            return event
        conversation = event.conversation
        channel = "" if conversation.is_direct else conversation.conversation_id
        profile = await self.directory.first_contact(workspace, event.actor.user_id, channel)
        if not isinstance(event, CommandEvent):
            return event
        actor = event.actor
        if profile is not None and profile.name:
            actor = dataclasses.replace(actor, display_name=profile.name)
        mentions: list[Actor] = []
        for mentioned in event.mentions:
            found = await self.directory.profile(workspace, mentioned.user_id)
            name = (found.name if found else None) or mentioned.display_name
            mentions.append(dataclasses.replace(mentioned, display_name=name))
        return dataclasses.replace(event, actor=actor, mentions=tuple(mentions))

    async def _handle_with_retry(self, event: Event) -> Form | None:
        """The ack is gone, so Slack will not resend: retry a failed transaction (the idempotency key makes
        a retry of a committed one a no-op)."""
        for attempt in range(1, self.attempts + 1):
            try:
                return await self.handle(event)
            except Exception:
                if attempt == self.attempts:
                    raise
                log.warning("processing a Slack event failed (attempt %s); retrying", attempt, exc_info=True)
                await asyncio.sleep(0.2 * attempt)
        return None

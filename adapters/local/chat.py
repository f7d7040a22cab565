"""The local chat page: the local adapter with a face, served by `tandem serve` at `/`.

A person picks a team and a member (no accounts: a trial on one machine), sees their direct conversation
with Tandem and the team's channels, types the commands they would type to `/tandem`, presses buttons and
fills forms. Everything goes to the engine as the local adapter's Events; everything Tandem says comes back
through the outbox and the delivery worker to `send` / `update`, which keep it in the database
(storage/local_chat.py, so the page shows it again after a restart) and push it to the open pages as
Server-Sent Events. The page never polls.

What a person is shown is what the platforms would show them: their own direct conversation, and the
channels of their teams (minus replies meant for someone else). A request can only act for the person it
names on things that person was shown: a press must name a button of a message they can see, a submit a
form that was opened for them. The page is for loopback use unless the operator says otherwise
(`TANDEM_LOCAL_CHAT=on`, bot/local_chat.py): a request from elsewhere is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters import json_input
from adapters.base import Inbox
from adapters.images import Images, data_uri
from adapters.local.adapter import LocalAdapter, TranscriptEntry
from adapters.local.html import card_html, form_html
from flows.core import form_rules
from flows.core.clock import Clock
from flows.core.recurrence import zone
from flows.core.types import (
    ActionEvent,
    Actor,
    Buttons,
    Card,
    CommandEvent,
    Conversation,
    Form,
    Question,
    card_from_json,
    card_to_json,
)
from storage import local_chat as store
from storage.local_chat import LocalPerson, LocalTeam

log = logging.getLogger("tandem.local_chat")
STATIC = Path(__file__).parent / "static"
MAX_TEXT = 4000  # characters of one typed message (Slack's limit for a slash command's text)
MAX_BODY = 64 * 1024  # bytes of any request to the page
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Jump = Callable[[], Awaitable[str]]
LoadExample = Callable[[], Awaitable[str]]


class Refused(Exception):
    """A request the page answers with a clear error and does nothing for."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Viewer:
    user: str
    conversations: frozenset[str]
    timezone: str  # the team's: message times are shown in it, as in the header
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def sees(self, conversation: str, private_to: str | None) -> bool:
        return conversation in self.conversations and private_to in (None, self.user)


@dataclass(frozen=True)
class _OpenForm:
    user: str
    form: Form


def is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


def dm_of(user: str) -> str:
    return f"dm-{user}"


class ChatAdapter(LocalAdapter):
    """The local adapter, its messages kept and shown on the chat page."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        images: Images,
        *,
        loopback_only: bool = True,
        jump: Jump | None = None,
        load_example: LoadExample | None = None,
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.clock = clock
        self.images = images
        self.loopback_only = loopback_only
        self.jump = jump
        self.load_example = load_example
        self._viewers: list[_Viewer] = []
        self._open_forms: dict[str, _OpenForm] = {}

    # ---- the Adapter contract

    def mount(self, app: web.Application, inbox: Inbox) -> None:
        self.handle = inbox.handle
        app.router.add_get("/", self._guarded(self.page))
        app.router.add_get("/chat/static/{name}", self._guarded(self.static))
        app.router.add_get("/chat/messages", self._guarded(self.messages))
        app.router.add_get("/chat/events", self._guarded(self.events))
        app.router.add_post("/chat/say", self._guarded(self.say))
        app.router.add_post("/chat/press", self._guarded(self.press))
        app.router.add_post("/chat/submit", self._guarded(self.submit_form))
        app.router.add_post("/chat/clock/next", self._guarded(self.clock_next))
        app.router.add_post("/chat/example", self._guarded(self.example))
        app.on_shutdown.append(self._end_streams)

    async def close(self) -> None:
        await self._end_streams(None)

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        conversation = str(target.get("address") or dm_of(str(target.get("user", ""))))
        private_to = target.get("private_to")
        async with self.sessions() as session, session.begin():
            row = await store.add(
                session, conversation, card_to_json(card), self.clock.now(), private_to=private_to
            )
            message_id = row.id
        ref = f"local-{message_id}"
        self._record(TranscriptEntry(ref=ref, target=dict(target), card=card))
        await self._publish(message_id, conversation, private_to, card, None, replace=False)
        return ref

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        number = ref.removeprefix("local-")
        if not number.isdigit():
            return await self.send(target, card)
        async with self.sessions() as session, session.begin():
            row = await store.get(session, int(number))
            if row is None:
                found = None
            else:
                row.card = card_to_json(card)
                row.updated_at = self.clock.now()
                found = (row.conversation, row.private_to)
        if found is None:
            return await self.send(target, card)
        self._record(TranscriptEntry(ref=ref, target=dict(target), card=card, updated=True))
        await self._publish(int(number), found[0], found[1], card, None, replace=True)
        return ref

    def _record(self, entry: TranscriptEntry) -> None:
        self.transcript.append(entry)
        for listener in self.listeners:
            listener(entry)

    # ---- rendering and pushing

    async def _html(
        self, message_id: int, card: Card, author: str | None, created: datetime | None, timezone: str
    ) -> str:
        images = {
            url: data_uri(i.content, i.media_type) for url, i in (await self.images.of_card(card)).items()
        }
        return card_html(message_id, card, images, author=author, when=self._when(created, timezone))

    def _when(self, instant: datetime | None, timezone: str | None = None) -> str:
        if instant is None:
            return ""
        local = instant.astimezone(zone(timezone or "UTC"))
        hour = local.strftime("%I").lstrip("0")
        return f"{local:%a} {local.day} {local:%b} {hour}:{local:%M %p} {local:%Z}"

    async def _publish(
        self,
        message_id: int,
        conversation: str,
        private_to: str | None,
        card: Card,
        author: str | None,
        *,
        replace: bool,
    ) -> None:
        viewers = [v for v in self._viewers if v.sees(conversation, private_to)]
        if not viewers:
            return
        rendered: dict[str, dict[str, Any]] = {}  # one rendering per time zone of those watching
        for viewer in viewers:
            if viewer.timezone not in rendered:
                html = await self._html(message_id, card, author, self.clock.now(), viewer.timezone)
                rendered[viewer.timezone] = {
                    "id": message_id,
                    "conversation": conversation,
                    "html": html,
                    "replace": replace,
                }
            viewer.queue.put_nowait(rendered[viewer.timezone])

    async def _end_streams(self, _: object) -> None:
        for viewer in self._viewers:
            viewer.queue.put_nowait(None)

    # ---- who is asking

    def _guarded(
        self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self.loopback_only and not is_loopback(request.remote):
                return web.json_response(
                    {"error": "The chat page answers only on this machine (TANDEM_LOCAL_CHAT=on opens it)."},
                    status=403,
                )
            if request.method == "POST" and (request.content_length or 0) > MAX_BODY:
                return web.json_response(
                    {
                        "error": f"That is too long: a message may have up to {MAX_TEXT:,} characters. "
                        "Nothing was sent."
                    },
                    status=413,
                )
            try:
                return await handler(request)
            except Refused as exc:
                return web.json_response({"error": str(exc)}, status=exc.status)

        return guarded

    async def _teams(self) -> list[LocalTeam]:
        async with self.sessions() as session:
            return await store.local_teams(session)

    async def _who(self, params: Any) -> tuple[LocalTeam, LocalPerson]:
        team_id, user = str(params.get("team", "")), str(params.get("person", ""))
        for value in params.values():
            if why := json_input.unstorable(str(value)):
                raise Refused(f"That request has {why}, which cannot be stored. Nothing was done.")
        for team in await self._teams():
            if str(team.id) == team_id:
                for person in team.people:
                    if person.user == user:
                        return team, person
                raise Refused("That person is not on this team.", 403)
        raise Refused("There is no such team.", 404)

    @staticmethod
    def _conversations(team: LocalTeam, person: LocalPerson) -> list[tuple[str, str]]:
        return [(dm_of(person.user), "Tandem"), *team.channels]

    def _conversation_of(self, team: LocalTeam, person: LocalPerson, params: Any) -> str:
        wanted = str(params.get("c") or dm_of(person.user))
        if wanted not in dict(self._conversations(team, person)):
            raise Refused("That conversation is not one of yours.", 403)
        return wanted

    def _event_conversation(self, person: LocalPerson, conversation: str) -> Conversation:
        if conversation == dm_of(person.user):
            return Conversation(platform="local", conversation_id=conversation, is_direct=True)
        return Conversation(platform="local", conversation_id=conversation)

    # ---- pages

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ("chat.css", "chat.js"):
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    async def page(self, request: web.Request) -> web.StreamResponse:
        teams = await self._teams()
        if "person" not in request.query:
            return _html_response(self._chooser(teams))
        team, person = await self._who(request.query)
        conversation = self._conversation_of(team, person, request.query)
        log_html = await self._log(conversation, person.user, team.timezone)
        return _html_response(self._chat(team, person, conversation, log_html))

    async def _log(self, conversation: str, user: str, timezone: str) -> str:
        async with self.sessions() as session:
            rows = await store.in_conversation(session, conversation, user)
        parts = [
            await self._html(r.id, card_from_json(r.card), r.author, r.created_at, timezone) for r in rows
        ]
        return "".join(parts) or '<p class="empty">No messages yet. Type <kbd>help</kbd> below.</p>'

    async def messages(self, request: web.Request) -> web.StreamResponse:
        team, person = await self._who(request.query)
        conversation = self._conversation_of(team, person, request.query)
        return _html_response(await self._log(conversation, person.user, team.timezone))

    def _chooser(self, teams: list[LocalTeam]) -> str:
        if not teams:
            offer = (
                '<form method="post" action="/chat/example" class="card-form" id="example">'
                "<p>There is no team in this database yet. Load the example team to try Tandem "
                "(its people exist only on this page).</p>"
                '<button type="submit" class="btn btn-primary">Load the example team</button></form>'
            )
            return _layout("Tandem", f'<main id="main" class="chooser"><h1>Tandem</h1>{offer}</main>')
        forms = []
        for team in teams:
            if not team.people:
                forms.append(
                    f"<section><h2>{escape(team.name)}</h2><p>No member of this team has a local "
                    "identity (`local:` in the team file), so nobody can use it here.</p></section>"
                )
                continue
            options = "".join(
                f'<option value="{escape(p.user)}">{escape(_label(p))}</option>' for p in team.people
            )
            forms.append(
                f'<section><h2>{escape(team.name)}</h2><form method="get" action="/" class="choose">'
                f'<input type="hidden" name="team" value="{team.id}">'
                f'<label for="person-{team.id}">Chat as</label>'
                f'<select id="person-{team.id}" name="person">{options}</select>'
                '<button type="submit" class="btn btn-primary">Open the chat</button></form></section>'
            )
        body = (
            '<main id="main" class="chooser"><h1>Tandem — try it here</h1>'
            "<p>Choose a team and a person: you will see what that person sees in Slack or Teams.</p>"
            f"{''.join(forms)}</main>"
        )
        return _layout("Tandem — choose a person", body)

    def _chat(self, team: LocalTeam, person: LocalPerson, conversation: str, log_html: str) -> str:
        nav = []
        for address, name in self._conversations(team, person):
            label = "Tandem (direct messages)" if address == dm_of(person.user) else name
            current = ' aria-current="page"' if address == conversation else ""
            href = f"/?team={team.id}&person={escape(person.user)}&c={escape(address)}"
            nav.append(
                f'<li><a href="{href}" data-conversation="{escape(address)}"{current}>{escape(label)}'
                '<span class="unread" hidden> (new)</span></a></li>'
            )
        others = "".join(
            f'<option value="{escape(p.user)}"{" selected" if p.user == person.user else ""}>'
            f"{escape(_label(p))}</option>"
            for p in team.people
        )
        names = dict(self._conversations(team, person))
        title = "Tandem (direct messages)" if conversation == dm_of(person.user) else names[conversation]
        clock = self._when(self.clock.now(), team.timezone)
        body = f"""
<header class="top">
  <p class="team"><strong>{escape(team.name)}</strong></p>
  <form method="get" action="/" class="switch">
    <input type="hidden" name="team" value="{team.id}">
    <label for="switch-person">Person</label>
    <select id="switch-person" name="person">{others}</select>
    <button type="submit" class="btn">Switch</button>
  </form>
  <div class="clock"><span>Clock: <time id="clock-now">{escape(clock)}</time></span>
    <button type="button" class="btn" id="jump">Jump to the next scheduled event</button>
    <span id="clock-said" role="status" aria-live="polite"></span></div>
</header>
<div class="body">
  <nav aria-label="Conversations"><ul>{"".join(nav)}</ul></nav>
  <main id="main">
    <h1 id="conversation-title">{escape(title)} <span class="as">— as {escape(_label(person))}</span></h1>
    <div id="log" role="log" aria-live="polite" aria-labelledby="conversation-title">{log_html}</div>
    <section id="form-area" aria-live="polite"></section>
    <p id="status" role="status" aria-live="assertive"></p>
    <form id="composer" method="post" action="/chat/say" autocomplete="off">
      <label for="text">Message Tandem (the commands of <code>/tandem</code>: try <kbd>help</kbd>)</label>
      <div class="row"><input id="text" name="text" type="text" maxlength="{MAX_TEXT}" required>
      <button type="submit" class="btn btn-primary">Send</button></div>
    </form>
  </main>
</div>
<div id="chat-data" hidden data-team="{team.id}" data-person="{escape(person.user)}"
  data-conversation="{escape(conversation)}"></div>
<script src="/chat/static/chat.js"></script>"""
        return _layout(f"{title} — {person.name} — {team.name} — Tandem", body)

    # ---- the stream

    async def events(self, request: web.Request) -> web.StreamResponse:
        team, person = await self._who(request.query)
        viewer = _Viewer(person.user, frozenset(dict(self._conversations(team, person))), team.timezone)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        self._viewers.append(viewer)
        try:
            await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(viewer.queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if item is None:
                    break
                await response.write(f"event: message\ndata: {json.dumps(item)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(ValueError):
                self._viewers.remove(viewer)
        return response

    # ---- what a person does

    async def say(self, request: web.Request) -> web.StreamResponse:
        data = await _form(request)
        team, person = await self._who(data)
        conversation = self._conversation_of(team, person, data)
        text = str(data.get("text", "")).strip()
        if not text:
            raise Refused("Type a message first.")
        if len(text) > MAX_TEXT:
            raise Refused(
                f"That is too long: a message may have up to {MAX_TEXT:,} characters. Nothing was sent.", 413
            )
        card = Card.plain(text)
        async with self.sessions() as session, session.begin():
            row = await store.add(
                session,
                conversation,
                card_to_json(card),
                self.clock.now(),
                private_to=person.user,
                author=person.user,
            )
            message_id = row.id
        await self._publish(message_id, conversation, person.user, card, person.user, replace=False)
        command, mentioned = read_mentions(text, team.people)
        event = CommandEvent(
            Actor("local", person.user),
            self._event_conversation(person, conversation),
            command,
            mentions=mentioned,
        )
        return await self._answer(person, await self._handle(event))

    async def press(self, request: web.Request) -> web.StreamResponse:
        data = await _form(request)
        team, person = await self._who(data)
        conversation = self._conversation_of(team, person, data)
        action_id, value = str(data.get("action", "")), str(data.get("value", ""))
        key = str(data.get("key", ""))
        if not _KEY.match(key):
            raise Refused("A press needs its key.")
        message = str(data.get("message", ""))
        async with self.sessions() as session:
            known = message.isascii() and message.isdigit() and len(message) <= 18  # an id, not a number
            row = await store.get(session, int(message)) if known else None
        if (
            row is None
            or row.conversation != conversation
            or row.private_to not in (None, person.user)
            or (action_id, value) not in _buttons(card_from_json(row.card))
        ):
            raise Refused("There is no such button on a message you can see. Nothing was done.")
        event = ActionEvent(
            Actor("local", person.user),
            self._event_conversation(person, conversation),
            action_id,
            value,
            idempotency_key=f"page-press:{key}",
        )
        return await self._answer(person, await self._handle(event))

    async def submit_form(self, request: web.Request) -> web.StreamResponse:
        data = await _form(request)
        _, person = await self._who(data)
        token = str(data.get("token", ""))
        shown = self._open_forms.get(token)
        if shown is None:
            raise Refused(
                "That form is not open any more: press its button again. Nothing was recorded.", 409
            )
        if shown.user != person.user:
            raise Refused("That form was opened for someone else. Nothing was recorded.", 403)
        rules = form_rules.rules_of(shown.form.elements)
        values = {
            key.removeprefix("f:"): str(value)
            for key, value in data.items()
            if key.startswith("f:") and key.removeprefix("f:") in rules
        }
        problems = form_rules.check(rules, values, form_rules.known_language(shown.form.language))
        if problems:
            html = form_html(shown.form, token, values=values, problems=problems)
            return web.json_response({"form": html, "error": "Nothing was recorded."}, status=422)
        del self._open_forms[token]
        event = ActionEvent(
            Actor("local", person.user),
            Conversation(platform="local", conversation_id=dm_of(person.user), is_direct=True),
            shown.form.form_id,
            None,
            values,
            f"page-form:{token}",
            shown.form.metadata,
        )
        return await self._answer(person, await self._handle(event))

    async def _handle(self, event: CommandEvent | ActionEvent) -> Form | None:
        if self.handle is None:
            raise Refused("Tandem is not ready yet.", 503)
        return await self.handle(event)

    async def _answer(self, person: LocalPerson, form: Form | None) -> web.StreamResponse:
        if form is None:
            return web.json_response({"ok": True})
        token = secrets.token_urlsafe(16)
        self._open_forms[token] = _OpenForm(person.user, form)
        self.forms[(person.user, form.form_id)] = form
        return web.json_response({"ok": True, "form": form_html(form, token)})

    async def clock_next(self, request: web.Request) -> web.StreamResponse:
        data = await _form(request)
        team, _ = await self._who(data)
        if self.jump is None:
            raise Refused("The clock can only be moved on the chat page of a local trial.", 409)
        said = await self.jump()
        return web.json_response({"said": said, "now": self._when(self.clock.now(), team.timezone)})

    async def example(self, request: web.Request) -> web.StreamResponse:
        if self.load_example is None or await self._teams():
            raise web.HTTPSeeOther("/")
        await self.load_example()
        raise web.HTTPSeeOther("/")


async def _form(request: web.Request) -> MultiDict[str]:
    """The page's POSTed fields (URL-encoded, as chat.js sends them), strictly UTF-8: a body that is not
    is refused with a reason, never half-decoded (a lone surrogate would reach the database)."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise Refused("The page sends its fields URL-encoded. Nothing was done.", 415)
    try:
        text = (await request.read()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("That request is not readable text (UTF-8). Nothing was done.") from exc
    return MultiDict(pairs)


_AT = re.compile(r"(?<![\w@])@([\w.-]+)")


def read_mentions(text: str, people: Sequence[LocalPerson]) -> tuple[str, tuple[Actor, ...]]:
    """The page's `@ana` or `@Ana` (a member's local id or first name, any case) as the neutral `@<n>`
    with the person listed, as Slack's `<@U123>` and Teams' `<at>` become; the same person twice is one
    entry. Any other `@word` (nobody, or a first name two members share) is left as typed, for the flow
    to answer."""
    found: list[Actor] = []

    def replace(match: re.Match[str]) -> str:
        word = match.group(1).casefold()
        by_id = [p for p in people if p.user.casefold() == word]
        by_name = [p for p in people if p.name.split()[0].casefold() == word]
        chosen = by_id or by_name
        if len(chosen) != 1:  # nobody, or two people of that first name: left for the flow to answer
            return match.group(0)
        person = chosen[0]
        for index, actor in enumerate(found):
            if actor.user_id == person.user:
                return f"@{index}"
        found.append(Actor("local", person.user, person.name))
        return f"@{len(found) - 1}"

    return _AT.sub(replace, text), tuple(found)


def _buttons(card: Card) -> set[tuple[str, str]]:
    """The (action id, value) pairs a person can press on `card`."""
    found: set[tuple[str, str]] = set()
    for element in card.elements:
        if isinstance(element, Buttons):
            found.update((b.action_id, b.value) for b in element.buttons)
        elif isinstance(element, Question):
            found.update((element.action_id or element.id, c.value) for c in element.choices)
    return found


def _label(person: LocalPerson) -> str:
    role = f"{person.side} co-chair" if person.co_chair else person.side
    return f"{person.name} ({role})"


def _html_response(html: str) -> web.Response:
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _layout(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/chat/static/chat.css"></head>'
        f'<body><a class="skip" href="#main">Skip to the conversation</a>{body}</body></html>'
    )

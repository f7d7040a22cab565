"""The local adapter: in-process, no accounts. It speaks to the engine like Slack or Teams would, and its
sends come out of the same outbox, recorded as a transcript (the demo prints it; tests read it). It has no
routes: the demo and the tests act for people through `command`, `submit` and `click`."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.base import Capability, Inbox
from adapters.local.render import render_text
from flows.core import form_rules
from flows.core.types import ActionEvent, Actor, Card, CommandEvent, Conversation, Event, Form


@dataclass(frozen=True)
class TranscriptEntry:
    ref: str
    target: dict[str, Any]
    card: Card
    updated: bool = False

    @property
    def where(self) -> str:
        if self.target.get("home"):
            return f"home view of {self.target.get('user')}"
        if "address" in self.target and "user" not in self.target and not self.target.get("direct"):
            private = self.target.get("private_to")
            return f"#{self.target['address']}" + (f" (only {private} sees this)" if private else "")
        return f"DM to {self.target.get('user', str(self.target.get('address', '')).removeprefix('dm-'))}"

    @property
    def text(self) -> str:
        return render_text(self.card)


class LocalAdapter:
    platform = "local"
    # A private reply is marked "(only … sees this)" in a shared conversation; the form a flow opens is
    # kept in `last_form`, as a modal would show it; updates are recorded as such.
    capabilities = frozenset({Capability.EPHEMERAL, Capability.MODAL_FORMS, Capability.UPDATE_IN_PLACE})

    def __init__(self, handle: Callable[[Event], Awaitable[Form | None]] | None = None) -> None:
        self.handle = handle
        self.last_form: Form | None = None  # the form a flow opened for the last event (a modal, in Slack)
        self.forms: dict[tuple[str, str], Form] = {}  # the forms shown, by (user, form id), for their rules
        self.transcript: list[TranscriptEntry] = []
        self.listeners: list[Callable[[TranscriptEntry], None]] = []
        self._refs = itertools.count(1)

    # ---- the Adapter contract

    def mount(self, app: web.Application, inbox: Inbox) -> None:
        """No routes: only events to the engine."""
        self.handle = inbox.handle

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        entry = TranscriptEntry(ref=f"local-{next(self._refs)}", target=dict(target), card=card)
        self.transcript.append(entry)
        for listener in self.listeners:
            listener(entry)
        return entry.ref

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        entry = TranscriptEntry(ref=ref, target=dict(target), card=card, updated=True)
        self.transcript.append(entry)
        for listener in self.listeners:
            listener(entry)
        return ref

    # ---- inbound: what a person would do

    def _conversation(self, user: str, channel: str | None) -> Conversation:
        if channel is None:
            return Conversation(platform="local", conversation_id=f"dm-{user}", is_direct=True)
        return Conversation(platform="local", conversation_id=channel)

    async def command(
        self, user: str, text: str, channel: str | None = None, mentions: Sequence[str] = ()
    ) -> None:
        """`mentions`: the local user ids the text refers to as `@0`, `@1`, …"""
        people = tuple(Actor("local", m) for m in mentions)
        await self._deliver(
            CommandEvent(Actor("local", user), self._conversation(user, channel), text, mentions=people)
        )

    async def submit(
        self,
        user: str,
        form: Form | str,
        values: dict[str, str],
        key: str | None = None,
        *,
        metadata: str = "",
    ) -> None:
        """Submit a form the person was shown (a Slack modal, a Teams input card). Given the Form, its id and
        its `metadata` come back with the values, as on those platforms; given a bare form id, `metadata`."""
        form_id, metadata = (form.form_id, form.metadata) if isinstance(form, Form) else (form, metadata)
        shown = self.forms.get((user, form_id))
        if shown is not None:  # inputs that break the shown form's rules get a reply, as in Teams
            rules = form_rules.rules_of(shown.elements)
            problems = form_rules.check(rules, values, form_rules.known_language(shown.language))
            if problems:
                self.last_form = None
                await self.send(
                    {"user": user},
                    form_rules.refusal(rules, problems, form_rules.known_language(shown.language)),
                )
                return
        conversation = self._conversation(user, None)
        event = ActionEvent(Actor("local", user), conversation, form_id, None, values, key, metadata)
        await self._deliver(event)

    async def click(
        self, user: str, action_id: str, value: str = "", channel: str | None = None, key: str | None = None
    ) -> None:
        event = ActionEvent(
            Actor("local", user), self._conversation(user, channel), action_id, value, idempotency_key=key
        )
        await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        if self.handle is None:
            raise RuntimeError("the local adapter is not attached to an engine")
        self.last_form = await self.handle(event)
        if self.last_form is not None:
            self.forms[(event.actor.user_id, self.last_form.form_id)] = self.last_form

"""The adapter contract: what a platform adapter (Slack, Teams, local) offers the bot, in both directions.

In the spirit of opsdroid's `Connector` (connect / listen / send / disconnect, with the event types a
connector can send registered on it): an adapter declares its platform and its `capabilities`; inbound, it
adds its routes to the aiohttp app and hands neutral Events to the engine (`Inbox.handle`); outbound, the
delivery worker gives it outbox rows (`send` / `update`), and it reports failure as `RetryLater` or
`PermanentFailure`. `bot/` composes a list of adapters with one loop (`bot.runtime.Runtime.mount`) and
never asks which platform one is; flows never see a platform at all.

Outbound messages and the outbox: the exceptions, in one place
==============================================================

Every message a person sees goes out through the outbox (rows written by the engine in the flow's own
transaction, sent and retried by the delivery worker), except these, each for its reason:

1. Slack modal showing a Form (`views.open`: SlackAdapter.open_form, called by SlackInbound). A trigger id
   opens a modal for 3 seconds only. And a Form can hold the person's own poll answers (the pulse form,
   shown again to change them): in an outbox row they would sit in the database in clear, which
   docs/privacy.md rules out ("nothing else carries an answer").
2. Slack "loading" modal and its filling (`views.open`, `views.update`: SlackAdapter.open_loading and
   update_view). The same trigger-id deadline; the filling is that Form (the same privacy reason) or a
   one-line notice about the click being answered.
3. Teams input card answering an `Action.Execute` invoke (adapters/teams/turns.py). Teams takes it only
   as the HTTP response to the invoke (the clicked card is replaced by the form); and the privacy reason.
4. Teams input card answering a legacy `Action.Submit` message (TeamsOutbound.reply_form). The privacy
   reason; and it answers a click the person is looking at. One attempt, through our Bot Connector client,
   paced like every send; a failure is logged and the person clicks again.
5. Slack App Home when it is opened (`app_home_opened`): through the outbox (Inbox.refresh_home), not the
   engine. No flow decides it: the view is built from the current state when the row is sent, as for the
   flows' own home refreshes. Through the engine would need a neutral Event for it, a flows change.

Not messages, so not in the outbox: answers to the platform's HTTP request (Slack acks and URL
verification, Socket Mode acks, the Teams invoke's "Got it.", 4xx errors, the OAuth install pages), and
reads (Slack users.info / auth.test, Teams roster reads). Steps of one outbox send are part of that send:
conversations.open and Teams' personal-chat creation before a DM, Slack file uploads after their message
(resumed through `RetryLater.progress`), and Slack `response_url` replies (the transport of an outbox row
that has a `reply_url`).
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

from aiohttp import web

from flows.core.types import Card, Handle


class RetryLater(Exception):
    """A send failed for now (rate limit, timeout, 5xx); `retry_after` seconds if the platform said.

    `progress`: what a send of several steps had already done when it failed (e.g. the message is posted,
    its file not yet uploaded). The delivery worker keeps it with the outbox row (in its target, under
    "progress") and hands it back on the retry, so the retry resumes instead of repeating the done steps."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, progress: dict[str, Any] | None = None
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.progress = progress


class PermanentFailure(Exception):
    """A send can never succeed as addressed (channel gone, app uninstalled); a co-chair must fix it."""


class Capability(enum.StrEnum):
    """What a platform can do, declared by its adapter. Flows stay platform-neutral: a capability says
    how an adapter renders a neutral request, or which rows are worth writing for a platform."""

    # A per-person home surface (Slack's App Home): outbox rows marked "home" republish it.
    HOME_VIEW = "home_view"
    # A reply in a shared conversation that only one person sees (`Recipient.private_to`). Without it the
    # adapter delivers such a reply to the person's own chat.
    EPHEMERAL = "ephemeral"
    # Forms open over the conversation (Slack modals, the local transcript's last form). Without it a Form
    # is an input card in the conversation (Teams).
    MODAL_FORMS = "modal_forms"
    # Stored images (charts) are uploaded as files beside their message. Without it they travel inside the
    # card (inline, or as a link Tandem serves).
    FILE_UPLOAD = "file_upload"
    # A sent message can be replaced (`update`); a replacement for a message that cannot be updated any
    # more is posted anew.
    UPDATE_IN_PLACE = "update_in_place"
    # People type commands as a slash command (`/tandem help`), not as a message to the bot (`help`).
    SLASH_COMMAND = "slash_command"


class Inbox(Protocol):
    """What the bot gives an adapter's inbound half (`bot.runtime.Runtime` is one)."""

    # The engine: an Event in, the Form a flow wants shown to the person who acted (or None) out.
    handle: Handle

    async def refresh_home(self, platform: str, user: str, workspace: str | None) -> None:
        """Queue a republish of `user`'s home view in the outbox (a platform with HOME_VIEW, when the
        person opens it); the view is built when the row is sent."""
        ...


class Outbound(Protocol):
    """What the delivery worker needs from an adapter."""

    platform: str
    capabilities: frozenset[Capability]

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        """Deliver `card` to `target` (an outbox target); the platform's message reference, if any."""
        ...

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        """Replace the message `ref` (returned by an earlier send to `target`) with `card`."""
        ...


class Adapter(Outbound, Protocol):
    """One platform, both directions. `bot.runtime.Runtime.mount` calls `mount` once, `start` when the app
    has started and `close` when it stops; the delivery worker calls `send` and `update`."""

    def mount(self, app: web.Application, inbox: Inbox) -> None:
        """Add the platform's routes to `app` (none for local) and hand every inbound Event to
        `inbox.handle` from now on."""
        ...

    async def start(self) -> None:
        """The app is serving: open what the platform needs open (Slack's Socket Mode connection)."""
        ...

    async def close(self) -> None:
        """The app is stopping: take no new events, finish the acknowledged ones, close connections."""
        ...

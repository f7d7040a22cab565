"""The Teams adapter's outbound half: the delivery worker's `send` / `update`, and the one Form reply that
does not go through the outbox (`reply_form`, see adapters/base.py).

Every message is proactive: posted with a stored conversation reference, or into a new personal chat
created in the tenant for a person who has never written to the bot. Calls go through our aiohttp Bot
Connector client (connector.py). Sends are paced per conversation (Teams allows about 7 per second); 429,
412, 5xx and timeouts are `RetryLater`, a conversation that is gone (the app was removed) a
`PermanentFailure`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import PermanentFailure, RetryLater
from adapters.images import Images
from adapters.teams.cards import CONTENT_TYPE, render_form, with_images
from adapters.teams.connector import BotConnector
from flows.core.types import Card, Form
from storage import teams_conversations as store

log = logging.getLogger("tandem.teams")


class ConversationPacer:
    """At most `rate` sends per second into any one conversation: a send waits for its slot."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, conversation_id: str) -> None:
        if not self.interval:
            return
        now = self.clock()
        slot = max(now, self._next.get(conversation_id, 0.0))
        self._next[conversation_id] = slot + self.interval
        if len(self._next) > 10_000:  # forget conversations that are long idle
            self._next = {k: v for k, v in self._next.items() if v > now}
        if slot > now:
            await self.sleep(slot - now)


class TeamsOutbound:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connector: BotConnector,
        pacer: ConversationPacer,
        now: Callable[[], datetime],
        *,
        tenant_id: str | None = None,
        images: Images | None = None,
    ) -> None:
        self.sessions = sessions
        self.connector = connector
        self.pacer = pacer
        self.now = now
        self.tenant_id = tenant_id
        self.images = images
        # Where a delivery target posts, read through (SQLite serialises every transaction); dropped when a
        # conversation reference is stored or removed (Roster.on_change).
        self._targets: dict[tuple[Any, ...], tuple[dict[str, Any], str]] = {}

    def forget_targets(self) -> None:
        self._targets.clear()

    # ------------------------------------------------------------ the delivery worker

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        reference, conversation_id = await self._resolve(target)
        activity = await self._card_activity(card)
        if reference is None:
            return await self._create_personal(target, activity)
        return await self._post(reference, conversation_id, activity)

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        reference, conversation_id = await self._resolve(target)
        if reference is None:
            raise PermanentFailure("no Teams conversation to update the message in")
        activity = await self._card_activity(card)
        _address(activity, reference, conversation_id)
        activity.id = ref
        await self.pacer.wait(conversation_id)
        await self.connector.update(reference.service_url, conversation_id, ref, activity)
        return ref

    # ------------------------------------------------------------ outside the outbox

    async def reply_form(self, activity: Activity, form: Form) -> None:
        """A Form a flow opened for a legacy `Action.Submit` click (a message activity): an input card
        posted into that conversation at once, one attempt (adapters/base.py says why not the outbox). A
        failure is logged without the form, which may hold the person's answers."""
        reply = Activity(
            type=ActivityTypes.message,
            summary=form.title,
            attachments=[Attachment(content_type=CONTENT_TYPE, content=render_form(form))],
        )
        reference = TurnContext.get_conversation_reference(activity)
        conversation_id = str(activity.conversation.id)
        _address(reply, reference, conversation_id)
        try:
            await self.pacer.wait(conversation_id)
            await self.connector.send(reference.service_url, conversation_id, reply)
        except (RetryLater, PermanentFailure) as exc:
            log.warning("Teams: could not show a form in %s: %s", conversation_id, exc)

    # ------------------------------------------------------------ plumbing

    async def _card_activity(self, card: Card) -> Activity:
        """The message for a card; a stored chart, read from the database now, goes inline, as a link, or
        as a line (see with_images)."""
        if self.images is not None:
            content = with_images(card, await self.images.of_card(card), self.images.link)
        else:
            content = with_images(card, {})
        return Activity(
            type=ActivityTypes.message,
            summary=card.summary,
            attachments=[Attachment(content_type=CONTENT_TYPE, content=content)],
        )

    async def _resolve(self, target: dict[str, Any]) -> tuple[ConversationReference | None, str]:
        """The stored reference to post with, and the conversation id to post to. (None, "") for a person
        who has no personal chat with the bot yet. Remembered until a reference changes in this process
        (a conversation the app was removed from elsewhere answers 403/404: a permanent failure anyway)."""
        key = tuple(str(target.get(k) or "") for k in ("user", "private_to", "direct", "address", "thread"))
        cached = self._targets.get(key)
        if cached is not None:
            return ConversationReference().deserialize(cached[0]), cached[1]
        reference, conversation_id = await self._lookup(target)
        if reference is not None:
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[key] = (reference.serialize(), conversation_id)
        return reference, conversation_id

    async def _lookup(self, target: dict[str, Any]) -> tuple[ConversationReference | None, str]:
        person = target.get("user")
        private = target.get("private_to") if not target.get("direct") else None
        async with self.sessions() as session:
            if person or private:  # a DM; a private reply in a channel goes to the person's chat too
                user = str(person or private)
                row = None
                if target.get("address") and person:
                    row = await store.conversation(session, str(target["address"]))
                if row is None:
                    row = await store.personal_conversation(session, [user])
                if row is None:
                    return None, ""
                return ConversationReference().deserialize(row.reference), row.conversation_id
            address = str(target.get("address") or "")
            if not address:
                raise PermanentFailure(f"a Teams target needs an address or a user: {target}")
            row = await store.conversation(session, address)
            if row is not None and not row.installed:
                raise PermanentFailure(f"Tandem was removed from the Teams conversation {address}")
            if row is None:  # a channel of a team Tandem is in, never posted to yet: same tenant, same URL
                row = await store.any_conversation(session, self.tenant_id)
                if row is None or not _looks_like_channel(address):
                    raise PermanentFailure(
                        f"Tandem has not been added to the Teams team of {address} yet: "
                        "add the app to the team"
                    )
                reference = ConversationReference().deserialize(row.reference)
                reference.conversation = ConversationAccount(
                    id=address, is_group=True, conversation_type="channel", tenant_id=row.tenant_id or None
                )
            else:
                reference = ConversationReference().deserialize(row.reference)
        thread = target.get("thread")
        conversation_id = f"{address};messageid={thread}" if thread else address
        return reference, conversation_id

    async def _post(
        self, reference: ConversationReference, conversation_id: str, activity: Activity
    ) -> str | None:
        _address(activity, reference, conversation_id)
        await self.pacer.wait(conversation_id)
        return await self.connector.send(reference.service_url, conversation_id, activity)

    async def _create_personal(self, target: dict[str, Any], activity: Activity) -> str | None:
        """Open a personal chat with someone who never wrote to the bot, in their tenant, and post."""
        user = str(target.get("user") or target.get("private_to") or "")
        async with self.sessions() as session:
            member = await store.roster_member(session, [user])
            tenant = member.tenant_id if member is not None else self.tenant_id
            row = await store.any_conversation(session, tenant)
            if row is None and tenant:
                row = await store.any_conversation(session)
        if row is None:
            raise PermanentFailure(
                f"cannot reach Teams user {user}: Tandem is not installed in any of their teams yet"
            )
        known = ConversationReference().deserialize(row.reference)
        member_id = member.user_id if member is not None else user
        tenant_id = row.tenant_id or tenant or None
        parameters = ConversationParameters(
            is_group=False,
            bot=known.bot,
            members=[ChannelAccount(id=member_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}} if tenant_id else None,
        )
        # as botbuilder's create_conversation did: create the chat, then post into it (two calls)
        created = await self.connector.create_conversation(row.service_url, parameters)
        conversation_id = str(created.id)
        activity.conversation = ConversationAccount(id=conversation_id, tenant_id=tenant_id)
        activity.from_property = known.bot
        activity.recipient = ChannelAccount(id=member_id)
        activity.service_url = row.service_url
        activity.channel_id = "msteams"
        ref = await self.connector.send(row.service_url, conversation_id, activity)
        reference = ConversationReference(
            bot=known.bot,
            user=ChannelAccount(id=member_id),
            conversation=ConversationAccount(
                id=conversation_id, conversation_type="personal", tenant_id=tenant_id
            ),
            channel_id="msteams",
            service_url=row.service_url,
        )
        async with self.sessions() as session, session.begin():
            await store.save_conversation(
                session,
                conversation_id=conversation_id,
                kind="personal",
                tenant_id=tenant_id or "",
                service_url=row.service_url,
                reference=reference.serialize(),
                now=self.now(),
                user_id=member_id,
                aad_object_id=member.aad_object_id if member is not None else None,
            )
            await store.remember_dm_address(session, [user, member_id], conversation_id)
        return ref


def _looks_like_channel(address: str) -> bool:
    return address.startswith("19:")


def _address(activity: Activity, reference: ConversationReference, conversation_id: str) -> None:
    conversation = reference.conversation
    activity.conversation = ConversationAccount(
        id=conversation_id,
        is_group=conversation.is_group if conversation is not None else None,
        conversation_type=conversation.conversation_type if conversation is not None else None,
        tenant_id=conversation.tenant_id if conversation is not None else None,
    )
    activity.from_property = reference.bot
    activity.recipient = reference.user
    activity.service_url = reference.service_url
    activity.channel_id = reference.channel_id or "msteams"
    activity.reply_to_id = None

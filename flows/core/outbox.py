"""Turn a neutral Delivery into outbox rows: one per platform address it resolves to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.types import HOME_PLATFORMS, PLATFORMS, Delivery, Recipient, card_to_json
from storage import outbox, teams
from storage.teams import IdentityView


async def targets(session: AsyncSession, recipient: Recipient) -> list[tuple[str, dict[str, Any]]]:
    """(platform, target) pairs for a recipient. A person is reached once, on their first platform
    in Slack, Teams, local order; a team's channels on every platform they live on."""
    if recipient.kind == "conversation":
        if recipient.platform is None or recipient.address is None:
            raise ValueError("a conversation recipient needs a platform and an address")
        target = {
            "address": recipient.address,
            "thread": recipient.thread,
            "private_to": recipient.private_to,
            "direct": recipient.direct or None,
            "workspace": recipient.workspace,
            "reply_url": recipient.reply_url,
        }
        return [(recipient.platform, {k: v for k, v in target.items() if v is not None})]
    if recipient.kind == "team_channels":
        if recipient.team_id is None:
            raise ValueError("a team_channels recipient needs a team id")
        return [
            (c.platform, {"address": c.address, "workspace": c.workspace, "channel_id": c.id})
            for c in await teams.channels_of(session, recipient.team_id)
        ]
    if recipient.person_id is None:
        raise ValueError("a person recipient needs a person id")
    return person_targets(recipient, await teams.identities_of(session, recipient.person_id))


def person_targets(
    recipient: Recipient, identities: Sequence[IdentityView]
) -> list[tuple[str, dict[str, Any]]]:
    """A person's (or their home view's) targets among their identities."""
    if recipient.kind == "home":  # every platform the person is on: each adapter knows if it has a home
        return [
            (
                i.platform,
                {"user": i.user_id, "workspace": i.workspace, "person_id": i.person_id, "home": True},
            )
            for i in identities
            if i.platform in HOME_PLATFORMS
        ]
    for platform in PLATFORMS:
        for identity in identities:
            if identity.platform == platform:
                dm: dict[str, Any] = {
                    "user": identity.user_id,
                    "workspace": identity.workspace,
                    "person_id": identity.person_id,
                }
                if identity.dm_address:
                    dm["address"] = identity.dm_address
                return [(platform, dm)]
    return []


async def enqueue(
    session: AsyncSession, delivery: Delivery, now: datetime, not_before: datetime | None = None
) -> int:
    """Write the delivery's rows in the caller's transaction, to be sent at `not_before` at the earliest;
    the number of rows written. A replacement for a message still waiting to go out updates it instead."""
    payload = card_to_json(delivery.card)
    written = 0
    for platform, target in await targets(session, delivery.recipient):
        if delivery.replaces and await outbox.supersede_pending(
            session, delivery.replaces, platform, target.get("address"), payload
        ):
            continue
        await outbox.add(
            session,
            team_id=delivery.team_id,
            platform=platform,
            target=target,
            payload=payload,
            sensitive=delivery.sensitive,
            now=now,
            message_key=delivery.key,
            replaces_key=delivery.replaces,
            not_before=not_before,
        )
        written += 1
    return written


async def enqueue_to_people(
    session: AsyncSession, items: Sequence[tuple[Delivery, datetime | None]], now: datetime
) -> int:
    """Many private messages (each to be sent at its own time at the earliest) in two statements: every
    person's identities in one query, every row in one insert. For bursts, such as a check-in's
    invitations; replacements (`replaces`) go through `enqueue`."""
    if any(d.recipient.kind != "person" or d.replaces for d, _ in items):
        raise ValueError("enqueue_to_people takes new private messages only")
    identities = await teams.identities_of_people(
        session, sorted({d.recipient.person_id for d, _ in items if d.recipient.person_id is not None})
    )
    rows = []
    payloads: dict[int, dict[str, Any]] = {}  # one card sent to many is converted once
    for delivery, at in items:
        assert delivery.recipient.person_id is not None
        payload = payloads.get(id(delivery.card))
        if payload is None:
            payload = payloads[id(delivery.card)] = card_to_json(delivery.card)
        for platform, target in person_targets(
            delivery.recipient, identities.get(delivery.recipient.person_id, [])
        ):
            rows.append(
                {
                    "team_id": delivery.team_id,
                    "platform": platform,
                    "target": target,
                    "payload": payload,
                    "sensitive": delivery.sensitive,
                    "message_key": delivery.key,
                    "not_before": at,
                }
            )
    await outbox.add_many(session, rows, now)
    return len(rows)

"""Reminders to owners and the co-chairs' weekly digest.

The reminder pass runs on every scheduler tick (Engine.tick): it reads the open items whose
`next_remind_at` has come (an index), works out each owner's slots from the team's policy, calendar,
the owner's zone and away days (flows/actions/policy.py), and decides every slot that is due exactly
once: `action_reminders` gets the slot's row in the transaction that writes the DM to the outbox (or
records why it stayed silent), under a unique key, so a second replica or a retried tick sends nothing
twice. Reminders are private and neutral; nothing here posts to a channel.

9:00 is everyone's 9:00, so reminders are *prepared* ahead, each item at its own moment in the hour
before (`lead`), and their messages wait in the outbox until 9:00: a tick handles a few items, not a
zone's whole morning at once. A change to the item in between (done, dropped, a new date, the owner's own
update) withdraws what is waiting (storage/action_items.py `withdraw_reminders`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flows.actions import cards
from flows.actions.common import FLOW, POLICY_KEY
from flows.actions.policy import MISSED_AFTER, QUIET_AFTER_UPDATE, Policy, slots
from flows.core.catalog import words
from flows.core.engine import FlowContext
from flows.core.types import Delivery, Recipient
from storage import action_items as store
from storage import teams
from storage.action_reminders import set_next_reminds
from storage.schedules import ScheduleView
from storage.team_rules import TeamRules, rules_for

SENT, QUIET, MISSED = "sent", "quiet", "missed"
RETRY_AFTER = timedelta(hours=1)
log = logging.getLogger("tandem.actions")
PREPARE_AHEAD = timedelta(minutes=60)
SPREAD_SECONDS = 55 * 60  # items are prepared between 60 and 5 minutes before their reminders' time


def lead(item_id: int) -> timedelta:
    """How long before its reminders' time an item is prepared: its own minute in the hour before."""
    return PREPARE_AHEAD - timedelta(seconds=item_id * 7919 % SPREAD_SECONDS)


async def reminder_pass(ctx: FlowContext, limit: int) -> int:
    """Decide the due reminders of up to `limit` items; how many items were looked at."""
    items = await store.lock_due_for_reminders(ctx.session, ctx.now, limit)
    if not items:
        return 0
    decided = await store.marked_slots(ctx.session, [i.id for i in items])
    rules = await rules_for(ctx.session, [i.team_id for i in items], FLOW, POLICY_KEY)
    following: list[tuple[int, datetime | None]] = []
    for item in items:
        found = rules.get(item.team_id)
        if found is None:
            following.append((item.id, None))
            continue
        written = ctx.written
        try:
            async with ctx.session.begin_nested():
                following.append((item.id, await _remind(ctx, item, found, decided)))
        except Exception:  # one bad item must not stop everyone's reminders: look again in an hour
            ctx.written = written
            log.exception("action item %s: reminder pass failed; retrying in an hour", item.id)
            following.append((item.id, ctx.now + RETRY_AFTER))
    await set_next_reminds(ctx.session, following)
    return len(items)


async def _remind(
    ctx: FlowContext, item: store.ItemView, rules: TeamRules, decided: set[tuple[int, int, str]]
) -> datetime | None:
    """Decide the item's due slots; when it next needs deciding (None: never, unless it changes)."""
    policy = Policy.from_data(rules.policy)
    following: datetime | None = None
    ahead = lead(item.id)
    for owner in item.owners:
        zone = rules.zones.get(owner.person_id, rules.timezone)
        away = rules.away.get(owner.person_id, ())
        for slot in slots(item.due, policy, rules.calendar, zone, away):
            if slot.at <= item.created_at or (item.id, owner.person_id, slot.key) in decided:
                continue
            if slot.at - ahead > ctx.now:
                prepare_at = slot.at - ahead
                following = prepare_at if following is None else min(following, prepare_at)
                break
            if ctx.now - slot.at > MISSED_AFTER:
                status = MISSED  # the bot was down: a late reminder helps nobody
            elif owner.touched_at is not None and slot.at - owner.touched_at < QUIET_AFTER_UPDATE:
                status = QUIET  # they updated it in the last day
            else:
                status = SENT
            fresh = await store.mark_reminder(
                ctx.session, item.id, owner.person_id, slot.key, status, ctx.now
            )
            if fresh and status == SENT:
                say = words(rules.members.get(owner.person_id), rules)
                card = cards.reminder_card(item, slot.kind, rules.name, say)
                key = store.reminder_key(item.id, owner.person_id, slot.key)
                ctx.deliver_at = max(slot.at, ctx.now)  # held in the outbox until its time
                try:
                    await ctx.send(
                        Delivery(Recipient.person(owner.person_id), card, team_id=item.team_id, key=key)
                    )
                finally:
                    ctx.deliver_at = None
    return following


async def digest(ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
    """Monday's digest to every co-chair, one message each at the same instant: open, due this week,
    overdue — by item, never ranked by person."""
    team = await teams.team_by_id(ctx.session, schedule.team_id)
    if team is None:
        return
    items = await store.open_items(ctx.session, team.id)
    if not items:
        return
    today = occurrence.date()
    for member in await teams.members(ctx.session, team.id):
        if member.co_chair:
            card = cards.digest_card(team.name, items, today, words(member, team), today + timedelta(days=6))
            await ctx.send(Delivery(Recipient.person(member.person_id), card, team_id=team.id))

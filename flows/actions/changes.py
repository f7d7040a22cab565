"""Changing an item: done, dropped, reopened, a new due date or title, a note. One place for every path
(command, button, form) so each change is checked, recorded in the history, celebrated or announced the
same way. A change that would change nothing (a second Done) says so and writes nothing."""

from __future__ import annotations

from datetime import date

from flows.actions.cards import item_card
from flows.actions.common import Where, may_edit, refuse_edit
from flows.core.catalog import words
from flows.core.engine import FlowContext
from flows.core.home import refresh_homes
from flows.core.types import Card, Delivery, Recipient
from storage import action_items as store


async def change_status(
    ctx: FlowContext, where: Where, item: store.ItemView, status: str, note: str | None
) -> bool:
    """open → done / dropped (a reason required), done / dropped → open. False (after replying) when
    refused or already so."""
    say = where.say
    if not may_edit(item, where.me):
        await refuse_edit(ctx, where, item)
        return False
    if item.status == status:
        key = {
            store.DONE: "actions.already.done",
            store.DROPPED: "actions.already.dropped",
            store.OPEN: "actions.already.open",
        }[status]
        await ctx.reply(Card.plain(say(key, title=item.title)), team_id=where.team.id)
        return False
    if status == store.DROPPED and not (note or "").strip():
        await ctx.reply(Card.plain(say("actions.refuse.reason_required", id=item.id)), team_id=where.team.id)
        return False
    note = " ".join((note or "").split())[: store.TITLE_MAX] or None
    await store.set_status(ctx.session, item.id, status, by=where.me.person_id, now=ctx.now, note=note)
    changed = await store.get_item(ctx.session, item.id)
    assert changed is not None
    post = words(team=where.team)
    if status == store.DONE:  # celebrate in the team's channels
        line = post("actions.celebrate", title=item.title, owners=", ".join(item.owner_names))
        await ctx.send(
            Delivery(Recipient.team_channels(where.team.id), Card.plain(line), team_id=where.team.id)
        )
    elif status == store.DROPPED:  # dropping a promise is said out loud
        line = post("actions.dropped_announce", title=item.title, reason=note or "", name=where.me.name)
        await ctx.send(
            Delivery(Recipient.team_channels(where.team.id), Card.plain(line), team_id=where.team.id)
        )
    done_key = {
        store.DONE: "actions.changed.done",
        store.DROPPED: "actions.changed.dropped",
        store.OPEN: "actions.changed.reopened",
    }[status]
    await ctx.reply(item_card(changed, say, intro=say(done_key, title=item.title)), team_id=where.team.id)
    await refresh_homes(ctx, where.team.id)
    return True


async def change_due(ctx: FlowContext, where: Where, item: store.ItemView, due: date) -> bool:
    if not may_edit(item, where.me):
        await refuse_edit(ctx, where, item)
        return False
    if item.status != store.OPEN:
        await ctx.reply(
            Card.plain(where.say("actions.refuse.not_open", title=item.title)), team_id=where.team.id
        )
        return False
    if due == item.due:
        await ctx.reply(Card.plain(where.say("actions.unchanged", title=item.title)), team_id=where.team.id)
        return False
    await store.set_due(ctx.session, item.id, due, by=where.me.person_id, now=ctx.now)
    changed = await store.get_item(ctx.session, item.id)
    assert changed is not None
    intro = where.say("actions.changed.due", title=item.title)
    await ctx.reply(item_card(changed, where.say, intro=intro), team_id=where.team.id)
    await refresh_homes(ctx, where.team.id)
    return True

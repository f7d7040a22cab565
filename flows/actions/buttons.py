"""The buttons and forms: Done, Update, Snooze on every item card, Confirm after a meeting, the new-item
form. The item's id travels in the button's value (or the form's metadata)."""

from __future__ import annotations

from flows.actions import cards
from flows.actions.capture import CaptureError, check_due, check_title
from flows.actions.changes import change_due, change_status
from flows.actions.commands import capture, refusal
from flows.actions.common import item_here, may_edit, member_here, refuse_edit, today
from flows.core.actions import NO_LONGER_IN_USE
from flows.core.catalog import words
from flows.core.engine import FlowContext
from flows.core.home import refresh_homes
from flows.core.types import ActionEvent, Card
from storage import action_items as store
from storage import teams


class ActionsButtons:
    async def _done_button(self, ctx: FlowContext, event: ActionEvent) -> None:
        found = await item_here(ctx, event.value)
        if found is not None:
            await change_status(ctx, found[0], found[1], store.DONE, None)

    async def _update_button(self, ctx: FlowContext, event: ActionEvent) -> None:
        found = await item_here(ctx, event.value)
        if found is None:
            return
        where, item = found
        if not may_edit(item, where.me):
            await refuse_edit(ctx, where, item)
            return
        ctx.open_form(cards.update_form(item, where.say))

    async def _snooze_button(self, ctx: FlowContext, event: ActionEvent) -> None:
        found = await item_here(ctx, event.value)
        if found is None:
            return
        where, item = found
        if not may_edit(item, where.me):
            await refuse_edit(ctx, where, item)
            return
        if item.status != store.OPEN:
            await ctx.reply(
                Card.plain(where.say("actions.refuse.not_open", title=item.title)), team_id=item.team_id
            )
            return
        ctx.open_form(cards.snooze_form(item, where.say))

    async def _snooze_submit(self, ctx: FlowContext, event: ActionEvent) -> None:
        found = await item_here(ctx, event.metadata)
        if found is None:
            return
        where, item = found
        try:
            due = check_due(event.values.get("due", ""), today(ctx, where.team))
        except CaptureError as exc:
            await ctx.reply(Card.plain(where.say(exc.key, **exc.values)), team_id=item.team_id)
            return
        await change_due(ctx, where, item, due)

    async def _update_submit(self, ctx: FlowContext, event: ActionEvent) -> None:
        """Title, due date, status and a note at once: checked first, then each change recorded."""
        found = await item_here(ctx, event.metadata)
        if found is None:
            return
        where, item = found
        if not may_edit(item, where.me):
            await refuse_edit(ctx, where, item)
            return
        values = event.values
        status = values.get("status") or item.status
        note = " ".join((values.get("note") or "").split())
        try:
            title = check_title(values.get("title") or item.title)
            due = item.due
            if (values.get("due") or "").strip() not in ("", item.due.isoformat()):
                due = check_due(values["due"], today(ctx, where.team))
        except CaptureError as exc:
            await ctx.reply(Card.plain(where.say(exc.key, **exc.values)), team_id=item.team_id)
            return
        if status not in (store.OPEN, store.DONE, store.DROPPED):
            await ctx.reply(Card.plain(where.say(NO_LONGER_IN_USE)), team_id=item.team_id)
            return
        if status == store.DROPPED and item.status != store.DROPPED and not note:
            await ctx.reply(
                Card.plain(where.say("actions.refuse.reason_required", id=item.id)), team_id=item.team_id
            )
            return
        changed = False
        if title != item.title:
            await store.set_title(ctx.session, item.id, title, by=where.me.person_id, now=ctx.now)
            changed = True
        if due != item.due and item.status == store.OPEN:
            await store.set_due(ctx.session, item.id, due, by=where.me.person_id, now=ctx.now)
            changed = True
        if status != item.status:
            fresh = await store.get_item(ctx.session, item.id)
            assert fresh is not None
            await change_status(ctx, where, fresh, status, note or None)
            return
        if note:
            await store.add_note(ctx.session, item.id, note, by=where.me.person_id, now=ctx.now)
            changed = True
        fresh = await store.get_item(ctx.session, item.id)
        assert fresh is not None
        key = "actions.changed.updated" if changed else "actions.unchanged"
        await ctx.reply(
            cards.item_card(fresh, where.say, intro=where.say(key, title=item.title)), team_id=item.team_id
        )
        if changed:
            await refresh_homes(ctx, item.team_id)

    async def _confirm_button(self, ctx: FlowContext, event: ActionEvent) -> None:
        found = await item_here(ctx, event.value)
        if found is None:
            return
        where, item = found
        if where.me.person_id not in item.owner_ids:
            line = where.say(
                "actions.confirm.not_owner", title=item.title, owners=", ".join(item.owner_names)
            )
            await ctx.reply(Card.plain(line), team_id=item.team_id)
            return
        if not await store.confirm(ctx.session, item.id, where.me.person_id, ctx.now):
            await ctx.reply(
                Card.plain(where.say("actions.confirm.already", title=item.title)), team_id=item.team_id
            )
            return
        await ctx.reply(
            Card.plain(where.say("actions.confirm.thanks", title=item.title)), team_id=item.team_id
        )

    async def _new_submit(self, ctx: FlowContext, event: ActionEvent) -> None:
        """The new-item form: owners picked from the team (choices), checked again here."""
        team = await teams.team_by_id(ctx.session, int(event.metadata)) if event.metadata.isdigit() else None
        if team is None:
            await ctx.reply(Card.plain(words(ctx.person)(NO_LONGER_IN_USE)))
            return
        where = await member_here(ctx, team)
        if where is None:
            return
        values = event.values
        on_team = {m.person_id: m for m in where.members}
        owners: list[int] = []
        for field in cards.OWNER_FIELDS:
            raw = (values.get(field) or "").strip()
            if not raw:
                continue
            if not raw.isdigit() or int(raw) not in on_team:
                why = CaptureError("actions.refuse.not_on_team", name=raw[:40], team=team.name)
                await ctx.reply(Card.plain(refusal(where.say, why, ctx.command_prefix)), team_id=team.id)
                return
            if int(raw) not in owners:
                owners.append(int(raw))
        try:
            title = check_title(values.get("title") or "")
            due = check_due(values.get("due") or "", today(ctx, team))
        except CaptureError as exc:
            await ctx.reply(Card.plain(refusal(where.say, exc, ctx.command_prefix)), team_id=team.id)
            return
        await capture(ctx, where, title, owners or [where.me.person_id], due)

"""The commands: `action` (capture one promise, or open the form), `actions` (the team's list, `mine`,
`stats`, `done`, `drop`, `reopen`, `history`, `policy`) and `wrapup` (before the meeting ends)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from flows.actions import cards
from flows.actions.capture import CaptureError, parse_capture
from flows.actions.changes import change_status
from flows.actions.common import (
    FLOW,
    POLICY_KEY,
    Where,
    ensure_digest,
    meeting_in_progress,
    member_here,
    policy_of,
    today,
)
from flows.actions.policy import Policy
from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_time
from flows.core.home import refresh_homes
from flows.core.mentions import display, person_of
from flows.core.recurrence import utc_to_local, zone
from flows.core.types import Actor, Card, CommandEvent, Delivery, Recipient
from storage import action_items as store
from storage import roles as role_store

POLICY_WORDS = {
    "before": "before_days",
    "at": "at",
    "overdue": "overdue_every_days",
    "max": "max_overdue",
}


def refusal(say: Words, exc: CaptureError, prefix: str) -> str:
    return say(
        "actions.refused", why=say(exc.key, **exc.values), example=say("actions.example", prefix=prefix)
    )


async def resolve_owners(ctx: FlowContext, where: Where, actors: Sequence[Actor]) -> list[int] | None:
    """Person ids of the people mentioned, each on the team; None after naming who is not."""
    on_team = {m.person_id for m in where.members}
    owners: list[int] = []
    for actor in actors:
        person = await person_of(ctx.session, actor)
        if person is None or person.id not in on_team:
            name = person.display_name if person is not None else display(actor)
            why = CaptureError("actions.refuse.not_on_team", name=name, team=where.team.name)
            await ctx.reply(Card.plain(refusal(where.say, why, ctx.command_prefix)), team_id=where.team.id)
            return None
        if person.id not in owners:
            owners.append(person.id)
    return owners or [where.me.person_id]


async def capture(
    ctx: FlowContext, where: Where, title: str, owners: Sequence[int], due: date
) -> store.ItemView:
    """Store a new item (linked to the meeting in progress, if one is), tell the speaker, and tell each
    other owner why they got a message."""
    team = where.team
    meeting = await meeting_in_progress(ctx, team)
    item_id = await store.create_item(
        ctx.session,
        team_id=team.id,
        title=title,
        due=due,
        owners=owners,
        by=where.me.person_id,
        now=ctx.now,
        meeting_local=meeting[0] if meeting else None,
    )
    await ensure_digest(ctx, team)
    item = await store.get_item(ctx.session, item_id)
    assert item is not None
    await ctx.reply(
        cards.item_card(item, where.say, intro=where.say("actions.captured", id=item.id)), team_id=team.id
    )
    for member in where.members:
        if member.person_id in owners and member.person_id != where.me.person_id:
            say = words(member, team)
            intro = say("actions.named_owner", name=where.me.name, team=team.name)
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    cards.item_card(item, say, intro=intro),
                    team_id=team.id,
                )
            )
    await refresh_homes(ctx, team.id)
    return item


class ActionsCommands:
    # ------------------------------------------------------------ `action`

    async def _action(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        where = await member_here(ctx)
        if where is None:
            return
        if not rest.strip():
            ctx.open_form(cards.new_form(where.team.id, where.members, where.me.person_id, where.say))
            return
        try:
            wanted = parse_capture(rest, event.mentions, today(ctx, where.team))
        except CaptureError as exc:
            await ctx.reply(Card.plain(refusal(where.say, exc, ctx.command_prefix)), team_id=where.team.id)
            return
        owners = await resolve_owners(ctx, where, wanted.owners)
        if owners is None:
            return
        await capture(ctx, where, wanted.title, owners, wanted.due)

    # ------------------------------------------------------------ `actions`

    async def _actions(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        where = await member_here(ctx)
        if where is None:
            return
        verb, _, args = rest.strip().partition(" ")
        handlers = {
            "": self._list,
            "list": self._list,
            "mine": self._mine,
            "stats": self._stats,
            "done": self._done,
            "drop": self._drop,
            "reopen": self._reopen,
            "history": self._history,
            "policy": self._policy,
        }
        handler = handlers.get(verb.lower())
        if handler is None:
            verbs = ", ".join(v for v in handlers if v)
            line = where.say("actions.not_a_verb", verb=verb, verbs=verbs, prefix=ctx.command_prefix)
            await ctx.reply(Card.plain(line), team_id=where.team.id)
            return
        await handler(ctx, where, args.strip())

    async def _list(self, ctx: FlowContext, where: Where, args: str) -> None:
        items = await store.open_items(ctx.session, where.team.id)
        private = ctx.conversation is not None and ctx.conversation.is_direct
        card = cards.list_card(
            where.say("actions.list.title", team=where.team.name),
            items,
            today(ctx, where.team),
            where.say,
            name_overdue=private,
            empty=where.say("actions.list.empty", prefix=ctx.command_prefix),
        )
        await ctx.reply(card, team_id=where.team.id)

    async def _mine(self, ctx: FlowContext, where: Where, args: str) -> None:
        items = await store.open_for_person(ctx.session, where.team.id, where.me.person_id)
        card = cards.list_card(
            where.say("actions.list.mine", team=where.team.name),
            items,
            today(ctx, where.team),
            where.say,
            name_overdue=True,  # only the speaker's own items
            empty=where.say("actions.list.mine_empty"),
        )
        await ctx.reply(card, team_id=where.team.id)

    async def _stats(self, ctx: FlowContext, where: Where, args: str) -> None:
        now = today(ctx, where.team)
        current = await store.follow_through(ctx.session, where.team.id, now, where.team.timezone)
        previous = await store.follow_through(
            ctx.session, where.team.id, current.first - timedelta(days=1), where.team.timezone
        )
        lines = [where.say("actions.stats.title", team=where.team.name)]
        for label, rate in (
            ("actions.stats.this_quarter", current),
            ("actions.stats.last_quarter", previous),
        ):
            line = where.say(
                label,
                first=cards.day(rate.first),
                last=cards.day(rate.last),
                met=rate.met,
                due=rate.due,
                late=rate.late,
                dropped=rate.dropped,
            )
            if rate.upcoming:
                line += " " + where.say("actions.stats.upcoming", n=rate.upcoming)
            lines.append(line)
        lines.append(where.say("actions.stats.how"))
        await ctx.reply(Card.plain("\n".join(lines)), team_id=where.team.id)

    async def _by_id(
        self, ctx: FlowContext, where: Where, args: str, usage: str
    ) -> tuple[store.ItemView, str] | None:
        word, _, note = args.partition(" ")
        item = (
            await store.get_item(ctx.session, int(word.lstrip("#")), lock=True)
            if word.lstrip("#").isdigit()
            else None
        )
        if item is None or item.team_id != where.team.id:
            await ctx.reply(Card.plain(where.say(usage, prefix=ctx.command_prefix)), team_id=where.team.id)
            return None
        return item, note.strip()

    async def _done(self, ctx: FlowContext, where: Where, args: str) -> None:
        found = await self._by_id(ctx, where, args, "actions.usage.done")
        if found is not None:
            await change_status(ctx, where, found[0], store.DONE, found[1])

    async def _drop(self, ctx: FlowContext, where: Where, args: str) -> None:
        found = await self._by_id(ctx, where, args, "actions.usage.drop")
        if found is not None:
            await change_status(ctx, where, found[0], store.DROPPED, found[1])

    async def _reopen(self, ctx: FlowContext, where: Where, args: str) -> None:
        found = await self._by_id(ctx, where, args, "actions.usage.reopen")
        if found is not None:
            await change_status(ctx, where, found[0], store.OPEN, None)

    async def _history(self, ctx: FlowContext, where: Where, args: str) -> None:
        found = await self._by_id(ctx, where, args, "actions.usage.history")
        if found is None:
            return
        item = found[0]
        tz = zone(where.team.timezone)
        lines = [where.say("actions.history.title", id=item.id, title=item.title)]
        for entry in await store.history(ctx.session, [item.id]):
            when = meeting_time(utc_to_local(entry.at, tz), where.team.timezone)
            detail = ", ".join(f"{k}: {v}" for k, v in entry.detail.items())
            lines.append(
                where.say(
                    "actions.history.line", when=when, who=entry.who or "—", what=entry.what, detail=detail
                )
            )
        await ctx.reply(Card.plain("\n".join(lines)), team_id=where.team.id)

    async def _policy(self, ctx: FlowContext, where: Where, args: str) -> None:
        """`actions policy` shows the reminder policy; a co-chair changes it: `actions policy before 2 at
        9:00 overdue 7 max 4` (any of the four, in any order; 0 turns that reminder off)."""
        policy = await policy_of(ctx, where.team.id)
        if args:
            if not where.me.co_chair:
                chairs = ", ".join(m.name for m in where.members if m.co_chair)
                await ctx.reply(
                    Card.plain(where.say("actions.policy.co_chairs", chairs=chairs)), team_id=where.team.id
                )
                return
            changed = _read_policy(args, policy)
            if changed is None:
                await ctx.reply(
                    Card.plain(where.say("actions.policy.usage", prefix=ctx.command_prefix)),
                    team_id=where.team.id,
                )
                return
            policy = changed
            await ctx.save_state(FLOW, where.team.id, POLICY_KEY, policy.to_data())
            await store.recheck_team(ctx.session, where.team.id, ctx.now)
            await ctx.audit(where.team.id, "actions.policy", policy.to_data())
        line = where.say(
            "actions.policy.current",
            before=policy.before_days,
            at=f"{policy.at_hour}:{policy.at_minute:02d}",
            every=policy.overdue_every_days,
            max=policy.max_overdue,
            prefix=ctx.command_prefix,
        )
        await ctx.reply(Card.plain(line), team_id=where.team.id)

    # ------------------------------------------------------------ `wrapup`

    async def _wrapup(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        where = await member_here(ctx)
        if where is None:
            return
        meeting = await meeting_in_progress(ctx, where.team)
        if meeting is None:
            await ctx.reply(Card.plain(where.say("actions.wrapup.no_meeting")), team_id=where.team.id)
            return
        key, start = meeting
        roles = await role_store.for_meeting(ctx.session, where.team.id, key)
        facilitators = {r.person_id for r in roles if r.role == "facilitator" and not r.passed}
        if not (where.me.co_chair or where.me.person_id in facilitators):
            await ctx.reply(Card.plain(where.say("actions.wrapup.who")), team_id=where.team.id)
            return
        items = await store.created_since(ctx.session, where.team.id, start)
        post = words(team=where.team)
        if not items:
            await ctx.reply(
                Card.plain(where.say("actions.wrapup.none", prefix=ctx.command_prefix)), team_id=where.team.id
            )
            return
        await ctx.send(
            Delivery(
                Recipient.team_channels(where.team.id), cards.wrapup_card(items, post), team_id=where.team.id
            )
        )
        local = utc_to_local(start, zone(where.team.timezone))
        when = meeting_time(local, where.team.timezone)
        await ctx.reply(
            Card.plain(where.say("actions.wrapup.posted", count=len(items), when=when)), team_id=where.team.id
        )


def _read_policy(args: str, policy: Policy) -> Policy | None:
    data = policy.to_data()
    parts = args.lower().split()
    if len(parts) % 2:
        return None
    for word, value in zip(parts[::2], parts[1::2], strict=True):
        field = POLICY_WORDS.get(word)
        if field is None:
            return None
        if field == "at":
            hour, _, minute = value.partition(":")
            if not (hour.isdigit() and (minute or "0").isdigit()):
                return None
            h, m = int(hour), int(minute or 0)
            if not (0 <= h < 24 and 0 <= m < 60):
                return None
            data.update(at_hour=h, at_minute=m)
            continue
        if not value.isdigit() or int(value) > 60:
            return None
        data[field] = int(value)
    return Policy.from_data(data)


__all__ = ["ActionsCommands", "capture", "resolve_owners"]

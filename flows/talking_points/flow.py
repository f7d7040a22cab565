"""The talking-points flow as the engine sees it: the `points`, `decide` and `decisions` commands, the
approval card's buttons, the forms. What each does lives in drafts.py, approval.py and decisions.py."""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.recurrence import zone
from flows.core.types import Card, CommandEvent, Context, Element, Header, Text
from flows.talking_points import approval, cards, decisions, drafts
from flows.talking_points.approval import refuse
from flows.talking_points.people import Here, here
from storage import audit
from storage import talking_points as store

__all__ = ["TalkingPointsFlow"]

AUDITED = ("points.", "decision.")
AUDIT_SHOWN = 40


class TalkingPointsFlow:
    name = "talking_points"

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "points",
                "points draft · edit · attach N · withdraw · correct · history · union … · management …",
                "points.command",
                self._points,
            ),
            Command("decide", "decide", "decision.command", self._decide),
            Command(
                "decisions",
                "decisions · decisions N · decisions reopen N <new information>",
                "decision.list_command",
                self._decisions,
            ),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {
            cards.APPROVE: approval.approve,
            cards.CHANGES: approval.request_changes_form,
            cards.CHANGES_SUBMIT: approval.request_changes,
            cards.EDIT: drafts.edit_button,
            cards.WITHDRAW: drafts.withdraw_button,
            cards.SUBMIT: drafts.submit,
            cards.DECIDE_SUBMIT: decisions.submit,
            cards.REOPEN_VOTE: decisions.vote,
        }

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _points(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        who = await here(ctx)
        if who is None:
            return
        verb, _, args = rest.strip().partition(" ")
        verb = verb.lower() or "status"
        if verb == "draft":
            await drafts.draft(ctx, who, args)
        elif verb == "edit":
            await drafts.edit_form(ctx, who)
        elif verb == "attach":
            await drafts.attach(ctx, who, args)
        elif verb == "withdraw":
            await drafts.withdraw_command(ctx, who)
        elif verb == "correct":
            await drafts.correct_form(ctx, who)
        elif verb == "history":
            await ctx.reply(
                cards.history_card(await store.published(ctx.session, who.team.id), who.say),
                team_id=who.team.id,
            )
        elif verb in ("union", "labor"):
            await drafts.one_side(ctx, who, "labor", args)
        elif verb == "management":
            await drafts.one_side(ctx, who, "management", args)
        elif verb == "audit":
            await self._audit(ctx, who)
        elif verb == "status":
            await drafts.status(ctx, who)
        else:
            await refuse(ctx, who, "points.not_a_verb", verb=verb, prefix=ctx.command_prefix)

    async def _audit(self, ctx: FlowContext, who: Here) -> None:
        """Co-chairs see who drafted, edited, approved, withdrew, published and corrected, and when."""
        if not who.me.co_chair:
            await refuse(ctx, who, "points.audit.who", chairs=who.chair_names())
            return
        entries = [e for e in await audit.entries(ctx.session, who.team.id) if e.action.startswith(AUDITED)]
        if not entries:
            await refuse(ctx, who, "points.audit.none")
            return
        names = {m.person_id: m.name for m in who.members}
        tz = zone(who.team.timezone)
        lines = []
        for entry in entries[-AUDIT_SHOWN:]:
            at = entry.at.astimezone(tz)
            name = names.get(entry.actor_person_id or 0, who.say("points.someone"))
            what = entry.detail.get("set") or entry.detail.get("decision") or ""
            lines.append(f"{at:%Y-%m-%d %H:%M %Z} · {name} · {entry.action} {what}".rstrip())
        elements: list[Element] = [Header(who.say("points.audit.title")), Text("\n".join(lines))]
        elements.append(Context(who.say("points.audit.export", team=who.team.name)))
        await ctx.reply(
            Card(summary=who.say("points.audit.title"), elements=tuple(elements)), team_id=who.team.id
        )

    async def _decide(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        who = await here(ctx)
        if who is not None:
            await decisions.decide(ctx, who)

    async def _decisions(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        who = await here(ctx)
        if who is not None:
            await decisions.command(ctx, who, rest)

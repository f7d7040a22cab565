"""Norms and roles before each meeting (CA LMI Resource Guidebook 001:L2946-2965, L4449-4452, L4477-4480).

A configurable time before each meeting the team's channels get: the adopted norms (compact), one norm of
focus rotating meeting by meeting, this meeting's facilitator, note-taker and timekeeper rotating fairly,
and an opening check-in prompt. A member can pass their role; it goes to the next person, and is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from flows.content import checkin_prompts, meeting_roles, roles_why, team_norms
from flows.core.actions import NO_LONGER_IN_USE, ActionHandler
from flows.core.catalog import Words, words
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.formatting import meeting_day, meeting_time
from flows.core.home import refresh_homes
from flows.core.recurrence import from_key, local_to_utc, to_key, zone
from flows.core.team_schedules import MEETING_KIND, NO_MEETING, PASS_WINDOW_AFTER_START
from flows.core.types import (
    ActionEvent,
    Button,
    Buttons,
    Card,
    CommandEvent,
    Context,
    Delivery,
    Fields,
    Header,
    Recipient,
    Text,
)
from flows.meetings.rotation import PastAssignment, assign_roles, next_after_pass
from storage import action_items, schedules, teams
from storage import roles as role_store
from storage.roles import RoleView
from storage.schedules import ScheduleView
from storage.teams import TeamView

FLOW = "norms"
PASS_ACTION = "norms.pass"


def _label(role_id: str) -> str:
    return next((r.label for r in meeting_roles() if r.id == role_id), role_id)


def _history(rows: Sequence[RoleView]) -> list[PastAssignment]:
    return [PastAssignment(r.role, r.person_id, r.passed) for r in rows]


class NormsFlow:
    name = FLOW

    def commands(self) -> Sequence[Command]:
        return (
            Command("norms", "norms", "norms.command", self._norms),
            Command(
                "roles",
                "roles",
                "roles.command",
                self._roles,
            ),
            Command(
                "pass",
                "pass",
                "pass.command",
                self._pass_command,
            ),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {PASS_ACTION: self._pass_button}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {MEETING_KIND: self.remind}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    # ------------------------------------------------------------ the reminder

    async def remind(self, ctx: FlowContext, schedule: ScheduleView, occurrence: datetime) -> None:
        team = await teams.team_by_id(ctx.session, schedule.team_id)
        if team is None:
            return
        key = to_key(occurrence)
        members = await teams.members(ctx.session, team.id)
        member_ids = [m.person_id for m in members]
        names = {m.person_id: m.name for m in members}
        history = _history(await role_store.history(ctx.session, team.id))
        roles = [r.id for r in meeting_roles()]
        assignment = assign_roles(roles, member_ids, history)
        for role, person_id in assignment.items():
            await role_store.assign(ctx.session, team.id, key, role, person_id, ctx.now)

        state = await ctx.load_state(FLOW, team.id, "rotation")
        number = int(state.get("meetings", 0))
        lead = int((schedule.settings or {}).get("lead_minutes", 0))
        await ctx.save_state(FLOW, team.id, "rotation", {"meetings": number + 1, "last": key})
        await ctx.save_state(FLOW, team.id, f"meeting:{key}", {"number": number, "lead": lead})
        holders = [(r, names[p]) for r, p in assignment.items()]
        card = _reminder_card(team, occurrence, number, lead, holders, words(team=team))
        card = await _with_promises_due(ctx, team, occurrence, card)
        await ctx.send(
            Delivery(Recipient.team_channels(team.id), card, team_id=team.id, key=_card_key(team.id, key))
        )
        await refresh_homes(ctx, team.id)

    # ------------------------------------------------------------ passing a role

    async def _pass_button(self, ctx: FlowContext, event: ActionEvent) -> None:
        """The card's "Pass my role" (the meeting in the button's value)."""
        if not event.value:
            await ctx.reply(Card.plain(words(ctx.person)(NO_LONGER_IN_USE)))
            return
        team, why = await ctx.team_here()
        if team is None:
            await ctx.reply(Card.plain(why or ""))
            return
        await self._pass(ctx, team, event.value)

    async def _pass_command(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None:
            await ctx.reply(Card.plain(why or ""))
            return
        key = await self._current_meeting(ctx, team)
        if key is None:
            say = words(ctx.person, team)
            meeting = await self._next_meeting_text(ctx, team, say)
            await ctx.reply(Card.plain(say("pass.nothing_yet", meeting=meeting)))
            return
        await self._pass(ctx, team, key)

    async def _pass(self, ctx: FlowContext, team: TeamView, key: str) -> None:
        say = words(ctx.person, team)  # replies: the speaker's language; channel posts: the team's (`post`)
        post = words(team=team)
        if ctx.person is None:
            await ctx.reply(Card.plain(say("core.unknown_person")))
            return
        try:
            occurrence = from_key(key)
        except ValueError:
            await ctx.reply(Card.plain(say(NO_LONGER_IN_USE)))
            return
        if local_to_utc(occurrence, zone(team.timezone)) + PASS_WINDOW_AFTER_START < ctx.now:
            await ctx.reply(Card.plain(say("pass.meeting_over", day=meeting_day(occurrence))))
            return
        rows = await role_store.for_meeting(ctx.session, team.id, key)
        mine = [r for r in rows if r.person_id == ctx.person.id and not r.passed]
        if not mine:
            await ctx.reply(Card.plain(say("pass.no_role", day=meeting_day(occurrence))))
            return
        members = await teams.members(ctx.session, team.id)
        member_ids = [m.person_id for m in members]
        names = {m.person_id: m.name for m in members}
        earlier = await role_store.history(ctx.session, team.id)
        await role_store.mark_passed(ctx.session, [r.id for r in mine])
        passing = {r.id for r in mine}
        rows = [replace(r, passed=True) if r.id in passing else r for r in rows]
        history = _history([replace(r, passed=True) if r.id in passing else r for r in earlier])
        changes = []
        for row in mine:
            passed_by = [r.person_id for r in rows if r.role == row.role and r.passed]
            busy = [r.person_id for r in rows if not r.passed and r.role != row.role]
            successor = next_after_pass(row.role, member_ids, history, passed_by, busy)
            me, role = names[ctx.person.id], _label(row.role).lower()
            if successor is None:
                changes.append(post("pass.nobody_free", name=me, role=role))
                continue
            rows.append(await role_store.assign(ctx.session, team.id, key, row.role, successor, ctx.now))
            changes.append(post("pass.taken_by", name=me, role=role, successor=names[successor]))
        await ctx.audit(team.id, "roles.passed", {"meeting": key, "roles": [r.role for r in mine]})
        await refresh_homes(ctx, team.id)
        meeting = await ctx.load_state(FLOW, team.id, f"meeting:{key}")
        if meeting:  # the reminder card itself now shows who holds what
            order = [r.id for r in meeting_roles()]
            current = sorted(
                (r for r in rows if not r.passed and r.person_id in names), key=lambda r: order.index(r.role)
            )
            holders = [(r.role, names[r.person_id]) for r in current]
            card = _reminder_card(
                team, occurrence, int(meeting["number"]), int(meeting["lead"]), holders, post
            )
            card = await _with_promises_due(ctx, team, occurrence, card)
            card_key = _card_key(team.id, key)
            await ctx.send(
                Delivery(
                    Recipient.team_channels(team.id), card, team_id=team.id, key=card_key, replaces=card_key
                )
            )
        await ctx.send(
            Delivery(
                Recipient.team_channels(team.id),
                Card(
                    summary=post("pass.update_summary", day=meeting_day(occurrence)),
                    elements=(
                        Text(
                            post(
                                "pass.update",
                                day=meeting_day(occurrence),
                                changes=post("pass.update_joined").join(changes),
                            )
                        ),
                    ),
                ),
                team_id=team.id,
            )
        )
        await ctx.reply(Card.plain(say("pass.done")), team_id=team.id)

    async def _current_meeting(self, ctx: FlowContext, team: TeamView) -> str | None:
        """The latest meeting with roles announced that has not ended its pass window."""
        state = await ctx.load_state(FLOW, team.id, "rotation")
        key = state.get("last")
        if not key:
            return None
        if local_to_utc(from_key(str(key)), zone(team.timezone)) + PASS_WINDOW_AFTER_START < ctx.now:
            return None
        return str(key)

    async def _next_meeting_text(self, ctx: FlowContext, team: TeamView, say: Words) -> str:
        meeting = await schedules.for_team(ctx.session, team.id, MEETING_KIND)
        if meeting and meeting[0].next_occurrence_local:
            when = meeting_time(from_key(meeting[0].next_occurrence_local), team.timezone)
            return say("meeting.next", when=when)
        return say("meeting.next_none", none=say(NO_MEETING))

    # ------------------------------------------------------------ showing norms and roles

    async def _norms(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None:
            await ctx.reply(Card.plain(why or ""))
            return
        say = words(ctx.person, team)
        pack = team_norms(team)
        lines = [
            say("norms.line_text", number=i, title=n.title, text=n.text)
            if n.text
            else say("norms.line", number=i, title=n.title)
            for i, n in enumerate(pack.norms, 1)
        ]
        elements: list[Header | Text | Context] = [Header(pack.name), Text("\n".join(lines))]
        if pack.attribution:
            elements.append(Context(pack.attribution))
        await ctx.reply(Card(summary=pack.name, elements=tuple(elements)), team_id=team.id)

    async def _roles(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None:
            await ctx.reply(Card.plain(why or ""))
            return
        say = words(ctx.person, team)
        key = await self._current_meeting(ctx, team)
        if key is None:
            meeting = await self._next_meeting_text(ctx, team, say)
            await ctx.reply(Card.plain(say("roles.announced_before", meeting=meeting)), team_id=team.id)
            return
        rows = [r for r in await role_store.for_meeting(ctx.session, team.id, key) if not r.passed]
        names = {m.person_id: m.name for m in await teams.members(ctx.session, team.id)}
        card = Card(
            summary=say("roles.summary", day=meeting_day(from_key(key))),
            elements=(
                Header(say("roles.header", when=meeting_time(from_key(key), team.timezone))),
                Fields(tuple((_label(r.role), names.get(r.person_id, "—")) for r in rows)),
            ),
        )
        await ctx.reply(card, team_id=team.id)


async def _with_promises_due(ctx: FlowContext, team: TeamView, occurrence: datetime, card: Card) -> Card:
    """The reminder lists the open promises due by the meeting's day, by item (no owners: a channel)."""
    due = await action_items.due_by(ctx.session, team.id, occurrence.date())
    if not due:
        return card
    items = "; ".join(
        f"#{i.id} {i.title} ({meeting_day(datetime.combine(i.due, datetime.min.time()))})" for i in due
    )
    line = Text(words(team=team)("actions.meeting.due", items=items))
    return Card(summary=card.summary, elements=(*card.elements[:4], line, *card.elements[4:]))


def _card_key(team_id: int, meeting_key: str) -> str:
    return f"norms:{team_id}:{meeting_key}"


def _reminder_card(
    team: TeamView, occurrence: datetime, number: int, lead: int, holders: list[tuple[str, str]], say: Words
) -> Card:
    """The message before a meeting (a channel post: `say` in the team's language); `number` (the team's
    meeting count) picks the focus and the prompt."""
    pack = team_norms(team)
    focus = pack.norms[number % len(pack.norms)]
    prompts = checkin_prompts()
    prompt = prompts[number % len(prompts)]
    when = meeting_time(occurrence, team.timezone)
    opening = (
        say("reminder.opening_lead", team=team.name, lead=lead)
        if lead
        else say("reminder.opening_now", team=team.name)
    )
    focus_text = (
        say("reminder.focus_text", title=focus.title, text=focus.text)
        if focus.text
        else say("reminder.focus", title=focus.title)
    )
    return Card(
        summary=say("reminder.summary", opening=opening, when=when),
        elements=(
            Header(say("reminder.header", opening=opening, when=when)),
            Text(focus_text),
            Fields(tuple((_label(role), name) for role, name in holders)),
            Text(say("reminder.checkin", prompt=prompt)),
            Context(say("reminder.our_norms", norms=" · ".join(n.title for n in pack.norms))),
            Buttons((Button(say("reminder.pass_button"), PASS_ACTION, to_key(occurrence)),)),
            Context(roles_why()),
            *(
                (Context(say("reminder.attribution", pack=pack.name, attribution=pack.attribution)),)
                if pack.attribution
                else ()
            ),
        ),
    )

"""Welcome: what Tandem says when it arrives somewhere, and to a person who joins one of a team's channels.

Nobody should meet a bot that does not say what it is and who runs it. When Tandem is added to a channel
it says so there: what it does, whose channel this is and who the co-chairs are, or how a co-chair
connects the channel to a team. Added to a person's own chat, it says the same to them. A person who joins
a team's channel gets a private note (Slack: visible only to them; Teams: in their chat with Tandem).
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.actions import ActionHandler
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.types import Card, Delivery, InstalledEvent, MemberJoinedEvent, Recipient
from storage import teams
from storage.models import Team

WHAT = (
    "I help a labor–management team keep its norms, roles and promises visible: meeting reminders with the "
    "team's norms and who holds which role, anonymous trust polls whose results everyone gets at once."
)


async def _run_by(ctx: FlowContext, team: Team) -> str:
    chairs = [m for m in await teams.members(ctx.session, team.id) if m.co_chair]
    names = " and ".join(f"{m.name} ({m.side})" for m in chairs)
    return f"{team.name} runs me; its co-chairs are {names}." if chairs else f"{team.name} runs me."


class WelcomeFlow:
    name = "welcome"

    def commands(self) -> Sequence[Command]:
        return ()

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return (self._arrived,)

    async def _arrived(self, ctx: FlowContext, event: InstalledEvent | MemberJoinedEvent) -> None:
        conversation = event.conversation
        prefix = ctx.command_prefix
        help_line = f"Type `{prefix}help` to see what I can do."
        if conversation.is_direct:
            if not isinstance(event, InstalledEvent):
                return
            mine = await teams.teams_of_person(ctx.session, ctx.person.id) if ctx.person is not None else []
            if mine:
                runs = " ".join([await _run_by(ctx, team) for team in mine])
                text = f"Hi, I'm Tandem. {WHAT} {runs} {help_line}"
            else:
                text = (
                    f"Hi, I'm Tandem. {WHAT} You're not on a team yet: ask a co-chair to add you. {help_line}"
                )
            await ctx.reply(Card.plain(text))
            return
        team = await teams.team_of_channel(ctx.session, conversation.platform, conversation.conversation_id)
        if isinstance(event, MemberJoinedEvent):
            if team is None:
                return  # a channel Tandem is in but no team posts to: nothing to say to a newcomer
            text = (
                f"Welcome to {team.name}'s channel. I'm Tandem. {WHAT} {await _run_by(ctx, team)} {help_line}"
            )
            await ctx.reply(Card.plain(text), team_id=team.id)  # only the newcomer sees it
            return
        if team is None:
            text = (
                f"Hi, I'm Tandem. {WHAT} This channel isn't connected to a team yet: a co-chair connects it "
                f"with `{prefix}setup`. {help_line}"
            )
            await ctx.send(Delivery(Recipient.reply_to(conversation), Card.plain(text)))
            return
        text = f"Hi, I'm Tandem. {WHAT} {await _run_by(ctx, team)} {help_line}"
        await ctx.send(Delivery(Recipient.reply_to(conversation), Card.plain(text), team_id=team.id))

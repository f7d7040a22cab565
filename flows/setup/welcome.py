"""Welcome: what Tandem says when it arrives somewhere, and to a person who joins one of a team's channels.

Nobody should meet a bot that does not say what it is and who runs it. When Tandem is added to a channel
it says so there: what it does, whose channel this is and who the co-chairs are, or how a co-chair
connects the channel to a team. Added to a person's own chat, it says the same to them. A person who joins
a team's channel gets a private note (Slack: visible only to them; Teams: in their chat with Tandem).
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.actions import ActionHandler
from flows.core.catalog import Words, words
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.types import Card, Delivery, InstalledEvent, MemberJoinedEvent, Recipient
from storage import teams
from storage.teams import TeamView


async def _run_by(ctx: FlowContext, team: TeamView, say: Words) -> str:
    chairs = [m for m in await teams.members(ctx.session, team.id) if m.co_chair]
    names = say("welcome.chairs_joined").join(say("welcome.chair", name=m.name, side=m.side) for m in chairs)
    if chairs:
        return say("welcome.run_by_chairs", team=team.name, names=names)
    return say("welcome.run_by", team=team.name)


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
        if conversation.is_direct:
            if not isinstance(event, InstalledEvent):
                return
            mine = await teams.teams_of_person(ctx.session, ctx.person.id) if ctx.person is not None else []
            say = words(ctx.person, mine[0] if mine else None)  # a private note: the person's language
            what, help_line = say("welcome.what"), say("welcome.help_line", prefix=prefix)
            if mine:
                runs = " ".join([await _run_by(ctx, team, say) for team in mine])
                text = say("welcome.direct", what=what, runs=runs, help_line=help_line)
            else:
                text = say("welcome.direct_no_team", what=what, help_line=help_line)
            await ctx.reply(Card.plain(text))
            return
        team = await teams.team_of_channel(ctx.session, conversation.platform, conversation.conversation_id)
        if isinstance(event, MemberJoinedEvent):
            if team is None:
                return  # a channel Tandem is in but no team posts to: nothing to say to a newcomer
            say = words(ctx.person, team)  # only the newcomer sees it: their language
            what, help_line = say("welcome.what"), say("welcome.help_line", prefix=prefix)
            runs = await _run_by(ctx, team, say)
            text = say("welcome.joined", team=team.name, what=what, runs=runs, help_line=help_line)
            await ctx.reply(Card.plain(text), team_id=team.id)
            return
        say = words(team=team)  # a channel post: the team's language (English for a channel of no team)
        what, help_line = say("welcome.what"), say("welcome.help_line", prefix=prefix)
        if team is None:
            text = say("welcome.channel_not_connected", what=what, prefix=prefix, help_line=help_line)
            await ctx.send(Delivery(Recipient.reply_to(conversation), Card.plain(text)))
            return
        runs = await _run_by(ctx, team, say)
        text = say("welcome.channel", what=what, runs=runs, help_line=help_line)
        await ctx.send(Delivery(Recipient.reply_to(conversation), Card.plain(text), team_id=team.id))

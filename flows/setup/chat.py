"""`setup`: a co-chair creates a team from a channel, in chat — the chat equivalent of `tandem team import`.

    /tandem setup Riverside DLT; America/Los_Angeles; labor @maria; management @david
    /tandem setup Riverside DLT; America/Los_Angeles; labor @maria; management @david; labor members @cy @di

Parts are separated by `;`: the team's name, its IANA time zone, then one part per side listing people by
mention. `<side> @a @b` makes them co-chairs on that side; `<side> members @c @d` adds members who are not
co-chairs. The channel the command is typed in becomes the team's channel. The person typing must be one of
the co-chairs named. The same validation as a team file applies (`parse_team_file`), and its message is the
reply when something is wrong. Platform-neutral: mentions arrive as `@<n>` with `CommandEvent.mentions`,
and every identity is added on the speaker's platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flows.core.actions import ActionHandler
from flows.core.catalog import Words, language_of, text, words
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.home import refresh_homes
from flows.core.mentions import mention_at
from flows.core.types import Actor, Card, CommandEvent, Delivery, Recipient
from flows.setup.team_file import SIDES, TeamFileError, describe_team, import_team, parse_team_file
from storage import audit, teams

USAGE = "setup Name; Area/City; labor @person; management @person"


class SetupError(ValueError):
    """The command could not be read; the message (a catalog key and its values) says how to fix it."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(text(key, **values))
        self.key, self.values = key, values

    def told(self, say: Words) -> str:
        return say(self.key, **self.values)


def parse_setup(rest: str, mentions: Sequence[Actor]) -> tuple[str, str, list[tuple[Actor, str, bool]]]:
    """(name, time zone, [(person, side, co-chair)]) from the command text; SetupError otherwise."""
    parts = [p.strip() for p in rest.split(";")]
    if len(parts) < 3 or not parts[0] or not parts[1]:
        raise SetupError("setup.parts")
    name, timezone = parts[0], parts[1]
    people: list[tuple[Actor, str, bool]] = []
    seen: set[str] = set()
    for part in parts[2:]:
        if not part:
            continue
        words = part.split()
        side = words[0].lower()
        if side not in SIDES:
            raise SetupError("setup.not_a_side", word=words[0], sides=", ".join(SIDES))
        co_chair = True
        rest_words = words[1:]
        if rest_words and rest_words[0].lower() in ("member", "members"):
            co_chair, rest_words = False, rest_words[1:]
        if not rest_words:
            raise SetupError("setup.mention_someone", word=words[0])
        for word in rest_words:
            person = mention_at(word, mentions)
            if person is None:
                raise SetupError("setup.not_a_mention", word=word)
            if person.user_id in seen:
                raise SetupError("setup.listed_twice", name=person.display_name or person.user_id)
            seen.add(person.user_id)
            people.append((person, side, co_chair))
    return name, timezone, people


class ChatSetupFlow:
    """`setup`: create a team from the channel the command is typed in."""

    name = "setup"

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "setup",
                USAGE,
                "setup.command",
                self._setup,
            ),
        )

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _refuse(self, ctx: FlowContext, why: str) -> None:
        """`why`: a sentence already in the speaker's language (from `_say`)."""
        say = self._say(ctx)
        example = say("setup.example", prefix=ctx.command_prefix)
        await ctx.reply(Card.plain(say("setup.refused", why=why, example=example)))

    def _say(self, ctx: FlowContext) -> Words:
        return words(ctx.person)  # the speaker has no team yet: their own language, else English

    async def _setup(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        conversation = event.conversation
        if conversation.is_direct:
            await self._refuse(ctx, self._say(ctx)("setup.in_a_channel"))
            return
        try:
            name, timezone, people = parse_setup(rest, event.mentions)
        except SetupError as exc:
            await self._refuse(ctx, exc.told(self._say(ctx)))
            return
        actor = event.actor
        if not any(p.user_id == actor.user_id and chair for p, _, chair in people):
            await self._refuse(ctx, self._say(ctx)("setup.only_a_co_chair"))
            return
        if await teams.find_team(ctx.session, name) is not None:
            await self._refuse(ctx, self._say(ctx)("setup.name_taken", name=name))
            return
        owner = await teams.channel_owner(ctx.session, conversation.platform, conversation.conversation_id)
        if owner is not None:
            await self._refuse(ctx, self._say(ctx)("setup.channel_taken", team=owner.team_name))
            return
        members: list[dict[str, Any]] = []
        for person, side, chair in people:
            known = await teams.person_by_identity(ctx.session, person.platform, person.user_id)
            display = known.display_name if known else (person.display_name or person.user_id)
            if person.user_id == actor.user_id and not known and actor.display_name:
                display = actor.display_name
            members.append(
                {"name": display, "side": side, "co_chair": chair, person.platform: person.user_id}
            )
        spec = {
            "name": name,
            "timezone": timezone,
            "channels": [
                {
                    "platform": conversation.platform,
                    "id": conversation.conversation_id,
                    **({"name": conversation.name} if conversation.name else {}),
                }
            ],
            "members": members,
        }
        try:
            team_file = parse_team_file(spec)
        except TeamFileError as exc:
            await self._refuse(ctx, str(exc))
            return
        team = await import_team(ctx.session, team_file, ctx.now)
        speaker = await teams.person_by_identity(ctx.session, actor.platform, actor.user_id)
        await audit.record(
            ctx.session,
            team_id=team.id,
            actor_person_id=speaker.id if speaker else None,
            action="team.created",
            detail={"via": "chat setup", "platform": actor.platform, "members": len(members)},
            at=ctx.now,
        )
        card = await describe_team(ctx.session, team)
        announce = Card(
            summary=text("setup.announced", language_of(team=team), team=team.name),
            elements=card.elements,
        )
        await ctx.send(Delivery(Recipient.team_channels(team.id), announce, team_id=team.id))
        await refresh_homes(ctx, team.id)

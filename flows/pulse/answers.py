"""Answering a poll: the invitation's button opens one form; a submit is validated whole and kept sealed
until the poll closes (storage/sealing.py), one sealed row per person, so the person can change their
answers until then just by answering again. At close the answers are shuffled in with everyone's.
"""

from __future__ import annotations

from flows.content.instruments import Instrument, instrument_from_data
from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.home import home_refresh
from flows.core.types import ActionEvent, Card, Delivery, Recipient
from flows.pulse import cards
from flows.pulse.lifecycle import closes_text, private_prefix, receipt_key, sealed_size
from flows.pulse.report import (
    SIDES,
)
from storage import pulse as store
from storage import teams
from storage.pulse import PollView
from storage.teams import TeamView


class PulseAnswers:
    # ------------------------------------------------------------ answering

    async def _tell(
        self, ctx: FlowContext, text: str, team_id: int | None = None, poll_id: int | None = None
    ) -> None:
        """Answer the person privately: in their DM (a form submit has no conversation on Slack). With
        `poll_id`, the message is keyed to be forgotten with the poll's other private messages."""
        if ctx.person is not None:
            key = f"{private_prefix(poll_id)}note:{ctx.person.id}" if poll_id is not None else None
            await ctx.send(
                Delivery(Recipient.person(ctx.person.id), Card.plain(text), team_id=team_id, key=key)
            )
        elif ctx.conversation is not None:
            await ctx.reply(Card.plain(text))

    async def _poll_for(
        self, ctx: FlowContext, poll_ref: str
    ) -> tuple[PollView | None, TeamView | None, str | None]:
        """The open poll `poll_ref` names and its team, if this person may answer it; else a reason (in the
        person's language)."""
        say = words(ctx.person)
        if ctx.person is None:
            return None, None, say("core.unknown_person")
        poll = await store.poll_by_id(ctx.session, int(poll_ref)) if poll_ref.isdigit() else None
        if poll is None:
            return None, None, say("pulse.poll.missing")
        team = await teams.team_by_id(ctx.session, poll.team_id)
        if team is None:
            return None, None, say("pulse.poll.missing")
        say = words(ctx.person, team)
        members = {m.person_id for m in await teams.members(ctx.session, team.id)}
        if ctx.person.id not in members:
            return None, None, say("pulse.poll.other_team")
        if poll.status != store.OPEN or ctx.now >= poll.closes_at:
            return None, team, say("pulse.poll.closed", instrument=poll.instrument["name"])
        return poll, team, None

    async def _answer(self, ctx: FlowContext, event: ActionEvent) -> None:
        """`pulse.answer` and `pulse.change` (the poll in the button's value): the answer form; for someone
        who has answered, with their answers in it, to change them."""
        poll, team, why = await self._poll_for(ctx, event.value or "")
        if poll is None or team is None or ctx.person is None:
            await self._tell(ctx, why or "")
            return
        instrument = instrument_from_data(poll.instrument)
        mine = await store.sealed_submission(ctx.session, ctx.sealer, poll.id, ctx.person.id)
        initial = None
        if mine is not None:
            initial = {item: str(value) for _, item, value in mine.answers}
            initial[cards.COMMENT] = mine.comment or ""
        ctx.open_form(cards.answer_form(instrument, poll.id, words(ctx.person, team), initial=initial))

    def _validate(
        self, instrument: Instrument, values: dict[str, str], say: Words
    ) -> tuple[list[tuple[str, str, int]], str | None, str | None]:
        """(answers, comment, None) or ([], None, why the submission is refused)."""
        known = {item.id for item in instrument.items}
        stray = sorted(k for k in values if k not in known and k != cards.COMMENT)
        if stray:
            return [], None, say("pulse.answer.stray", stray=", ".join(stray))
        answers = []
        for component in instrument.components:
            for item in component.items:
                raw = (values.get(item.id) or "").strip()
                if not raw:
                    return [], None, say("pulse.answer.missing", item=item.text)
                try:
                    value = int(raw)
                except ValueError:
                    value = instrument.scale_min - 1
                if not instrument.scale_min <= value <= instrument.scale_max:
                    return (
                        [],
                        None,
                        say(
                            "pulse.answer.off_scale",
                            raw=raw,
                            item=item.text,
                            low=instrument.scale_min,
                            high=instrument.scale_max,
                        ),
                    )
                answers.append((component.id, item.id, value))
        comment = " ".join((values.get(cards.COMMENT) or "").split())[: cards.COMMENT_MAX] or None
        return answers, comment, None

    async def _submit(self, ctx: FlowContext, event: ActionEvent) -> None:
        """`pulse.submit`: the form, with its poll in the form's metadata."""
        poll, team, why = await self._poll_for(ctx, event.metadata)
        if poll is None or team is None or ctx.person is None:
            await self._tell(ctx, why or "", team.id if team else None)
            return
        instrument = instrument_from_data(poll.instrument)
        say = words(ctx.person, team)
        answers, comment, problem = self._validate(instrument, event.values, say)
        if problem:
            await self._tell(ctx, problem, team.id)
            return
        side = None
        if poll.sides_recorded:
            me = next(m for m in await teams.members(ctx.session, team.id) if m.person_id == ctx.person.id)
            side = me.side if me.side in SIDES else None
        first = await store.seal_submission(
            ctx.session,
            ctx.sealer,
            poll.id,
            ctx.person.id,
            store.Submission(tuple(answers), comment, side),
            sealed_size(instrument),
        )
        key = receipt_key(poll.id, ctx.person.id)
        await ctx.send(
            Delivery(
                Recipient.person(ctx.person.id),
                cards.receipt(instrument, poll.id, closes_text(poll, team), not first, say),
                team_id=team.id,
                key=key,
                replaces=key,
            )
        )
        if first:
            await ctx.send(home_refresh(team.id, ctx.person.id))  # only this person's line changed

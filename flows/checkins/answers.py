"""Answering a check-in: the invitation's button opens one form; a submit is checked whole and stored
with the person's name (check-ins are named), the mood sealed apart (storage/checkins.py). Answering again
replaces the earlier answers until the window closes; a digest already posted is updated in place.
"""

from __future__ import annotations

from flows.checkins import cards
from flows.checkins.runs import RunLifecycle, closes_text, receipt_key
from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.types import ActionEvent, Card, Delivery, Recipient
from storage import checkins as store
from storage import teams
from storage.teams import TeamView


class Refused(ValueError):
    """A submit that stores nothing; the message says why, in the person's language."""


def read_submit(
    prompts: tuple[str, ...], mood: bool, values: dict[str, str], say: Words
) -> tuple[list[str | None], int | None]:
    """The answers (one per question, None when blank) and the mood, or Refused."""
    known = {cards.question_id(i) for i in range(len(prompts))} | ({cards.MOOD} if mood else set())
    stray = sorted(k for k in values if k not in known)
    if stray:
        raise Refused(say("checkins.submit.stray", stray=", ".join(stray), count=len(prompts)))
    answers: list[str | None] = []
    for i in range(len(prompts)):
        text = " ".join((values.get(cards.question_id(i)) or "").split()) or None
        if text is not None and len(text) > cards.ANSWER_MAX:
            raise Refused(say("checkins.submit.too_long", max=cards.ANSWER_MAX))
        answers.append(text)
    mood_value = None
    raw = (values.get(cards.MOOD) or "").strip() if mood else ""
    if raw:
        allowed = {str(v) for v, _ in cards.MOOD_SCALE}
        if raw not in allowed:
            raise Refused(say("checkins.submit.mood", raw=raw))
        mood_value = int(raw)
    if not any(answers) and mood_value is None:
        raise Refused(say("checkins.submit.empty"))
    return answers, mood_value


class CheckinAnswers(RunLifecycle):
    async def _tell(self, ctx: FlowContext, text: str, team_id: int | None = None) -> None:
        """Answer the person privately, in their DM (a form submit has no conversation on Slack)."""
        if ctx.person is not None:
            await ctx.send(Delivery(Recipient.person(ctx.person.id), Card.plain(text), team_id=team_id))
        elif ctx.conversation is not None:
            await ctx.reply(Card.plain(text))

    async def _run_for(
        self, ctx: FlowContext, ref: str
    ) -> tuple[store.Run | None, TeamView | None, str | None]:
        """The open run `ref` names and its team, if this person was asked; else why not."""
        say = words(ctx.person)
        if ctx.person is None:
            return None, None, say("core.unknown_person")
        run = await store.run_by_id(ctx.session, int(ref)) if ref.isdigit() else None
        team = await teams.team_by_id(ctx.session, run.team_id) if run is not None else None
        if run is None or team is None:
            return None, None, say("checkins.run.missing")
        say = words(ctx.person, team)
        if ctx.person.id not in run.asked:
            return None, team, say("checkins.run.not_asked")
        if run.status != store.OPEN or ctx.now >= run.closes_at:
            return None, team, say("checkins.run.closed")
        return run, team, None

    async def _answer(self, ctx: FlowContext, event: ActionEvent) -> None:
        """`checkin.answer`: the form, with the person's earlier answers in it."""
        run, team, why = await self._run_for(ctx, event.value or "")
        if run is None or team is None or ctx.person is None:
            await self._tell(ctx, why or "", team.id if team else None)
            return
        mine = await store.response_of(ctx.session, run.id, ctx.person.id)
        mood = await store.sealed_mood(ctx.session, ctx.sealer, run.id, ctx.person.id) if run.mood else None
        say = words(ctx.person, team)
        ctx.open_form(
            cards.answer_form(run.id, run.prompts, run.mood, say, mine.answers if mine else (), mood)
        )

    async def _submit(self, ctx: FlowContext, event: ActionEvent) -> None:
        """`checkin.submit`: the form, its run in the metadata."""
        run, team, why = await self._run_for(ctx, event.metadata)
        if run is None or team is None or ctx.person is None:
            await self._tell(ctx, why or "", team.id if team else None)
            return
        say = words(ctx.person, team)
        try:
            answers, mood = read_submit(run.prompts, run.mood, event.values, say)
        except Refused as refused:
            await self._tell(ctx, str(refused), team.id)
            return
        first = await store.save_response(ctx.session, run.id, ctx.person.id, answers)
        if run.mood:
            await store.seal_mood(ctx.session, ctx.sealer, run.id, ctx.person.id, mood)
        key = receipt_key(run.id, ctx.person.id)
        await ctx.send(
            Delivery(
                Recipient.person(ctx.person.id),
                cards.receipt(run.id, closes_text(run, team), first, say),
                team_id=team.id,
                key=key,
                replaces=key,
            )
        )
        if run.digest_posted:
            await self.post_digest(ctx, team, run)

"""The decision log: `decide` (a co-chair records a decision, its level on the 7-point continuum, whose
"my" that is, who decided and why, at which meeting), `decisions` (the list) and `decisions reopen N …`
(a member brings new information; the team votes, and 75 % of its members agreeing reopens it — WCCUSD
rule 12, guidebook 001:L3129-3133)."""

from __future__ import annotations

from flows.content.continuum import continuum
from flows.core.catalog import words
from flows.core.engine import FlowContext
from flows.core.types import ActionEvent, Card, Delivery, Recipient
from flows.talking_points import cards
from flows.talking_points.approval import local_date, refuse
from flows.talking_points.people import Here, here, here_on
from flows.talking_points.rules import SIDES, reopen_outcome
from storage import decisions as store
from storage.decisions import Decider


async def decide(ctx: FlowContext, who: Here) -> None:
    if not who.me.co_chair:
        await refuse(ctx, who, "decision.only_co_chair", chairs=who.chair_names())
        return
    my_side = who.me.side if who.me.side in SIDES else "labor"
    ctx.open_form(cards.decision_form(who.say, my_side, who.team.id))


async def submit(ctx: FlowContext, event: ActionEvent) -> None:
    who = await (here_on(ctx, int(event.metadata)) if event.metadata.isdigit() else here(ctx))
    if who is None:
        return
    if not who.me.co_chair:
        await refuse(ctx, who, "decision.only_co_chair", chairs=who.chair_names())
        return
    values = {k: (v or "").strip() for k, v in event.values.items()}
    level = int(values[cards.LEVEL]) if values.get(cards.LEVEL, "").isdigit() else 0
    if continuum().level(level) is None:
        await refuse(ctx, who, "decision.bad_level")
        return
    my_side = values.get(cards.MY_SIDE, "")
    text, reasons = values.get(cards.TEXT, ""), values.get(cards.REASONS, "")
    names = [n.strip() for n in values.get(cards.DECIDED_BY, "").replace(";", ",").split(",") if n.strip()]
    if my_side not in SIDES or not text or not reasons or not names:
        await refuse(ctx, who, "decision.incomplete")
        return
    by_name = {m.name.casefold(): m for m in who.members}
    deciders = [
        Decider(by_name[n.casefold()].name, by_name[n.casefold()].side)
        if n.casefold() in by_name
        else Decider(n, None)
        for n in names
    ]
    meeting = values.get(cards.MEETING) or cards.day(local_date(ctx.now, who.team))
    decision_id = await store.record(
        ctx.session,
        team_id=who.team.id,
        text=text,
        level=level,
        my_side=my_side,
        decided_by=deciders,
        reasons=reasons,
        meeting=meeting,
        recorded_by=who.me.person_id,
        now=ctx.now,
    )
    await ctx.audit(
        who.team.id,
        "decision.recorded",
        {
            "decision": decision_id,
            "level": level,
            "my_side": my_side,
            "decided_by": [d.name for d in deciders],
        },
    )
    decision = await store.get(ctx.session, who.team.id, decision_id)
    assert decision is not None
    await ctx.send(
        Delivery(
            Recipient.team_channels(who.team.id),
            cards.decision_card(decision, words(team=who.team)),
            team_id=who.team.id,
        )
    )
    await refuse(ctx, who, "decision.recorded", id=decision_id, prefix=ctx.command_prefix)


async def command(ctx: FlowContext, who: Here, args: str) -> None:
    """`decisions` lists; `decisions reopen N <new information>` asks the team to reopen one."""
    verb, _, rest = args.strip().partition(" ")
    if verb.lower() == "reopen":
        await reopen(ctx, who, rest)
        return
    if verb and verb.lstrip("#").isdigit():
        decision = await store.get(ctx.session, who.team.id, int(verb.lstrip("#")))
        if decision is not None:
            await ctx.reply(cards.decision_card(decision, who.say), team_id=who.team.id)
            return
    listed = await store.for_team(ctx.session, who.team.id)
    await ctx.reply(cards.decisions_card(listed, who.say, ctx.command_prefix), team_id=who.team.id)


def vote_key(request_id: int) -> str:
    return f"decision:reopen:{request_id}"


async def reopen(ctx: FlowContext, who: Here, args: str) -> None:
    number, _, information = args.strip().partition(" ")
    number = number.lstrip("#")
    decision = await store.get(ctx.session, who.team.id, int(number)) if number.isdigit() else None
    if decision is None or not information.strip():
        await refuse(ctx, who, "decision.reopen.usage", prefix=ctx.command_prefix)
        return
    if decision.status == "reopened":
        await refuse(ctx, who, "decision.reopen.already_reopened", id=decision.id)
        return
    if await store.open_request_of(ctx.session, decision.id) is not None:
        await refuse(ctx, who, "decision.reopen.already_voting", id=decision.id)
        return
    request_id = await store.open_request(
        ctx.session,
        decision_id=decision.id,
        requested_by=who.me.person_id,
        information=information.strip(),
        electorate=len(who.members),
        now=ctx.now,
    )
    await ctx.audit(
        who.team.id, "decision.reopen_requested", {"decision": decision.id, "request": request_id}
    )
    request = await store.request(ctx.session, request_id)
    assert request is not None
    card = cards.reopen_card(decision, request, who.me.name, words(team=who.team))
    key = vote_key(request_id)
    await ctx.send(
        Delivery(Recipient.team_channels(who.team.id), card, team_id=who.team.id, key=key, replaces=key)
    )
    await refuse(ctx, who, "decision.reopen.asked", id=decision.id)


async def vote(ctx: FlowContext, event: ActionEvent) -> None:
    request_id, _, answer = (event.value or "").partition(":")
    request = await store.request(ctx.session, int(request_id), lock=True) if request_id.isdigit() else None
    decision = await store.get_any(ctx.session, request.decision_id) if request else None
    if request is None or decision is None or answer not in ("yes", "no"):
        await ctx.reply(Card.plain(words(ctx.person)("points.gone")))
        return
    who = await here_on(ctx, decision.team_id)
    if who is None:
        return
    if request.status != "open":
        await refuse(ctx, who, "decision.reopen.closed")
        return
    if await store.has_voted(ctx.session, request.id, who.me.person_id):
        await refuse(ctx, who, "decision.reopen.voted_already")
        return
    await store.vote(ctx.session, request.id, who.me.person_id, answer == "yes", ctx.now)
    counted = await store.request(ctx.session, request.id)
    assert counted is not None
    outcome = reopen_outcome(counted.agree, counted.disagree, counted.electorate)
    if outcome is not None:
        await store.settle(ctx.session, request.id, decision.id, outcome == "passed", ctx.now)
        await ctx.audit(
            who.team.id,
            f"decision.reopen_{outcome}",
            {
                "decision": decision.id,
                "request": request.id,
                "agree": counted.agree,
                "of": counted.electorate,
            },
        )
        counted = await store.request(ctx.session, request.id)
        assert counted is not None
    requester = who.name_of(request.requested_by)
    card = cards.reopen_card(decision, counted, requester, words(team=who.team))
    key = vote_key(request.id)
    await ctx.send(
        Delivery(Recipient.team_channels(who.team.id), card, team_id=who.team.id, key=key, replaces=key)
    )
    if outcome is not None:
        await ctx.send(
            Delivery(
                Recipient.team_channels(who.team.id),
                Card.plain(
                    words(team=who.team)(cards.VOTE_ANNOUNCE[outcome], id=decision.id, text=decision.text)
                ),
                team_id=who.team.id,
            )
        )
    await refuse(ctx, who, "decision.reopen.thanks")

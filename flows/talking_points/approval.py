"""Two-side approval and publishing.

An approval names the exact text it approves (the hash in the button's value); the set's row is locked
while it is counted, so when a labor and a management co-chair approve at the same moment on two replicas
the second waits for the first, sees both approvals, and exactly one of them publishes (the status changes
from draft only once: storage/talking_points.py `mark_published`). The posts to every audience channel go
into the outbox in that same transaction: decided means sent, across a crash.
"""

from __future__ import annotations

from datetime import datetime

from flows.core.catalog import Words, words
from flows.core.engine import FlowContext
from flows.core.recurrence import zone
from flows.core.types import ActionEvent, Card, Delivery, Recipient
from flows.talking_points import cards
from flows.talking_points.people import Here, here_on, recipient_of
from flows.talking_points.rules import SIDES, both_sides, current_approvals, hash_of
from storage import decisions as decision_store
from storage import talking_points as store
from storage.decisions import DecisionView
from storage.talking_points import PointSet
from storage.teams import TeamView


def local_date(now: datetime, team: TeamView) -> str:
    return now.astimezone(zone(team.timezone)).date().isoformat()


async def attached(ctx: FlowContext, point_set: PointSet) -> list[DecisionView]:
    found = [await decision_store.get(ctx.session, point_set.team_id, i) for i in point_set.decision_ids]
    return [d for d in found if d is not None]


async def show_card(
    ctx: FlowContext, who: Here, point_set: PointSet, *, withdrawn_by: str | None = None
) -> None:
    """Send or replace the approval card everywhere it is shown: each co-chair's and the proposer's chat,
    and the team's own channels. Each copy has its own key, so each is updated in place."""
    decisions = await attached(ctx, point_set)
    corrects = await store.get(ctx.session, point_set.corrects_id) if point_set.corrects_id else None
    proposer = who.name_of(point_set.proposed_by)

    def card(say: Words, why: str | None = None) -> Card:
        return cards.approval_card(
            point_set,
            say,
            proposer=proposer,
            decisions=decisions,
            corrects=corrects,
            withdrawn_by=withdrawn_by,
            why=why,
        )

    readers = [m for m in who.members if m.co_chair or m.person_id == point_set.proposed_by]
    for member in readers:
        say = words(member, who.team)
        key = f"{cards.card_key(point_set.id)}:p{member.person_id}"
        await ctx.send(
            Delivery(
                Recipient.person(member.person_id),
                card(say, say("points.card.why_chair" if member.co_chair else "points.card.why_proposer")),
                team_id=who.team.id,
                key=key,
                replaces=key,
            )
        )
    key = f"{cards.card_key(point_set.id)}:team"
    await ctx.send(
        Delivery(
            Recipient.team_channels(who.team.id),
            card(words(team=who.team)),
            team_id=who.team.id,
            key=key,
            replaces=key,
        )
    )


def _parse(value: str | None) -> tuple[int, str] | None:
    set_id, _, digest = (value or "").partition(":")
    return (int(set_id), digest) if set_id.isdigit() and digest else None


async def refuse(ctx: FlowContext, who: Here, key: str, **values: object) -> None:
    await ctx.reply(Card.plain(who.say(key, **values)), team_id=who.team.id)


async def open_draft(
    ctx: FlowContext, set_id: int | None, *, lock: bool = False
) -> tuple[Here, PointSet] | None:
    """The draft a button or form is about, with who is acting on it; None after saying why not (gone,
    not a member of its team, or no longer a draft)."""
    point_set = await store.get(ctx.session, set_id, lock=lock) if set_id is not None else None
    if point_set is None:
        await ctx.reply(Card.plain(words(ctx.person)("points.gone")))
        return None
    who = await here_on(ctx, point_set.team_id)
    if who is None:
        return None
    if point_set.status != store.DRAFT:
        await refuse(ctx, who, cards.ALREADY[point_set.status])
        return None
    return who, point_set


async def approve(ctx: FlowContext, event: ActionEvent) -> None:
    parsed = _parse(event.value)
    if parsed is None:
        await ctx.reply(Card.plain(words(ctx.person)("points.gone")))
        return
    set_id, digest = parsed
    found = await open_draft(ctx, set_id, lock=True)
    if found is None:
        return
    who, point_set = found
    if not (who.me.co_chair and who.me.side in SIDES):
        await refuse(ctx, who, "points.approve.not_co_chair", chairs=who.chair_names())
        return
    if digest != hash_of(point_set):
        await refuse(ctx, who, "points.approve.stale")
        return
    approvals = current_approvals(point_set)
    if any(a.person_id == who.me.person_id for a in approvals):
        await refuse(ctx, who, "points.approve.twice")
        return
    await store.approve(
        ctx.session,
        point_set.id,
        person_id=who.me.person_id,
        name=who.me.name,
        side=who.me.side,
        text_hash=digest,
        now=ctx.now,
    )
    await ctx.audit(
        who.team.id,
        "points.approved",
        {"set": point_set.id, "side": who.me.side, "hash": digest, "revision": point_set.revision},
    )
    approved = await store.get(ctx.session, point_set.id)
    assert approved is not None
    if both_sides(current_approvals(approved)):
        await publish(ctx, who, approved)
        return
    await show_card(ctx, who, approved)
    waiting = next(s for s in SIDES if s not in {a.side for a in current_approvals(approved)})
    for chair in who.chairs:
        if chair.side == waiting:
            await ctx.send(
                Delivery(
                    Recipient.person(chair.person_id),
                    Card.plain(
                        words(chair, who.team)(
                            "points.approve.your_turn", name=who.me.name, side=who.me.side, team=who.team.name
                        )
                    ),
                    team_id=who.team.id,
                )
            )
    await refuse(ctx, who, "points.approve.recorded", side=waiting)


async def publish(ctx: FlowContext, who: Here, point_set: PointSet) -> None:
    """Draft → published, once; then the post to every audience channel and the card updated everywhere."""
    today = local_date(ctx.now, who.team)
    if not await store.mark_published(ctx.session, point_set.id, ctx.now, today):
        await refuse(ctx, who, "points.approve.already_published")
        return
    published = await store.get(ctx.session, point_set.id)
    assert published is not None
    decisions = await attached(ctx, published)
    corrects = await store.get(ctx.session, published.corrects_id) if published.corrects_id else None
    post = cards.joint_post(published, words(team=who.team), today, decisions, corrects)
    for channel in published.channels:
        await ctx.send(
            Delivery(
                recipient_of(channel),
                post,
                team_id=who.team.id,
                key=cards.post_key(published.id),
            )
        )
    approvers = [{"name": a.name, "side": a.side} for a in current_approvals(published)]
    await ctx.audit(
        who.team.id,
        "points.corrected" if corrects else "points.published",
        {
            "set": published.id,
            "corrects": published.corrects_id,
            "approvers": approvers,
            "channels": [c.to_data() for c in published.channels],
            "hash": hash_of(published),
        },
    )
    await show_card(ctx, who, published)
    await refuse(ctx, who, "points.published", channels=len(published.channels))


async def request_changes_form(ctx: FlowContext, event: ActionEvent) -> None:
    parsed = _parse(event.value)
    found = await open_draft(ctx, parsed[0] if parsed else None)
    if found is None:
        return
    who, point_set = found
    if not who.me.co_chair:
        await refuse(ctx, who, "points.changes.not_co_chair", chairs=who.chair_names())
        return
    ctx.open_form(cards.changes_form(who.say, point_set.id))


async def request_changes(ctx: FlowContext, event: ActionEvent) -> None:
    found = await open_draft(ctx, int(event.metadata) if event.metadata.isdigit() else None)
    if found is None:
        return
    who, point_set = found
    comment = (event.values.get(cards.COMMENT) or "").strip()
    if not who.me.co_chair:
        await refuse(ctx, who, "points.changes.not_co_chair", chairs=who.chair_names())
        return
    if not comment:
        await refuse(ctx, who, "points.changes.empty")
        return
    await ctx.audit(who.team.id, "points.changes_requested", {"set": point_set.id, "comment": comment})
    told = {m.person_id for m in who.chairs} | ({point_set.proposed_by} if point_set.proposed_by else set())
    for member in who.members:
        if member.person_id in told and member.person_id != who.me.person_id:
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    Card.plain(
                        words(member, who.team)(
                            "points.changes.requested", name=who.me.name, team=who.team.name, comment=comment
                        )
                    ),
                    team_id=who.team.id,
                )
            )
    await refuse(ctx, who, "points.changes.sent")

"""Drafts: proposing talking points (any member), editing them (the facilitator or a co-chair), attaching
a decision, withdrawing, corrections of a published set, and one-side updates.

Every change of a draft's text is a new revision: it clears the approvals and tells whoever had approved.
A draft that Slack or Teams could not show as one message is refused with the reason, nothing stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.core.catalog import words
from flows.core.engine import FlowContext
from flows.core.types import ActionEvent, Card, Delivery, Recipient
from flows.talking_points import cards, suggestions
from flows.talking_points.approval import attached, local_date, open_draft, refuse, show_card
from flows.talking_points.people import Here, broadcast_channels, here, here_on, may_edit, recipient_of
from flows.talking_points.rules import split_points, too_big
from storage import decisions as decision_store
from storage import talking_points as store
from storage.talking_points import Channel, PointSet

MAX_NOTE = 2000


async def _check(
    ctx: FlowContext,
    who: Here,
    points: Sequence[str],
    note: str | None,
    channels: Sequence[Channel],
    decision_ids: Sequence[int],
    corrects: PointSet | None,
) -> bool:
    """False (and the reason said) for a draft that cannot go out: empty, no audience, or too big for
    Slack or Teams as one message (the post is built and measured as it would be sent)."""
    if not points:
        await refuse(ctx, who, "points.draft.empty", prefix=ctx.command_prefix)
        return False
    if not channels:
        await refuse(ctx, who, "points.draft.no_audience")
        return False
    if note and len(note) > MAX_NOTE:
        await refuse(ctx, who, "points.draft.note_too_long", limit=MAX_NOTE, chars=len(note))
        return False
    found = [await decision_store.get(ctx.session, who.team.id, i) for i in decision_ids]
    trial = PointSet(
        id=0,
        team_id=who.team.id,
        kind="joint",
        status="draft",
        revision=1,
        points=tuple(points),
        note=note,
        channels=tuple(channels),
        decision_ids=tuple(decision_ids),
        corrects_id=corrects.id if corrects else None,
        proposed_by=who.me.person_id,
        created_at=ctx.now,
        updated_at=ctx.now,
        published_at=None,
        published_local_date=None,
    )
    decided = [d for d in found if d]
    post = cards.joint_post(trial, who.say, local_date(ctx.now, who.team), decided, corrects)
    card = cards.approval_card(trial, who.say, proposer=who.me.name, decisions=decided, corrects=corrects)
    problem = too_big(post) or too_big(card)  # the post, and the approval card that shows it first
    if problem is not None:
        await refuse(ctx, who, problem.key, **problem.values)
        return False
    return True


# ---------------------------------------------------------------- commands


async def draft(ctx: FlowContext, who: Here, args: str) -> None:
    """`points draft` opens the form; `points draft first point | second point` drafts at once."""
    current = await store.current_draft(ctx.session, who.team.id)
    if current is not None:
        await refuse(ctx, who, "points.draft.one_at_a_time", prefix=ctx.command_prefix)
        return
    channels = await broadcast_channels(ctx, who.team)
    if not args.strip():
        done = await suggestions.done_titles(ctx, who.team.id, who.say)
        ctx.open_form(cards.draft_form(who.say, channels, metadata=f"new:{who.team.id}", done=done))
        return
    await _create(ctx, who, split_points(args), None, channels, None)


async def _create(
    ctx: FlowContext,
    who: Here,
    points: list[str],
    note: str | None,
    channels: Sequence[Channel],
    corrects: PointSet | None,
) -> None:
    if not await _check(ctx, who, points, note, channels, (), corrects):
        return
    set_id = await store.add(
        ctx.session,
        team_id=who.team.id,
        kind="joint",
        status=store.DRAFT,
        points=points,
        note=note,
        channels=channels,
        corrects_id=corrects.id if corrects else None,
        proposed_by=who.me.person_id,
        now=ctx.now,
    )
    await ctx.audit(
        who.team.id,
        "points.correction_drafted" if corrects else "points.drafted",
        {"set": set_id, "points": points, "note": note, "corrects": corrects.id if corrects else None},
    )
    created = await store.get(ctx.session, set_id)
    assert created is not None
    await show_card(ctx, who, created)
    await refuse(ctx, who, "points.draft.saved")


async def edit_form(ctx: FlowContext, who: Here) -> None:
    """`points edit`: the current draft in the form."""
    current = await store.current_draft(ctx.session, who.team.id)
    if current is None:
        await refuse(ctx, who, "points.none", prefix=ctx.command_prefix)
        return
    await _open_edit(ctx, who, current)


async def _open_edit(ctx: FlowContext, who: Here, current: PointSet) -> None:
    if not await may_edit(ctx, who):
        await refuse(ctx, who, "points.edit.who", chairs=who.chair_names())
        return
    await _open_form_with(
        ctx, who, current, f"edit:{current.id}:{current.revision}", "points.form.edit_title"
    )


async def _open_form_with(
    ctx: FlowContext, who: Here, shown: PointSet, metadata: str, title_key: str
) -> None:
    """The draft form filled in with `shown` (a draft to edit, a published set to correct); its channels
    offered beside the team's broadcast channels."""
    channels = await broadcast_channels(ctx, who.team)
    channels += [chosen for chosen in shown.channels if chosen not in channels]
    ctx.open_form(
        cards.draft_form(
            who.say,
            channels,
            metadata=metadata,
            points=shown.points,
            note=shown.note,
            chosen=shown.channels,
            title_key=title_key,
        )
    )


async def edit_button(ctx: FlowContext, event: ActionEvent) -> None:
    value = event.value or ""
    found = await open_draft(ctx, int(value) if value.isdigit() else None)
    if found is not None:
        await _open_edit(ctx, *found)


async def correct_form(ctx: FlowContext, who: Here) -> None:
    """`points correct`: the latest published joint set in the form, to correct."""
    if not await may_edit(ctx, who):
        await refuse(ctx, who, "points.edit.who", chairs=who.chair_names())
        return
    if await store.current_draft(ctx.session, who.team.id) is not None:
        await refuse(ctx, who, "points.draft.one_at_a_time", prefix=ctx.command_prefix)
        return
    joint = [s for s in await store.published(ctx.session, who.team.id) if s.kind == "joint"]
    if not joint:
        await refuse(ctx, who, "points.correct.nothing")
        return
    latest = joint[-1]
    await _open_form_with(ctx, who, latest, f"correct:{latest.id}", "points.form.correct_title")


async def submit(ctx: FlowContext, event: ActionEvent) -> None:
    """The draft form, for a new draft, an edit or a correction (its metadata says which)."""
    kind, _, rest = event.metadata.partition(":")
    target: PointSet | None = None
    if kind in ("edit", "correct"):
        set_id = rest.split(":")[0]
        target = await store.get(ctx.session, int(set_id), lock=kind == "edit") if set_id.isdigit() else None
        if target is None:
            await ctx.reply(Card.plain(words(ctx.person)("points.gone")))
            return
        who = await here_on(ctx, target.team_id)
    elif rest.isdigit():  # a new draft, for the team the form was opened for
        who = await here_on(ctx, int(rest))
    else:
        who = await here(ctx)
    if who is None:
        return
    all_channels = await broadcast_channels(ctx, who.team)
    if target is not None:
        all_channels += [c for c in target.channels if c not in all_channels]
    channels = [c for n, c in enumerate(all_channels) if event.values.get(f"ch_{n}", "yes") == "yes"]
    points = split_points(event.values.get(cards.POINTS, ""))
    if event.values.get(cards.INCLUDE_DONE) == "yes":
        points += [t for t in await suggestions.done_titles(ctx, who.team.id, who.say) if t not in points]
    note = (event.values.get(cards.NOTE) or "").strip() or None
    if kind == "edit" and target is not None:
        await _edit(ctx, who, target, rest, points, note, channels)
        return
    if await store.current_draft(ctx.session, who.team.id) is not None:
        await refuse(ctx, who, "points.draft.one_at_a_time", prefix=ctx.command_prefix)
        return
    if kind == "correct" and (
        target is None or target.status != store.PUBLISHED or not await may_edit(ctx, who)
    ):
        await refuse(ctx, who, "points.edit.who", chairs=who.chair_names())
        return
    await _create(ctx, who, points, note, channels, target if kind == "correct" else None)


async def _edit(
    ctx: FlowContext,
    who: Here,
    target: PointSet,
    rest: str,
    points: list[str],
    note: str | None,
    channels: list[Channel],
    decision_ids: Sequence[int] | None = None,
) -> None:
    if target.status != store.DRAFT:
        await refuse(ctx, who, cards.ALREADY[target.status])
        return
    if not await may_edit(ctx, who):
        await refuse(ctx, who, "points.edit.who", chairs=who.chair_names())
        return
    seen_revision = rest.partition(":")[2]
    if seen_revision and seen_revision != str(target.revision):
        await refuse(ctx, who, "points.edit.stale")
        return
    decisions = tuple(decision_ids) if decision_ids is not None else target.decision_ids
    corrects = await store.get(ctx.session, target.corrects_id) if target.corrects_id else None
    if not await _check(ctx, who, points, note, channels, decisions, corrects):
        return
    cleared = await store.edit(
        ctx.session,
        target.id,
        points=points,
        note=note,
        channels=channels,
        decision_ids=decisions,
        now=ctx.now,
    )
    await ctx.audit(
        who.team.id,
        "points.edited",
        {
            "set": target.id,
            "revision": target.revision + 1,
            "points": points,
            "note": note,
            "decisions": list(decisions),
            "approvals_cleared": [{"name": a.name, "side": a.side} for a in cleared],
        },
    )
    edited = await store.get(ctx.session, target.id)
    assert edited is not None
    await show_card(ctx, who, edited)
    by_id = {m.person_id: m for m in who.members}
    for approval in cleared:
        member = by_id.get(approval.person_id or 0)
        if member is not None and member.person_id != who.me.person_id:
            await ctx.send(
                Delivery(
                    Recipient.person(member.person_id),
                    Card.plain(
                        words(member, who.team)("points.edit.cleared", name=who.me.name, team=who.team.name)
                    ),
                    team_id=who.team.id,
                )
            )
    await refuse(
        ctx, who, "points.edit.saved" if not cleared else "points.edit.saved_cleared", n=len(cleared)
    )


async def attach(ctx: FlowContext, who: Here, args: str) -> None:
    """`points attach 3`: decision #3 goes with the current draft (an edit: approvals are cleared)."""
    current = await store.current_draft(ctx.session, who.team.id)
    current = await store.get(ctx.session, current.id, lock=True) if current is not None else None
    if current is None:
        await refuse(ctx, who, "points.none", prefix=ctx.command_prefix)
        return
    number = args.strip().lstrip("#")
    decision = await decision_store.get(ctx.session, who.team.id, int(number)) if number.isdigit() else None
    if decision is None:
        await refuse(ctx, who, "points.attach.unknown", prefix=ctx.command_prefix)
        return
    if decision.id in current.decision_ids:
        await refuse(ctx, who, "points.attach.already", id=decision.id)
        return
    await _edit(
        ctx,
        who,
        current,
        "",
        list(current.points),
        current.note,
        list(current.channels),
        (*current.decision_ids, decision.id),
    )


async def withdraw_command(ctx: FlowContext, who: Here) -> None:
    current = await store.current_draft(ctx.session, who.team.id)
    if current is None:
        await refuse(ctx, who, "points.none", prefix=ctx.command_prefix)
        return
    await _withdraw(ctx, who, current)


async def withdraw_button(ctx: FlowContext, event: ActionEvent) -> None:
    point_set = (
        await store.get(ctx.session, int(event.value or 0), lock=True)
        if (event.value or "").isdigit()
        else None
    )
    if point_set is None:
        await ctx.reply(Card.plain(words(ctx.person)("points.gone")))
        return
    who = await here_on(ctx, point_set.team_id)
    if who is not None:
        await _withdraw(ctx, who, point_set)


async def _withdraw(ctx: FlowContext, who: Here, point_set: PointSet) -> None:
    if not (who.me.co_chair or who.me.person_id == point_set.proposed_by):
        await refuse(ctx, who, "points.withdraw.who", chairs=who.chair_names())
        return
    if not await store.withdraw(ctx.session, point_set.id, ctx.now):
        await refuse(ctx, who, cards.ALREADY[point_set.status])
        return
    await ctx.audit(who.team.id, "points.withdrawn", {"set": point_set.id})
    gone = await store.get(ctx.session, point_set.id)
    assert gone is not None
    await show_card(ctx, who, gone, withdrawn_by=who.me.name)
    await refuse(ctx, who, "points.withdraw.done")


async def one_side(ctx: FlowContext, who: Here, side: str, args: str) -> None:
    """`points union …` / `points management …`: a co-chair of that side posts for their side alone,
    labelled as such and never as joint."""
    if not (who.me.co_chair and who.me.side == side):
        await refuse(ctx, who, cards.ONE_SIDE_WHO[side])
        return
    points = split_points(args)
    if not points:
        await refuse(ctx, who, cards.ONE_SIDE_USAGE[side], prefix=ctx.command_prefix)
        return
    if any("joint" in p.lower() for p in points):
        await refuse(ctx, who, "points.one_side.no_joint", prefix=ctx.command_prefix)
        return
    channels = await broadcast_channels(ctx, who.team)
    if not channels:
        await refuse(ctx, who, "points.draft.no_audience")
        return
    today = local_date(ctx.now, who.team)
    post = cards.one_side_post(side, points, who.me.name, today, words(team=who.team))
    problem = too_big(post)
    if problem is not None:
        await refuse(ctx, who, problem.key, **problem.values)
        return
    set_id = await store.add(
        ctx.session,
        team_id=who.team.id,
        kind=side,
        status=store.PUBLISHED,
        points=points,
        note=None,
        channels=channels,
        proposed_by=who.me.person_id,
        now=ctx.now,
        published_local_date=today,
    )
    for channel in channels:
        await ctx.send(Delivery(recipient_of(channel), post, team_id=who.team.id, key=cards.post_key(set_id)))
    await ctx.audit(who.team.id, "points.one_side_published", {"set": set_id, "side": side, "points": points})
    await refuse(ctx, who, "points.published", channels=len(channels))


async def status(ctx: FlowContext, who: Here) -> None:
    """`points`: the current draft's card again, to the speaker."""
    current = await store.current_draft(ctx.session, who.team.id)
    if current is None:
        await refuse(ctx, who, "points.none", prefix=ctx.command_prefix)
        return
    decisions = await attached(ctx, current)
    corrects = await store.get(ctx.session, current.corrects_id) if current.corrects_id else None
    card = cards.approval_card(
        current, who.say, proposer=who.name_of(current.proposed_by), decisions=decisions, corrects=corrects
    )
    await ctx.reply(card, team_id=who.team.id)

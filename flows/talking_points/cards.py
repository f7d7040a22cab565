"""What the talking-points flow shows: the draft form, the approval card (one card, updated in place for
everyone who sees it), the joint post, the one-side posts, corrections, history and the decision cards.
Each is built in one reader's language (`say`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flows.content.continuum import continuum
from flows.core.catalog import Words
from flows.core.types import (
    Button,
    Buttons,
    Card,
    Choice,
    Context,
    Element,
    Fields,
    Form,
    Header,
    Question,
    Text,
    TextInput,
    one_line,
)
from flows.talking_points.rules import SIDES, current_approvals, hash_of
from storage.decisions import DecisionView, ReopenRequest
from storage.talking_points import Channel, PointSet

# Action and form ids (flows/core/actions.py): what to do; the set or request travels in the value.
APPROVE = "points.approve"  # value "<set id>:<text hash>"
CHANGES = "points.changes"  # opens the comment form; value "<set id>:<text hash>"
CHANGES_SUBMIT = "points.changes_submit"  # the comment form; metadata "<set id>"
EDIT = "points.edit"  # opens the draft form; value "<set id>"
WITHDRAW = "points.withdraw"  # value "<set id>"
SUBMIT = "points.submit"  # the draft form; metadata "new:<team>", "edit:<id>:<revision>", "correct:<id>"
DECIDE_SUBMIT = "decision.submit"  # the decision form; metadata "<team id>"
REOPEN_VOTE = "decision.vote"  # value "<request id>:yes" or "<request id>:no"

POINTS, NOTE, INCLUDE_DONE = "points", "note", "include_done"
TEXT, LEVEL, MY_SIDE, DECIDED_BY, REASONS, MEETING = (
    "text",
    "level",
    "my_side",
    "decided_by",
    "reasons",
    "meeting",
)
COMMENT = "comment"

# The catalog keys that depend on a state or a side, spelled out (tests/test_catalog.py finds every key).
ALREADY = {
    "published": "points.approve.already_published",
    "withdrawn": "points.approve.already_withdrawn",
    "draft": "points.approve.already_draft",
}
ONE_SIDE_TITLE = {"labor": "points.one_side.labor", "management": "points.one_side.management"}
ONE_SIDE_BY = {"labor": "points.one_side.by_labor", "management": "points.one_side.by_management"}
ONE_SIDE_WHO = {"labor": "points.one_side.who_labor", "management": "points.one_side.who_management"}
ONE_SIDE_USAGE = {"labor": "points.one_side.usage_labor", "management": "points.one_side.usage_management"}
SIDE_NAME = {"labor": "points.side.labor", "management": "points.side.management"}
VOTE_RESULT = {"passed": "decision.reopen.passed", "failed": "decision.reopen.failed"}
VOTE_ANNOUNCE = {"passed": "decision.reopen.announce_passed", "failed": "decision.reopen.announce_failed"}


def card_key(set_id: int) -> str:
    """The approval card's key: every copy of it is replaced in place as its state changes."""
    return f"points:card:{set_id}"


def post_key(set_id: int) -> str:
    return f"points:post:{set_id}"


def day(local: str | None) -> str:
    """ "20 October 2026" from an ISO date."""
    if not local:
        return ""
    d = date.fromisoformat(local)
    return f"{d.day} {d:%B %Y}"


def channel_name(channel: Channel, say: Words) -> str:
    return say("points.channel", name=channel.name or channel.address, platform=channel.platform.title())


def bullets(points: Sequence[str]) -> tuple[Text, ...]:
    return tuple(Text(f"• {p}") for p in points)


# ---------------------------------------------------------------- the draft form


def draft_form(
    say: Words,
    channels: Sequence[Channel],
    *,
    metadata: str,
    points: Sequence[str] = (),
    note: str | None = None,
    chosen: Sequence[Channel] | None = None,
    done: Sequence[str] = (),
    title_key: str = "points.form.title",
) -> Form:
    """Points (one a line), a note, and one yes/no question per broadcast channel; done action items,
    if any, offered to add."""
    elements: list[Element] = [
        TextInput(
            POINTS,
            say("points.form.points"),
            multiline=True,
            placeholder=say("points.form.points_hint"),
            initial="\n".join(points) or None,
        ),
        TextInput(NOTE, say("points.form.note"), multiline=True, optional=True, initial=note or None),
    ]
    if done:
        elements.append(Context(say("points.form.done", items="; ".join(done))))
        elements.append(
            Question(
                INCLUDE_DONE,
                say("points.form.include_done"),
                (Choice("yes", say("points.yes")), Choice("no", say("points.no"))),
                style="radio",
                initial="no",
            )
        )
    picked = set(chosen if chosen is not None else channels)
    for n, channel in enumerate(channels):
        elements.append(
            Question(
                f"ch_{n}",
                say("points.form.post_to", channel=channel_name(channel, say)),
                (Choice("yes", say("points.yes")), Choice("no", say("points.no"))),
                style="radio",
                initial="yes" if channel in picked else "no",
            )
        )
    return Form(
        SUBMIT, say(title_key), tuple(elements), submit_label=say("points.form.save"), metadata=metadata
    )


def changes_form(say: Words, set_id: int) -> Form:
    return Form(
        CHANGES_SUBMIT,
        say("points.changes.title"),
        (TextInput(COMMENT, say("points.changes.comment"), multiline=True, min_length=1, max_length=2000),),
        submit_label=say("points.changes.send"),
        metadata=str(set_id),
    )


# ---------------------------------------------------------------- the approval card


def decided_lines(decisions: Sequence[DecisionView], say: Words) -> tuple[Text, ...]:
    """ "Decided: … — by Ben Manager (management); level 3: MY Decision — I will CONSULT …"."""
    return tuple(Text(decision_line(d, say)) for d in decisions)


def who_decided(decision: DecisionView, say: Words) -> str:
    return ", ".join(
        say("points.person_side", name=d.name, side=d.side) if d.side else d.name for d in decision.decided_by
    )


def level_text(decision: DecisionView, say: Words) -> str:
    level = continuum().level(decision.level)
    wording = level.wording if level else str(decision.level)
    other = next(s for s in SIDES if s != decision.my_side)
    return say("decision.level", n=decision.level, wording=wording, my=decision.my_side, your=other)


def decision_line(decision: DecisionView, say: Words) -> str:
    return say(
        "decision.line",
        id=decision.id,
        text=decision.text,
        who=who_decided(decision, say),
        level=level_text(decision, say),
    )


def approval_card(
    point_set: PointSet,
    say: Words,
    *,
    proposer: str,
    decisions: Sequence[DecisionView],
    corrects: PointSet | None = None,
    withdrawn_by: str | None = None,
    why: str | None = None,
) -> Card:
    """The one card both sides see: the exact text, who has approved it, and the buttons while it is a
    draft. After publishing or withdrawal the same card says so, without buttons."""
    if corrects is not None:
        title = say("points.card.correction_title", date=day(corrects.published_local_date))
    elif point_set.status == "published":
        title = say("points.card.title_published")
    elif point_set.status == "draft":
        title = say("points.card.title")
    else:
        title = say("points.card.title_withdrawn")
    elements: list[Element] = [
        Header(title),
        Context(say("points.card.version", n=point_set.revision, name=proposer)),
    ]
    elements += bullets(point_set.points)
    if point_set.note:
        elements.append(Text(say("points.card.note", note=point_set.note)))
    elements += decided_lines(decisions, say)
    audience = ", ".join(channel_name(c, say) for c in point_set.channels)
    approvals = current_approvals(point_set)
    pairs: list[tuple[str, str]] = [(say("points.card.audience"), audience)]
    for side in SIDES:
        names = ", ".join(a.name for a in approvals if a.side == side)
        pairs.append(
            (
                say(SIDE_NAME[side]),
                say("points.card.approved_by", names=names) if names else say("points.card.waiting"),
            )
        )
    elements.append(Fields(tuple(pairs)))
    if point_set.status == "draft":
        value = f"{point_set.id}:{hash_of(point_set)}"
        elements.append(
            Buttons(
                (
                    Button(say("points.button.approve"), APPROVE, value, style="primary"),
                    Button(say("points.button.changes"), CHANGES, value, opens_form=True),
                    Button(say("points.button.edit"), EDIT, str(point_set.id), opens_form=True),
                    Button(say("points.button.withdraw"), WITHDRAW, str(point_set.id), style="danger"),
                )
            )
        )
        elements.append(Context(" ".join(t for t in (say("points.card.rule"), why) if t)))
    elif point_set.status == "published":
        elements.append(Context(say("points.card.published", date=day(point_set.published_local_date))))
    else:
        elements.append(Context(say("points.card.withdrawn", name=withdrawn_by or "")))
    return Card(summary=one_line(title), elements=tuple(elements))


# ---------------------------------------------------------------- what goes to the audience


def joint_label(point_set: PointSet, say: Words, local_date: str) -> str:
    approvals = current_approvals(point_set)
    names = {side: say("points.and").join(a.name for a in approvals if a.side == side) for side in SIDES}
    return say(
        "points.post.label", labor=names["labor"], management=names["management"], date=day(local_date)
    )


def changes(before: Sequence[str], after: Sequence[str], say: Words) -> tuple[Text, ...]:
    """What a correction changed: points removed and points added, in order."""
    removed = [p for p in before if p not in after]
    added = [p for p in after if p not in before]
    lines = [Text(say("points.post.removed", point=p)) for p in removed]
    lines += [Text(say("points.post.added", point=p)) for p in added]
    return tuple(lines) or (Text(say("points.post.note_only")),)


def joint_post(
    point_set: PointSet,
    say: Words,
    local_date: str,
    decisions: Sequence[DecisionView],
    corrects: PointSet | None = None,
) -> Card:
    """The post every audience channel gets, the same on Slack and Teams."""
    label = joint_label(point_set, say, local_date)
    elements: list[Element] = []
    if corrects is not None:
        title = say("points.post.correction", date=day(corrects.published_local_date))
        elements += [Header(title), Context(label), Text(say("points.post.what_changed"))]
        elements += changes(corrects.points, point_set.points, say)
        elements.append(Text(say("points.post.corrected_now")))
    else:
        title = say("points.post.title")
        elements += [Header(title), Context(label)]
    elements += bullets(point_set.points)
    if point_set.note:
        elements.append(Text(point_set.note))
    elements += decided_lines(decisions, say)
    return Card(summary=one_line(label), elements=tuple(elements))


def one_side_post(side: str, points: Sequence[str], name: str, local_date: str, say: Words) -> Card:
    """A union-only or management-only update: labelled as that side's, never as joint."""
    title = say(ONE_SIDE_TITLE[side])
    elements: list[Element] = [Header(title), *bullets(points)]
    elements.append(Context(say(ONE_SIDE_BY[side], name=name, date=day(local_date))))
    return Card(summary=one_line(title), elements=tuple(elements))


def history_card(sets: Sequence[PointSet], say: Words) -> Card:
    if not sets:
        return Card.plain(say("points.history.none"))
    by_id = {s.id: s for s in sets}
    elements: list[Element] = [Header(say("points.history.title"))]
    for s in reversed(sets):
        when = day(s.published_local_date)
        if s.kind == "joint":
            approvers = ", ".join(
                say("points.person_side", name=a.name, side=a.side)
                for a in sorted(current_approvals(s), key=lambda a: SIDES.index(a.side))
            )
            head = say("points.history.joint", id=s.id, date=when, approvers=approvers)
            if s.corrects_id is not None and s.corrects_id in by_id:
                head += " " + say(
                    "points.history.corrects", date=day(by_id[s.corrects_id].published_local_date)
                )
        else:
            head = say("points.history.one_side", id=s.id, date=when, side=say(ONE_SIDE_TITLE[s.kind]))
        elements.append(Text(head + "\n" + "\n".join(f"• {p}" for p in s.points)))
    return Card(summary=say("points.history.title"), elements=tuple(elements[:50]))


# ---------------------------------------------------------------- decisions


def decision_form(say: Words, my_side: str, team_id: int) -> Form:
    levels = tuple(
        Choice(str(lv.level), one_line(f"{lv.level}. {lv.wording}", 75)) for lv in continuum().levels
    )
    return Form(
        DECIDE_SUBMIT,
        say("decision.form.title"),
        (
            TextInput(TEXT, say("decision.form.text"), multiline=True, min_length=1, max_length=2000),
            Question(LEVEL, say("decision.form.level"), levels, style="select"),
            Question(
                MY_SIDE,
                say("decision.form.my_side"),
                (
                    Choice("labor", say("points.side.labor")),
                    Choice("management", say("points.side.management")),
                ),
                style="radio",
                initial=my_side,
            ),
            TextInput(
                DECIDED_BY, say("decision.form.decided_by"), placeholder=say("decision.form.decided_by_hint")
            ),
            TextInput(REASONS, say("decision.form.reasons"), multiline=True),
            TextInput(MEETING, say("decision.form.meeting"), optional=True),
            Context(continuum().attribution),
        ),
        submit_label=say("decision.form.save"),
        metadata=str(team_id),
    )


def decision_card(decision: DecisionView, say: Words) -> Card:
    title = say("decision.title", id=decision.id)
    pairs = (
        (say("decision.field.who"), who_decided(decision, say)),
        (say("decision.field.level"), level_text(decision, say)),
        (say("decision.field.reasons"), decision.reasons),
        (say("decision.field.meeting"), decision.meeting),
    )
    return Card(
        summary=one_line(f"{title}: {decision.text}"),
        elements=(Header(title), Text(decision.text), Fields(pairs), Context(continuum().attribution)),
    )


def decisions_card(decisions: Sequence[DecisionView], say: Words, prefix: str) -> Card:
    if not decisions:
        return Card.plain(say("decision.none", prefix=prefix))
    elements: list[Element] = [Header(say("decision.list_title"))]
    for d in decisions[-40:]:
        line = decision_line(d, say)
        if d.status == "reopened":
            line += " " + say("decision.reopened_mark")
        elements.append(Text(line))
    elements.append(Context(say("decision.reopen_hint", prefix=prefix)))
    return Card(summary=say("decision.list_title"), elements=tuple(elements))


def reopen_card(decision: DecisionView, request: ReopenRequest, requester: str, say: Words) -> Card:
    title = say("decision.reopen.title", id=decision.id)
    elements: list[Element] = [
        Header(title),
        Text(
            say("decision.reopen.what", name=requester, text=decision.text, information=request.information)
        ),
        Fields(
            (
                (say("decision.reopen.agree"), str(request.agree)),
                (say("decision.reopen.disagree"), str(request.disagree)),
                (
                    say("decision.reopen.needed"),
                    say("decision.reopen.of", n=needed(request.electorate), total=request.electorate),
                ),
            )
        ),
    ]
    if request.status == "open":
        elements.append(
            Buttons(
                (
                    Button(say("decision.reopen.yes"), REOPEN_VOTE, f"{request.id}:yes", style="primary"),
                    Button(say("decision.reopen.no"), REOPEN_VOTE, f"{request.id}:no"),
                )
            )
        )
        elements.append(Context(say("decision.reopen.rule")))
    else:
        elements.append(Text(say(VOTE_RESULT[request.status])))
    return Card(summary=one_line(title), elements=tuple(elements))


def needed(electorate: int) -> int:
    """The fewest agreeing votes that make 75 % of `electorate`."""
    return -(-75 * electorate // 100)

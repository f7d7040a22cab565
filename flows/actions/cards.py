"""What action items look like: the item card with its buttons, the lists, the reminder, the digest, the
forms. Every card that shows an item carries Done, Update and Snooze, the item's id in the button value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from flows.actions.dates import week_start
from flows.core.catalog import Words
from flows.core.formatting import meeting_day
from flows.core.types import (
    Button,
    Buttons,
    Card,
    Choice,
    Context,
    Element,
    Form,
    Header,
    Question,
    Text,
    TextInput,
)
from storage.action_items import DONE, DROPPED, TITLE_MAX, ItemView
from storage.teams import MemberView

DONE_ACTION = "actions.done"
UPDATE_ACTION = "actions.update"
UPDATE_SUBMIT = "actions.update_submit"
SNOOZE_ACTION = "actions.snooze"
SNOOZE_SUBMIT = "actions.snooze_submit"
CONFIRM_ACTION = "actions.confirm"
NEW_SUBMIT = "actions.new_submit"
OWNER_FIELDS = ("owner1", "owner2", "owner3")


def day(value: date) -> str:
    return meeting_day(datetime.combine(value, datetime.min.time()))


def owners_text(item: ItemView) -> str:
    return ", ".join(item.owner_names)


def item_buttons(item: ItemView, say: Words) -> Buttons:
    value = str(item.id)
    return Buttons(
        (
            Button(say("actions.button.done"), DONE_ACTION, value, style="primary"),
            Button(say("actions.button.update"), UPDATE_ACTION, value, opens_form=True),
            Button(say("actions.button.snooze"), SNOOZE_ACTION, value, opens_form=True),
        )
    )


def status_text(item: ItemView, say: Words) -> str:
    if item.status == DONE:
        return (
            say("actions.status.done_outcome", outcome=item.outcome)
            if item.outcome
            else say("actions.status.done")
        )
    if item.status == DROPPED:
        return say("actions.status.dropped", reason=item.reason or "")
    return say("actions.status.open")


def item_line(item: ItemView, say: Words, *, with_owners: bool = True) -> str:
    if with_owners:
        return say("actions.line", id=item.id, title=item.title, due=day(item.due), owners=owners_text(item))
    return say("actions.line_no_owners", id=item.id, title=item.title, due=day(item.due))


def item_card(item: ItemView, say: Words, *, intro: str | None = None) -> Card:
    elements: list[Element] = []
    if intro:
        elements.append(Text(intro))
    elements += [
        Text(say("actions.card.title", id=item.id, title=item.title)),
        Text(
            say(
                "actions.card.details",
                due=day(item.due),
                owners=owners_text(item),
                status=status_text(item, say),
            )
        ),
        item_buttons(item, say),
    ]
    return Card(summary=intro or item.title, elements=tuple(elements))


def list_card(
    title: str, items: Sequence[ItemView], today: date, say: Words, *, name_overdue: bool, empty: str
) -> Card:
    """Open items, soonest first, grouped by due week; overdue ones first, by item (owners named only
    where `name_overdue`: a private conversation). Each item carries its buttons."""
    elements: list[Element] = [Header(title)]
    if not items:
        elements.append(Text(empty))
    overdue = [i for i in items if i.due < today]
    if overdue:
        elements.append(Text(say("actions.list.overdue", count=len(overdue))))
        for item in overdue:
            elements += [Text(item_line(item, say, with_owners=name_overdue)), item_buttons(item, say)]
    current: date | None = None
    for item in items:
        if item.due < today:
            continue
        week = week_start(item.due)
        if week != current:
            current = week
            label = (
                say("actions.list.this_week")
                if week == week_start(today)
                else say("actions.list.week_of", week=day(week))
            )
            elements.append(Text(label))
        elements += [Text(item_line(item, say)), item_buttons(item, say)]
    elements.append(Context(say("actions.list.footer")))
    return Card(summary=title, elements=tuple(elements))


def reminder_card(item: ItemView, kind: str, team_name: str, say: Words) -> Card:
    key = {
        "before": "actions.remind.before",
        "due": "actions.remind.due",
        "overdue": "actions.remind.overdue",
    }[kind]
    line = say(key, title=item.title, due=day(item.due), team=team_name)
    return Card(
        summary=line,
        elements=(Text(line), item_buttons(item, say), Context(say("actions.remind.why"))),
    )


def digest_card(team_name: str, items: Sequence[ItemView], today: date, say: Words, week_end: date) -> Card:
    overdue = [i for i in items if i.due < today]
    this_week = [i for i in items if today <= i.due <= week_end]
    title = say("actions.digest.title", team=team_name)
    elements: list[Element] = [
        Header(title),
        Text(
            say(
                "actions.digest.counts",
                open=len(items),
                this_week=len(this_week),
                overdue=len(overdue),
            )
        ),
    ]
    if this_week:
        elements.append(Text(say("actions.digest.due_this_week")))
        for item in this_week:
            elements += [Text(item_line(item, say)), item_buttons(item, say)]
    if overdue:
        elements.append(Text(say("actions.digest.overdue")))
        for item in overdue:
            elements += [Text(item_line(item, say)), item_buttons(item, say)]
    elements.append(Context(say("actions.digest.why")))
    return Card(summary=title, elements=tuple(elements))


def _member_choices(members: Sequence[MemberView]) -> tuple[Choice, ...]:
    return tuple(Choice(str(m.person_id), m.name) for m in members)


def new_form(team_id: int, members: Sequence[MemberView], me: int | None, say: Words) -> Form:
    choices = _member_choices(members)
    return Form(
        form_id=NEW_SUBMIT,
        title=say("actions.form.new_title"),
        elements=(
            TextInput("title", say("actions.form.title"), max_length=TITLE_MAX),
            Question(
                OWNER_FIELDS[0],
                say("actions.form.owner"),
                choices,
                style="select",
                initial=str(me) if me is not None else None,
            ),
            Question(OWNER_FIELDS[1], say("actions.form.another_owner"), choices, "select", optional=True),
            Question(OWNER_FIELDS[2], say("actions.form.another_owner"), choices, "select", optional=True),
            TextInput("due", say("actions.form.due"), placeholder=say("actions.form.due_hint")),
        ),
        submit_label=say("actions.form.save"),
        metadata=str(team_id),
    )


def update_form(item: ItemView, say: Words) -> Form:
    statuses = (
        Choice("open", say("actions.form.status_open")),
        Choice("done", say("actions.form.status_done")),
        Choice("dropped", say("actions.form.status_dropped")),
    )
    return Form(
        form_id=UPDATE_SUBMIT,
        title=say("actions.form.update_title"),
        elements=(
            TextInput("title", say("actions.form.title"), max_length=TITLE_MAX, initial=item.title),
            TextInput(
                "due",
                say("actions.form.due"),
                initial=item.due.isoformat(),
                placeholder=say("actions.form.due_hint"),
            ),
            Question("status", say("actions.form.status"), statuses, "radio", initial=item.status),
            TextInput("note", say("actions.form.note"), optional=True, max_length=TITLE_MAX, multiline=False),
        ),
        submit_label=say("actions.form.save"),
        metadata=str(item.id),
    )


def snooze_form(item: ItemView, say: Words) -> Form:
    return Form(
        form_id=SNOOZE_SUBMIT,
        title=say("actions.form.snooze_title"),
        elements=(
            Text(say("actions.form.snooze_now", title=item.title, due=day(item.due))),
            TextInput(
                "due",
                say("actions.form.new_due"),
                initial=(item.due + timedelta(days=7)).isoformat(),
                placeholder=say("actions.form.due_hint"),
            ),
        ),
        submit_label=say("actions.form.save"),
        metadata=str(item.id),
    )


def wrapup_card(items: Sequence[ItemView], say: Words) -> Card:
    title = say("actions.wrapup.title", count=len(items))
    elements: list[Element] = [Header(title), Text(say("actions.wrapup.ask"))]
    for item in items:
        elements += [
            Text(item_line(item, say)),
            Buttons(
                (
                    Button(say("actions.button.confirm"), CONFIRM_ACTION, str(item.id), style="primary"),
                    *item_buttons(item, say).buttons,
                )
            ),
        ]
    elements.append(Context(say("actions.wrapup.why")))
    return Card(summary=title, elements=tuple(elements))

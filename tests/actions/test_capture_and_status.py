"""Capturing a promise in chat and changing its status, through the engine, the outbox and the local
adapter: mentions become owners, history records every change, bad input gets a clear reply and changes
nothing, a double click changes nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from flows.core.types import Question
from storage import action_items as store
from storage.action_models import ActionHistory, ActionItem
from tests.conftest import Stack, team_spec

# 2026-11-30 is a Monday; 10:00 in Los Angeles
MONDAY = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


async def _setup(stack: Stack) -> int:
    stack.clock.set(MONDAY)
    team = await stack.import_team(team_spec())
    return team.id


async def _say(
    stack: Stack,
    user: str,
    text: str,
    mentions: list[str] | None = None,
    channel: str | None = "team-channel",
) -> str:
    await stack.local.command(user, text, channel=channel, mentions=mentions or [])
    await stack.worker.drain()
    return replied(stack, user)


def replied(stack: Stack, user: str) -> str:
    """The last thing only `user` saw: a private reply in the channel, or their DM."""
    mine = [
        t for t in stack.local.transcript if t.target.get("private_to") == user or t.where == f"DM to {user}"
    ]
    return " ".join(mine[-1].text.split())  # as one line: the local renderer wraps long lines


async def _items(stack: Stack, team_id: int) -> list[store.ItemView]:
    async with stack.sessions() as session:
        return await store.all_items(session, team_id)


async def _history(stack: Stack, item_id: int) -> list[tuple[str, str | None]]:
    async with stack.sessions() as session:
        return [(h.what, h.who) for h in await store.history(session, [item_id])]


async def test_capture_with_mentions_and_an_iso_date(stack: Stack) -> None:
    team_id = await _setup(stack)
    reply = await _say(stack, "ana", 'action "Draft the survey to staff" @0 @1 due 2026-12-04', ["cy", "di"])
    assert "Saved as promise #" in reply and "Draft the survey to staff" in reply
    [item] = await _items(stack, team_id)
    assert (item.title, item.due, item.owner_names) == (
        "Draft the survey to staff",
        date(2026, 12, 4),
        ("Cy Teacher", "Di Principal"),
    )
    # each owner other than the speaker hears why, privately
    dms = [t for t in stack.local.transcript if t.where in ("DM to cy", "DM to di")]
    assert len(dms) == 2 and all("Ana Labor named you an owner" in t.text for t in dms)
    assert await _history(stack, item.id) == [("created", "Ana Labor")]


async def test_unquoted_title_relative_dates_and_the_speaker_as_default_owner(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "cy", "action Book the library room due friday")
    await _say(stack, "cy", "action Ask the board @0 due in 2 weeks", ["ed"])
    first, second = await _items(stack, team_id)
    assert (first.title, first.due, first.owner_names) == (
        "Book the library room",
        date(2026, 12, 4),
        ("Cy Teacher",),
    )
    assert (second.title, second.due, second.owner_names) == (
        "Ask the board",
        date(2026, 12, 14),
        ("Ed Board",),
    )


async def test_bad_input_gets_a_clear_reply_and_stores_nothing(stack: Stack) -> None:
    await _setup(stack)
    cases = [
        ('action "Draft" @0 due friday', ["stranger"], "is not on Test Solutions Team"),
        ('action "Draft" due 2026-11-01', [], "is in the past"),
        ('action "" due friday', [], "needs a title"),
        ('action "   " due friday', [], "needs a title"),
        (f'action "{"x" * 3000}" due friday', [], "the title is 3000 characters"),
        ('action "Draft"', [], "needs a due date"),
        ('action "Draft" due someday', [], "can't read “someday” as a date"),
    ]
    for text, mentions, why in cases:
        reply = await _say(stack, "ana", text, mentions)
        assert "I could not save that promise" in reply and why in reply, (text, reply)
    async with stack.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(ActionItem))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(ActionHistory))).scalar_one() == 0


@pytest.mark.both_databases  # the idempotency key and the item's row lock
async def test_done_by_an_owner_is_celebrated_once_and_a_double_click_changes_nothing(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "ana", 'action "Draft the survey to staff" @0 @1 due 2026-12-04', ["cy", "di"])
    [item] = await _items(stack, team_id)
    await stack.local.click("cy", "actions.done", str(item.id), key="click-1")
    await stack.local.click("cy", "actions.done", str(item.id), key="click-1")  # the platform's retry
    await stack.worker.drain()
    await stack.local.click("cy", "actions.done", str(item.id), key="click-2")  # a second click
    await stack.worker.drain()
    assert "already marked done" in replied(stack, "cy")
    celebrations = [
        t for t in stack.local.transcript if t.where == "#team-channel" and t.text.startswith("Done:")
    ]
    assert [t.text for t in celebrations] == ["Done: Draft the survey to staff — Cy Teacher, Di Principal"]
    assert await _history(stack, item.id) == [("created", "Ana Labor"), ("done", "Cy Teacher")]


async def test_only_owners_and_co_chairs_change_an_item(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "cy", 'action "Collect the sign-ups" due 2026-12-04')
    [item] = await _items(stack, team_id)
    await stack.local.click("ed", "actions.done", str(item.id))
    await stack.worker.drain()
    reply = replied(stack, "ed")
    assert "Only the owners of “Collect the sign-ups” (Cy Teacher) or a co-chair" in reply
    assert "Nothing was changed" in reply
    assert (await _items(stack, team_id))[0].status == "open"
    # a co-chair (either side) may: drop needs a reason, said in the channel
    reply = await _say(stack, "ben", f"actions drop {item.id}")
    assert "needs a reason" in reply
    await _say(stack, "ben", f"actions drop {item.id} The district moved the sign-up online")
    dropped = [
        " ".join(t.text.split())
        for t in stack.local.transcript
        if t.where == "#team-channel" and t.text.startswith("Dropped:")
    ]
    assert dropped == [
        "Dropped: Collect the sign-ups — Ben Manager said why: The district moved the sign-up online"
    ]
    await _say(stack, "ana", f"actions reopen {item.id}")
    await _say(stack, "cy", f"actions done {item.id} 14 people signed up")
    [final] = await _items(stack, team_id)
    assert (final.status, final.outcome) == ("done", "14 people signed up")
    assert [w for w, _ in await _history(stack, item.id)] == ["created", "dropped", "reopened", "done"]


async def test_update_and_snooze_forms_record_every_change(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "cy", 'action "Share the notes" due 2026-12-04')
    [item] = await _items(stack, team_id)
    await stack.local.click("cy", "actions.snooze", str(item.id))
    form = stack.local.last_form
    assert form is not None and form.metadata == str(item.id)
    await stack.local.submit("cy", form, {"due": "2026-12-11"})
    await stack.local.click("cy", "actions.update", str(item.id))
    form = stack.local.last_form
    assert form is not None
    await stack.local.submit(
        "cy",
        form,
        {"title": "Share the meeting notes", "due": "2026-12-11", "status": "open", "note": "half done"},
    )
    await stack.worker.drain()
    [changed] = await _items(stack, team_id)
    assert (changed.title, changed.due) == ("Share the meeting notes", date(2026, 12, 11))
    history = await _history(stack, item.id)
    assert [w for w, _ in history] == ["created", "due", "title", "note"]
    # a stranger to the item can't open the forms
    await stack.local.click("fay", "actions.snooze", str(item.id))
    assert stack.local.last_form is None


async def test_the_form_picks_owners_from_the_team(stack: Stack) -> None:
    team_id = await _setup(stack)
    await stack.local.command("ana", "action", channel="team-channel")
    form = stack.local.last_form
    assert form is not None
    owner_choices = next(e for e in form.elements if isinstance(e, Question) and e.id == "owner1")
    assert isinstance(owner_choices, Question)
    assert [c.label for c in owner_choices.choices][:2] == ["Ana Labor", "Ben Manager"]
    async with stack.sessions() as session:
        from storage import teams

        members = {m.name: m.person_id for m in await teams.members(session, team_id)}
    await stack.local.submit(
        "ana",
        form,
        {
            "title": "Plan the retreat",
            "owner1": str(members["Di Principal"]),
            "owner2": str(members["Ana Labor"]),
            "due": "in 3 days",
        },
    )
    await stack.worker.drain()
    [item] = await _items(stack, team_id)
    assert (item.title, item.owner_names, item.due) == (
        "Plan the retreat",
        ("Di Principal", "Ana Labor"),
        date(2026, 12, 3),
    )

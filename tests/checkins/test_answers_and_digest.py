"""Answering, the reminder and the digest: one form, edits until close updating a posted digest in place,
one private reminder to those who have not answered, a digest that names who answered and never who did
not, the anonymous mood shown only as an average above the team's minimum, one digest per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage import calendar, checkins, schedules
from storage.checkin_models import CheckinMood, CheckinMoodSealed, CheckinResponse
from storage.models import OutboxMessage
from tests.checkins.conftest import answer, channel, checkin_spec, dms, runs, set_up
from tests.conftest import Stack, team_spec

OPEN = datetime(2026, 10, 26, 16, 0, tzinfo=UTC)  # Monday 9:00 in Los Angeles: everyone has been asked
NAMES = {
    "ana": "Ana Labor",
    "ben": "Ben Manager",
    "cy": "Cy Teacher",
    "di": "Di Principal",
    "ed": "Ed Board",
    "fay": "Fay Parent",
}


async def _open_run(stack: Stack, **fields: object) -> tuple[int, checkins.Run]:
    team_id = await set_up(stack, checkin_spec(**fields))
    await stack.run_until(OPEN - timedelta(hours=26))
    await stack.run_until(OPEN)
    (run,) = await runs(stack, team_id)
    return team_id, run


async def _count(stack: Stack, model: type[object]) -> int:
    async with stack.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_edits_until_close_update_the_posted_digest_in_place(stack: Stack) -> None:
    team_id, run = await _open_run(stack)
    await answer(stack, "cy", run.id, {"q1": "Busy but fine", "q2": "Fewer meetings"})
    assert "Thanks" in dms(stack, "cy")[-1]
    await stack.local.command("ana", "checkin digest", channel="team-channel")
    await stack.worker.drain()
    (posted,) = channel(stack)
    assert "Busy but fine" in posted.text and "Cy Teacher" in posted.text and not posted.updated
    # the form shows the earlier answers; a change replaces them and updates the post
    await stack.local.click("cy", "checkin.answer", str(run.id))
    form = stack.local.last_form
    assert form is not None and [e.initial for e in form.elements if e.type == "text_input"] == [
        "Busy but fine",
        "Fewer meetings",
    ]
    await stack.local.submit("cy", form, {"q1": "Calmer now", "q2": ""})
    await answer(stack, "ed", run.id, {"q1": "Good week"})
    await stack.worker.drain()
    updates = channel(stack)[1:]
    assert updates and all(u.updated and u.ref == posted.ref for u in updates)
    assert "Calmer now" in updates[-1].text and "Busy but fine" not in updates[-1].text
    assert "Good week" in updates[-1].text and "2 of 6" in updates[-1].text
    assert "changed" in dms(stack, "cy")[-1]
    # at close the same post becomes the final digest; answers can no longer change
    await stack.run_until(run.closes_at)
    final = channel(stack)[-1]
    assert final.updated and final.ref == posted.ref and "closed" in final.text
    await stack.local.submit("cy", "checkin.submit", {"q1": "Too late"}, metadata=str(run.id))
    await stack.worker.drain()
    assert "has closed" in dms(stack, "cy")[-1]
    async with stack.sessions() as session:
        mine = await checkins.response_of(session, run.id, run.asked[2])
    assert mine is not None and mine.answers == ("Calmer now", None)
    assert team_id


async def test_the_reminder_reaches_only_those_who_have_not_answered_privately_once(stack: Stack) -> None:
    _, run = await _open_run(stack)
    await answer(stack, "cy", run.id, {"q1": "Fine"})
    await answer(stack, "di", run.id, {"q2": "More time"})
    await stack.local.command("fay", "checkin mute")
    await stack.worker.drain()
    assert run.remind_at is not None
    seen = len(stack.local.transcript)
    await stack.run_until(run.remind_at)
    await stack.run_until(run.remind_at + timedelta(hours=1))
    sent = stack.local.transcript[seen:]
    reminded = sorted(e.target.get("user") for e in sent if "Reminder:" in e.text)
    assert reminded == ["ana", "ben", "ed"]  # not cy or di (answered), not fay (muted)
    assert all("2 of 6 have answered" in " ".join(e.text.split()) for e in sent if "Reminder:" in e.text)
    assert all(e.target.get("user") for e in sent)  # private messages only: nothing in a channel
    for name in NAMES.values():
        assert all(name not in e.text for e in sent)  # counts, never names


async def test_the_digest_names_who_answered_and_never_who_did_not(stack: Stack) -> None:
    _, run = await _open_run(stack)
    await answer(stack, "ben", run.id, {"q1": "Steady", "q2": "A quiet afternoon"})
    await answer(stack, "fay", run.id, {"q2": "Clear agendas"})
    await stack.run_until(run.closes_at)
    (digest,) = channel(stack)
    text = digest.text
    assert "Ben Manager" in text and "Fay Parent" in text and "2 of 6 checked in" in text
    for user in ("ana", "cy", "di", "ed"):
        assert NAMES[user] not in text
    assert (
        text.index(run.prompts[0])
        < text.index("Steady")
        < text.index(run.prompts[1])
        < text.index("Clear agendas")
    )


async def test_a_run_with_no_answers_still_posts_one_line(stack: Stack) -> None:
    _, run = await _open_run(stack)
    await stack.run_until(run.closes_at)
    (digest,) = channel(stack)
    assert digest.text.startswith("No one checked in") and all(n not in digest.text for n in NAMES.values())


@pytest.mark.both_databases  # the moods' aggregate and their unlinkable rows: on PostgreSQL too
async def test_the_anonymous_mood_is_hidden_below_the_minimum(stack: Stack) -> None:
    _, run = await _open_run(stack, mood=True)
    assert run.mood and run.min_responses == 5
    for user, mood in (("ana", "4"), ("ben", "2"), ("cy", "5")):
        await answer(stack, user, run.id, {"q1": "ok", "mood": mood})
    assert await _count(stack, CheckinMoodSealed) == 3 and await _count(stack, CheckinMood) == 0
    await stack.run_until(run.closes_at)
    (digest,) = channel(stack)
    assert "hidden" in digest.text and "3.7" not in digest.text
    assert (
        await _count(stack, CheckinMoodSealed) == 0 and await _count(stack, CheckinMood) == 0
    )  # never written


@pytest.mark.both_databases
async def test_the_anonymous_mood_shows_as_an_average_at_the_minimum(stack: Stack) -> None:
    _, run = await _open_run(stack, mood=True)
    for user, mood in (("ana", "4"), ("ben", "2"), ("cy", "5"), ("di", "3"), ("ed", "4")):
        await answer(stack, user, run.id, {"mood": mood})
    await stack.run_until(run.closes_at)
    (digest,) = channel(stack)
    assert "Team mood: 3.6 out of 5" in digest.text
    assert "Ana Labor" not in digest.text  # a mood alone is anonymous: it names nobody
    async with stack.sessions() as session:
        moods = sorted((await session.execute(select(CheckinMood.value))).scalars())
    assert moods == [2, 3, 4, 4, 5]
    assert "person_id" not in CheckinMood.__table__.columns and await _count(stack, CheckinMoodSealed) == 0


async def test_a_team_on_slack_and_teams_gets_one_digest_in_each_channel(stack: Stack) -> None:
    spec = team_spec(
        meeting=None,
        checkins={"every": "FREQ=WEEKLY;BYDAY=MO", "start": "2026-10-26"},
        channels=[
            {"platform": "slack", "id": "C0SLACK", "name": "#team"},
            {"platform": "teams", "id": "19:teams@thread.tacv2", "name": "Team"},
        ],
        members=[
            {"name": "Ana Labor", "side": "labor", "co_chair": True, "slack": "U1", "local": "ana"},
            {
                "name": "Ben Manager",
                "side": "management",
                "co_chair": True,
                "teams": "29:ben",
                "local": "ben",
            },
            {"name": "Cy Teacher", "side": "labor", "slack": "U3"},
            {"name": "Di Principal", "side": "management", "teams": "29:di"},
        ],
    )
    team_id = await set_up(stack, spec, ny=())
    await stack.run_until(OPEN - timedelta(hours=26))
    await stack.run_until(OPEN)
    (run,) = await runs(stack, team_id)
    await stack.run_until(run.closes_at)
    async with stack.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.message_key == f"checkin:{run.id}:digest")
                )
            )
            .scalars()
            .all()
        )
        invites = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.team_id == team_id)))
            .scalars()
            .all()
        )
        invites = [r.platform for r in invites if r.payload and r.payload["summary"].startswith("Time for")]
    assert sorted((r.platform, r.target["address"]) for r in rows) == [
        ("slack", "C0SLACK"),
        ("teams", "19:teams@thread.tacv2"),
    ]
    assert sorted(invites).count("slack") == 2 and sorted(invites).count("teams") == 2


async def test_bad_input_gets_a_clear_reply_and_stores_nothing(stack: Stack) -> None:
    team_id, run = await _open_run(stack, mood=True)
    # a mood of 7, and an answer to a fourth question, straight to the flow (as a tampered form would)
    await stack.local.submit("cy", "checkin.submit", {"q1": "fine", "mood": "7"}, metadata=str(run.id))
    await stack.worker.drain()
    assert "from 1 to 5" in dms(stack, "cy")[-1] and "Nothing was saved" in dms(stack, "cy")[-1]
    await stack.local.submit("cy", "checkin.submit", {"q1": "a", "q4": "b"}, metadata=str(run.id))
    await stack.worker.drain()
    assert "q4" in dms(stack, "cy")[-1] and "Nothing was saved" in dms(stack, "cy")[-1]
    assert await _count(stack, CheckinResponse) == 0 and await _count(stack, CheckinMoodSealed) == 0
    # a fourth question per run, an unknown zone
    await stack.local.command("ana", "checkin questions 4", channel="team-channel")
    await stack.worker.drain()
    assert "1 to 3 questions" in stack.local.transcript[-1].text
    await stack.local.command("cy", "checkin zone Mars/Olympus_Mons")
    await stack.worker.drain()
    assert "don't know the time zone" in stack.local.transcript[-1].text
    async with stack.sessions() as session:
        zones = await calendar.person_zones(session, team_id)
        rows = await schedules.for_team(session, team_id, "checkin.run")
    assert set(zones.values()) == {"America/Los_Angeles", "America/New_York"}
    assert rows[0].settings["questions"] == 2
    await stack.local.command("ana", "checkin schedule 09:30 2026-01-05")
    await stack.worker.drain()
    assert "is in the past" in stack.local.transcript[-1].text
    async with stack.sessions() as session:
        (row,) = await schedules.for_team(session, team_id, "checkin.run")
    assert row.settings["at"] == "09:00"
    # only a co-chair changes the schedule
    await stack.local.command("cy", "checkin off")
    await stack.worker.drain()
    assert "Only a co-chair" in stack.local.transcript[-1].text

"""Running a poll end to end: invitation, one form, anonymous submit, reminders, close and release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from adapters.local.render import render_text
from storage import outbox, pulse, schedules, teams
from storage.models import OutboxMessage
from storage.pulse_models import PulseAnswer, PulseBallot, PulsePoll, PulseSealed
from tests.conftest import Stack, team_spec
from tests.pulse.conftest import all_items, answer, big_team, current_poll

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # Monday 9 AM Pacific


async def _open(stack: Stack, spec: dict[str, object] | None = None, by: str = "l0") -> tuple[int, int]:
    stack.clock.set(START)
    team = await stack.import_team(spec or big_team())
    await stack.local.command(by, "pulse start")
    await stack.worker.drain()
    poll = await current_poll(stack, team.id)
    return team.id, poll.id


async def _count(stack: Stack, model: type[object]) -> int:
    async with stack.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _close_at_deadline(stack: Stack, team_id: int) -> None:
    async with stack.sessions() as session:
        poll = await pulse.open_poll(session, team_id)
        assert poll is not None
        closes = poll.closes_at
    day = START
    while day < closes:  # every daily occurrence, as the ticker would
        day += timedelta(days=1)
        await stack.run_until(day + timedelta(minutes=1))


def _report(stack: Stack) -> str:
    """The released report as posted in the channel, with wrapped lines joined."""
    text = next(
        e.text
        for e in stack.local.transcript
        if e.where == "#team-channel" and "Relational Trust Self-Assessment — results" in e.text
    )
    return text.replace("\n  · ", " ").replace("\n", " ")


def _dms(stack: Stack, user: str) -> list[str]:
    return [e.text for e in stack.local.transcript if e.target.get("user") == user]


async def test_a_member_who_is_not_a_co_chair_cannot_start_a_poll(stack: Stack) -> None:
    stack.clock.set(START)
    await stack.import_team(team_spec())
    await stack.local.command("cy", "pulse start")
    await stack.worker.drain()
    assert "Only a co-chair can start a poll" in stack.local.transcript[-1].text
    assert await _count(stack, PulsePoll) == 0
    assert all("Self-Assessment" not in e.text for e in stack.local.transcript[:-1])


async def test_every_member_is_told_why_before_the_one_form(stack: Stack) -> None:
    await _open(stack)
    for user in ("l0", "l3", "m5"):
        (dm,) = [t for t in _dms(stack, user) if "Relational Trust Self-Assessment" in t]
        why, who, button = dm.index("Trust is what"), dm.index("No one"), dm.index("[ Answer now ]")
        assert why < who < button and "database staff included) sees who answered what" in " ".join(
            dm.split()
        )
        before_button = dm[:button]
        assert len([ln for ln in before_button.splitlines() if ln.strip()]) <= 6  # header, what, why, who
        assert "Bryk" not in before_button and "Bryk" in dm[button:]  # the credit only in the context
        assert ":L" not in dm  # the content files' line references are for maintainers, not members
    channel = [e.text for e in stack.local.transcript if e.target.get("address") == "team-channel"]
    assert len(channel) == 1 and "is open until" in channel[0]
    await stack.local.click("l3", "pulse.answer", "1")
    form = stack.local.last_form
    assert form is not None and (form.form_id, form.metadata) == ("pulse.submit", "1")
    headers = [e.text for e in form.elements if e.type == "header"]
    assert headers == [
        "Mutual Respect",
        "Personal Regard",
        "Competence in Core Responsibilities",
        "Integrity",
    ]
    questions = [e for e in form.elements if e.type == "question"]
    assert len(questions) == 12 and all(len(q.choices) == 5 for q in questions)
    assert questions[0].choices[0].label == "1 not evident" and questions[0].choices[-1].label.endswith(
        "consistently evident"
    )
    assert [e.id for e in form.elements if e.type == "text_input"] == ["comment"]


async def test_a_submit_is_sealed_until_close_and_a_second_one_replaces_it(stack: Stack) -> None:
    _, poll_id = await _open(stack)
    await answer(stack, "l3", poll_id, {**all_items(4), "comment": "We listen well."})
    # nothing readable is stored while the poll is open: one sealed row for this person, no answers
    assert await _count(stack, PulseSealed) == 1
    assert await _count(stack, PulseBallot) == 0 and await _count(stack, PulseAnswer) == 0
    async with stack.sessions() as session:
        sealed = (await session.execute(select(PulseSealed.sealed))).scalar_one()
    assert b"listen" not in sealed and b"comment" not in sealed
    receipt = stack.local.transcript[-1]
    assert receipt.target.get("user") == "l3" and "[ Change my answers ]" in receipt.text
    assert "sealed" in receipt.text
    # the same form submitted again (a double click, or a change of mind) replaces: still one submission
    await stack.local.submit("l3", "pulse.submit", all_items(1), metadata=str(poll_id))
    await stack.worker.drain()
    assert "changed" in stack.local.transcript[-1].text
    assert await _count(stack, PulseSealed) == 1 and await _count(stack, PulseAnswer) == 0


async def test_a_form_opened_before_exact_action_ids_still_submits(stack: Stack) -> None:
    """Before the action router, the form's id carried the poll (`pulse.submit.<poll>`, no metadata): a
    Slack modal or Teams input card open at deploy time still records its answers."""
    _, poll_id = await _open(stack)
    await stack.local.submit("l3", f"pulse.submit.{poll_id}", all_items(3))
    await stack.worker.drain()
    assert "your answers are in" in stack.local.transcript[-1].text
    assert await _count(stack, PulseSealed) == 1


async def test_bad_input_is_refused_and_nothing_is_recorded(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    out_of_range = {**all_items(4), "respect.listen": "6"}
    await stack.local.submit("l3", "pulse.submit", out_of_range, metadata=str(poll_id))
    await stack.worker.drain()
    assert "isn't on the scale" in stack.local.transcript[-1].text
    other_poll = {**all_items(4), "goals": "7"}  # an item of the Effective Team Assessment
    await stack.local.submit("l3", "pulse.submit", other_poll, metadata=str(poll_id))
    await stack.worker.drain()
    assert "aren't in this poll (goals)" in stack.local.transcript[-1].text
    missing = all_items(4)
    missing.pop("integrity.honesty")
    await stack.local.submit("l3", "pulse.submit", missing, metadata=str(poll_id))
    await stack.worker.drain()
    assert "answer every question" in stack.local.transcript[-1].text
    assert await _count(stack, PulseSealed) == 0
    for user in ("l1", "l2", "l3", "l4", "l5"):
        await answer(stack, user, poll_id, all_items(4))
    await _close_at_deadline(stack, team_id)
    await stack.local.submit("m3", "pulse.submit", all_items(4), metadata=str(poll_id))
    await stack.worker.drain()
    assert "has closed" in stack.local.transcript[-1].text
    assert await _count(stack, PulseBallot) == 5 and await _count(stack, PulseSealed) == 0


async def test_answers_can_change_until_close(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    await answer(stack, "l3", poll_id, {**all_items(2), "comment": "first thoughts"})
    change = next(
        b
        for e in reversed(stack.local.transcript)
        for el in e.card.elements
        if el.type == "buttons"
        for b in el.buttons
        if b.action_id == "pulse.change"
    )
    assert change.value == str(poll_id)  # no secret travels in the button
    await stack.local.click("l3", "pulse.change", change.value)
    form = stack.local.last_form
    assert form is not None and (form.form_id, form.metadata) == ("pulse.submit", str(poll_id))
    # the form shows this person's own answers so far, and nobody else's
    shown = {e.id: e.initial for e in form.elements if e.type in ("question", "text_input")}
    assert shown == {**all_items(2), "comment": "first thoughts"}
    await stack.local.click("l2", "pulse.answer", str(poll_id))
    other = stack.local.last_form
    assert other is not None and {e.initial for e in other.elements if e.type == "question"} == {None}
    await stack.local.submit("l3", form, {**all_items(5), "comment": "second thoughts"})
    await stack.worker.drain()
    assert "changed" in stack.local.transcript[-1].text
    assert stack.local.transcript[-1].updated  # the receipt card was replaced in place
    for user in ("l1", "l2", "m1", "m2"):
        await answer(stack, user, poll_id, all_items(4))
    await _close_at_deadline(stack, team_id)
    async with stack.sessions() as session:
        values = sorted((await session.execute(select(PulseAnswer.value))).scalars())
        assert values == [4] * 48 + [5] * 12  # the change counted, the first answers did not
        assert await pulse.comments(session, poll_id) == ["second thoughts"]
    assert await _count(stack, PulseSealed) == 0
    await stack.local.click("l3", "pulse.change", change.value)
    assert stack.local.last_form is None
    await stack.worker.drain()
    assert "has closed" in stack.local.transcript[-1].text


async def test_reminders_go_privately_to_non_respondents_at_most_twice(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    for user in ("l1", "l2", "m1"):
        await answer(stack, user, poll_id, all_items(4))
    before = len(stack.local.transcript)
    await _close_at_deadline(stack, team_id)
    reminders = [e for e in stack.local.transcript[before:] if "gentle reminder" in e.text]
    everyone = {f"l{i}" for i in range(6)} | {f"m{i}" for i in range(6)}
    pending = everyone - {"l1", "l2", "m1"}
    assert all(e.target.get("user") and not e.target.get("address", "").startswith("team") for e in reminders)
    assert sorted(e.target["user"] for e in reminders) == sorted([*pending, *pending])  # day 3 and day 5
    assert all(e.target.get("address") != "team-channel" for e in reminders)


async def test_co_chairs_see_counts_never_names(stack: Stack) -> None:
    _, poll_id = await _open(stack)
    for user in ("l1", "m1"):
        await answer(stack, user, poll_id, all_items(4))
    await stack.local.command("m0", "pulse status")
    await stack.worker.drain()
    status = stack.local.transcript[-1].text
    assert "2 of 12 have answered" in status
    assert "Labor 1" not in status and "Manager 1" not in status


async def test_no_results_before_close_from_any_path(stack: Stack) -> None:
    from bot.pulse_export import export_pulse

    _, poll_id = await _open(stack)
    for user in ("l1", "l2", "l3", "m1", "m2", "m3"):
        await answer(stack, user, poll_id, all_items(4))
    for user in ("l0", "m0", "l1"):
        await stack.local.command(user, "pulse results")
        await stack.worker.drain()
        reply = stack.local.transcript[-1].text
        assert "not before" in reply and "4.00" not in reply and "Mutual Respect" not in reply
    exported = await export_pulse(stack.sessions, "Test Solutions Team", "json")
    assert '"rows": []' in exported
    async with stack.sessions() as session:
        poll = await pulse.poll_by_id(session, poll_id)
        assert poll is not None
        assert await pulse.participation_count(session, poll_id) == 6
        assert await pulse.ballot_count(session, poll_id) == 0  # answers exist only sealed while open
    texts = [e.text for e in stack.local.transcript]
    assert not any("results" in t.lower() and "4.00" in t for t in texts)
    # App Home: a co-chair's and a respondent's home views show the poll's progress, no figures.
    from flows.core.home import home_card

    async with stack.sessions() as session:
        for local_id in ("l0", "l1"):
            person = await teams.person_by_identity(session, "local", local_id)
            assert person is not None
            card = await home_card(session, person.id, stack.engine.help_card("/tandem "), stack.clock.now())
            shown = render_text(card)
            assert "Trust poll" in shown
            assert (
                "Latest trust results" not in shown and "4.00" not in shown and "Mutual Respect" not in shown
            )
    # …and the same view does show them once the poll is closed and released (so the check above can fail).
    await stack.local.command("l0", "pulse close")
    async with stack.sessions() as session:
        person = await teams.person_by_identity(session, "local", "l1")
        assert person is not None
        card = await home_card(session, person.id, stack.engine.help_card("/tandem "), stack.clock.now())
    assert "Latest trust results" in render_text(card)


async def test_release_reaches_channels_and_each_co_chair_at_the_same_moment(stack: Stack) -> None:
    _, poll_id = await _open(stack)
    for user in ("l1", "l2", "l3", "l4", "l5", "m1", "m2", "m3", "m4", "m5"):
        await answer(stack, user, poll_id, all_items(4))
    await stack.local.command("l0", "pulse close")
    async with stack.sessions() as session:
        rows = [
            m
            for m in await outbox.messages(session)
            if (m.payload or {}).get("summary", "").startswith("Relational Trust Self-Assessment results")
        ]
    assert len(rows) == 3  # the channel, and each co-chair
    # written together, none sent yet (they wait for the worker, leased to it or in the queue)
    assert len({m.created_at for m in rows}) == 1 and all(m.sent_at is None for m in rows)
    await stack.worker.drain()
    got = [e.where for e in stack.local.transcript if "Self-Assessment — results" in e.text]
    assert sorted(got) == ["#team-channel", "DM to l0", "DM to m0"]


async def test_a_co_chair_cannot_close_before_the_minimum(stack: Stack) -> None:
    _, poll_id = await _open(stack)
    for user in ("l1", "l2"):
        await answer(stack, user, poll_id, all_items(4))
    await stack.local.command("m0", "pulse close")
    await stack.worker.drain()
    assert "once 5 have answered (2 so far)" in stack.local.transcript[-1].text
    await stack.local.command("l1", "pulse close")
    await stack.worker.drain()
    assert "Only a co-chair" in stack.local.transcript[-1].text


async def test_under_the_threshold_only_the_count_is_released(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    for user in ("l1", "l2", "m1", "m2"):
        await answer(stack, user, poll_id, {**all_items(4), "comment": "hello"})
    await _close_at_deadline(stack, team_id)
    released = [e for e in stack.local.transcript if "closed" in e.text and "anonymity" in e.text]
    assert {e.where for e in released} == {"#team-channel", "DM to l0", "DM to m0"}
    assert all("not enough responses to protect anonymity (4 of 5)" in e.text for e in released)
    assert all("hello" not in e.text and "4.00" not in e.text for e in released)
    assert await _count(stack, PulseAnswer) == 0  # a withheld poll keeps nothing
    async with stack.sessions() as session:
        poll = await pulse.poll_by_id(session, poll_id)
        assert poll is not None and poll.status == "withheld" and poll.respondents == 4
        daily = await schedules.for_team(session, team_id, "pulse.daily")
        assert not daily[0].enabled


async def test_sides_are_hidden_when_one_side_falls_short(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    for user in ("l1", "l2", "l3", "l4", "l5", "m1", "m2", "m3", "m4"):
        await answer(stack, user, poll_id, all_items(4))
    await _close_at_deadline(stack, team_id)
    report = _report(stack)
    assert "9 of 12" in report
    assert "hidden: each side needs at least 5 answers (labor 5, management 4)" in report
    assert "side by side" not in report
    async with stack.sessions() as session:
        assert await pulse.side_counts(session, poll_id) == {None: 9}  # labels erased at close


async def test_sides_are_shown_when_both_meet_the_minimum(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    for user in ("l1", "l2", "l3", "l4", "l5"):
        await answer(stack, user, poll_id, all_items(5))
    for user in ("m1", "m2", "m3", "m4", "m5"):
        await answer(stack, user, poll_id, all_items(3))
    await _close_at_deadline(stack, team_id)
    report = _report(stack)
    assert "Labor (5) and management (5), side by side" in report
    assert "labor 5.00 · management 3.00" in report


async def test_a_small_team_never_records_sides(stack: Stack) -> None:
    team_id, poll_id = await _open(stack, team_spec(), by="ana")
    for user in ("ana", "ben", "cy", "di", "ed", "fay"):
        await answer(stack, user, poll_id, all_items(4))
    async with stack.sessions() as session:  # not even inside the seal
        opened = await pulse.open_sealed(session, stack.engine.sealer, poll_id)
        assert [s.side for s in opened.submissions] == [None] * 6
    await _close_at_deadline(stack, team_id)
    async with stack.sessions() as session:
        assert await pulse.side_counts(session, poll_id) == {None: 6}


async def test_a_comment_is_shown_without_author_behind_a_warning(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    for n, user in enumerate(("l1", "l2", "l3", "m1", "m2")):
        await answer(stack, user, poll_id, {**all_items(4), "comment": f"comment number {n}"})
    await _close_at_deadline(stack, team_id)
    report = _report(stack)
    assert report.index("Writing style can identify") < report.index("comment number")
    assert all(f"comment number {n}" in report for n in range(5))
    assert "Labor 1" not in report


async def test_no_message_of_the_poll_names_who_answered_in_a_channel(stack: Stack) -> None:
    team_id, poll_id = await _open(stack)
    for user in ("l1", "l2", "l3", "m1", "m2"):
        await answer(stack, user, poll_id, all_items(4))
    await _close_at_deadline(stack, team_id)
    names = [f"Labor {i}" for i in range(1, 6)] + [f"Manager {i}" for i in range(1, 6)]
    channel = [e.text for e in stack.local.transcript if e.where.startswith("#")]
    assert not any(name in text for text in channel for name in names)
    async with stack.sessions() as session:
        sent = await outbox.messages(session)
    assert all(isinstance(m, OutboxMessage) for m in sent)


async def test_status_with_no_open_poll_names_the_next_one_and_recent_outcomes(stack: Stack) -> None:
    stack.clock.set(START)
    team = await stack.import_team(big_team())
    await stack.local.command("l3", "pulse status")
    await stack.worker.drain()
    first = stack.local.transcript[-1].text
    assert "No poll is open." in first
    assert "Relational Trust Self-Assessment opens on" in first and "every quarter" in first
    assert "hasn't run a poll yet" in first

    # One released poll (6 answers), then one withheld (4 answers).
    await stack.local.command("l0", "pulse start")
    poll = await current_poll(stack, team.id)
    for user in ("l1", "l2", "l3", "m1", "m2", "m3"):
        await answer(stack, user, poll.id, all_items(4))
    await stack.local.command("m0", "pulse close")
    await stack.local.command("l0", "pulse start")
    poll = await current_poll(stack, team.id)
    for user in ("l1", "l2", "m1", "m2"):
        await answer(stack, user, poll.id, all_items(2))
    await _close_at_deadline(stack, team.id)

    await stack.local.command("l3", "pulse status")  # any member may ask
    await stack.worker.drain()
    text = stack.local.transcript[-1].text.replace("\n", " ")  # (the local transcript wraps lines)
    listed = text.split("•")[1:]
    assert len(listed) == 2
    assert "4 of 12 answered" in listed[0] and "withheld" in listed[0]  # newest first
    assert "6 of 12 answered" in listed[1] and "released" in listed[1]
    assert "4.00" not in text and "2.00" not in text  # counts only, never figures

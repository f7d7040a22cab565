"""The dispatcher: commands, help, unknown input, idempotency and state that survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.delivery import DeliveryWorker
from flows import default_flows
from flows.core.actions import ActionRouter
from flows.core.engine import Engine, FlowContext
from flows.core.types import SUMMARY_LENGTH, ActionEvent, Actor, Card, Conversation
from storage import events, flow_state, outbox, schedules
from storage.models import ProcessedEvent
from tests.conftest import Stack, team_spec

# Tests of a storage behaviour (idempotency keys, flow state) run on PostgreSQL as well (tests/conftest.py).


async def test_help_lists_every_subcommand_with_an_example(stack: Stack) -> None:
    await stack.import_team(team_spec())
    await stack.local.command("cy", "help")
    await stack.worker.drain()
    text = stack.local.transcript[-1].text
    for word in ("help", "team", "norms", "roles", "pass"):
        assert f"  {word}" in text
    assert stack.local.transcript[-1].where == "DM to cy"


async def test_unknown_command_gets_a_helpful_reply_and_changes_nothing(stack: Stack) -> None:
    await stack.import_team(team_spec())
    await stack.local.command("cy", "frobnicate now")
    await stack.worker.drain()
    assert "I don't know the command “frobnicate”. Type `help`" in stack.local.transcript[-1].text


async def test_a_hello_gets_the_help_list_and_a_thank_you_a_reply(stack: Stack) -> None:
    await stack.import_team(team_spec())
    for said in ("Hello!", "hi there", "Thanks!", "thank you", "hellooo"):
        await stack.local.command("cy", said)
    await stack.worker.drain()
    hello, hi, thanks, thank_you, unknown = (e.text for e in stack.local.transcript[-5:])
    for text in (hello, hi):
        assert text.startswith("HI! HERE IS WHAT TANDEM CAN DO") and "  norms" in text
        assert "don't know" not in text
    assert thanks == thank_you == "You're welcome. Type `help` any time to see what I can do."
    assert "I don't know the command “hellooo”" in unknown


async def test_a_stranger_is_told_how_to_join(stack: Stack) -> None:
    await stack.import_team(team_spec())
    await stack.local.command("zed", "norms")
    await stack.worker.drain()
    assert "ask a co-chair to add you" in stack.local.transcript[-1].text


async def test_norms_and_team_commands_answer_from_the_database(stack: Stack) -> None:
    await stack.import_team(team_spec(norms="monterey-coe"))
    await stack.local.command("di", "norms")
    await stack.local.command("di", "team")
    await stack.worker.drain()
    norms, team = stack.local.transcript[-2].text, stack.local.transcript[-1].text
    assert "Listen, listen, listen." in norms and "Monterey County Office of Education" in norms
    assert "Ana Labor (labor), Ben Manager (management)" in team


@pytest.mark.both_databases
async def test_the_same_event_twice_is_processed_once(stack: Stack) -> None:
    await stack.import_team(team_spec())
    event = ActionEvent(
        Actor("local", "cy"),
        Conversation("local", "dm-cy", is_direct=True),
        "nobody.knows",
        idempotency_key="retry-1",
    )
    await stack.engine.handle(event)
    await stack.engine.handle(event)
    async with stack.sessions() as session:
        assert len(await outbox.messages(session)) == 1


async def _noop(ctx: FlowContext, event: ActionEvent) -> None:
    return None


def test_an_action_goes_to_the_handler_declared_for_its_exact_id() -> None:
    router = ActionRouter()
    router.declare({"survey.open": _noop})
    at = (Actor("local", "cy"), Conversation("local", "dm-cy", is_direct=True))
    found = router.route(ActionEvent(*at, "survey.open", "7"))
    assert found is not None and found[0] is _noop and found[1].value == "7"
    for unknown in ("survey", "survey.opened", "other.open", "survey.open.7"):  # the last has a value
        assert router.route(ActionEvent(*at, unknown, "7")) is None
    # a form from before ids were exact (`<id>.<poll>`, no metadata) reaches its id, the tail as metadata
    legacy = router.route(ActionEvent(*at, "survey.open.12", None, {"q": "1"}))
    assert legacy is not None and (legacy[1].action_id, legacy[1].metadata) == ("survey.open", "12")
    with pytest.raises(ValueError, match="declared twice"):
        router.declare({"survey.open": _noop})


async def test_a_button_no_flow_declares_is_no_longer_in_use(stack: Stack) -> None:
    await stack.import_team(team_spec())
    for action_id in ("pulse.vote", "norms.pass.extra", "team.show", "nobody"):  # a flow's name is not enough
        await stack.local.click("cy", action_id, "1")
        await stack.worker.drain()
        assert stack.local.transcript[-1].text == "That button is no longer in use."


@pytest.mark.both_databases
async def test_flow_state_survives_a_restart(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await stack.import_team(team_spec())
    async with stack.sessions() as session:
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert due is not None
    await stack.run_until(due)
    # A brand-new engine and worker (a restarted process) carry on from the database.
    worker = DeliveryWorker(stack.sessions, {"local": stack.local}, stack.clock)
    engine = Engine(stack.sessions, stack.clock, default_flows(), courier=worker)
    async with stack.sessions() as session:
        state = await flow_state.load(session, "norms", team.id, "rotation")
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert state == {"meetings": 1, "last": "2026-09-01T16:00:00"}
    assert due is not None
    stack.clock.set(due)
    await engine.tick()
    await worker.drain()
    posts = [e.text for e in stack.local.transcript if e.target.get("address") == "team-channel"]
    assert "Norm of focus: Pausing" in posts[0] and "Norm of focus: Paraphrasing" in posts[1]


@pytest.mark.both_databases
async def test_the_idempotency_insert_and_the_sender_lookup_answer_together(stack: Stack) -> None:
    """storage.events.first_time_from (one statement on PostgreSQL): a first event and a repeat, from
    a member and from a stranger."""
    await stack.import_team(team_spec())
    now = datetime(2026, 9, 1, tzinfo=UTC)
    async with stack.sessions() as session, session.begin():
        fresh, person = await events.first_time_from(session, "k1", now, "local", "cy")
        assert fresh and person is not None and person.display_name == "Cy Teacher"
        fresh, _ = await events.first_time_from(session, "k1", now, "local", "cy")
        assert not fresh
        fresh, person = await events.first_time_from(session, "k2", now, "local", "nobody")
        assert fresh and person is None
        fresh, person = await events.first_time_from(session, "k3", now, "slack", "cy")  # other platform
        assert fresh and person is None
    async with stack.sessions() as session:
        keys = (await session.execute(select(ProcessedEvent.key).order_by(ProcessedEvent.key))).scalars()
        assert list(keys) == ["k1", "k2", "k3"]


def test_a_replys_notification_line_is_cut_at_a_word_with_an_ellipsis() -> None:
    short = "Thank you — your answers are in."
    assert Card.plain(short).summary == short
    long = "A poll can close early once 5 have answered (1 so far); otherwise it closes on Tue 27 Oct."
    summary = Card.plain(long).summary
    assert summary == "A poll can close early once 5 have answered (1 so far); otherwise it closes on…"
    assert len(summary) <= SUMMARY_LENGTH
    assert Card.plain("x" * 200).summary == "x" * (SUMMARY_LENGTH - 1) + "…"
    assert Card.plain("two\nlines").summary == "two lines"

"""Welcome (flows/setup/welcome.py): Tandem says what it is and who runs it where it arrives, and privately
to a person who joins a team's channel; nothing where it has nothing to say; once per event."""

from __future__ import annotations

from flows.core.types import Actor, Conversation, InstalledEvent, MemberJoinedEvent
from tests.conftest import Stack, team_spec

CHANNEL = Conversation("local", "team-channel")  # the channel of team_spec()
OTHER = Conversation("local", "random")


async def _arrive(stack: Stack, event: InstalledEvent | MemberJoinedEvent) -> list[str]:
    before = len(stack.local.transcript)
    await stack.engine.handle(event)
    await stack.worker.drain()
    return [f"{e.where}: {' '.join(e.text.split())}" for e in stack.local.transcript[before:]]


async def test_added_to_a_teams_channel_it_says_what_it_is_and_who_runs_it(stack: Stack) -> None:
    await stack.import_team(team_spec())
    (said,) = await _arrive(stack, InstalledEvent(Actor("local", "ana"), CHANNEL, "install-1"))
    assert said.startswith("#team-channel: Hi, I'm Tandem.")
    assert (
        "Test Solutions Team runs me; its co-chairs are Ana Labor (labor) and Ben Manager (management)"
        in said
    )
    assert "Type `help`" in said
    # the same event again (a platform retry): said once
    assert await _arrive(stack, InstalledEvent(Actor("local", "ana"), CHANNEL, "install-1")) == []


async def test_added_to_a_channel_no_team_posts_to_it_says_how_to_connect_it(stack: Stack) -> None:
    await stack.import_team(team_spec())
    (said,) = await _arrive(stack, InstalledEvent(Actor("local", "ana"), OTHER, "install-2"))
    assert said.startswith("#random: Hi, I'm Tandem.") and "isn't connected to a team yet" in said
    assert "`setup`" in said


async def test_a_person_joining_a_teams_channel_is_welcomed_privately(stack: Stack) -> None:
    await stack.import_team(team_spec())
    (said,) = await _arrive(stack, MemberJoinedEvent(Actor("local", "cy"), CHANNEL, "join-1"))
    assert said.startswith("#team-channel (only cy sees this): Welcome to Test Solutions Team's channel.")
    assert "Ana Labor (labor) and Ben Manager (management)" in said
    # joining a channel no team posts to: nothing to say
    assert await _arrive(stack, MemberJoinedEvent(Actor("local", "cy"), OTHER, "join-2")) == []


async def test_added_to_a_persons_own_chat_it_names_their_team_or_who_can_add_them(stack: Stack) -> None:
    await stack.import_team(team_spec())
    mine = Conversation("local", "dm-di", is_direct=True)
    (said,) = await _arrive(stack, InstalledEvent(Actor("local", "di"), mine, "install-3"))
    assert said.startswith("DM to di: Hi, I'm Tandem.") and "its co-chairs are Ana Labor (labor)" in said
    stranger = Conversation("local", "dm-zed", is_direct=True)
    (said,) = await _arrive(stack, InstalledEvent(Actor("local", "zed"), stranger, "install-4"))
    assert "You're not on a team yet: ask a co-chair to add you." in said

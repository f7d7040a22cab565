"""The home view: what a member sees, and refreshes queued when it changes."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.core.home import home_card
from storage import outbox, roles, schedules, teams
from tests.conftest import Stack, team_spec


async def test_home_shows_teams_next_meeting_and_role_and_is_refreshed_when_roles_change(
    stack: Stack,
) -> None:
    stack.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    spec = team_spec()
    spec["members"][2]["slack"] = "U0CY"  # Cy is on Slack (a platform with a home view)
    team = await stack.import_team(spec)
    async with stack.sessions() as session:
        cy = await teams.person_by_identity(session, "slack", "U0CY")
        assert cy is not None
        before = await home_card(session, cy.id, stack.engine.help_card("/tandem "), stack.clock.now())
    text = "\n".join(getattr(e, "text", "") for e in before.elements)
    assert "**Test Solutions Team**" in text
    pairs = dict(next(e for e in before.elements if hasattr(e, "pairs")).pairs)  # type: ignore[attr-defined]
    assert pairs["Next meeting"] == "Tue 1 Sep, 4:00 PM PDT"
    assert pairs["Your role"] == "announced before the meeting"

    async with stack.sessions() as session:
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert due is not None
    await stack.run_until(due)
    async with stack.sessions() as session:
        rows = await outbox.messages(session)
        home_rows = [r for r in rows if r.target.get("home")]
        assigned = {
            r.role: r.person_id for r in await roles.for_meeting(session, team.id, "2026-09-01T16:00:00")
        }
        after = await home_card(session, cy.id, stack.engine.help_card("/tandem "), stack.clock.now())
    # One refresh, only for the member on a platform with a home (the others are local-only).
    assert [(r.platform, r.target["user"]) for r in home_rows] == [("slack", "U0CY")]
    pairs = dict(next(e for e in after.elements if hasattr(e, "pairs")).pairs)  # type: ignore[attr-defined]
    assert pairs["Next meeting"] == "Tue 1 Sep, 4:00 PM PDT"  # the meeting whose roles are out
    expected = {"facilitator": "Facilitator", "note_taker": "Note-taker", "timekeeper": "Timekeeper"}
    mine = [expected[role] for role, person in assigned.items() if person == cy.id]
    assert pairs["Your role"] == (", ".join(mine) or "no role this time")


async def test_a_stranger_sees_how_to_join(stack: Stack) -> None:
    async with stack.sessions() as session:
        card = await home_card(session, None, stack.engine.help_card(""), stack.clock.now())
    assert "You're not on a team yet" in "\n".join(getattr(e, "text", "") for e in card.elements)

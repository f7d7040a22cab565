"""Requesting changes with a comment; the draft form as a Slack modal and a Teams input card; the
publication date in the team's zone across the end of daylight saving time."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.slack.render import MAX_BLOCKS_MODAL, modal
from adapters.teams.cards import render_form
from flows.core.catalog import Words
from flows.talking_points import cards
from storage.talking_points import Channel
from tests.conftest import Stack
from tests.talking_points.conftest import (
    act,
    approve_value,
    click,
    dms_to,
    last_to,
    plain,
    points_team,
    posts_to,
    replies_to,
)


async def test_a_co_chair_requests_changes_with_a_comment(stack: Stack) -> None:
    await stack.import_team(points_team())
    await act(stack, "cy", "points draft We will announce the calendar")
    value = approve_value(stack, "ben")
    await click(stack, "di", cards.CHANGES, value)  # not a co-chair: no form
    assert stack.local.last_form is None
    assert "Only a co-chair can request changes" in replies_to(stack, "di")[-1]
    await stack.local.click("ben", cards.CHANGES, value)
    form = stack.local.last_form
    assert form is not None and form.form_id == cards.CHANGES_SUBMIT
    await stack.local.submit("ben", form, {cards.COMMENT: ""})  # the form's rules: a comment is needed
    await stack.worker.drain()
    assert "Nothing was recorded" in last_to(stack, "ben")
    await stack.local.submit("ben", form, {cards.COMMENT: "Say which calendar: 2027-28."})
    await stack.worker.drain()
    for user in ("cy", "ana", "al"):  # the proposer and the other co-chairs
        assert any("Ben Manager asks for changes" in t and "2027-28" in t for t in dms_to(stack, user)), user
    assert "Sent to the other co-chairs" in replies_to(stack, "ben")[-1]
    assert posts_to(stack, "staff") == []


def test_the_draft_form_renders_on_slack_and_teams() -> None:
    channels = [Channel("slack", "C1", "#staff"), Channel("teams", "19:x@thread.tacv2", "Union members")]
    form = cards.draft_form(Words(), channels, metadata="new", done=["Fix the copier"])
    view = modal(form)
    assert len(view["blocks"]) <= MAX_BLOCKS_MODAL
    assert sum(1 for b in view["blocks"] if b["type"] == "input") == 5  # points, note, done, 2 channels
    card = render_form(form)
    assert "Post to #staff (Slack)?" in str(card) and "Post to Union members (Teams)?" in str(card)


async def test_the_date_is_the_teams_own_across_the_end_of_daylight_saving_time(stack: Stack) -> None:
    await stack.import_team(points_team())
    # 07:30 UTC on 2 November is 23:30 on 1 November in Los Angeles (PST since 1 November, 09:00 UTC);
    # with the summer's offset (PDT, UTC-7) it would wrongly be 2 November.
    stack.clock.set(datetime(2026, 11, 2, 7, 30, tzinfo=UTC))
    await act(stack, "ana", "points draft After the change")
    await click(stack, "ana", cards.APPROVE, approve_value(stack, "ana"))
    await click(stack, "ben", cards.APPROVE, approve_value(stack, "ben"))
    assert "(management), 1 November 2026" in posts_to(stack, "staff")[-1]
    await act(stack, "ana", "points audit")
    assert "2026-11-01 23:30 PST · Ben Manager · points.published" in replies_to(stack, "ana")[-1]


async def test_a_form_opened_in_one_teams_channel_saves_for_that_team(stack: Stack) -> None:
    """Ana is on two teams: the form she opened in the first team's channel drafts for that team, though
    the submit itself names no channel."""
    await stack.import_team(points_team())
    await stack.import_team(
        points_team(name="Second Team", channels=[{"platform": "local", "id": "second", "name": "#second"}])
    )
    await stack.local.command("ana", "points draft")
    await stack.worker.drain()
    assert "several teams" in replies_to(stack, "ana")[-1]
    await stack.local.command("ana", "points draft", channel="second")
    form = stack.local.last_form
    assert form is not None
    await stack.local.submit("ana", form, {cards.POINTS: "For the second team", "ch_0": "yes", "ch_1": "yes"})
    await stack.worker.drain()
    second = [e for e in stack.local.transcript if e.target.get("address") == "second"]
    assert second and "For the second team" in plain(second[-1].card)
    assert not any(e.target.get("address") == "team-channel" for e in stack.local.transcript)

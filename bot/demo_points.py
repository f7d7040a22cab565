"""`tandem demo`, joint talking points and a decision: a co-chair records a decision with its level on the
7-point continuum; a member drafts talking points; one side approves; an edit clears that approval; both
sides approve; the joint post goes to the team's broadcast channels on Slack and on Teams (shown here as
each platform's renderer builds it: Block Kit and an Adaptive Card, through preview adapters that stand
in for the real ones, fed by the same outbox).

bot/demo.py calls `run_talking_points(runtime, local, clock, out, team)` after the meetings, with the
demo team (co-chairs `maria`, labor, and `david`, management; member `aisha`) already imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from adapters.local import LocalAdapter
from adapters.local.render import render_text
from adapters.slack.render import message
from adapters.teams.cards import card_bytes, render_card
from bot.delivery import DeliveryWorker
from bot.runtime import Runtime
from flows.core.clock import ManualClock
from flows.core.types import Buttons, Card, Context, TextInput
from flows.setup.team_file import import_team, parse_team_file
from flows.talking_points import cards

BROADCAST = [
    {"platform": "slack", "id": "C0STAFF", "name": "#riverside-staff"},
    {"platform": "teams", "id": "19:union-members@thread.tacv2", "name": "Union members"},
]
DECISION = {
    cards.TEXT: "Late-start Wednesdays continue next year, for teacher collaboration time.",
    cards.LEVEL: "4",
    cards.MY_SIDE: "management",
    cards.DECIDED_BY: "Maria Lopez, David Chen",
    cards.REASONS: "Both sides heard from staff: the time is used well; the schedule cost is small.",
    cards.MEETING: "Riverside Solutions Team, 24 November",
}


class PreviewAdapter(LocalAdapter):
    """Stands in for Slack or Teams in the demo: prints what that platform's renderer would post."""

    def __init__(self, platform: str, out: Callable[[str], None]) -> None:
        super().__init__()
        self.platform = platform
        self.out = out

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        if self.platform == "slack":
            how = f"Block Kit, {len(message(card)['blocks'])} blocks"
        else:
            how = f"Adaptive Card, {card_bytes(render_card(card)):,} bytes"
        where = next(
            (c["name"] for c in BROADCAST if c["id"] == target.get("address")), target.get("address")
        )
        self.out(f"\n── {self.platform.title()} {where} ({how}) " + "─" * 8)
        self.out(render_text(card))
        return await super().send(target, card)


def _approve_value(local: LocalAdapter, user: str) -> str:
    for entry in reversed(local.transcript):
        if entry.target.get("user") == user:
            for element in entry.card.elements:
                if isinstance(element, Buttons):
                    for button in element.buttons:
                        if button.action_id == cards.APPROVE:
                            return button.value
    raise LookupError(f"no approve button for {user}")


async def run_talking_points(
    runtime: Runtime,
    local: LocalAdapter,
    clock: ManualClock,
    out: Callable[[str], None],
    team: dict[str, Any],
) -> None:
    slack, teams = PreviewAdapter("slack", out), PreviewAdapter("teams", out)
    previews = DeliveryWorker(runtime.sessions, {"slack": slack, "teams": teams}, clock)

    async def deliver() -> None:
        await runtime.worker.drain()
        await previews.drain()

    async with runtime.sessions() as session, session.begin():
        await import_team(session, parse_team_file({**team, "broadcast_channels": BROADCAST}), clock.now())
    out("\n=== Joint talking points: what both sides agreed to tell their constituents ===")
    out("The team file names two broadcast channels: #riverside-staff on Slack and Union members on Teams.")

    out("\n>>> David (management co-chair) types: decide — and records a decision in the form")
    await local.command("david", "decide")
    if local.last_form is not None:
        await local.submit("david", local.last_form, DECISION)
    await deliver()

    out("\n>>> Aisha (a member) types: points draft — the form offers the action items done since the last")
    out("    talking points; she writes two points, adds the done items and saves")
    await local.command("aisha", "points draft")
    form = local.last_form
    if form is not None:
        for element in form.elements:
            if isinstance(element, Context):
                out(f"    (the form: {element.text})")
        values = {
            cards.POINTS: "Late-start Wednesdays continue\nClass sizes stay at 24",
            "ch_0": "yes",
            "ch_1": "yes",
        }
        await local.submit("aisha", form, {**values, cards.INCLUDE_DONE: "yes"})
    await deliver()
    out("\n>>> Maria (labor co-chair) attaches the decision: points attach 1")
    await local.command("maria", "points attach 1")
    await deliver()

    out("\n>>> Maria presses Approve this text — one side: nothing is posted yet")
    await local.click("maria", cards.APPROVE, _approve_value(local, "maria"))
    await deliver()

    out("\n>>> David edits the text (points edit): the edit clears Maria's approval and tells her")
    await local.command("david", "points edit")
    form = local.last_form
    if form is not None:
        shown = next(
            (e.initial for e in form.elements if isinstance(e, TextInput) and e.id == cards.POINTS), ""
        )
        values = {
            cards.POINTS: (shown or "").replace(
                "Class sizes stay at 24", "Class sizes stay at 24 in grades K-3"
            ),
            cards.NOTE: "Questions? Ask any member of the Solutions Team.",
            "ch_0": "yes",
            "ch_1": "yes",
        }
        await local.submit("david", form, values)
    await deliver()

    out("\n>>> Maria approves the new text, then David: the second side's approval posts it at once")
    await local.click("maria", cards.APPROVE, _approve_value(local, "maria"))
    await deliver()
    await local.click("david", cards.APPROVE, _approve_value(local, "david"))
    await deliver()
    posted = slack.transcript + teams.transcript
    out(f"\nThe joint post reached {len(posted)} channels on 2 platforms, labelled on each:")
    labels = {e.text for entry in posted for e in entry.card.elements if isinstance(e, Context)}
    out(json.dumps(sorted(labels), ensure_ascii=False))

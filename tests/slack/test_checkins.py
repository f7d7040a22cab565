"""A check-in through the real Slack stack (slack-bolt, Tandem's app, the fake Slack Web API): the
invitation in each DM, the button opening one modal with the questions and the mood, the submit, the digest
posted in the channel and updated in place (chat.update) when an answer changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import checkins
from tests.slack.conftest import SlackTandem, buttons, slack_team_spec

NINE = datetime(2026, 10, 26, 16, 0, tzinfo=UTC)  # Monday 9:00 in Los Angeles


async def _tick(tandem: SlackTandem, when: datetime) -> None:
    tandem.clock.set(when)
    await tandem.runtime.engine.tick()
    await tandem.settle()


async def test_a_slack_check_in_from_invitation_to_the_digest_updated_in_place(tandem: SlackTandem) -> None:
    checkins_section = {"every": "FREQ=WEEKLY;BYDAY=MO", "start": "2026-10-26", "mood": True}
    tandem.clock.set(NINE - timedelta(days=2))
    team = await tandem.import_team(slack_team_spec(meeting=None, checkins=checkins_section))
    await _tick(tandem, NINE - timedelta(hours=26))
    await _tick(tandem, NINE)
    invitations = [c for c in tandem.fake.called("chat.postMessage") if c.args["channel"].startswith("D")]
    assert sorted(c.args["channel"] for c in invitations) == ["DW111", "DW222", "DW333", "DW444"]
    (button,) = buttons(next(c for c in invitations if c.args["channel"] == "DW333").args, "checkin.answer")
    await tandem.click("W333", button, channel="DW333")
    await tandem.settle()
    view_id, view = tandem.modal_of("W333")
    assert view["callback_id"] == "checkin.submit"
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == ["q1", "q2", "mood"]
    response = await tandem.submit("W333", view, {"q1": "Busy week", "mood": "4"}, view_id=view_id)
    assert response.status == 200
    await tandem.settle()
    async with tandem.runtime.sessions() as session:
        (run,) = await checkins.runs_of_team(session, team.id)
        answered = await checkins.respondent_ids(session, run.id)
    assert len(answered) == 1
    # a co-chair posts the digest so far; a changed answer updates that message
    assert (await tandem.command("checkin digest", user="W111", channel="C111")).status == 200
    await tandem.settle()
    (posted,) = [c for c in tandem.fake.called("chat.postMessage") if c.args["channel"] == "C111"]
    assert "Busy week" in str(posted.args["blocks"]) and "Cy Teacher" in str(posted.args["blocks"])
    await tandem.click("W333", button, channel="DW333")
    await tandem.settle()
    view_id, view = tandem.modal_of("W333")
    await tandem.submit("W333", view, {"q1": "Calmer now", "mood": "3"}, view_id=view_id)
    await tandem.settle()
    updates = [c for c in tandem.fake.called("chat.update") if c.args["channel"] == "C111"]
    assert updates and "Calmer now" in str(updates[-1].args["blocks"])
    assert "4" not in str(updates[-1].args["blocks"]).split("Team mood")[0][-5:]  # no mood beside a name

"""Action items through the real slack-bolt stack: the reply's Snooze button opens a modal whose submit
moves the due date; Snooze and Done from someone who is neither owner nor co-chair are refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from storage import action_items
from tests.slack.conftest import SlackTandem, buttons, slack_team_spec


async def test_snooze_through_a_slack_modal_and_a_refused_done(tandem: SlackTandem) -> None:
    tandem.clock.set(datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
    team = await tandem.import_team(slack_team_spec())
    text = 'action "Order the books" <@W444> due 2026-12-04'
    assert (await tandem.command(text, user="W333", channel="C111")).status == 200
    await tandem.settle()
    reply = tandem.fake.responses[-1][1]
    assert "Saved as promise #1" in json.dumps(reply)
    [snooze] = buttons(reply, "actions.snooze")
    [done] = buttons(reply, "actions.done")

    # Cy wrote it down for Di: Cy is neither owner nor co-chair, so Cy's Snooze and Done are refused
    await tandem.click("W333", snooze, channel="C111")
    await tandem.click("W333", done, channel="C111")
    await tandem.settle()
    assert "Nothing to fill in here" in json.dumps(tandem.modal_of("W333")[1])
    refusals = [r for _, r in tandem.fake.responses if "Only the owners of" in json.dumps(r)]
    assert len(refusals) == 2

    await tandem.click("W444", snooze, channel="C111")
    await tandem.settle()
    view_id, view = tandem.modal_of("W444")
    assert view["callback_id"] == "actions.snooze_submit"
    assert (await tandem.submit("W444", view, {"due": "2026-12-11"}, view_id=view_id)).status == 200
    await tandem.settle()

    await tandem.click("W111", done, channel="C111")  # a co-chair may
    await tandem.settle()
    async with tandem.runtime.sessions() as session:
        [item] = await action_items.all_items(session, team.id)
    assert (item.due, item.status, item.owner_names) == (date(2026, 12, 11), "done", ("Di Principal",))
    posted = [c for c in tandem.fake.called("chat.postMessage") if c.args.get("channel") == "C111"]
    assert any("Done: Order the books — Di Principal" in str(c.args.get("text")) for c in posted)

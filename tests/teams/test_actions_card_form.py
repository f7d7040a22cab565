"""The Update form of an action item as a Teams input card, through the real botbuilder stack: the card is
valid Adaptive Card 1.5, a 3,000-character title is refused before the flow sees it (nothing changed),
dropping without a reason is refused by the flow, and a proper submit is recorded once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import jsonschema

from storage import action_items, teams
from tests.teams.conftest import TeamsRig
from tests.teams.test_form_rules import GUS, SCHEMA, _execute, _replies, _spec

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


async def test_update_card_refuses_bad_input_and_records_a_good_submit(rig: TeamsRig) -> None:
    rig.clock.set(NOW)
    team = await rig.import_team(_spec())
    async with rig.runtime.sessions() as session, session.begin():
        gus = await teams.person_by_identity(session, "teams", GUS)
        assert gus is not None
        item_id = await action_items.create_item(
            session,
            team_id=team.id,
            title="Book the room",
            due=date(2026, 12, 4),
            owners=[gus.id],
            by=gus.id,
            now=NOW,
        )
    body = await _execute(
        rig, "actions.update", {"tandem_action": "actions.update", "tandem_value": str(item_id)}, "a:1"
    )
    card = body["value"]
    jsonschema.Draft6Validator(SCHEMA).validate(card)
    (submit,) = card["actions"]

    too_long = {"title": "x" * 3000, "due": "2026-12-04", "status": "open", "note": ""}
    body = await _execute(rig, submit["verb"], {**submit["data"], **too_long}, "a:2")
    assert "Nothing was recorded" in body["value"]
    assert "it has 3,000" in _replies(rig)[-1]

    no_reason = {"title": "Book the room", "due": "2026-12-04", "status": "dropped", "note": ""}
    await _execute(rig, submit["verb"], {**submit["data"], **no_reason}, "a:3")
    await rig.deliver()
    assert any("needs a reason" in rig.connector.text(c) for c in rig.connector.sends())
    async with rig.runtime.sessions() as session:
        item = await action_items.get_item(session, item_id)
        assert item is not None and item.status == "open"
        assert [h.what for h in await action_items.history(session, [item_id])] == ["created"]

    good = {
        "title": "Book the big room",
        "due": "2026-12-04",
        "status": "dropped",
        "note": "the library is free",
    }
    await _execute(rig, submit["verb"], {**submit["data"], **good}, "a:4")
    await _execute(rig, submit["verb"], {**submit["data"], **good}, "a:4")  # Teams retries the invoke
    await rig.deliver()
    async with rig.runtime.sessions() as session:
        item = await action_items.get_item(session, item_id)
        history = [h.what for h in await action_items.history(session, [item_id])]
    assert item is not None and (item.title, item.status, item.reason) == (
        "Book the big room",
        "dropped",
        "the library is free",
    )
    assert history == ["created", "title", "dropped"]

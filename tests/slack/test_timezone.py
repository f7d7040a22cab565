"""A person's time zone from Slack's users.info `tz`, over HTTP through the real slack-bolt stack: stored on
the member's person (the team calendar's `person_zones`), an unknown zone never stored."""

from __future__ import annotations

from storage.calendar import person_zones
from storage.teams import team_by_name
from tests.slack.conftest import Scripted, SlackTandem, slack_team_spec


def _user(user_id: str, tz: str) -> dict[str, object]:
    return {"ok": True, "user": {"id": user_id, "name": user_id.lower(), "tz": tz, "profile": {}}}


async def test_slack_tz_becomes_the_persons_zone_and_an_unknown_one_is_ignored(tandem: SlackTandem) -> None:
    team = await tandem.import_team(slack_team_spec())
    tandem.fake.then(
        "users.info",
        Scripted(200, _user("W222", "America/New_York")),
        Scripted(200, _user("W333", "Mars/Olympus_Mons")),
    )
    await tandem.command("team", user="W222")
    await tandem.settle()
    await tandem.command("team", user="W333")
    await tandem.settle()
    assert [c.args["user"] for c in tandem.fake.called("users.info")] == ["W222", "W333"]
    async with tandem.runtime.sessions() as session:
        found = await team_by_name(session, team.name)
        assert found is not None
        zones = await person_zones(session, found.id)
        names = {m.person_id: m.person.display_name for m in found.memberships}
    by_name = {names[person_id]: zone for person_id, zone in zones.items()}
    assert by_name == {
        "Ana Labor": "America/Los_Angeles",  # never spoke: the team's zone
        "Ben Manager": "America/New_York",
        "Cy Teacher": "America/Los_Angeles",  # Slack's zone is not one we know: the team's, nothing stored
        "Di Principal": "America/Los_Angeles",
    }

"""Identity: users.info on first contact, cached; the profile and workspace land on known people only."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Identity, Membership, Person, TeamChannel
from tests.slack.conftest import SlackTandem, slack_team_spec


async def _count(tandem: SlackTandem, model: type) -> int:
    async with tandem.runtime.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_stranger_is_looked_up_once_and_gets_no_person_or_membership(tandem: SlackTandem) -> None:
    await tandem.import_team(slack_team_spec())
    people, memberships = await _count(tandem, Person), await _count(tandem, Membership)
    await tandem.command("help", user="W999")
    await tandem.command("team", user="W999")
    await tandem.settle()
    (lookup,) = tandem.fake.called("users.info")  # cached after the first contact
    assert lookup.args["user"] == "W999"
    assert await _count(tandem, Person) == people and await _count(tandem, Membership) == memberships
    assert tandem.inbound.directory.cached("T111", "W999") is not None


async def test_a_members_profile_and_workspace_are_stored_on_first_contact(tandem: SlackTandem) -> None:
    await tandem.import_team(slack_team_spec())
    await tandem.command("team", user="W333")
    await tandem.settle()
    async with tandem.runtime.sessions() as session:
        identity = (await session.execute(select(Identity).where(Identity.user_id == "W333"))).scalar_one()
        person = await session.get(Person, identity.person_id)
        channel = (await session.execute(select(TeamChannel))).scalar_one()
    assert person is not None and person.timezone == "America/Chicago"
    assert person.display_name == "Cy Teacher"  # the team's own name for them is kept
    assert identity.workspace == "T111" and channel.workspace == "T111"
    profile = tandem.inbound.directory.cached("T111", "W333")
    assert profile is not None and profile.locale == "es-US"


async def test_a_failed_lookup_does_not_stop_the_command(tandem: SlackTandem) -> None:
    from tests.slack.conftest import Scripted

    tandem.fake.then("users.info", Scripted(200, {"ok": False, "error": "user_not_found"}))
    await tandem.command("help", user="W998")
    await tandem.settle()
    assert tandem.fake.responses and tandem.fake.responses[-1][1]["text"] == "What Tandem can do"

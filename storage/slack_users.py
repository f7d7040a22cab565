"""What Slack tells us about its users and channels, written onto our people, identities and channels.

A team file or `/tandem setup` records Slack ids without a workspace; the first request from a person or
a channel fills it in (OAuth mode needs it to pick the token). A person's Slack profile fills in their
time zone, and their name when we only had a placeholder. Nothing here creates a person or a membership.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import known_zone
from storage.models import Identity, Membership, Person, TeamChannel


async def learn_workspace(session: AsyncSession, workspace: str, user_id: str, channel_id: str) -> None:
    """Record `workspace` on this Slack user's identity and this Slack channel where it is still blank."""
    if not workspace:
        return
    if user_id:
        await session.execute(
            update(Identity)
            .where(Identity.platform == "slack", Identity.user_id == user_id, Identity.workspace == "")
            .values(workspace=workspace)
        )
    if channel_id:
        await session.execute(
            update(TeamChannel)
            .where(
                TeamChannel.platform == "slack",
                TeamChannel.address == channel_id,
                TeamChannel.workspace == "",
            )
            .values(workspace=workspace)
        )


async def store_profile(
    session: AsyncSession, user_id: str, name: str | None, timezone: str | None
) -> Person | None:
    """The Slack profile onto the person who has this Slack identity, if anyone does."""
    stmt = select(Person).join(Identity).where(Identity.platform == "slack", Identity.user_id == user_id)
    person = (await session.execute(stmt.limit(1))).scalar_one_or_none()
    if person is None:
        return None
    if timezone and known_zone(timezone) and person.timezone != timezone:  # an unknown zone is never stored
        person.timezone = timezone
    if name and person.display_name in ("", user_id):
        person.display_name = name
    if name:  # a team that knew them only by their id (`/tandem setup`) now knows their name
        await session.execute(
            update(Membership)
            .where(Membership.person_id == person.id, Membership.display_name.in_(["", user_id]))
            .values(display_name=name)
        )
    await session.flush()
    return person

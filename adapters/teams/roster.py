"""Who and where on Teams: the conversation references Tandem may post with, the ids people go by, and the
members of each team Tandem is in (so a DM reaches someone who never wrote to the bot).

Reads of the Bot Connector (a team's members, one member's details) go through our own client
(connector.py), one attempt each, like every send: botbuilder's msrest client, whose urllib3 retries
sleep inside the call, is never used for HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.teams import inbound
from adapters.teams.connector import BotConnector
from flows.core.types import Actor
from storage import calendar
from storage import teams_conversations as store

log = logging.getLogger("tandem.teams")

PAGE_SIZE = 500


class Roster:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connector: BotConnector,
        now: Callable[[], datetime],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.connector = connector
        self.now = now
        self.on_change = on_change  # a conversation reference was stored or dropped
        # (conversation, service url, sender) already stored by this process: one write per first contact
        self._known: set[tuple[str, str, str]] = set()
        # which id a Teams person goes by, read through (SQLite serialises every transaction)
        self._people: dict[tuple[str, ...], tuple[str, float]] = {}
        self._zones: dict[str, str] = {}  # the time zone last stored per person, by our id for them

    # ------------------------------------------------------------ conversation references

    async def remember(self, activity: Activity) -> None:
        """Store the activity's conversation reference (first contact, install), once per process."""
        try:
            place = inbound.where(activity)
        except ValueError:
            return
        service_url = activity.service_url or ""
        sender = activity.from_property
        known = (place.address, service_url, sender.id if sender is not None else "")
        if not service_url or known in self._known:
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        reference.conversation = ConversationAccount(
            id=place.address,
            is_group=place.kind != "personal",
            conversation_type=place.kind,
            tenant_id=place.tenant_id or None,
        )
        personal = sender is not None and place.kind == "personal"
        ids = inbound.user_ids(activity) if place.kind == "personal" else []
        async with self.sessions() as session, session.begin():
            await store.save_conversation(
                session,
                conversation_id=place.address,
                kind=place.kind,
                tenant_id=place.tenant_id,
                service_url=service_url,
                reference=reference.serialize(),
                now=self.now(),
                team_id=place.team_id,
                user_id=sender.id if personal and sender is not None else None,
                aad_object_id=sender.aad_object_id if personal and sender is not None else None,
            )
            if ids:
                await store.remember_dm_address(session, ids, place.address)
            if sender is not None and sender.id and place.kind != "personal":
                # the sender's Teams id beside their AAD id: a DM to them can be opened by either
                entry = store.RosterEntry(sender.id, sender.aad_object_id, sender.name, None)
                await store.save_roster(
                    session, place.team_id or place.address, place.tenant_id, [entry], self.now()
                )
        self._known.add(known)
        self.on_change()  # a new or refreshed reference: resolve delivery targets afresh

    async def uninstalled(self, place: inbound.Where, *, with_team: bool = False) -> None:
        """Tandem was removed from the conversation (`with_team`: from its whole team, if it is a team's
        channel): posting there fails for good."""
        async with self.sessions() as session, session.begin():
            if with_team and place.kind == "channel" and place.team_id:
                await store.mark_team_uninstalled(session, place.team_id)
            await store.mark_uninstalled(session, [place.address])
        self.forget(place.address)

    def forget(self, address: str) -> None:
        self._known = {k for k in self._known if k[0] != address}
        self.on_change()

    # ------------------------------------------------------------ people

    async def user_id(self, activity: Activity) -> str:
        """The id a team file used for the sender (AAD object id or "29:…"), else the AAD object id."""
        return await self.resolve_user(inbound.user_ids(activity))

    async def resolve_user(self, ids: list[str] | tuple[str, ...]) -> str:
        """Our id for a Teams person named by some of their ids: the one a team file used, else their
        Azure AD object id (looked up in the roster when only the "29:…" id is known), else what we have."""
        ids = [i for i in ids if i]
        if not ids:
            return ""
        key = tuple(ids)
        cached = self._people.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with self.sessions() as session:
            if not any(not i.startswith("29:") for i in ids):
                member = await store.roster_member(session, ids)
                if member is not None and member.aad_object_id:
                    ids = [member.aad_object_id, *ids]
            known = await store.known_identity(session, ids)
        if len(self._people) > 50_000:
            self._people.clear()
        # a person the team files name is stable; someone not (yet) named is looked up again soon
        self._people[key] = (known or ids[0], time.monotonic() + (600.0 if known else 30.0))
        return known or ids[0]

    async def learn_timezone(self, activity: Activity, user_id: str) -> None:
        """The sender's time zone from their client (clientInfo), onto their person; once per change."""
        zone = inbound.client_timezone(activity)
        if not zone or not user_id or self._zones.get(user_id) == zone:
            return
        async with self.sessions() as session, session.begin():
            if not await calendar.set_identity_timezone(session, "teams", user_id, zone):
                return
        if len(self._zones) > 50_000:
            self._zones.clear()
        self._zones[user_id] = zone

    async def known_user(self, ids: list[str]) -> str:
        """The id a team file used for a person, else the first of `ids`."""
        async with self.sessions() as session:
            return await store.known_identity(session, ids) or ids[0]

    async def mentioned(self, activity: Activity) -> tuple[str, tuple[Actor, ...]]:
        """The text with people's mentions as `@<n>`, and those people as Actors in our id convention."""
        text, people = inbound.mentions(activity)
        actors = [Actor("teams", await self.resolve_user(p.ids), p.name) for p in people]
        return text, tuple(actors)

    # ------------------------------------------------------------ team rosters

    async def record_members(
        self, activity: Activity, place: inbound.Where, members: list[ChannelAccount]
    ) -> None:
        """People added to a team (or group chat) after the install join its roster: their Teams ids and
        names from the activity, and their Azure AD id and email from the Bot Connector's member read when
        it answers (best effort: the activity alone is enough to DM them)."""
        if place.kind == "personal":
            return
        entries: list[store.RosterEntry] = []
        for member in members:
            aad, name, email = member.aad_object_id, member.name, None
            try:
                found = await self.connector.member(
                    activity.service_url or "", activity.conversation.id, member.id
                )
                aad = found.aad_object_id or aad
                name = found.name or name
                email = found.email or found.user_principal_name
            except Exception as exc:
                log.info("Teams: no details for new member %s: %s", member.id, exc)
            entries.append(store.RosterEntry(member.id, aad, name, email))
        async with self.sessions() as session, session.begin():
            await store.save_roster(
                session, place.team_id or place.address, place.tenant_id, entries, self.now()
            )
        self._people.clear()

    async def sync(self, activity: Activity, place: inbound.Where) -> None:
        """Best effort: the team's members (Teams ids, AAD ids, names, emails) for proactive DMs. The
        members of the team when the activity comes from one, else of the conversation (a group chat)."""
        if place.kind == "personal":
            return
        entries: list[store.RosterEntry] = []
        try:
            token = None
            while True:
                page = await self.connector.paged_members(
                    activity.service_url or "", place.team_id or activity.conversation.id, token, PAGE_SIZE
                )
                for member in page.members or []:
                    entries.append(
                        store.RosterEntry(
                            member.id,
                            member.aad_object_id,
                            member.name,
                            member.email or member.user_principal_name,
                        )
                    )
                token = page.continuation_token
                if not token:
                    break
        except Exception as exc:
            log.warning("Teams: could not read the roster of %s: %s", place.address, exc)
            return
        async with self.sessions() as session, session.begin():
            await store.save_roster(
                session, place.team_id or place.address, place.tenant_id, entries, self.now()
            )

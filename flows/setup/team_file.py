"""Declaring a team: the team file (`tandem team import team.yaml`), its validation, and the `team` command.

A team file is checked whole before anything is written; one transaction writes it, so a refused file
leaves the database as it was. It also sets what other flows run, through the pieces they share: the
meeting and quarterly-poll schedules (flows/core/team_schedules.py), the norms (flows/content) and the
team's own polls (flows/content/instruments.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from flows.content import DEFAULT_NORMS_PACK, NormPack, norm_pack_from_data, norm_packs, team_norms
from flows.content.instruments import (
    ALIASES,
    DEFAULT_INSTRUMENT,
    instruments,
    save_team_polls,
    team_poll_data,
)
from flows.core.actions import ActionHandler
from flows.core.catalog import Words, languages, words
from flows.core.checkin_settings import RUN_KIND as CHECKIN_KIND
from flows.core.checkin_settings import CheckinSpec, set_checkin_schedule
from flows.core.engine import ArrivalHandler, Command, FlowContext, ScheduleHandler
from flows.core.formatting import meeting_time
from flows.core.recurrence import Recurrence, from_key, zone
from flows.core.team_schedules import (
    MEETING_KIND,
    NO_MEETING,
    QUARTERLY_KIND,
    default_first,
    set_meeting_schedule,
    set_quarterly_schedule,
)
from flows.core.types import Card, CommandEvent, Fields, Header
from storage import audit, calendar, schedules, teams
from storage.teams import TeamView

SIDES = ("labor", "management", "board", "community", "other")


class TeamFileError(ValueError):
    """A team file was refused; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MemberSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    side: Literal["labor", "management", "board", "community", "other"]
    co_chair: bool = False
    email: str | None = None
    slack: str | None = None
    teams: str | None = None
    local: str | None = None

    @model_validator(mode="after")
    def _has_identity(self) -> MemberSpec:
        if not (self.slack or self.teams or self.local):
            raise ValueError("give at least one of slack, teams or local (the person's user id there)")
        return self

    def identities(self) -> list[tuple[str, str]]:
        pairs = [("slack", self.slack), ("teams", self.teams), ("local", self.local)]
        return [(platform, user) for platform, user in pairs if user]


class ChannelSpec(_Strict):
    platform: Literal["slack", "teams", "local"]
    id: str = Field(min_length=1)
    name: str | None = None


class MeetingSpec(_Strict):
    rrule: str
    start: datetime = Field(description="the first meeting, local wall-clock time in the team's zone")
    reminder_minutes_before: int = Field(default=30, ge=0, le=7 * 24 * 60)

    @field_validator("start")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("give the local time without an offset; the team's timezone applies")
        return value


class PulseSpec(_Strict):
    """`pulse: {every: quarterly, start: 2026-01-12, instrument: trust}` or `pulse: off`."""

    every: Literal["quarterly", "off"] = "quarterly"
    start: date | None = None
    instrument: str = "trust"


class HolidaySpec(_Strict):
    """`holidays: [{date: 2026-12-25, name: Winter break}]`: the team's own holidays."""

    day: date = Field(alias="date")
    name: str = Field(min_length=1, max_length=200)


WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def weekday_number(name: str) -> int:
    """`mon`, `Monday` or `MO` -> 0; ValueError naming the accepted forms otherwise."""
    word = name.strip().lower()
    for number, full in enumerate(WEEKDAY_NAMES):
        if len(word) >= 2 and full.startswith(word):
            return number
    raise ValueError(f"unknown weekday {name!r} (write e.g. [mon, tue, wed, thu, fri])")


class CustomNorms(_Strict):
    name: str
    attribution: str | None = None
    norms: list[str | dict[str, str]] = Field(min_length=1)


class TeamFile(_Strict):
    name: str = Field(min_length=1, max_length=200)
    timezone: str
    language: str = "en"
    norms: str | CustomNorms = DEFAULT_NORMS_PACK
    members: list[MemberSpec] = Field(min_length=2)
    channels: list[ChannelSpec] = Field(default_factory=list)
    # Where joint talking points go (a staff channel, a union members' channel, on any platform); the
    # team's own channels when empty (flows/talking_points/people.py).
    broadcast_channels: list[ChannelSpec] = Field(default_factory=list)
    meeting: MeetingSpec | None = None
    pulse: PulseSpec | None = None
    polls: list[dict[str, Any]] | None = None
    holidays: list[HolidaySpec] | None = None
    us_federal_holidays: bool | None = None
    working_days: list[str] | None = None
    checkins: CheckinSpec | None = None

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[HolidaySpec] | None) -> list[HolidaySpec] | None:
        days = [h.day for h in value or []]
        if len(set(days)) != len(days):
            twice = sorted({d for d in days if days.count(d) > 1})
            raise ValueError(f"holidays: {twice[0].isoformat()} is listed twice")
        return value

    @field_validator("working_days")
    @classmethod
    def _working_days(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("working_days: give at least one day (e.g. [mon, tue, wed, thu, fri])")
        for name in value:
            weekday_number(str(name))
        return value

    @field_validator("checkins", mode="before")
    @classmethod
    def _checkins_off(cls, value: Any) -> Any:
        if value is False or value == "off":  # YAML reads a bare `off` as false
            return {"off": True}
        return {} if value is True else value

    @field_validator("pulse", mode="before")
    @classmethod
    def _pulse_off(cls, value: Any) -> Any:
        if value is False or value == "off":  # YAML reads a bare `off` as false
            return {"every": "off"}
        return {} if value is True else value

    @field_validator("polls")
    @classmethod
    def _polls(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        polls = [team_poll_data(raw, n) for n, raw in enumerate(value)]
        ids = [p["id"] for p in polls]
        if len(set(ids)) != len(ids):
            raise ValueError("polls: each poll needs its own name (or id)")
        return polls

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in languages():
            raise ValueError(f"no catalog for language {value!r} (languages: {', '.join(languages())})")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("norms")
    @classmethod
    def _pack(cls, value: str | CustomNorms) -> str | CustomNorms:
        if isinstance(value, str) and value not in norm_packs():
            known = ", ".join(sorted(norm_packs()))
            raise ValueError(f"unknown norms pack {value!r} (known: {known}; or give your own list)")
        return value

    @model_validator(mode="after")
    def _co_chairs_and_rule(self) -> TeamFile:
        chairs = {m.side for m in self.members if m.co_chair}
        if not {"labor", "management"} <= chairs:
            found = ", ".join(sorted(chairs)) or "none"
            raise ValueError(
                "members: a team needs co-chairs from both sides, at least one labor and one management "
                f"(co-chair sides found: {found})"
            )
        names: set[str] = set()
        for member in self.members:
            if member.name.casefold() in names:
                raise ValueError(
                    f"members: two members are named {member.name!r}; give each a name the team can tell "
                    "apart (a last initial, say)"
                )
            names.add(member.name.casefold())
        places = [(c.platform, c.id) for c in self.channels]
        if len(set(places)) != len(places):
            raise ValueError("channels: a channel is listed twice")
        seen: set[tuple[str, str]] = set()
        for member in self.members:
            for identity in member.identities():
                if identity in seen:
                    raise ValueError(f"members: {identity[0]} id {identity[1]!r} is listed twice")
                seen.add(identity)
        if self.pulse is not None and self.pulse.every != "off":
            wanted = ALIASES.get(self.pulse.instrument, self.pulse.instrument)
            own = {p["id"] for p in self.polls or []}
            if wanted not in {*instruments(), *own}:
                raise ValueError(f"pulse.instrument: unknown poll {self.pulse.instrument!r}")
        if self.meeting is not None:
            try:
                Recurrence(self.meeting.rrule, self.meeting.start, self.timezone)
            except ValueError as exc:
                raise ValueError(f"meeting.rrule: {exc}") from exc
        return self

    def norm_pack(self) -> NormPack:
        if isinstance(self.norms, str):
            return norm_packs()[self.norms]
        items = [n if isinstance(n, dict) else {"title": n} for n in self.norms.norms]
        return norm_pack_from_data(
            {"id": "custom", "name": self.norms.name, "attribution": self.norms.attribution, "norms": items}
        )


def parse_team_file(data: Any) -> TeamFile:
    """Validate a decoded team file; TeamFileError naming the field(s) otherwise."""
    if not isinstance(data, dict):
        raise TeamFileError("the team file must be a mapping with name, timezone, members, …")
    try:
        return TeamFile.model_validate(data)
    except ValidationError as exc:
        raise TeamFileError(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(
            str(p) for p in error["loc"] if not str(p).startswith(("function-after", "str", "Custom"))
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        if where and not message.startswith(f"{where.split('.')[0]}:"):
            lines.append(f"{where}: {message}")
        else:
            lines.append(message)
    return "; ".join(dict.fromkeys(lines))


async def import_team(session: AsyncSession, spec: TeamFile, now: datetime) -> TeamView:
    """Create or update the team `spec` names, in the caller's transaction."""
    existing = await teams.find_team(session, spec.name)
    for channel in spec.channels:
        owner = await teams.channel_owner(session, channel.platform, channel.id)
        if owner is not None and (existing is None or owner.team_id != existing.id):
            label = f"{channel.name} ({channel.id})" if channel.name else channel.id
            raise TeamFileError(
                f"channels: the {channel.platform} channel {label} already belongs to team "
                f"{owner.team_name!r}; a channel serves one team (remove it there first, or choose another)"
            )
    pack = spec.norm_pack()
    settings: dict[str, Any] = {"norms_pack": pack.id}
    settings["broadcast_channels"] = [c.model_dump() for c in spec.broadcast_channels]
    if pack.id == "custom":
        settings["custom_norms"] = {
            "id": "custom",
            "name": pack.name,
            "attribution": pack.attribution,
            "norms": [{"title": n.title, "text": n.text} for n in pack.norms],
        }
    team, created = await teams.save_team(
        session,
        name=spec.name,
        timezone=spec.timezone,
        language=spec.language,
        settings=settings,
        # "removed": a removed team whose history was kept (`tandem team remove`), declared again
        drop_settings=("removed",) if pack.id == "custom" else ("custom_norms", "removed"),
        now=now,
    )
    people = await teams.find_or_create_people(
        session, [teams.NewMember(m.name, m.email, m.identities()) for m in spec.members], now
    )
    rows = [(p.id, m.side, m.co_chair, m.name) for p, m in zip(people, spec.members, strict=True)]
    await teams.replace_memberships(session, team.id, rows, now)
    await teams.replace_channels(session, team.id, [(c.platform, c.id, c.name) for c in spec.channels])
    if spec.meeting is not None:
        await set_meeting_schedule(
            session, team, spec.meeting.rrule, spec.meeting.start, spec.meeting.reminder_minutes_before, now
        )
    await _apply_pulse_fields(
        session,
        team,
        pulse=spec.pulse.model_dump() if spec.pulse is not None else None,
        polls=spec.polls,
        now=now,
    )
    await _apply_calendar_fields(session, team.id, spec)
    if spec.checkins is not None:
        if spec.checkins.off:
            checkin_rows = await schedules.for_team(session, team.id, CHECKIN_KIND)
            await schedules.disable(session, (row.id for row in checkin_rows))
        else:
            await set_checkin_schedule(session, team, spec.checkins.settings(), now)
    await audit.record(
        session,
        team_id=team.id,
        actor_person_id=None,
        action="team.created" if created else "team.updated",
        detail={"via": "team file", "members": len(rows), "channels": len(spec.channels)},
        at=now,
    )
    return team


async def _apply_calendar_fields(session: AsyncSession, team_id: int, spec: TeamFile) -> None:
    """The team file's calendar fields (storage/calendar.py); a field not given leaves the team's as it is."""
    if spec.holidays is not None:
        await calendar.replace_holidays(session, team_id, {h.day: h.name for h in spec.holidays})
    workdays = frozenset(weekday_number(d) for d in spec.working_days) if spec.working_days else None
    if spec.us_federal_holidays is not None or workdays is not None:
        await calendar.set_team_calendar_settings(
            session, team_id, us_federal=spec.us_federal_holidays, workdays=workdays
        )


async def _apply_pulse_fields(
    session: AsyncSession,
    team: TeamView,
    *,
    pulse: dict[str, Any] | None,
    polls: list[dict[str, Any]] | None,
    now: datetime,
) -> None:
    """The team file's pulse fields, already validated: `pulse` is None (not given: a new team gets the
    quarterly trust check, an existing schedule is left as the co-chairs set it), {"every": "off"} or
    {"every": "quarterly", "start": date | None, "instrument": id}; `polls` replaces the team's own polls
    when given."""
    if polls is not None:
        await save_team_polls(session, team.id, polls, now)
    existing = await schedules.for_team(session, team.id, QUARTERLY_KIND)
    if pulse is not None and pulse.get("every") == "off":
        await schedules.disable(session, (row.id for row in existing))
        return
    if pulse is None and existing:
        return
    pulse = pulse or {}
    first = pulse.get("start") or default_first(now, team.timezone)
    instrument_id = (
        ALIASES.get(str(pulse.get("instrument") or ""), pulse.get("instrument")) or DEFAULT_INSTRUMENT
    )
    await set_quarterly_schedule(session, team, first, str(instrument_id), now)


async def describe_team(session: AsyncSession, team: TeamView, say: Words | None = None) -> Card:
    """A compact card: sides, co-chairs, members, channels, norms and the next meeting; in `say`'s language
    (the team's if not given)."""
    say = say or words(team=team)
    members = await teams.members(session, team.id)
    chairs = [f"{m.name} ({m.side})" for m in members if m.co_chair]
    others = [f"{m.name} ({m.side})" for m in members if not m.co_chair]
    channels = [f"{c.name or c.address} ({c.platform})" for c in await teams.channels_of(session, team.id)]
    pairs: list[tuple[str, str]] = [
        (say("team.co_chairs"), ", ".join(chairs)),
        (say("team.members"), ", ".join(others) or "—"),
        (say("team.time_zone"), team.timezone),
        (say("team.channels"), ", ".join(channels) or say("team.no_channels")),
        (say("team.norms"), team_norms(team).name),
    ]
    meeting = await schedules.for_team(session, team.id, MEETING_KIND)
    if meeting and meeting[0].next_occurrence_local:
        pairs.append(
            (
                say("team.next_meeting"),
                meeting_time(from_key(meeting[0].next_occurrence_local), team.timezone),
            )
        )
    else:
        pairs.append((say("team.next_meeting"), say(NO_MEETING)))
    return Card(
        summary=say("team.summary", team=team.name), elements=(Header(team.name), Fields(tuple(pairs)))
    )


class TeamFlow:
    """`team`: who is on my team and when we meet."""

    name = "team"

    def commands(self) -> Sequence[Command]:
        return (Command("team", "team", "team.command", self._show),)

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _show(self, ctx: FlowContext, event: CommandEvent, rest: str) -> None:
        team, why = await ctx.team_here()
        if team is None:
            await ctx.reply(Card.plain(why or ""))
            return
        await ctx.reply(await describe_team(ctx.session, team, words(ctx.person, team)), team_id=team.id)

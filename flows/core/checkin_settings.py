"""A team's check-in settings and schedule (flows/checkins runs them). Kept in flows/core, like
team_schedules.py, because the team file (flows/setup) sets them as well as the `checkin` command.

The settings live in the schedule row's `settings` (one `checkin.run` schedule per team). The schedule's
RRULE is expanded in the team's zone at the check-in time; each occurrence is *prepared* a day ahead (the
schedule's lead), so that a person whose zone is ahead of the team's can be asked at the check-in time in
their own zone: the run writes one invitation per person to the outbox, each held until that person's
local moment (flows/core/calendar.py `local_moment`, DST-correct).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from flows.content import checkin_prompts
from flows.core.recurrence import Recurrence, utc_to_local, zone
from flows.core.team_schedules import set_team_schedule
from storage.schedules import ScheduleView
from storage.teams import TeamView

RUN_KIND = "checkin.run"
DEFAULT_RRULE = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"
DEFAULT_AT = time(9, 0)
DEFAULT_WINDOW_DAYS = 2
DEFAULT_REMIND_HOURS = 24
DEFAULT_QUESTIONS = 2
MAX_QUESTIONS = 3
MAX_PROMPT_LENGTH = 200
MAX_PROMPTS = 20
# Zones span UTC-12 to UTC+14: a run prepared this long before the team's check-in time can still hold
# every invitation until its person's own check-in time.
LEAD = timedelta(hours=27)
# Prepared late (the bot was down), a run still starts until half a day after the team's check-in time;
# invitations whose moment has passed go out at once.
GRACE = LEAD + timedelta(hours=12)


@dataclass(frozen=True)
class CheckinSettings:
    rrule: str = DEFAULT_RRULE
    start: date | None = None  # the first occurrence (else the next one the rule allows)
    at: time = DEFAULT_AT  # each person's local time of day
    window_days: int = DEFAULT_WINDOW_DAYS  # working days the answers stay open
    remind_hours: int = DEFAULT_REMIND_HOURS  # the one reminder, this long before close (0: none)
    prompts: tuple[str, ...] = field(default_factory=lambda: default_prompts())
    questions: int = DEFAULT_QUESTIONS  # asked per run, rotating through `prompts`
    mood: bool = False  # the anonymous mood question (1-5)

    def to_data(self) -> dict[str, Any]:
        return {
            "rrule": self.rrule,
            "start": self.start.isoformat() if self.start else None,
            "at": self.at.strftime("%H:%M"),
            "window_days": self.window_days,
            "remind_hours": self.remind_hours,
            "prompts": list(self.prompts),
            "questions": self.questions,
            "mood": self.mood,
            "lead_minutes": int(LEAD.total_seconds() // 60),
            "misfire_grace_minutes": int(GRACE.total_seconds() // 60),
        }

    @staticmethod
    def from_data(data: Mapping[str, Any]) -> CheckinSettings:
        start = data.get("start")
        return CheckinSettings(
            rrule=str(data.get("rrule") or DEFAULT_RRULE),
            start=date.fromisoformat(start) if start else None,
            at=time.fromisoformat(str(data.get("at") or "09:00")),
            window_days=int(data.get("window_days", DEFAULT_WINDOW_DAYS)),
            remind_hours=int(data.get("remind_hours", DEFAULT_REMIND_HOURS)),
            prompts=tuple(str(p) for p in data.get("prompts") or default_prompts()),
            questions=int(data.get("questions", DEFAULT_QUESTIONS)),
            mood=bool(data.get("mood", False)),
        )


def library() -> tuple[str, ...]:
    """The shipped prompts (flows/content/prompts/checkin.yaml), numbered from 1 in what people see."""
    return checkin_prompts()


def default_prompts() -> tuple[str, ...]:
    """The three the issue asks for by default: how is your week, what would help, what went well."""
    wanted = (
        "How is your week going?",
        "What would help you this week?",
        "What went well since we last met?",
    )
    return tuple(p for p in wanted if p in library()) or library()[:3]


def resolve_prompt(value: str | int) -> str:
    """A library number (1-based) or the team's own words; ValueError for an unknown number or bad text."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if not 1 <= number <= len(library()):
            raise ValueError(f"there is no prompt number {number} (the library has 1 to {len(library())})")
        return library()[number - 1]
    text = " ".join(str(value).split())
    if not text or len(text) > MAX_PROMPT_LENGTH:
        raise ValueError(f"a prompt needs 1 to {MAX_PROMPT_LENGTH} characters")
    return text


def rotation(prompts: tuple[str, ...], questions: int, run_number: int) -> tuple[str, ...]:
    """The questions of the team's `run_number`-th run (0-based): the next `questions` of its prompts, in
    turn, so every prompt comes round."""
    if not prompts:
        return ()
    count = min(questions, len(prompts))
    return tuple(prompts[(run_number * count + i) % len(prompts)] for i in range(count))


def check(settings: CheckinSettings, timezone: str) -> None:
    """ValueError naming what is wrong with settings a team gave."""
    if not 1 <= settings.questions <= MAX_QUESTIONS:
        raise ValueError(f"questions: ask 1 to {MAX_QUESTIONS} questions a run, not {settings.questions}")
    if not 1 <= settings.window_days <= 10:
        raise ValueError(f"window_days: 1 to 10 working days, not {settings.window_days}")
    if not 0 <= settings.remind_hours <= 24 * 10:
        raise ValueError(f"remind_hours: 0 (no reminder) to 240 hours, not {settings.remind_hours}")
    if not 1 <= len(settings.prompts) <= MAX_PROMPTS:
        raise ValueError(f"prompts: give 1 to {MAX_PROMPTS} prompts")
    start = datetime.combine(settings.start or date(2026, 1, 5), settings.at)
    try:
        Recurrence(settings.rrule, start, timezone)
    except ValueError as exc:
        raise ValueError(f"rrule: {exc}") from exc


def first_start(settings: CheckinSettings, now: datetime, timezone: str) -> datetime:
    """The local start of the rule: the given first day at the check-in time, else today's."""
    day = settings.start or utc_to_local(now, zone(timezone)).date()
    return datetime.combine(day, settings.at)


async def set_checkin_schedule(
    session: AsyncSession, team: TeamView, settings: CheckinSettings, now: datetime
) -> ScheduleView:
    """Create or replace the team's check-in schedule (enabled), next due after `now`."""
    check(settings, team.timezone)
    return await set_team_schedule(
        session,
        team,
        kind=RUN_KIND,
        rrule=settings.rrule,
        start=first_start(settings, now, team.timezone),
        settings=settings.to_data(),
        now=now,
        lead=LEAD,
    )


class CheckinSpec(BaseModel):
    """The team file's `checkins:` section (or `checkins: off`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    every: str = Field(default=DEFAULT_RRULE, description="an RRULE, in the team's zone")
    start: date | None = None
    at: time = DEFAULT_AT
    window_days: int = DEFAULT_WINDOW_DAYS
    remind_hours: int = DEFAULT_REMIND_HOURS
    prompts: list[str | int] | None = None
    questions: int = DEFAULT_QUESTIONS
    mood: bool = False
    off: bool = False

    @field_validator("prompts")
    @classmethod
    def _prompts(cls, value: list[str | int] | None) -> list[str | int] | None:
        if value is not None:
            for item in value:
                resolve_prompt(item)
        return value

    @model_validator(mode="after")
    def _settings(self) -> CheckinSpec:
        if not self.off:
            check(self.settings(), "UTC")
        return self

    def settings(self) -> CheckinSettings:
        prompts = tuple(resolve_prompt(p) for p in self.prompts) if self.prompts else default_prompts()
        return CheckinSettings(
            rrule=self.every,
            start=self.start,
            at=self.at,
            window_days=self.window_days,
            remind_hours=self.remind_hours,
            prompts=prompts,
            questions=self.questions,
            mood=self.mood,
        )

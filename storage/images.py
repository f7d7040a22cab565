"""Images Tandem makes and keeps in the database: today, a released trust poll's trend chart, stored with its
poll (`pulse_polls.chart_png`, a team-level aggregate, not personal data).

A card names a stored image as `tandem-image:<name>` (`Image.url`); the adapters fetch its bytes here when
they send the card, on whichever replica and however long after the chart was drawn. The name is also the
file name a platform shows (a Slack upload, the `/images/…` link) and, for a chart, says whose it is:
`pulse-chart-<poll id>.png`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.checkin_models import CheckinRun
from storage.pulse_models import PulsePoll

SCHEME = "tandem-image:"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_CHART = re.compile(r"^pulse-chart-([1-9][0-9]{0,17})\.png$")
_CHECKIN_CHART = re.compile(r"^checkin-chart-([1-9][0-9]{0,17})\.png$")  # a check-in trend, kept on its run


@dataclass(frozen=True)
class StoredImage:
    name: str
    content: bytes
    media_type: str = "image/png"


def chart_name(poll_id: int) -> str:
    return f"pulse-chart-{poll_id}.png"


def chart_ref(poll_id: int) -> str:
    """The `Image.url` of a poll's stored chart."""
    return SCHEME + chart_name(poll_id)


def is_stored(url: str) -> bool:
    return url.startswith(SCHEME)


def name_of(url: str) -> str | None:
    """The stored image's name in a `tandem-image:` reference (None for anything else)."""
    return url.removeprefix(SCHEME) if is_stored(url) else None


async def load(session: AsyncSession, name: str) -> StoredImage | None:
    """The image stored under `name`, if there is one (and it is a PNG)."""
    match = _CHART.match(name)
    checkin = _CHECKIN_CHART.match(name)
    if match is not None:
        stmt = select(PulsePoll.chart_png).where(PulsePoll.id == int(match.group(1)))
    elif checkin is not None:
        stmt = select(CheckinRun.chart_png).where(CheckinRun.id == int(checkin.group(1)))
    else:
        return None
    content = (await session.execute(stmt)).scalar_one_or_none()
    if not content or not content.startswith(PNG_MAGIC):
        return None
    return StoredImage(name, bytes(content))


def checkin_chart_ref(run_id: int) -> str:
    """The `Image.url` of the check-in trend chart kept on run `run_id`."""
    return f"{SCHEME}checkin-chart-{run_id}.png"


async def has_chart(session: AsyncSession, poll_id: int) -> bool:
    stmt = select(PulsePoll.id).where(PulsePoll.id == poll_id, PulsePoll.chart_png.is_not(None))
    return (await session.execute(stmt)).first() is not None

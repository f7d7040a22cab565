"""The delivery outbox: rows written with the state they report, claimed and sent by workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, delete, func, insert, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus
from storage.sql import dialect_name

_T: Table = OutboxMessage.__table__  # type: ignore[assignment]  # Core statements on the delivery hot path


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    team_id: int | None
    platform: str
    target: dict[str, Any]
    payload: dict[str, Any]
    attempts: int
    replaces_key: str | None = None
    sensitive: bool = True  # unknown counts as sensitive: its payload is erased once sent


# The delivery hot path's statements, built once (building a statement costs more Python than running it),
# and run on the session's connection: Core, without the ORM session's execute machinery around them.
_ADD = insert(_T)


def _claim(dialect: str) -> Any:
    ready = or_(
        and_(_T.c.status == OutboxStatus.pending, _T.c.next_attempt_at <= bindparam("now")),
        and_(_T.c.status == OutboxStatus.sending, _T.c.lease_until < bindparam("now")),
    )
    ids = (
        select(_T.c.id)
        .where(ready, _T.c.platform.in_(bindparam("platforms", expanding=True)))
        .order_by(_T.c.id)
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    return (
        update(_T)
        .where(_T.c.id.in_(ids.scalar_subquery()))
        .values(
            status=OutboxStatus.sending, lease_until=bindparam("lease_until"), claimed_by=bindparam("worker")
        )
        .returning(
            _T.c.id,
            _T.c.team_id,
            _T.c.platform,
            _T.c.target,
            _T.c.payload,
            _T.c.attempts,
            _T.c.replaces_key,
            _T.c.sensitive,
        )
    )


_CLAIM = {dialect: _claim(dialect) for dialect in ("postgresql", "sqlite")}
_MARK_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("row_id"))
    .values(
        status=OutboxStatus.sent,
        platform_ref=bindparam("ref"),
        sent_at=bindparam("sent_at"),
        lease_until=None,
        last_error=None,
        payload=case((_T.c.sensitive.is_(True), null()), else_=_T.c.payload),
    )
)
_NEXT_READY = select(
    select(func.min(_T.c.next_attempt_at))
    .where(_T.c.status == OutboxStatus.pending, _T.c.platform.in_(bindparam("platforms", expanding=True)))
    .scalar_subquery(),
    select(func.min(_T.c.lease_until))
    .where(_T.c.status == OutboxStatus.sending, _T.c.platform.in_(bindparam("platforms", expanding=True)))
    .scalar_subquery(),
)


async def add(
    session: AsyncSession,
    *,
    team_id: int | None,
    platform: str,
    target: dict[str, Any],
    payload: dict[str, Any],
    sensitive: bool,
    now: datetime,
    message_key: str | None = None,
    replaces_key: str | None = None,
    not_before: datetime | None = None,
) -> None:
    """Queue one message, in the caller's transaction (a Core INSERT: on the path of every click, the
    ORM's unit of work cost more than the statement)."""
    ready_at = max(now, not_before) if not_before else now
    values: dict[str, Any] = {
        "team_id": team_id,
        "platform": platform,
        "target": target,
        "payload": payload,
        "sensitive": sensitive,
        "status": OutboxStatus.pending,
        "attempts": 0,
        "next_attempt_at": ready_at,
        "created_at": now,
        "message_key": message_key,
        "replaces_key": replaces_key,
    }
    await (await session.connection()).execute(_ADD, values)


async def add_many(session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Queue many messages in one statement (an executemany); each row has `add`'s keyword arguments
    except `session` and `now`."""
    if not rows:
        return
    values = [
        {
            "team_id": r.get("team_id"),
            "platform": r["platform"],
            "target": r["target"],
            "payload": r["payload"],
            "sensitive": r.get("sensitive", False),
            "status": OutboxStatus.pending,
            "attempts": 0,
            "next_attempt_at": max(now, r["not_before"]) if r.get("not_before") else now,
            "created_at": now,
            "message_key": r.get("message_key"),
            "replaces_key": r.get("replaces_key"),
        }
        for r in rows
    ]
    await (await session.connection()).execute(_ADD, values)


async def claim_batch(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    platforms: Sequence[str],
) -> list[ClaimedMessage]:
    """Lease up to `limit` ready rows to `worker`, oldest first, in one statement (UPDATE … RETURNING). A
    row whose lease expired (its worker died) is ready again. On PostgreSQL, FOR UPDATE SKIP LOCKED keeps
    concurrent workers off each other's rows."""
    stmt = _CLAIM["postgresql" if dialect_name(session) == "postgresql" else "sqlite"]
    params = {"now": now, "lease_until": now + lease, "worker": worker, "limit": limit}
    params["platforms"] = list(platforms)
    result = await (await session.connection()).execute(stmt, params)
    rows = sorted(result.all(), key=lambda row: int(row.id))
    return [
        ClaimedMessage(
            row.id,
            row.team_id,
            row.platform,
            dict(row.target),
            dict(row.payload or {}),
            row.attempts,
            row.replaces_key,
            bool(row.sensitive),
        )
        for row in rows
    ]


async def mark_sent(session: AsyncSession, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
    """Record sends as (row id, platform reference) in one executemany, erasing sensitive payloads on the
    way (a delivered card may carry secrets meant only for its recipient)."""
    if not sent:
        return
    params = [{"row_id": i, "ref": ref, "sent_at": now} for i, ref in sent]
    await (await session.connection()).execute(_MARK_SENT, params)


async def mark_retry(
    session: AsyncSession,
    message_id: int,
    *,
    attempts: int,
    next_attempt_at: datetime,
    error: str,
    target: dict[str, Any] | None = None,
) -> None:
    """Put a row back in the queue; `target`, if given, replaces its target (a partly done send records
    its progress there, so the retry resumes where it stopped)."""
    values: dict[str, Any] = {
        "status": OutboxStatus.pending,
        "attempts": attempts,
        "next_attempt_at": next_attempt_at,
        "lease_until": None,
        "last_error": error[:2000],
    }
    if target is not None:
        values["target"] = target
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


async def mark_failed(session: AsyncSession, message_id: int, *, attempts: int, error: str) -> None:
    """Give up on a row; a sensitive payload is erased here too (it will never be needed again)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.failed, attempts=attempts, lease_until=None, last_error=error[:2000])
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sensitive.is_(True))
        .values(payload=None)
        .execution_options(synchronize_session=False)
    )


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {str(status): int(n) for status, n in (await session.execute(stmt)).all()}


async def messages(session: AsyncSession, team_id: int | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if team_id is not None:
        stmt = stmt.where(OutboxMessage.team_id == team_id)
    return list((await session.execute(stmt)).scalars())


async def _same_key_rows(
    session: AsyncSession, message_key: str, platform: str, address: str | None, statuses: Sequence[str]
) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.message_key == message_key,
            OutboxMessage.platform == platform,
            OutboxMessage.status.in_(list(statuses)),
        )
        .order_by(OutboxMessage.id.desc())
    )
    rows = (await session.execute(stmt)).scalars()
    return [r for r in rows if (r.target or {}).get("address") == address]


async def supersede_pending(
    session: AsyncSession, message_key: str, platform: str, address: str | None, payload: dict[str, Any]
) -> bool:
    """If the message `message_key` to this address has not been sent yet, give it the new payload and
    return True: the replacement rides on the original, which keeps its place and send time."""
    rows = await _same_key_rows(session, message_key, platform, address, [OutboxStatus.pending])
    for row in rows:
        row.payload = payload
    return bool(rows)


async def sent_ref(
    session: AsyncSession, message_key: str, platform: str, address: str | None, exclude_id: int
) -> tuple[str | None, bool]:
    """(the platform reference of the latest sent message with this key at this address, whether an
    earlier one is still on its way). A replacement waits while an earlier row is in flight, then updates
    it; a later row never holds up an earlier one (two pending replacements would otherwise wait for each
    other until both gave up)."""
    rows = await _same_key_rows(
        session,
        message_key,
        platform,
        address,
        [OutboxStatus.sent, OutboxStatus.sending, OutboxStatus.pending],
    )
    rows = [r for r in rows if r.id != exclude_id]
    sent = next((r.platform_ref for r in rows if r.status == OutboxStatus.sent and r.platform_ref), None)
    in_flight = any(r.status != OutboxStatus.sent and r.id < exclude_id for r in rows)
    return sent, in_flight and sent is None


async def next_ready_at(session: AsyncSession, platforms: Sequence[str]) -> datetime | None:
    """When the earliest row can next be claimed: a pending row's next attempt, or a leased row's lease
    end (its worker may have died). The worker claims when this is due and sleeps until then otherwise,
    so finding nothing to do costs one read, never a write transaction."""
    row = (await (await session.connection()).execute(_NEXT_READY, {"platforms": list(platforms)})).one()
    times = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in row if t is not None]
    return min(times) if times else None


async def next_held_at(session: AsyncSession, platforms: Sequence[str]) -> datetime | None:
    """When the earliest message prepared ahead is due (held until its moment, never tried yet: a
    check-in's invitations wait for each person's 9:00); not a retry's backoff nor a lease."""
    stmt = select(func.min(_T.c.next_attempt_at)).where(
        _T.c.status == OutboxStatus.pending, _T.c.attempts == 0, _T.c.platform.in_(list(platforms))
    )
    found: datetime | None = (await session.execute(stmt)).scalar()
    return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found


async def prune(session: AsyncSession, *, sent_before: datetime, failed_before: datetime) -> int:
    """Delete delivered rows older than `sent_before` and given-up rows older than `failed_before`: the
    outbox is a queue, not an archive of who was told what."""
    result = await session.execute(
        delete(OutboxMessage).where(
            or_(
                and_(OutboxMessage.status == OutboxStatus.sent, OutboxMessage.sent_at < sent_before),
                and_(OutboxMessage.status == OutboxStatus.failed, OutboxMessage.created_at < failed_before),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def forget(session: AsyncSession, key_prefix: str) -> int:
    """Delete finished rows whose message key starts with `key_prefix` (e.g. a closed poll's receipts), so
    no trace of who received them remains. Rows still waiting to go out are kept."""
    result = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.message_key.startswith(key_prefix, autoescape=True),
            OutboxMessage.status.in_([OutboxStatus.sent, OutboxStatus.failed]),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Holder:
    """A process holding outbox rows on lease: how many, and until when at the latest."""

    process: str
    rows: int
    lease_until: datetime | None


async def holders(session: AsyncSession) -> list[Holder]:
    """Who holds what now: the rows being sent, by the process that claimed them."""
    stmt = (
        select(OutboxMessage.claimed_by, func.count(), func.max(OutboxMessage.lease_until))
        .where(OutboxMessage.status == OutboxStatus.sending)
        .group_by(OutboxMessage.claimed_by)
        .order_by(OutboxMessage.claimed_by)
    )
    return [
        Holder(str(who or ""), int(n), _aware(until)) for who, n, until in (await session.execute(stmt)).all()
    ]


async def renew_lease(session: AsyncSession, *, worker: str, lease_until: datetime) -> int:
    """Extend the lease on every row `worker` is still sending (it is alive and busy): the lease can be
    short, so a dead worker's rows are ready again soon, without a slow batch losing its rows."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.sending, OutboxMessage.claimed_by == worker)
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release(session: AsyncSession, *, worker: str, now: datetime) -> int:
    """Make the rows a dead `worker` was sending ready now (its lease need not run out). A row it may
    have sent before dying can go out again: the same at-least-once as a lease that ran out."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.sending, OutboxMessage.claimed_by == worker)
        .values(status=OutboxStatus.pending, lease_until=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment

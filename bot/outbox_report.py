"""`tandem outbox [--failed] [--team NAME]` and `tandem outbox retry ID|--all-failed`: what waits to be sent,
what failed and why, in words an operator can act on."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import teams
from storage.outbox_admin import OutboxRow, retry_failed, status_of, unsent

SHOWN = 200  # rows listed at most

# The platform's error code (as the adapters record it: "chat.postMessage: not_in_channel") → what to do.
# {where}: the channel's name (#lm-team) or address.
ADVICE = {
    "not_in_channel": "not in channel — invite @Tandem to {where} (/invite @Tandem in that channel)",
    "channel_not_found": "channel not found — {where} was deleted, or Tandem cannot see it; fix the team "
    "file's channel id",
    "is_archived": "channel archived — unarchive {where} or give the team another channel",
    "token_revoked": "Tandem was uninstalled from the Slack workspace — reinstall the app",
    "invalid_auth": "Slack refused the token — check SLACK_BOT_TOKEN (or reinstall the app)",
    "not_authed": "no Slack token — check SLACK_BOT_TOKEN",
    "account_inactive": "the Slack token's account is deactivated — reinstall the app",
    "missing_scope": "the Slack app lacks a scope — update it from manifest.yml and reinstall",
    "user_not_found": "the person's Slack id is not in this workspace — fix their `slack:` id in the "
    "team file",
    "cannot_dm_bot": "the `slack:` id is a bot — fix it in the team file",
    "msg_too_long": "the message was too long for Slack (a bug: please report it)",
    "invalid_blocks": "Slack refused the message's layout (a bug: please report it)",
    "rate limited": "rate limited by the platform — Tandem retries after the time it asks",
    "removed from the Teams conversation": "Tandem was removed from that Teams conversation — add the app "
    "to {where} again",
    "Teams refused the message (403)": "Teams refused: the app is not in {where} (or was blocked) — add it",
    "Teams refused the message (404)": "Teams conversation gone — fix the team file's Teams channel id",
    "Not installed": "no installation for this workspace — install Tandem there (/slack/install)",
}


def in_words(row: OutboxRow) -> str:
    """Why a row is not delivered, as a sentence with what to do about it."""
    where = f"#{row.channel_name.lstrip('#')}" if row.channel_name else (row.address or "the conversation")
    error = row.last_error or ""
    for key, advice in ADVICE.items():
        if re.search(rf"(^|\W){re.escape(key)}($|\W)", error, flags=re.IGNORECASE):
            return advice.format(where=where)
    if row.status == "pending" and not error:
        return "waiting to be sent" if row.attempts == 0 else "waiting for its next attempt"
    if row.status == "sending":
        return f"being sent by {row.claimed_by or 'a Tandem process'}"
    return error or "failed (no reason recorded)"


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def render(rows: list[OutboxRow], now: datetime, *, failed_only: bool) -> str:
    if not rows:
        return "No failed messages." if failed_only else "Nothing waiting: every message has been sent."
    lines = []
    for row in rows:
        to = f"#{row.channel_name.lstrip('#')}" if row.channel_name else (row.address or "?")
        state = row.status if row.status != "pending" else "waiting"
        tries = f", {row.attempts} attempt(s)" if row.attempts else ""
        lines.append(
            f"#{row.id}  {state:<8} {row.team or '(no team)'} → {row.platform} {to}, "
            f"{_age(now, row.created_at)} old{tries}: {in_words(row)}"
        )
    failed = sum(1 for r in rows if r.status == "failed")
    if failed:
        lines.append(f"{failed} failed. Fix the cause, then: tandem outbox retry ID (or --all-failed).")
    return "\n".join(lines)


async def report(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *, failed_only: bool, team: str | None
) -> str:
    async with sessions() as session:
        team_id = None
        if team is not None:
            found = await teams.team_by_name(session, team)
            if found is None:
                known = ", ".join(await teams.all_team_names(session)) or "none yet"
                raise ValueError(f"no team named {team!r} (teams: {known})")
            team_id = found.id
        rows = await unsent(session, failed_only=failed_only, team_id=team_id, limit=SHOWN + 1)
    shown = render(rows[:SHOWN], now, failed_only=failed_only)
    return shown + (f"\n(the oldest {SHOWN} shown; --team NAME narrows it)" if len(rows) > SHOWN else "")


async def retry(sessions: async_sessionmaker[AsyncSession], now: datetime, ids: list[int] | None) -> str:
    """Queue failed rows again (`ids`, or every failed row when None); a line saying what happened."""
    async with sessions() as session, session.begin():
        done = await retry_failed(session, now, ids)
        others = await status_of(session, [i for i in ids or [] if i not in done])
    lines = [f"Queued again: {', '.join(f'#{i}' for i in done)}." if done else "Nothing queued again."]
    for row_id in ids or []:
        if row_id in done:
            continue
        if row_id not in others:
            lines.append(f"#{row_id}: no such message (sent ones are deleted after a while).")
        elif others[row_id][0] != "failed":
            lines.append(f"#{row_id}: not failed ({others[row_id][0]}); nothing to do.")
        else:
            lines.append(f"#{row_id}: its content was erased when it failed (private); it cannot be resent.")
    return "\n".join(lines)

"""`tandem demo` shows three meetings with rotating roles and norms of focus."""

from __future__ import annotations

import re
from pathlib import Path

from bot.demo import run_demo


async def test_demo_shows_three_meetings_with_rotating_roles_and_focus(tmp_path: Path) -> None:
    lines: list[str] = []
    await run_demo(lines.append, tmp_path)
    text = "\n".join(lines)
    reminders = re.findall(r"meets in 30 minutes · (.+)", text)
    # Meeting 2's card appears twice: once posted, once updated in place after the pass.
    assert reminders == [
        "Tue 27 Oct, 4:00 PM PDT",
        "Tue 10 Nov, 4:00 PM PST",
        "Tue 10 Nov, 4:00 PM PST",
        "Tue 24 Nov, 4:00 PM PST",
        "Tue 8 Dec, 4:00 PM PST",  # during the action items' weeks (bot/demo_actions.py)
    ]
    meetings = text.split("A quarter's trust check")[0]
    assert meetings.count("the card above, updated in place") == 1
    focus = re.findall(r"Norm of focus: (\w[\w ]*?) —", text)
    assert focus == ["Pausing", "Paraphrasing", "Paraphrasing", "Probing", "Putting ideas on the table"]
    facilitators = re.findall(r"Facilitator\s+(.+)", text)
    assert len(facilitators) == 5 and len(set(facilitators[:4])) == 3
    flat = " ".join(text.split())
    assert flat.count("Roles rotate so everyone gets to facilitate") == 5  # why, under every reminder
    assert not re.search(r"\d{3}:L\d", text)  # the content files' source line references stay in the files
    assert re.search(r"Roles update for Tue 10 Nov: \w+ \w+ passed note-taker; \w+ \w+ takes it\.", flat)
    assert (tmp_path / "demo.db").exists()
    # action items: captured at a meeting, reminded, nudged when overdue, done, counted
    assert "PROMISES FROM THIS MEETING (2)" in text
    assert (
        "A reminder: “Share the budget timeline with staff” (Riverside Solutions Team) is due Tue 1 Dec."
        in flat
    )
    assert "was due Tue 1 Dec. Done, a new date, or drop it with a reason?" in flat
    assert "Done: Draft the survey to staff — Aisha Johnson, Tom Becker" in flat
    assert "met 1 of the 2 promises due so far by their due date; 1 done late" in flat
    assert "Follow-through: the team met 1 of 2 promises this quarter." in flat
    # the check-in round: David (New York) is asked at 9:00 his time, Tom (away) not at all
    checkin = text.split("=== Check-ins:")[1]
    assert re.search(r"── DM to david · Mon \d+ \w+ 6:00 AM PST", checkin) and "DM to tom" not in checkin
    assert "Team mood: 4.2 out of 5" in checkin and "5 of 7 checked in." in checkin

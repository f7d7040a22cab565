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
    ]
    meetings = text.split("A quarter's trust check")[0]
    assert meetings.count("the card above, updated in place") == 1
    focus = re.findall(r"Norm of focus: (\w[\w ]*?) —", text)
    assert focus == ["Pausing", "Paraphrasing", "Paraphrasing", "Probing"]
    facilitators = re.findall(r"Facilitator\s+(.+)", text)
    assert len(facilitators) == 4 and len(set(facilitators)) == 3
    flat = " ".join(text.split())
    assert flat.count("Roles rotate so everyone gets to facilitate") == 4  # why, under every reminder
    assert not re.search(r"\d{3}:L\d", text)  # the content files' source line references stay in the files
    assert re.search(r"Roles update for Tue 10 Nov: \w+ \w+ passed note-taker; \w+ \w+ takes it\.", flat)
    assert (tmp_path / "demo.db").exists()
    # the check-in round: David (New York) is asked at 9:00 his time, Tom (away) not at all
    checkin = text.split("=== Check-ins:")[1]
    assert "── DM to david · Mon 7 Dec 6:00 AM PST" in checkin and "DM to tom" not in checkin
    assert "Team mood: 4.2 out of 5" in checkin and "5 of 7 checked in." in checkin

"""The local chat page in a real browser: Playwright driving headless Chromium (Debian's `chromium`, at
/usr/bin/chromium; `make test` installs it when it can) against a real `tandem serve` on loopback.

Few and bounded: a whole trust-poll cycle (with the README's screenshot), and a restart."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from flows.setup.team_file import import_team, parse_team_file
from storage.db import create_engine, session_factory
from tests.conftest import team_spec
from tests.serve_process import tandem_serve

CHROMIUM = "/usr/bin/chromium"
# The README's screenshot: made by this test; written to docs/ only when asked (TANDEM_UPDATE_SCREENSHOT=1),
# so that a test run leaves the work tree as it found it.
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "chat-page.png"
pytestmark = [
    pytest.mark.skipif(os.environ.get("TANDEM_SKIP_BROWSER") == "1", reason="TANDEM_SKIP_BROWSER=1"),
    pytest.mark.slow,  # processes, a browser or seconds of work: scheduled first (tests/conftest.py)
    pytest.mark.asyncio(loop_scope="module"),  # one browser for the module: a launch is a second of CPU
]


def _browser_or_fail() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install -e '.[dev]' (make test does)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium")
    return async_playwright


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium, shared by the module's tests; each test has a context of its own (no cookies,
    storage or pages of another test)."""
    async_playwright = _browser_or_fail()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def _database(tmp_path: Path, template: Path) -> str:
    """A migrated database (a copy of the session's template) with the test team in it."""
    shutil.copy(template, tmp_path / "tandem.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}"
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            from datetime import UTC, datetime

            await import_team(session, parse_team_file(team_spec()), datetime.now(UTC))
    finally:
        await engine.dispose()
    return url


async def _open(page: Any, url: str, person: str, c: str | None = None) -> None:
    await page.goto(f"{url}/?team=1&person={person}" + (f"&c={c}" if c else ""))
    await page.wait_for_selector("body[data-live=yes]")


async def _answer(page: Any, url: str, person: str, *, one_by_one: bool) -> None:
    """Answer "4" to every question: one radio button at a time as a person would, or (for the rest of the
    team, once that has been shown) all in one step: twelve clicks are half a second of round trips."""
    await _open(page, url, person)
    await page.get_by_role("button", name="Answer now").last.click()
    form = page.locator("#form-area form")
    await form.wait_for()
    radios = form.locator('input[type=radio][value="4"]')
    if one_by_one:
        for n in range(await radios.count()):
            await radios.nth(n).check()
    else:
        await radios.evaluate_all("buttons => buttons.forEach(button => button.click())")
    await form.get_by_role("button", name="Submit").click()
    await page.wait_for_function("document.getElementById('form-area').children.length === 0")


async def test_a_trust_poll_cycle_in_the_browser(tmp_path: Path, browser: Any, sqlite_template: Path) -> None:
    url = await _database(tmp_path, sqlite_template)
    async with tandem_serve({"TANDEM_DATABASE_URL": url}) as served:
        context = await browser.new_context(viewport={"width": 1100, "height": 800}, bypass_csp=True)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await _open(page, served.url, "ana")
        await page.get_by_label("Message Tandem").fill("pulse start")
        await page.get_by_label("Message Tandem").press("Enter")
        await page.get_by_text("trust check is open").first.wait_for()
        # a form submitted with a missing value: the error beside the field, the form stays
        await _open(page, served.url, "cy")
        await page.get_by_role("button", name="Answer now").last.click()
        form = page.locator("#form-area form")
        await form.get_by_role("button", name="Submit").click()
        await form.locator(".field .error").first.wait_for()
        assert await form.locator("[aria-invalid=true]").count() > 0
        for person in ("cy", "di", "ed", "ana", "ben"):
            await _answer(page, served.url, person, one_by_one=person == "cy")
        # a member's view never shows another member's direct conversation
        await _open(page, served.url, "cy")
        assert await page.locator('nav a[data-conversation="dm-ana"]').count() == 0
        assert "Thank you" in await page.locator("#log").inner_text()  # cy's own receipt is there
        response = await page.goto(f"{served.url}/?team=1&person=cy&c=dm-ana")  # and asked for by address
        assert response is not None and response.status == 403
        assert "Thank you" not in await page.content() and "answers are in" not in await page.content()
        # the clock jumps, event by event, to the close; every member's channel shows the report and chart
        await _open(page, served.url, "fay", "team-channel")
        for _ in range(20):
            if await page.locator("#log figure img").count():
                break
            await page.get_by_role("button", name="Jump to the next scheduled event").click()
            await page.wait_for_function("document.getElementById('clock-said').textContent !== ''")
            await page.evaluate("document.getElementById('clock-said').textContent = ''")
        await page.locator("#log figure img").first.wait_for()
        update = os.environ.get("TANDEM_UPDATE_SCREENSHOT") == "1"
        shot = DOCS_SCREENSHOT if update else tmp_path / "chat-page.png"
        await page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000  # a real picture of the page, not an empty one
        for person in ("ana", "ben", "cy", "di", "ed"):
            await _open(page, served.url, person, "team-channel")
            image = page.locator("#log figure img").first
            assert (await image.get_attribute("src") or "").startswith("data:image/png;base64,")
            assert await image.get_attribute("alt")
        await context.close()


async def test_the_page_reconnects_after_a_restart(
    tmp_path: Path, browser: Any, sqlite_template: Path
) -> None:
    url = await _database(tmp_path, sqlite_template)
    env = {"TANDEM_DATABASE_URL": url}
    context = await browser.new_context(viewport={"width": 390, "height": 800}, bypass_csp=True)  # a phone
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        async with tandem_serve(env) as served:
            await _open(page, served.url, "ana")
            await page.get_by_label("Message Tandem").fill("<b>help</b>")
            await page.get_by_role("button", name="Send").click()
            await page.locator("#log article").nth(1).wait_for()
            assert await page.locator("#log b").count() == 0  # shown as text, never as markup
        await page.wait_for_selector("body[data-live=no]")
        port = served.url.rsplit(":", 1)[
            1
        ]  # the same address again: picked as late as possible the first time
        async with tandem_serve({**env, "TANDEM_PORT": port}):
            await page.wait_for_selector("body[data-live=yes]")  # the same page, reconnected
            assert "&lt;b&gt;help&lt;/b&gt;" in await page.locator("#log").inner_html()  # kept
            await page.get_by_label("Message Tandem").fill("help")
            await page.get_by_label("Message Tandem").press("Enter")
            await page.get_by_text("What Tandem can do").first.wait_for()
    finally:
        await context.close()
    await asyncio.sleep(0)


async def _role_holder(url: str) -> tuple[str, int]:
    """Someone holding a role at the latest announced meeting (local id), and how often roles were passed."""
    from sqlalchemy import func, select

    from storage import roles
    from storage.models import AuditEntry, Identity

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            key = await roles.latest_meeting(session, 1)
            assert key is not None, "the meeting reminder was not announced"
            holder = next(r for r in await roles.for_meeting(session, 1, key) if not r.passed)
            user = await session.scalar(
                select(Identity.user_id).where(Identity.person_id == holder.person_id)
            )
            passed = await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "roles.passed")
            )
    finally:
        await engine.dispose()
    assert user is not None
    return user, int(passed or 0)


async def test_a_button_pressed_twice_records_once(
    tmp_path: Path, browser: Any, sqlite_template: Path
) -> None:
    url = await _database(tmp_path, sqlite_template)
    async with tandem_serve({"TANDEM_DATABASE_URL": url}) as served:
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await _open(page, served.url, "ana", "team-channel")
        pass_button = page.get_by_role("button", name="Pass my role")
        for _ in range(10):  # jump, event by event, to the next meeting's reminder
            if await pass_button.count():
                break
            await page.get_by_role("button", name="Jump to the next scheduled event").click()
            await page.wait_for_function("document.getElementById('clock-said').textContent !== ''")
            await page.evaluate("document.getElementById('clock-said').textContent = ''")
        holder, passed_before = await _role_holder(url)
        assert passed_before == 0
        await _open(page, served.url, holder, "team-channel")
        await page.get_by_role("button", name="Pass my role").last.dblclick()
        await page.get_by_text("passed").first.wait_for()
        await page.get_by_label("Message Tandem").fill("help")  # answered after any second press
        await page.get_by_label("Message Tandem").press("Enter")
        await page.get_by_text("What Tandem can do").first.wait_for()
        _, passed_after = await _role_holder(url)
        assert passed_after == 1, f"one double click passed roles {passed_after} times"
        log = await page.locator("#log").inner_text()
        assert log.count("takes it") + log.count("nobody else is free") >= 1
        await context.close()

"""The pages in a real headless Chromium (Debian's, driven by Playwright): an agent signs in by
the link a mail brought, sees the queue's SLA colours and answers a ticket; its customer sees the
answer and not the internal note; a form without its CSRF token, and a sign-in posted from
another site, are refused. A screenshot of each page is kept in ``artefacts/pages``."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from helpdesk.app import clock
from helpdesk.app.runtime import App
from tests.fixtures import unavailable
from tests.gateway.http.conftest import Api, serving
from tests.helpers import cli
from tests.sink import Sink

CY, DEE, EVE, FAY = "cy@customer.test", "dee@customer.test", "eve@customer.test", "fay@c.test"
ARTEFACTS = Path(__file__).resolve().parents[3] / "artefacts" / "pages"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM)
        except Exception as exc:  # not installed: scripts/test installs Debian's chromium
            unavailable("Chromium", exc)
        yield launched
        launched.close()


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Api]:
    with serving(app, sink, test_clock=True) as running:
        yield running


def link_in(api: Api, email: str) -> str:
    [link] = re.findall(r"Your tickets on the web: (\S+)", api.desk.inbox(email)[-1].text())
    return str(link)


def signed_in(browser: Browser, api: Api, email: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(link_in(api, email))
    page.get_by_role("button", name=f"Sign in as {email}").click()
    page.wait_for_load_state()
    return page


def keep(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTEFACTS / f"{name}.png", full_page=True)


def four_standings(api: Api) -> dict[str, str]:
    """A ticket breached, one warned, one within its SLA and one awaiting its customer, two
    hours after they came in: first responses due in 1 h (medium), 2 h 30 (high, warned at
    80 %) and 10 h (low)."""
    settings = api.desk.app.settings
    for priority, target in (("medium", "1h"), ("high", "150m"), ("low", "10h")):
        cli(settings, "sla", "set", priority, "--first-response", target, "--resolution", "2d")
    numbers = {}
    for email, priority in ((CY, "medium"), (DEE, "high"), (EVE, "low"), (FAY, "medium")):
        api.desk.send(email, "support@example.com", "The parcel never came.", subject=email)
        ticket = api.desk.ticket()
        numbers[email] = ticket.number
        if priority != "medium":
            to = api.desk.agent_token(ticket, "ann")
            api.desk.send("ann@us.test", to, f"#priority {priority}", subject=f"Re: {email}")
    with api.client("ann") as agent:
        asked = agent.post(
            f"/api/v1/tickets/{numbers[FAY]}/comments", json={"body": "Which address?"}
        )
        assert asked.status_code == 201
    api.settle()
    clock.advance(settings, timedelta(hours=2))
    return numbers


def test_an_agent_answers_from_the_queue_and_the_customer_sees_only_the_answer(
    browser: Browser, desk: Api
) -> None:
    numbers = four_standings(desk)
    desk.desk.send("ann@us.test", "support@example.com", "#signin", subject="web")
    page = signed_in(browser, desk, "ann@us.test")
    assert page.url.endswith("/queue")
    standing = {
        row.get_attribute("data-number"): row.get_attribute("data-standing")
        for row in page.locator("tbody tr[data-number]").all()
    }
    assert standing == {
        numbers[CY]: "breached",
        numbers[DEE]: "warning",
        numbers[EVE]: "ok",
        numbers[FAY]: "awaiting",
    }
    first = page.locator("tbody tr[data-number]").first.get_attribute("data-number")
    assert first == numbers[DEE]  # the highest priority first
    red = page.locator(f"tr[data-number='{numbers[CY]}']").evaluate(
        "row => getComputedStyle(row).backgroundColor"
    )
    assert red == "rgb(255, 235, 233)"
    assert "2h 0m" in page.locator(f"tr[data-number='{numbers[CY]}']").inner_text()
    keep(page, "queue")

    page.get_by_role("link", name=numbers[CY]).click()
    page.fill("#body", "Courier lost it; reship from stock.")
    page.check("input[name=internal]")
    page.get_by_role("button", name="Send").click()
    assert page.get_by_role("status").inner_text() == "The internal note was added."
    page.fill("#body", "A new parcel is on its way.")
    page.get_by_role("button", name="Send").click()
    page.select_option("select[name=priority]", "high")
    page.get_by_role("button", name="Set priority").click()
    assert page.locator("[data-field=priority]").inner_text() == "high"
    assert page.locator("[data-field=status]").inner_text() == "awaiting customer"
    note = page.locator("article[data-kind=internal]")
    assert "Courier lost it" in note.inner_text() and "Internal note" in note.inner_text()
    keep(page, "ticket")
    desk.settle()
    assert any("A new parcel is on its way." in m.text() for m in desk.desk.inbox(CY))

    customer = signed_in(browser, desk, CY)
    assert customer.url.endswith("/mine")
    assert customer.locator("tbody tr[data-number]").count() == 1
    keep(customer, "mine")
    customer.get_by_role("link", name=numbers[CY]).click()
    text = customer.locator("main").inner_text()
    assert "A new parcel is on its way." in text
    assert "Courier lost it" not in customer.content()
    assert customer.locator("select[name=status]").count() == 0  # the team's forms are not here
    keep(customer, "customer-ticket")

    customer.fill("#body", "Thanks, it came.")
    customer.get_by_role("button", name="Send").click()
    assert customer.get_by_role("status").inner_text() == "Your reply was sent."
    customer.get_by_role("button", name=re.compile("close the ticket")).click()
    assert customer.locator("[data-field=status]").inner_text() == "resolved"


def test_a_form_without_its_csrf_token_is_refused(browser: Browser, desk: Api) -> None:
    desk.desk.send(CY, "support@example.com", "My order never came.", subject="Order")
    number = desk.desk.ticket().number
    page = signed_in(browser, desk, CY)
    page.goto(f"{desk.url}/tickets/{number}")
    page.evaluate("document.querySelector('form.reply input[name=csrf]').remove()")
    page.fill("#body", "Forged reply.")
    with page.expect_response(f"{desk.url}/tickets/{number}/reply") as posted:
        page.get_by_role("button", name="Send").click()
    assert posted.value.status == 403
    assert "CSRF" in page.locator(".problem").inner_text()
    keep(page, "csrf-refused")
    page.goto(f"{desk.url}/tickets/{number}")
    assert "Forged reply." not in page.content()


def test_a_sign_in_posted_from_another_site_is_refused(browser: Browser, desk: Api) -> None:
    """A login CSRF: another site signs the visitor in as someone it chose (here a real
    customer's link), so that what they write goes to that account."""
    desk.desk.send(CY, "support@example.com", "My order never came.", subject="Order")
    token = link_in(desk, CY).partition("t=")[2]
    page = browser.new_context().new_page()
    page.set_content(
        f'<form method="post" action="{desk.url}/signin">'
        f'<input name="t" value="{token}"><button>go</button></form>'
    )
    with page.expect_response(f"{desk.url}/signin") as posted:
        page.get_by_role("button", name="go").click()
    assert posted.value.status == 403
    assert not [c for c in page.context.cookies() if c["name"] == "helpdesk_session"]


def test_nobody_is_told_how_to_sign_in(browser: Browser, desk: Api) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{desk.url}/")
    assert "#signin" in page.locator("main").inner_text()
    answer = page.goto(f"{desk.url}/queue")
    assert answer is not None and answer.status == 401
    keep(page, "signed-out")

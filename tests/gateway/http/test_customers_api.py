"""Customers on the HTTP side: signed in by the link their mail carries, they see their own
tickets without internal notes, reply and close; a write without the CSRF token is refused; a
session ends for good when they sign out."""

from __future__ import annotations

import re
from contextlib import closing

import httpx

from tests.gateway.http.conftest import Api
from tests.helpers import cli

CY, DEE = "cy@customer.test", "dee@customer.test"


def signed_in(api: Api, email: str) -> httpx.Client:
    """The customer's browser, after following the link in their latest mail."""
    [link] = re.findall(r"Your tickets on the web: (\S+)", api.desk.inbox(email)[-1].text())
    client = httpx.Client(base_url=api.url, timeout=30)
    page = client.get(link.removeprefix(api.url))  # a page with a button: nothing signed in yet
    assert page.status_code == 200 and email in page.text and not client.cookies
    answer = client.post("/signin", data={"t": link.partition("t=")[2]})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith("helpdesk_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    client.headers["X-CSRF-Token"] = client.cookies["helpdesk_csrf"]
    return client


def test_a_customer_sees_their_ticket_without_the_notes(api: Api) -> None:
    api.desk.send(CY, "support@example.com", "My order never came.", subject="Order")
    number = api.desk.ticket().number
    api.desk.send(DEE, "support@example.com", "Wrong colour.", subject="Colour")
    other = api.desk.ticket().number
    with api.client("ann") as agent:
        agent.post(
            f"/api/v1/tickets/{number}/comments",
            json={"body": "Courier lost it.", "internal": True},
        )
        agent.post(f"/api/v1/tickets/{number}/comments", json={"body": "A new one is on its way."})
    api.settle()
    with closing(signed_in(api, CY)) as browser:
        mine = browser.get("/api/v1/tickets/my").json()
        assert [t["number"] for t in mine["tickets"]] == [number]
        assert browser.get("/api/v1/tickets").json()["total"] == 1
        shown = browser.get(f"/api/v1/tickets/{number}").json()
        texts = [h["message"] for h in shown["history"]]
        assert "A new one is on its way." in texts and "Courier lost it." not in str(shown)
        said = browser.get(f"/api/v1/tickets/{number}/comments").json()
        assert [c["body"] for c in said["comments"]] == [
            "A new one is on its way.",
            "My order never came.",
        ]
        assert browser.get(f"/api/v1/tickets/{other}").status_code == 404  # not theirs


def test_a_customer_replies_and_closes_but_does_nothing_of_the_teams(api: Api) -> None:
    api.desk.send(CY, "support@example.com", "The login fails.", subject="Login")
    number = api.desk.ticket().number
    with closing(signed_in(api, CY)) as browser:
        reply = browser.post(f"/api/v1/tickets/{number}/comments", json={"body": "Still failing."})
        assert reply.status_code == 201 and reply.json()["author"] == CY
        api.settle()
        assert any("Still failing." in r.text() for r in api.desk.inbox("ann@us.test"))
        note = browser.post(
            f"/api/v1/tickets/{number}/comments", json={"body": "x", "internal": True}
        )
        assert note.status_code == 403
        assign = browser.put(f"/api/v1/tickets/{number}/assign", json={"agent": "ann@us.test"})
        assert assign.status_code == 403
        moved = browser.put(f"/api/v1/tickets/{number}/status", json={"status": "in_progress"})
        assert moved.status_code == 403
        closed = browser.put(f"/api/v1/tickets/{number}/status", json={"status": "closed"})
        assert closed.status_code == 200 and closed.json()["status"] == "resolved"  # as #close
        own = browser.post(
            "/api/v1/tickets", json={"subject": "Also", "description": "A second problem."}
        )
        assert own.status_code == 201
        theirs = browser.post(
            "/api/v1/tickets",
            json={"subject": "x", "description": "y", "customer": {"email": DEE}},
        )
        assert theirs.status_code == 403


def test_a_write_without_the_csrf_token_is_refused(api: Api) -> None:
    api.desk.send(CY, "support@example.com", "The login fails.", subject="Login")
    number = api.desk.ticket().number
    with closing(signed_in(api, CY)) as browser:
        del browser.headers["X-CSRF-Token"]
        refused = browser.post(f"/api/v1/tickets/{number}/comments", json={"body": "Forged."})
        assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN"
        wrong = browser.post(
            f"/api/v1/tickets/{number}/comments",
            json={"body": "Forged."},
            headers={"X-CSRF-Token": "0" * 26},
        )
        assert wrong.status_code == 403
        assert browser.get("/api/v1/tickets/my").status_code == 200  # reads need none


def test_forged_and_tampered_passes_are_401(api: Api) -> None:
    api.desk.send(CY, "support@example.com", "The login fails.", subject="Login")
    [link] = re.findall(r"Your tickets on the web: (\S+)", api.desk.inbox(CY)[-1].text())
    with httpx.Client(base_url=api.url, timeout=30) as client:
        tampered = link.removeprefix(api.url).replace(".c1.", ".c2.")
        assert client.get(tampered).status_code == 401
        assert (
            client.get("/signin", params={"t": "link.c1.9999999999." + "a" * 26}).status_code == 401
        )
        client.cookies.set("helpdesk_session", "session.c1.9999999999." + "a" * 26)
        assert client.get("/api/v1/tickets/my").status_code == 401


def test_an_agent_signs_in_by_the_link_a_signin_mail_brings(api: Api) -> None:
    api.desk.send(CY, "support@example.com", "The login fails.", subject="Login")
    number = api.desk.ticket().number
    api.desk.send("ann@us.test", "support@example.com", "#signin", subject="web")
    with closing(signed_in(api, "ann@us.test")) as browser:
        shown = browser.get(f"/api/v1/tickets/{number}")
        assert shown.status_code == 200  # an agent's session: the queue's tickets
        assert browser.get("/api/v1/tickets/my").status_code == 403
        note = browser.post(
            f"/api/v1/tickets/{number}/comments", json={"body": "Checking.", "internal": True}
        )
        assert note.status_code == 201 and note.json()["author"] == "ann@us.test"
    # a stranger's #signin is a customer's new ticket: her link is to her own tickets only
    api.desk.send("mallory@evil.test", "support@example.com", "#signin", subject="web")
    with closing(signed_in(api, "mallory@evil.test")) as stranger:
        assert stranger.get("/api/v1/tickets/assigned").status_code == 403
        assert stranger.get(f"/api/v1/tickets/{number}").status_code == 404
        assert stranger.get("/api/v1/tickets/my").json()["total"] == 1


def test_signing_out_ends_the_session_in_every_browser(api: Api) -> None:
    api.desk.send(CY, "support@example.com", "The login fails.", subject="Login")
    with closing(signed_in(api, CY)) as browser, closing(signed_in(api, CY)) as other:
        stolen = browser.cookies["helpdesk_session"]
        assert browser.post("/signout").status_code == 303
        assert "helpdesk_session" not in browser.cookies
        refused = other.get("/api/v1/tickets/my")  # the other browser's session ended too
        assert refused.status_code == 401 and "signed out" in refused.json()["message"]
    with httpx.Client(base_url=api.url, timeout=30) as thief:  # a copy of the cookie
        thief.cookies.set("helpdesk_session", stolen)
        assert thief.get("/api/v1/tickets/my").status_code == 401
    with closing(signed_in(api, CY)) as again:  # the link in her mail still signs her in
        assert again.get("/api/v1/tickets/my").json()["total"] == 1


def test_an_admin_ends_someones_sessions_from_the_command_line(api: Api) -> None:
    api.desk.send("ann@us.test", "support@example.com", "#signin", subject="web")
    with closing(signed_in(api, "ann@us.test")) as browser:
        assert browser.get("/api/v1/tickets/assigned").status_code == 200
        said = cli(api.desk.app.settings, "signout", "Ann@us.test")
        assert "signed out ann@us.test (agent)" in said
        assert browser.get("/api/v1/tickets/assigned").status_code == 401

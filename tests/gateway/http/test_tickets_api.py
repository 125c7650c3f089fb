"""The JSON API through a real uvicorn server, as agent, supervisor, admin and nobody (#13)."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.domain.vocabulary import Status
from storage.models import Outbox, Ticket, Timer
from tests.gateway.http.conftest import Api

CY = "cy@customer.test"


def opened(api: Api, who: str = "ann", email: str = CY, **extra: object) -> str:
    wanted = {
        "subject": "The app crashes",
        "description": "It crashes on start since the update.",
        "customer": {"email": email, "name": "Cy Customer"},
        **extra,
    }
    with api.client(who) as client:
        answer = client.post("/api/v1/tickets", json=wanted)
    assert answer.status_code == 201, answer.text
    api.settle()
    number = answer.json()["number"]
    assert isinstance(number, str)
    return number


def test_nobody_gets_401_with_a_json_reason(api: Api) -> None:
    with api.client(None) as client:
        for path in ("/api/v1/tickets", "/api/v1/tickets/TKT-NOPE", "/api/v1/tickets/assigned"):
            answer = client.get(path)
            assert answer.status_code == 401 and answer.json()["error"] == "UNAUTHORIZED"
        wrong = client.get("/api/v1/tickets", headers={"Authorization": "Bearer hd_forged"})
        assert wrong.status_code == 401 and "Traceback" not in wrong.text


def test_an_agent_opens_a_ticket_for_a_customer_who_is_acknowledged(api: Api) -> None:
    number = opened(api, priority="high")
    [ack] = api.desk.inbox(CY)
    assert number in str(ack.message["Subject"])
    with api.client("ann") as client:
        shown = client.get(f"/api/v1/tickets/{number}").json()
    assert shown["priority"] == "high" and shown["customer"] == CY
    [created] = [h for h in shown["history"] if h["kind"] == "ticket_created"]
    assert created["actor"] == "ann@us.test"
    assert shown["first_response_due"] is not None  # the SLA clocks run as for a mail
    with api.desk.app.sessions() as session:  # the agent's description is no first response
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.first_responded_at is None
        kinds = session.scalars(select(Timer.kind).where(Timer.ticket_id == ticket.id)).all()
        assert kinds == ["first_response_warning"]


def test_bad_requests_are_422_in_json(api: Api) -> None:
    with api.client("ann") as client:
        empty = client.post("/api/v1/tickets", json={"subject": "", "customer": {"email": "x"}})
        assert empty.status_code == 422 and empty.json()["error"] == "VALIDATION_ERROR"
        assert "subject" in empty.json()["message"]
        junk = client.post(
            "/api/v1/tickets", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert junk.status_code == 422 and junk.json()["error"] == "VALIDATION_ERROR"
        nul = client.get("/api/v1/tickets", params={"tag": "a\x00b"})  # PostgreSQL refuses NUL
        assert nul.status_code == 422 and nul.json()["error"] == "VALIDATION_ERROR"
        nowhere = client.get("/api/v1/nothing-here")
        assert nowhere.status_code == 404 and nowhere.json()["error"] == "NOT_FOUND"


def test_what_each_may_see(api: Api) -> None:
    mine, theirs = opened(api), opened(api, email="dee@customer.test")
    with api.client("sue") as client:  # a supervisor gives one to ben
        assert (
            client.put(
                f"/api/v1/tickets/{theirs}/assign", json={"agent": "ben@us.test"}
            ).status_code
            == 200
        )
    with api.client("ann") as client:
        listed = client.get("/api/v1/tickets").json()
        assert [t["number"] for t in listed["tickets"]] == [mine]
        assert {k: listed[k] for k in ("total", "page", "pages", "limit")} == {
            "total": 1,
            "page": 1,
            "pages": 1,
            "limit": 20,
        }
        hidden = client.get(f"/api/v1/tickets/{theirs}")
        assert hidden.status_code == 404
        assert hidden.json() == {"error": "NOT_FOUND", "message": "Ticket not found"}
        missing = client.get("/api/v1/tickets/TKT-ZZZZZZ")
        assert missing.json() == hidden.json()  # nothing tells the two apart
    for chief in ("sue", "ada"):
        with api.client(chief) as client:
            assert client.get("/api/v1/tickets").json()["total"] == 2
    with api.client("ben") as client:
        assert [t["number"] for t in client.get("/api/v1/tickets/assigned").json()["tickets"]] == [
            theirs
        ]


def test_filters_pages_and_order(api: Api) -> None:
    numbers = [opened(api, email=f"c{n}@customer.test") for n in range(3)]
    with api.client("sue") as client:
        client.put(f"/api/v1/tickets/{numbers[0]}/status", json={"status": "in_progress"})
        page = client.get("/api/v1/tickets", params={"limit": 2, "page": 2}).json()
        assert page["pages"] == 2 and page["total"] == 3 and len(page["tickets"]) == 1
        assert page["tickets"][0]["number"] == numbers[0]  # newest first
        both = client.get("/api/v1/tickets", params=[("status", "open"), ("status", "in_progress")])
        assert both.json()["total"] == 3
        working = client.get("/api/v1/tickets", params={"status": "in_progress"}).json()
        assert [t["number"] for t in working["tickets"]] == [numbers[0]]
        by_customer = client.get("/api/v1/tickets", params={"customer": "c1@customer.test"}).json()
        assert [t["number"] for t in by_customer["tickets"]] == [numbers[1]]
        bad = client.get("/api/v1/tickets", params={"status": "sleeping"})
        assert bad.status_code == 422
        deep = client.get("/api/v1/tickets", params={"limit": 100, "page": 101})
        assert deep.status_code == 400 and deep.json()["error"] == "PAGE_TOO_DEEP"
        assert client.get("/api/v1/tickets", params={"limit": 100, "page": 100}).status_code == 200


def test_a_status_change_by_api_is_the_same_change_as_by_mail(api: Api) -> None:
    by_api, by_mail = opened(api), opened(api, email="dee@customer.test")
    with api.client("ann") as client:
        answer = client.put(f"/api/v1/tickets/{by_api}/status", json={"status": "resolved"})
    assert answer.status_code == 200 and answer.json()["status"] == "resolved"
    [moved] = [h for h in answer.json()["history"] if h["kind"] == "ticket_resolved"]
    assert moved["actor"] == "ann@us.test"
    api.settle()
    with api.desk.app.sessions() as session:
        ticket = api.desk.ticket()
        token = api.desk.agent_token(ticket, "ann")
    api.desk.send("ann@us.test", token, "#status resolved")
    with api.desk.app.sessions() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        made = {
            number: sorted(r.template for r in rows if r.ticket and r.ticket.number == number)
            for number in (by_api, by_mail)
        }
    feedback = "agent/feedback"  # by mail the agent also gets a receipt
    assert made[by_api] == [t for t in made[by_mail] if t != feedback]
    assert "customer/resolved" in made[by_api]
    assert "How did we do?" in api.desk.inbox(CY)[-1].text()


def test_a_move_the_state_machine_forbids_is_409_and_a_rank_403(api: Api) -> None:
    number = opened(api)
    with api.client("ann") as client:
        assert (
            client.put(f"/api/v1/tickets/{number}/status", json={"status": "closed"}).status_code
            == 200
        )
        again = client.put(f"/api/v1/tickets/{number}/status", json={"status": "in_progress"})
        assert again.status_code == 409 and again.json()["error"] == "CONFLICT"
    number = opened(api, email="dee@customer.test")
    with api.client("ann") as client:
        others = client.put(f"/api/v1/tickets/{number}/assign", json={"agent": "ben@us.test"})
        assert others.status_code == 403 and "supervisors" in others.json()["message"]
        both = client.put(
            f"/api/v1/tickets/{number}/assign", json={"agent": "ann@us.test", "group": "billing"}
        )
        assert both.status_code == 422
        me = client.put(f"/api/v1/tickets/{number}/assign", json={"agent": "ann@us.test"})
        assert me.status_code == 200 and me.json()["assignee"] == "ann@us.test"
        assert me.json()["status"] == Status.IN_PROGRESS.value
    with api.client("sue") as client:
        group = client.put(f"/api/v1/tickets/{number}/assign", json={"group": "billing"})
        assert group.status_code == 200 and group.json()["assignee"] == "group:billing"


def test_comments_public_reach_the_customer_internal_do_not(api: Api) -> None:
    number = opened(api)
    with api.client("ann") as client:
        public = client.post(
            f"/api/v1/tickets/{number}/comments", json={"body": "Try version 2.1."}
        )
        assert public.status_code == 201 and public.json()["kind"] == "public"
        note = client.post(
            f"/api/v1/tickets/{number}/comments", json={"body": "Known bug 42.", "internal": True}
        )
        assert note.status_code == 201 and note.json()["kind"] == "internal"
        api.settle()
        page = client.get(f"/api/v1/tickets/{number}/comments", params={"limit": 2}).json()
    assert [c["body"] for c in page["comments"]] == ["Known bug 42.", "Try version 2.1."]
    assert page["total"] == 3 and page["pages"] == 2  # the description is the first
    texts = [r.text() for r in api.desk.inbox(CY)]
    assert any("Try version 2.1." in t for t in texts)
    assert not any("Known bug 42." in t for t in texts)


def test_health_metrics_and_the_schema(api: Api) -> None:
    opened(api)
    with api.client(None) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        metrics = client.get("/metrics").text
        assert 'helpdesk_outbox{status="sent"}' in metrics
        assert "helpdesk_http_request_seconds_bucket" in metrics
        schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/tickets", "/api/v1/tickets/{number}/status"} <= set(schema["paths"])


def test_a_naive_time_is_utc_and_a_crash_is_json_and_keeps_the_connection(api: Api) -> None:
    opened(api)

    def boom() -> None:
        raise RuntimeError("a bug")

    api.server.server.config.app.add_api_route("/api/v1/boom", boom)  # a handler with a bug
    with api.client("sue") as client:
        naive = client.get("/api/v1/tickets", params={"created_from": "2020-01-01T00:00:00"})
        assert naive.status_code == 200 and naive.json()["total"] == 1
        crashed = client.get("/api/v1/boom")
        assert crashed.status_code == 500 and crashed.json()["error"] == "INTERNAL_ERROR"
        assert "a bug" not in crashed.text and "Traceback" not in crashed.text
        assert client.get("/api/v1/tickets").status_code == 200  # the same connection, again

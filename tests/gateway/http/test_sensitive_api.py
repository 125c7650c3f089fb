"""The HTTP side is a way in like mail: card numbers and IBANs masked in all it is given, a new
ticket's credentials flagged, and a new ticket's subject held to the same minimum (422)."""

from __future__ import annotations

from helpdesk.app.runtime import App
from tests.gateway.http.conftest import Api, serving
from tests.gateway.test_sensitive_data import CARD, IBAN, MASKED_CARD, MASKED_IBAN, leaks
from tests.sink import Sink

CY = "cy@customer.test"


def test_what_the_api_is_given_is_masked_everywhere_it_is_kept_and_sent(
    api: Api, app: App, sink: Sink
) -> None:
    wanted = {
        "subject": f"Charged twice on {CARD}",
        "description": f"Please refund to {IBAN}.",
        "customer": {"email": CY, "name": f"Cy {CARD}"},
    }
    with api.client("ann") as client:
        created = client.post("/api/v1/tickets", json=wanted)
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        comment = {"body": f"Refunded to {IBAN}, card {CARD} closed."}
        assert client.post(f"/api/v1/tickets/{number}/comments", json=comment).status_code == 201
        api.settle()
        shown = client.get(f"/api/v1/tickets/{number}").json()
    assert shown["subject"] == f"Charged twice on {MASKED_CARD}"
    assert shown["description"] == f"Please refund to {MASKED_IBAN}."
    assert any(MASKED_IBAN in t.text() for t in api.desk.inbox(CY))
    assert leaks(app, sink) == []


def test_a_new_tickets_credentials_are_flagged_as_by_mail(api: Api) -> None:
    wanted = {
        "subject": "Cannot log in",
        "description": "Login: cy\nPassword: Summer2024!",
        "customer": {"email": CY, "name": "Cy"},
    }
    with api.client("ann") as client:
        number = client.post("/api/v1/tickets", json=wanted).json()["number"]
        api.settle()
        assert client.get(f"/api/v1/tickets/{number}").json()["tags"] == ["credentials"]
    assert (
        "Warning: the first mail seems to hold a password"
        in api.desk.inbox("ben@us.test")[-1].text()
    )


def test_a_subject_shorter_than_the_minimum_is_422_with_the_mails_reason(
    app: App, sink: Sink
) -> None:
    with serving(app, sink, min_subject_chars=5) as api, api.client("ann") as client:
        wanted = {"subject": "Hi", "description": "x", "customer": {"email": CY}}
        short = client.post("/api/v1/tickets", json=wanted)
        assert short.status_code == 422 and short.json()["error"] == "VALIDATION_ERROR"
        assert short.json()["message"] == "the subject has fewer than 5 characters"
        both = client.post("/api/v1/tickets", json=wanted | {"description": "  "})
        assert both.json()["message"] == (
            "the subject has fewer than 5 characters; "
            "the message has fewer than 1 characters of text"
        )
        fine = client.post("/api/v1/tickets", json=wanted | {"subject": "Help!"})
        assert fine.status_code == 201

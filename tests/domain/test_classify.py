"""Normal mail, bounces, auto-replies and bulk mail, told apart on mails built from strings."""

from __future__ import annotations

import pytest

from helpdesk.domain.mail.classify import Classification, MailKind, classify
from helpdesk.domain.mail.parse import parse

SENDER = "alice@customer.test"


def kind_of(headers: str = "", body: str = "Hello.", envelope_from: str = SENDER) -> Classification:
    raw = f"From: Alice <{SENDER}>\nTo: support@example.com\nSubject: Help\n{headers}\n\n{body}"
    return classify(parse(raw.encode()), envelope_from)


def report(report_type: str, fields: str) -> str:
    return (
        f'Content-Type: multipart/report; report-type={report_type}; boundary="r"\n\n'
        "--r\nContent-Type: text/plain\n\nA report.\n"
        f"--r\nContent-Type: message/{report_type}\n\nReporting-MTA: dns; mx.test\n\n{fields}\n"
        "--r--\n"
    )


def test_plain_mail_is_normal() -> None:
    found = kind_of()
    assert (found.kind, found.automated) == (MailKind.NORMAL, False)


def test_delivery_status_notification_is_a_bounce() -> None:
    headers, _, body = report(
        "delivery-status", "Final-Recipient: rfc822; gone@customer.test\nAction: failed"
    ).partition("\n\n")
    found = kind_of(headers, body, envelope_from="")
    assert (found.kind, found.reason) == (MailKind.BOUNCE, "delivery status notification")
    assert found.automated


def test_read_receipt_is_an_auto_reply_not_a_bounce() -> None:
    """A disposition notification also names a Final-Recipient: it must not mark it bouncing."""
    headers, _, body = report(
        "disposition-notification",
        "Final-Recipient: rfc822; alice@customer.test\n"
        "Disposition: manual-action/MDN-sent-manually; displayed",
    ).partition("\n\n")
    assert kind_of(headers, body).kind is MailKind.AUTO_REPLY


def test_multipart_report_without_a_readable_report_is_still_a_bounce() -> None:
    found = kind_of('Content-Type: multipart/report; boundary="r"', "--r\n\nx\n--r--\n")
    assert found.kind is MailKind.BOUNCE


@pytest.mark.parametrize(
    ("headers", "envelope_from", "kind", "reason"),
    [
        ("X-Failed-Recipients: gone@customer.test", SENDER, MailKind.BOUNCE, "X-Failed"),
        ("", "MAILER-DAEMON@mx.test", MailKind.BOUNCE, "sent by"),
        ("Auto-Submitted: auto-replied", SENDER, MailKind.AUTO_REPLY, "Auto-Submitted"),
        ("Auto-Submitted: auto-generated; owner-email=x@y", SENDER, MailKind.AUTO_REPLY, "auto-"),
        ("Auto-Submitted: no", SENDER, MailKind.NORMAL, "no automation"),
        ("Auto-Submitted:", SENDER, MailKind.NORMAL, "no automation"),
        ("X-Autoreply: yes", SENDER, MailKind.AUTO_REPLY, "x-autoreply"),
        ("X-Autorespond: yes", SENDER, MailKind.AUTO_REPLY, "x-autorespond"),
        ("Precedence: auto_reply", SENDER, MailKind.AUTO_REPLY, "auto_reply"),
        ("Precedence: bulk", SENDER, MailKind.BULK, "bulk"),
        ("Precedence: junk", SENDER, MailKind.BULK, "junk"),
        ("Precedence: list", SENDER, MailKind.BULK, "list"),
        ("List-Id: Users <users.lists.test>", SENDER, MailKind.BULK, "list-id"),
        ("List-Unsubscribe: <mailto:leave@lists.test>", SENDER, MailKind.BULK, "list-unsub"),
        ("Return-Path: <>", SENDER, MailKind.BULK, "empty return path"),
        ("", "", MailKind.BULK, "empty return path"),
        (f"Return-Path: <{SENDER}>", "", MailKind.NORMAL, "no automation"),
        ("X-Auto-Response-Suppress: All", SENDER, MailKind.NORMAL, "no automation"),
    ],
)
def test_automation_markers(headers: str, envelope_from: str, kind: MailKind, reason: str) -> None:
    found = kind_of(headers, envelope_from=envelope_from)
    assert found.kind is kind
    assert reason in found.reason


def test_mail_from_the_mailer_daemon_is_a_bounce() -> None:
    raw = b"From: Mail Delivery System <MAILER-DAEMON@mx.test>\nSubject: Undelivered\n\nSorry."
    assert classify(parse(raw), "").kind is MailKind.BOUNCE


@pytest.mark.parametrize(
    "subject",
    ["Out of Office: Help", "Automatic reply: Help", "Auto-Reply: away", "Abwesenheit: Urlaub"],
)
def test_out_of_office_subjects(subject: str) -> None:
    raw = f"From: {SENDER}\nSubject: {subject}\n\nI am away.".encode()
    assert classify(parse(raw), SENDER).kind is MailKind.AUTO_REPLY


def test_a_bounce_wins_over_other_markers() -> None:
    headers, _, body = report("delivery-status", "Action: failed").partition("\n\n")
    found = kind_of("Auto-Submitted: auto-replied\nPrecedence: bulk\n" + headers, body)
    assert found.kind is MailKind.BOUNCE

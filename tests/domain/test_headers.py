"""The one header scanner: fields read before the whole mail is parsed."""

from __future__ import annotations

from helpdesk.domain.mail.headers import header_facts, header_fields, topmost

RAW = (
    b"Return-Path: <bounce@sender.test>\r\n"
    b"Delivered-To:\r\n support+abc@example.com\r\n"
    b"Authentication-Results: mx.example.com;\r\n\tdkim=pass header.d=sender.test\r\n"
    b"Authentication-Results: forged.example; dkim=pass\r\n"
    b"From: =?utf-8?q?Ann?= <Ann@Sender.test>\r\n"
    b"Message-ID: <1@sender.test>\r\n"
    b"\r\n"
    b"From: not-a-header@body.test\r\n"
)


def test_folded_fields_are_unfolded() -> None:
    fields = header_fields(RAW, "delivered-to", "return-path")
    assert fields == {
        "delivered-to": [" support+abc@example.com"],
        "return-path": [" <bounce@sender.test>"],
    }


def test_the_topmost_field_is_the_first_and_the_body_is_not_read() -> None:
    assert (
        topmost(RAW, "authentication-results") == "mx.example.com;\tdkim=pass header.d=sender.test"
    )
    assert header_fields(RAW, "from")["from"] == [" =?utf-8?q?Ann?= <Ann@Sender.test>"]
    assert topmost(RAW, "x-missing") is None


def test_the_edges_two_facts() -> None:
    facts = header_facts(RAW)
    assert (facts.message_id, facts.from_address) == ("<1@sender.test>", "ann@sender.test")


def test_a_line_that_is_no_field_ends_the_header() -> None:
    raw = b"Subject: hi\r\nnot a field\r\nFrom: late@x.test\r\n\r\nbody"
    assert header_fields(raw, "from") == {}

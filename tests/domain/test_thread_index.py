"""Outlook's Thread-Index: the 22-byte header, the 5-byte reply blocks, what is read back."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.domain.mail import thread_index as ti

OPENED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
GUID = uuid.UUID("5f0b3c1e-9a7d-4e21-b6c8-a1d2e3f40516")


def test_filetime_counts_100_ns_from_1601() -> None:
    assert ti.filetime(datetime(1601, 1, 1, tzinfo=UTC)) == 0
    assert ti.filetime(datetime(1970, 1, 1, tzinfo=UTC)) == 116_444_736_000_000_000
    assert ti.filetime(datetime(1970, 1, 1)) == 116_444_736_000_000_000  # naive is UTC


def test_a_fresh_header_is_0x01_forty_bits_of_time_and_the_guid() -> None:
    header = ti.fresh(OPENED, GUID)
    assert len(header) == 22 and header[0] == 0x01 and header[6:] == GUID.bytes
    assert int.from_bytes(header[1:6], "big") == ti.filetime(OPENED) >> 24
    assert ti.header_time(header) == (ti.filetime(OPENED) >> 24) << 24


def test_an_older_outlook_header_is_read_as_48_bits() -> None:
    stamp = ti.filetime(OPENED) >> 16  # its top byte is 0x01 in this century
    header = stamp.to_bytes(6, "big") + GUID.bytes
    assert header[0] == 0x01 and header[1] != 0x01
    assert ti.header_time(header) == stamp << 16


def test_a_reply_block_holds_the_time_since_the_header() -> None:
    header = ti.fresh(OPENED, GUID)
    extended = ti.child(header, OPENED + timedelta(hours=5), "<a@x>")
    assert extended[:22] == header and len(extended) == 27
    word = int.from_bytes(extended[22:26], "big")
    assert word >> 31 == 0  # under 1.7 years: the fine scale
    difference = ti.filetime(OPENED + timedelta(hours=5)) - ti.header_time(header)
    assert word == difference >> 18


def test_a_reply_years_later_uses_the_coarse_scale() -> None:
    header = ti.fresh(OPENED, GUID)
    later = OPENED + timedelta(days=800)
    word = int.from_bytes(ti.child(header, later, "s")[22:26], "big")
    assert word >> 31 == 1
    assert word & 0x7FFF_FFFF == (ti.filetime(later) - ti.header_time(header)) >> 23


def test_a_clock_behind_the_header_gives_zero_not_garbage() -> None:
    block = ti.child(ti.fresh(OPENED, GUID), OPENED - timedelta(days=1), "s")[22:26]
    assert block == b"\x00\x00\x00\x00"


def test_the_last_byte_is_the_same_for_the_same_mail() -> None:
    header = ti.fresh(OPENED, GUID)
    assert ti.child(header, OPENED, "<a@x>") == ti.child(header, OPENED, "<a@x>")
    others = {ti.child(header, OPENED, f"<{n}@x>")[-1] for n in range(20)}
    assert len(others) > 1


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not base64!",
        base64.b64encode(b"\x01" * 21).decode(),  # too short
        base64.b64encode(b"\x01" * 24).decode(),  # not 22 + 5n
        base64.b64encode(b"\x02" + b"\x00" * 21).decode(),  # no reserved 0x01
        base64.b64encode(b"\x01" * (22 + 5 * ti.MAX_BLOCKS)).decode(),  # too long to extend
    ],
)
def test_what_cannot_be_extended_is_refused(value: str) -> None:
    assert ti.decode(value) is None


def test_a_folded_header_value_is_read() -> None:
    index = ti.child(ti.fresh(OPENED, GUID), OPENED, "s")
    text = base64.b64encode(index).decode()
    assert ti.decode(f"{text[:10]}\r\n {text[10:]}") == index


def test_our_index_extends_the_customers_or_starts_the_tickets_own() -> None:
    customers = base64.b64encode(ti.child(ti.fresh(OPENED, GUID), OPENED, "c")).decode()
    later = OPENED + timedelta(minutes=3)
    ours = base64.b64decode(ti.reply_index(customers, "TKT-1", "x.test", OPENED, later, "m"))
    assert ours[:27] == base64.b64decode(customers) and len(ours) == 32
    fresh = base64.b64decode(ti.reply_index("garbage", "TKT-1", "x.test", OPENED, later, "m"))
    assert fresh[:22] == ti.fresh(OPENED, ti.conversation_guid("TKT-1", "x.test"))
    assert len(fresh) == 27
    assert ti.conversation_guid("TKT-1", "x.test") != ti.conversation_guid("TKT-2", "x.test")


def test_the_topic_is_the_customers_else_the_subject_on_one_line() -> None:
    assert ti.topic("Printer error", "Other") == "Printer error"
    assert ti.topic("  ", "Printer\r\nerror") == "Printer error"
    assert len(ti.topic("x" * 1000, "")) == ti.MAX_TOPIC


def test_headers_are_read_from_the_head_of_a_stored_mail() -> None:
    head = (
        b"Received: from a\r\nThread-Topic: =?utf-8?q?Drucker_l=C3=A4uft?=\r\n"
        b"Thread-Index: AQHZ\r\n AQ==\r\nSubject: x\r\n\r\nbody Thread-Index: no\r\n"
    )
    index, topic = ti.from_headers(head)
    assert "".join(index.split()) == "AQHZAQ==" and topic == "Drucker läuft"
    assert ti.from_headers(b"Subject: x\r\n\r\n") == ("", "")

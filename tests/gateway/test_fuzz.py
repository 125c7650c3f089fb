"""Real mails from the corpora, mutated, through the SMTP listener of a running gateway.

Invariant 6: no input crashes the listener or hangs it. Every mail answered 250 ends processed
(with its outcome and reason: a ticket, a reply, a noted bounce, a refusal...) or quarantined with
the reason; every other answer is an SMTP error with a reason. The mutations: truncation, broken
MIME boundaries, broken base64, huge headers, multiparts nested 100 deep, NUL bytes, mixed and
bogus charsets. One gateway (SQLite) serves the whole module; each mail gets a fresh Message-ID
on top, so that the duplicate check never hides one.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from helpdesk.app.pipeline.context import Outcome
from helpdesk.app.runtime import build
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import MailStatus
from storage.models import InboundMail
from tests.helpers import CORPORA, GatewayThread

MAILS = sorted(CORPORA.rglob("*.eml"))
TICKETED = {Outcome.NEW_TICKET, Outcome.REPLY, Outcome.LINKED_TICKET}
REFUSED = {500: b"Line too long", 552: b"Too much mail data"}  # what the edge may say but 250
Mutation = Callable[[bytes], bytes]


@pytest.fixture(scope="module")
def desk(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayThread]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, root / "fuzz.db")
    app = build(
        Settings(
            database_url=f"sqlite:///{root / 'fuzz.db'}",
            var_dir=root / "var",
            support_address="support@example.com",
            secret="test-secret-not-for-production-0123456789",
            group_commit_window_ms=1.0,
            max_message_bytes=2 * 1024 * 1024,  # three huge headers pass it: 552
            max_new_tickets_per_sender_hour=100_000,  # the corpora's few senders, many times
        )
    )
    running = GatewayThread(app)
    running.start()
    yield running
    running.stop()
    app.close()


def _split(raw: bytes) -> tuple[bytes, bytes]:
    end = raw.find(b"\n\n") if b"\r\n\r\n" not in raw else raw.find(b"\r\n\r\n")
    return (raw, b"") if end < 0 else (raw[:end], raw[end:])


@st.composite
def truncated(draw: st.DrawFn) -> Mutation:
    fraction = draw(st.floats(0, 1))
    return lambda raw: raw[: int(len(raw) * fraction)]


@st.composite
def bad_boundaries(draw: st.DrawFn) -> Mutation:
    how = draw(st.sampled_from(["shorten", "drop-close", "empty", "quote", "random"]))
    noise = draw(st.binary(min_size=1, max_size=80))

    def mutate(raw: bytes) -> bytes:
        found = re.search(rb'boundary="?([^";\r\n]+)"?', raw, re.I)
        if found is None:
            return raw.replace(b"\n\n", b'\nContent-Type: multipart/mixed; boundary="b"\n\n', 1)
        boundary = found.group(1)
        if how == "shorten":
            return raw.replace(b"--" + boundary, b"--" + boundary[:-1])
        if how == "drop-close":
            return raw.replace(b"--" + boundary + b"--", b"")
        if how == "empty":
            return raw.replace(found.group(0), b'boundary=""', 1)
        if how == "quote":
            return raw.replace(found.group(0), b'boundary="' + boundary + b'\\"', 1)
        return raw.replace(found.group(0), b"boundary=" + noise, 1)

    return mutate


@st.composite
def bad_base64(draw: st.DrawFn) -> Mutation:
    garbage = draw(st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b"=")))
    every = draw(st.integers(1, 20))

    def mutate(raw: bytes) -> bytes:
        head, body = _split(raw)
        if b"base64" not in raw.lower():
            head += b"\r\nContent-Transfer-Encoding: base64"
        lines = body.split(b"\n")
        for index in range(1, len(lines), every):
            lines[index] = lines[index][: len(lines[index]) // 2] + garbage
        return head + b"\n".join(lines)

    return mutate


@st.composite
def huge_header(draw: st.DrawFn) -> Mutation:
    kilobytes = draw(st.integers(1, 1024))
    folded = draw(st.booleans())
    name = draw(st.sampled_from([b"Subject", b"X-Junk", b"Received", b"To", b"References"]))

    def mutate(raw: bytes) -> bytes:
        piece = b"a" * 900
        count = kilobytes * 1024 // 900 + 1
        if folded:
            field = name + b": " + b"\r\n ".join([piece] * count) + b"\r\n"
        else:
            field = (name + b": " + piece + b"\r\n") * count
        return field + raw

    return mutate


@st.composite
def nested(draw: st.DrawFn) -> Mutation:
    depth = draw(st.integers(90, 120))
    closed = draw(st.booleans())

    def mutate(raw: bytes) -> bytes:
        head, body = _split(raw)
        opening = b"".join(
            b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
            for i in range(depth)
        )
        closing = b"".join(b"\r\n--n%d--\r\n" % i for i in reversed(range(depth + 1)))
        inner = b"--n%d\r\nContent-Type: text/plain\r\n%s\r\n" % (depth, body)
        top = b'\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="n0"\r\n\r\n'
        return head + top + opening + inner + (closing if closed else b"")

    return mutate


@st.composite
def nul_bytes(draw: st.DrawFn) -> Mutation:
    places = draw(st.lists(st.floats(0, 1), min_size=1, max_size=50))

    def mutate(raw: bytes) -> bytes:
        for place in places:
            at = int(len(raw) * place)
            raw = raw[:at] + b"\x00" + raw[at:]
        return raw

    return mutate


CHARSETS = ["utf-8", "iso-8859-1", "koi8-r", "shift_jis", "gb2312", "utf-16", "x-bogus", ""]
TEXTS = ["Привет, мир", "こんにちは", "Grüße aus Köln", "你好", "😀 emoji"]


@st.composite
def mixed_charsets(draw: st.DrawFn) -> Mutation:
    declared = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(["utf-8", "cp1251", "shift_jis", "latin-1", "gbk"]))
    text = draw(st.sampled_from(TEXTS)).encode(encoding, "replace")
    word = draw(st.sampled_from(CHARSETS)).encode() or b"x"

    def mutate(raw: bytes) -> bytes:
        raw = re.sub(rb"charset=\"?[^\";\s]*\"?", b'charset="' + declared.encode() + b'"', raw)
        head, body = _split(raw)
        encoded = b"=?" + word + b"?B?" + text.hex().encode() + b"?="
        return b"Subject: " + text + b" " + encoded + b"\r\n" + head + body + b"\r\n" + text

    return mutate


MUTATIONS = st.one_of(
    truncated(),
    bad_boundaries(),
    bad_base64(),
    huge_header(),
    nested(),
    nul_bytes(),
    mixed_charsets(),
)


def send(desk: GatewayThread, raw: bytes) -> tuple[int, bytes]:
    with desk.smtp() as client:
        client.ehlo()
        assert client.mail("fuzz@customer.test")[0] == 250
        assert client.rcpt("support@example.com")[0] == 250
        return client.data(raw)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(MAILS),
    mutations=st.lists(MUTATIONS, min_size=1, max_size=3),
)
def test_no_mutated_mail_crashes_or_hangs_the_gateway(
    desk: GatewayThread, path: Path, mutations: list[Mutation]
) -> None:
    raw = path.read_bytes()
    for mutation in mutations:
        raw = mutation(raw)
    raw = re.sub(rb"\r?\n", b"\r\n", raw)  # as an MTA sends it (smtplib leaves bytes alone)
    message_id = f"<fuzz-{uuid4().hex}@fuzz.test>"
    code, reply = send(desk, f"Message-ID: {message_id}\r\n".encode() + raw)
    event(f"SMTP {code}")  # what was covered: pytest --hypothesis-show-statistics
    if code != 250:
        assert code in REFUSED and REFUSED[code] in reply, (code, reply)
        return
    assert b"Queued as" in reply, reply
    desk.settle(timeout=30)  # a hang fails here
    with desk.app.sessions() as session:
        stored = session.scalars(select(InboundMail).where(InboundMail.message_id == message_id))
        ended = stored.one()
    event(f"{ended.status}: {ended.outcome}")
    if ended.status is MailStatus.QUARANTINED:
        event(f"quarantined: {ended.reason[:100]}")
        assert ended.reason, ended.error
        return
    assert ended.status is MailStatus.PROCESSED, ended.status
    assert ended.outcome in set(Outcome) and ended.reason, (ended.outcome, ended.reason)
    if ended.outcome in TICKETED:
        assert ended.ticket_id is not None


def test_the_listener_still_answers_after_the_fuzzing(desk: GatewayThread) -> None:
    with desk.smtp() as client:
        assert client.noop()[0] == 250
    assert len(MAILS) > 30  # the corpora are there: under CI nothing is skipped

"""DATA read a buffer at a time: what arrives in pieces of any size, across every line and
dot boundary, comes out as aiosmtpd's line-at-a-time reading gives it; what a pipelining client
sends after the final dot is answered as the next command."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from gateway.data_stream import SPILL_BYTES, StreamingSMTP
from storage.raw_file import RawFile
from tests.sink import free_port


class Keeper:
    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received = envelope.received
        self.mails.append(received.read() if isinstance(received, RawFile) else received)
        return "250 OK"


class StreamingController(Controller):
    def __init__(self, handler: Keeper, spill_dir: Path) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=free_port())
        self._spill_dir = spill_dir

    def factory(self) -> SMTP:
        return StreamingSMTP(self.handler, spill_dir=self._spill_dir, hostname="helpdesk.test")


@contextmanager
def server(tmp_path: Path) -> Iterator[tuple[Keeper, int]]:
    keeper = Keeper()
    controller = StreamingController(keeper, tmp_path)
    controller.start()
    try:
        yield keeper, controller.port
    finally:
        controller.stop()


def stuffed(lines: list[bytes]) -> bytes:
    return b"".join((b"." + line if line.startswith(b".") else line) for line in lines)


def wire_lines(rng: random.Random, count: int) -> list[bytes]:
    """Lines such as mail has, many of them starting with dots, some with bare CR or LF."""
    shapes = [b".", b"..", b". ", b".\r", b"x.", b"\r", b"\n", b"", b"From "]
    lines = []
    for _ in range(count):
        text = rng.choice(shapes) + bytes(rng.choice(b"ab.\r\n ") for _ in range(rng.randrange(80)))
        while b"\r\n" in text:  # a line holds no CRLF (the replacement can make one)
            text = text.replace(b"\r\n", b"\r")
        lines.append(text + b"\r\n")
    return lines


def converse(port: int, pieces: Iterator[bytes]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        for piece in pieces:
            client.sendall(piece)
        answers = b""
        while not answers.endswith(b"221 Bye\r\n") and (data := client.recv(65536)):
            answers += data
    return answers


def in_pieces(data: bytes, rng: random.Random, largest: int) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        step = rng.randrange(1, largest)
        yield data[start : start + step]
        start += step


def test_mails_in_pieces_of_every_size_are_received_as_sent_and_unstuffed(tmp_path: Path) -> None:
    rng = random.Random(7)
    mails = [wire_lines(rng, n) for n in (1, 3, 200, 20_000)]  # the last one spills to a file
    assert len(b"".join(mails[-1])) > SPILL_BYTES
    conversation = b"EHLO client.test\r\n"
    for lines in mails:
        conversation += b"MAIL FROM:<a@x.test>\r\nRCPT TO:<support@helpdesk.test>\r\nDATA\r\n"
        conversation += stuffed(lines) + b".\r\n"
    conversation += b"QUIT\r\n"
    with server(tmp_path) as (keeper, port):
        for largest in (16, 1500, 70_000):
            keeper.mails.clear()
            answers = converse(port, in_pieces(conversation, rng, largest))
            assert keeper.mails == [b"".join(lines) for lines in mails], largest
            assert answers.count(b"<CR><LF>\r\n250 OK\r\n") == len(mails)  # each DATA answered
            assert answers.endswith(b"221 Bye\r\n")


def test_a_too_long_line_in_pieces_gets_500_and_the_next_mail_is_taken(tmp_path: Path) -> None:
    long_line = b"y" * 5000 + b"\r\n"
    conversation = b"EHLO client.test\r\n"
    for body in (b"ok\r\n" + long_line + b"..after\r\n", b"fine\r\n.dot\r\n"):
        conversation += b"MAIL FROM:<a@x.test>\r\nRCPT TO:<support@helpdesk.test>\r\nDATA\r\n"
        conversation += body + b".\r\n"
    with server(tmp_path) as (keeper, port):
        answers = converse(port, in_pieces(conversation + b"QUIT\r\n", random.Random(3), 900))
    assert b"500 Line too long" in answers
    assert keeper.mails == [b"fine\r\ndot\r\n"]


def test_a_line_of_exactly_the_limit_is_taken(tmp_path: Path) -> None:
    exact = b"z" * (SMTP.line_length_limit - 2) + b"\r\n"  # 1001 octets with its CRLF
    conversation = b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<s@helpdesk.test>\r\nDATA\r\n"
    with server(tmp_path) as (keeper, port):
        answers = converse(port, iter([conversation + exact + b".\r\nQUIT\r\n"]))
    assert keeper.mails == [exact], answers

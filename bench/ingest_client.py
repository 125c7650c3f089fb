"""The ingest benchmark's SMTP client, a process of its own (``ingest.py _client``): C threads,
one smtplib connection each, reused for many mails; per mail MAIL and RCPT, then DATA timed
(dot->250 and DATA->250). The same client drives the no-op baseline and the gateway."""

from __future__ import annotations

import argparse
import contextlib
import json
import pickle
import queue
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from addresses import SUPPORT_ADDRESS
from local_smtp import smtp_connect


@dataclass
class LoadResult:
    """What the client measured against one target."""

    accepted: int = 0
    failed: int = 0
    elapsed: float = 0.0  # from all connections ready to the last reply
    first_accept_wall: float = 0.0
    last_accept_wall: float = 0.0
    dot_ms: list[float] = field(default_factory=list)
    data_ms: list[float] = field(default_factory=list)
    replies: dict[str, int] = field(default_factory=dict)
    server_cpu: float | None = None  # seconds of the server process, from ready to done

    @property
    def rate(self) -> float:
        return self.accepted / self.elapsed if self.elapsed else 0.0


class TimedSMTP(smtplib.SMTP):
    def timed_data(self, payload: bytes) -> tuple[int, float, float]:
        """Send a ready payload; (code, dot->reply seconds, DATA->reply seconds)."""
        start = time.perf_counter()
        self.putcmd("data")
        code, _ = self.getreply()
        if code != 354:
            return code, 0.0, time.perf_counter() - start
        self.send(payload)
        sent = time.perf_counter()
        code, _ = self.getreply()
        end = time.perf_counter()
        return code, end - sent, end - start


@dataclass
class _Record:
    code: int
    dot: float
    data: float
    wall: float


def _connection(port: int) -> TimedSMTP:
    return smtp_connect(port, TimedSMTP)


def _one(client: TimedSMTP, sender: str, payload: bytes) -> _Record:
    code, _ = client.mail(sender)
    if code == 250:
        code, _ = client.rcpt(SUPPORT_ADDRESS)
    if code != 250:
        client.rset()
        return _Record(code, 0.0, 0.0, time.time())
    code, dot, data = client.timed_data(payload)
    return _Record(code, dot, data, time.time())


def _sender_loop(
    port: int,
    mails: Sequence[tuple[str, bytes]],
    work: queue.SimpleQueue[int],
    ready: threading.Barrier,
    out: list[_Record],
) -> None:
    try:
        client = _connection(port)
    except (smtplib.SMTPException, OSError):
        ready.abort()  # the run is void: say so rather than measure fewer connections
        raise
    ready.wait()
    while True:
        try:
            index = work.get_nowait()
        except queue.Empty:
            break
        sender, payload = mails[index]
        try:
            out.append(_one(client, sender, payload))
        except (smtplib.SMTPException, OSError):
            out.append(_Record(-1, 0.0, 0.0, time.time()))
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.close()
            client = _connection(port)
    with contextlib.suppress(smtplib.SMTPException, OSError):
        client.quit()


def run_load(port: int, mails: Sequence[tuple[str, bytes]], concurrency: int) -> LoadResult:
    """C connections, each sending mails back to back until the corpus is used up."""
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(mails)):
        work.put(index)
    ready = threading.Barrier(concurrency + 1)
    outs: list[list[_Record]] = [[] for _ in range(concurrency)]
    threads = [
        threading.Thread(target=_sender_loop, args=(port, mails, work, ready, outs[i]), daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    ready.wait(timeout=60)
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    result = LoadResult(elapsed=time.perf_counter() - start)
    records = [r for out in outs for r in out]
    ok = [r for r in records if r.code == 250]
    result.accepted, result.failed = len(ok), len(records) - len(ok)
    result.dot_ms = [r.dot * 1000 for r in ok]
    result.data_ms = [r.data * 1000 for r in ok]
    result.replies = {str(code): n for code, n in Counter(r.code for r in records).items()}
    if ok:
        result.first_accept_wall = min(r.wall for r in ok)
        result.last_accept_wall = max(r.wall for r in ok)
    return result


def client_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="ingest.py _client")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    with args.corpus.open("rb") as handle:
        mails: list[tuple[str, bytes]] = pickle.load(handle)
    result = run_load(args.port, mails, args.concurrency)
    args.out.write_text(json.dumps(asdict(result)))
    return 0

"""The memory benchmark's load and its probes: N large mails sent at once, a NOOP on another
connection timed all the while, and the peak RSS of a process tree read from /proc.

The client runs in a process of its own (``memory.py _client``): it holds the mails it sends,
and neither its memory nor its CPU must count for a server. Its probe runs in another.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import smtplib
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from email import policy
from email.message import EmailMessage
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from common import SUPPORT_ADDRESS, percentile, smtp_connect

NOOPS_PER_SESSION = 8  # the gateway allows 10 NOOPs per session: the probe reconnects before


def make_mail(index: int, attachment_bytes: int, seed: int) -> bytes:
    """A customer's mail with a random attachment of its own (blobs are stored once by hash:
    twenty copies of one attachment would be one blob)."""
    rng = random.Random(seed * 1000 + index)
    message = EmailMessage()
    message["From"] = f"Customer {index} <customer{index}@example.net>"
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = f"Scans of the contract, part {index}"
    message["Message-ID"] = f"<memory-{seed}-{index}@example.net>"
    message.set_content(f"Hello,\n\nthe scans are attached (part {index}).\n\nRegards\n")
    payload = rng.randbytes(attachment_bytes)
    message.add_attachment(
        payload, maintype="application", subtype="pdf", filename=f"scan-{index}.pdf"
    )
    return message.as_bytes(policy=policy.SMTP)


@dataclass
class LoadResult:
    accepted: int = 0
    replies: dict[str, int] = field(default_factory=dict)
    mail_bytes: int = 0
    seconds: float = 0.0
    noop_ms: list[float] = field(default_factory=list)
    noop_failures: int = 0

    @property
    def noop_max(self) -> float:
        return max(self.noop_ms, default=0.0)

    @property
    def noop_p99(self) -> float:
        return percentile(self.noop_ms, 99)


def _send(port: int, raw: bytes, start: threading.Barrier, codes: list[int]) -> None:
    with smtp_connect(port, smtplib.SMTP) as client:
        start.wait()
        try:
            client.sendmail(f"sender@{time.monotonic_ns()}.example.net", [SUPPORT_ADDRESS], raw)
            codes.append(250)
        except smtplib.SMTPResponseException as refused:
            codes.append(refused.smtp_code)


def _probe(port: int, go: Any, done: Any, answers: Connection) -> None:
    """NOOP every 10 ms on a connection of its own, from the start of the load to its end; the
    times (ms) and the failures sent back on ``answers``."""
    times: list[float] = []
    failures = 0
    go.wait()
    while not done.is_set():
        try:
            with smtp_connect(port, smtplib.SMTP) as client:
                for _ in range(NOOPS_PER_SESSION):
                    began = time.perf_counter()
                    code, _ = client.noop()
                    times.append((time.perf_counter() - began) * 1000)
                    failures += code != 250
                    if done.wait(0.01):
                        break
        except (OSError, smtplib.SMTPException):
            failures += 1
            time.sleep(0.05)
    answers.send((times, failures))


def run_load(port: int, mails: int, attachment_bytes: int, seed: int) -> LoadResult:
    """The mails sent by threads of this process, the NOOPs by a process of its own: smtplib
    stuffs and converts a mail in Python, holding the interpreter lock for tens of milliseconds,
    which a probe in this process would count as the server's delay."""
    raws = [make_mail(i, attachment_bytes, seed) for i in range(mails)]
    result = LoadResult(mail_bytes=sum(len(r) for r in raws))
    processes = multiprocessing.get_context("fork")  # before any thread of this process
    go, done = processes.Event(), processes.Event()
    receiving, sending = processes.Pipe(duplex=False)
    probe = processes.Process(target=_probe, args=(port, go, done, sending), daemon=True)
    probe.start()
    start = threading.Barrier(mails + 1)
    codes: list[int] = []
    senders = [
        threading.Thread(target=_send, args=(port, raw, start, codes), daemon=True) for raw in raws
    ]
    for thread in senders:
        thread.start()
    start.wait()
    go.set()
    began = time.monotonic()
    for thread in senders:
        thread.join(timeout=900)
    result.seconds = time.monotonic() - began
    done.set()
    if receiving.poll(30):
        result.noop_ms, result.noop_failures = receiving.recv()
    probe.join(timeout=30)
    result.accepted = codes.count(250)
    result.replies = {str(c): codes.count(c) for c in sorted(set(codes))}
    return result


def client_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="memory.py _client")
    for name in ("--port", "--mails", "--attachment-bytes", "--seed"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run_load(args.port, args.mails, args.attachment_bytes, args.seed)
    args.out.write_text(json.dumps(asdict(result)))
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _peak_kb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM): no sample can miss the peak."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _name(pid: int, parent: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        command = b""
    for marker, kind in ((b"resource_tracker", "resource tracker"), (b"spawn", "spawned")):
        if marker in command:
            return f"{kind} [{pid}, child of {parent}]"
    return f"{command.decode(errors='replace')[:40]} [{pid}, child of {parent}]"


class PeakWatcher(threading.Thread):
    """The peak RSS of ``root`` and every process under it, read every 50 ms until ``stop``
    (each process's own high-water mark, so a process that ends between reads keeps its last)."""

    def __init__(self, root: int) -> None:
        super().__init__(name="peak-rss", daemon=True)
        self.root = root
        self.peaks: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.05):
            self.read()

    def read(self) -> None:
        todo = [(self.root, 0)]
        while todo:
            pid, parent = todo.pop()
            peak = _peak_kb(pid)
            if peak is not None:
                self.peaks[pid] = max(peak, self.peaks.get(pid, 0))
                self.names.setdefault(pid, _name(pid, parent))
            todo += [(child, pid) for child in _children(pid)]

    def stop(self) -> dict[int, int]:
        self.read()
        self._halt.set()
        self.join(timeout=5)
        return self.peaks

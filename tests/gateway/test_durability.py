"""Invariant 1: a mail answered 250 is committed first; SIGKILL at any moment loses nothing."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.runners import RESTART_SECONDS
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from storage.models import InboundMail, Ticket
from tests.desk import wait_for
from tests.helpers import mail, wait_processed

MAILS = 300
CONNECTIONS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    settings: Settings, port: int, log: Path, new_group: bool = False
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HELPDESK_DATABASE_URL": settings.resolved_database_url,
        "HELPDESK_VAR_DIR": str(settings.var_dir),
        "HELPDESK_SUPPORT_ADDRESS": settings.support_address,
        "HELPDESK_SECRET": settings.secret,
        "HELPDESK_HTTP_LISTEN": "",
        "HELPDESK_MAX_NEW_TICKETS_PER_SENDER_HOUR": "100000",  # one sender, hundreds of tickets
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--smtp", f"127.0.0.1:{port}"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=new_group,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the gateway did not start listening")


def send_all(port: int, messages: list[bytes], acked: set[int], lock: threading.Lock) -> None:
    """Send on a few connections, noting each mail answered 250; stop at the first error."""

    def worker(indexes: list[int]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                for index in indexes:
                    client.sendmail("alice@customer.test", ["support@example.com"], messages[index])
                    with lock:
                        acked.add(index)
        except (OSError, smtplib.SMTPException):
            return

    threads = [
        threading.Thread(target=worker, args=(list(range(n, len(messages), CONNECTIONS)),))
        for n in range(CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_sigkill_under_load_loses_and_duplicates_nothing(
    app: App, settings: Settings, tmp_path: Path
) -> None:
    messages = [
        mail(subject=f"Durable mail {i}", message_id=f"<durable-{i}@customer.test>").as_bytes()
        for i in range(MAILS)
    ]
    port, log = free_port(), tmp_path / "gateway.log"
    acked: set[int] = set()
    lock = threading.Lock()
    server = start_server(settings, port, log)
    sender = threading.Thread(target=send_all, args=(port, messages, acked, lock))
    sender.start()
    while len(acked) < MAILS // 3 and sender.is_alive():
        time.sleep(0.005)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    sender.join(timeout=60)
    killed_with = len(acked)
    assert 0 < killed_with < MAILS, "the kill must land in the middle of the load"

    server = start_server(settings, port, log)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            for index in sorted(set(range(MAILS)) - acked):
                client.sendmail("alice@customer.test", ["support@example.com"], messages[index])
        wait_processed(app, timeout=120)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    with app.sessions() as session:
        ticket_count = session.scalar(select(func.count()).select_from(Ticket))
        subjects = session.scalar(select(func.count(func.distinct(Ticket.subject))))
        stored = session.scalar(select(func.count()).select_from(InboundMail))
    assert (ticket_count, subjects, stored) == (MAILS, MAILS, MAILS), log.read_text()[-3000:]


def children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid``, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def test_a_dead_worker_process_is_replaced_and_its_decoders_end_with_it(
    app: App, settings: Settings, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "gateway.log"
    server = start_server(settings, port, log)
    try:
        [worker] = [pid for pid, cmd in children(server.pid).items() if "spawn_main" in cmd]
        wait_for(lambda: children(worker), what="the decoding process")
        decoders = list(children(worker))
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in decoders), timeout=10)
        time.sleep(RESTART_SECONDS)  # a replacement is started at most this often
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("alice@customer.test", ["support@example.com"], mail().as_bytes())
        try:
            wait_processed(app, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; log: {log.read_text()[-3000:]}") from None
        assert "the worker process ended" in log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_sigterm_refuses_new_sessions_and_lets_a_mail_in_flight_finish(
    app: App, settings: Settings, tmp_path: Path
) -> None:
    """Issue 11, item 22: a stop (systemd, compose) loses nothing and answers every client."""
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(settings, port, log)
    raw = mail(subject="In flight").as_bytes().replace(b"\n", b"\r\n")
    try:
        session = smtplib.SMTP("127.0.0.1", port, timeout=30)
        session.ehlo()
        session.mail("alice@customer.test")
        session.rcpt("support@example.com")
        assert session.docmd("DATA")[0] == 354
        session.send(raw[: len(raw) // 2])  # half of the mail is on the wire
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", port, timeout=5)
        assert refused.value.smtp_code == 421 and b"shutting down" in refused.value.smtp_error
        session.send(raw[len(raw) // 2 :] + b"\r\n.\r\n")
        assert session.getreply()[0] == 250
        session.close()
        assert server.wait(timeout=60) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with app.sessions() as db:
        assert db.scalar(select(func.count()).select_from(InboundMail)) == 1


def test_sigterm_to_the_whole_group_lets_the_workers_finish(
    app: App, settings: Settings, tmp_path: Path
) -> None:
    """systemd and compose signal every process: the embedded workers wait for the STOP."""
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(settings, port, log, new_group=True)
    try:
        messages = [mail(subject=f"Mail {i}").as_bytes() for i in range(60)]
        acked: set[int] = set()
        send_all(port, messages, acked, threading.Lock())
        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert len(acked) == 60
    assert "worker process ended" not in log.read_text() and "killed" not in log.read_text()

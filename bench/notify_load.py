"""The notification benchmark's load: new-ticket mails from distinct senders, sent open loop at
a steady rate over persistent SMTP connections, each with the time of its 250."""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

from addresses import SUPPORT_ADDRESS
from local_smtp import smtp_connect
from notify_sink import norm_id

STOPPING = threading.Event()  # set on SIGTERM/SIGINT: the load generator stops sending


@dataclass(frozen=True)
class Inbound:
    sender: str
    message_id: str  # normalised, without brackets
    raw: bytes


def inbound_mail(run: str, index: int) -> Inbound:
    domain = f"client{index % 17}.example.net"
    sender = f"customer{index}.{run}@{domain}"
    message_id = make_msgid(f"notify{index}.{run}", domain)
    subject = f"Order {100000 + index} arrived damaged ({run})"
    body = (
        f"Hello,\r\n\r\nthe parcel for order {100000 + index} arrived today with a broken "
        "corner and the contents are scratched. Could you send a replacement or refund it?"
        f"\r\n\r\nBest regards,\r\nCustomer {index}\r\n"
    )
    raw = (
        f"Message-ID: {message_id}\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\n"
        f'From: "Customer {index}" <{sender}>\r\n'
        f"To: Example Support <{SUPPORT_ADDRESS}>\r\n"
        f"Subject: {subject}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n{body}"
    ).encode()
    return Inbound(sender, norm_id(message_id), raw)


@dataclass
class Sent:
    mail: Inbound
    due: float
    started: float = 0.0
    replied: float = 0.0  # wall clock of the 250 (or of the failure)
    code: int = 0


def _send(client: smtplib.SMTP, record: Sent) -> None:
    record.started = time.time()
    try:
        client.sendmail(record.mail.sender, [SUPPORT_ADDRESS], record.mail.raw)
        record.code = 250
    except smtplib.SMTPResponseException as exc:
        record.code = exc.smtp_code
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.rset()
    except smtplib.SMTPRecipientsRefused:
        record.code = 550
    record.replied = time.time()


def steady_load(port: int, mails: Sequence[Inbound], rate: float, connections: int) -> list[Sent]:
    """Open loop: mail ``i`` is due at ``start + i / rate``, sent by any free connection."""
    start = time.time() + 0.3
    records = [Sent(mail, start + i / rate) for i, mail in enumerate(mails)]
    lock = threading.Lock()
    cursor = iter(records)

    def loop() -> None:
        client: smtplib.SMTP | None = None
        while not STOPPING.is_set():
            with lock:
                record = next(cursor, None)
            if record is None:
                break
            if (pause := record.due - time.time()) > 0 and STOPPING.wait(pause):
                break
            try:
                client = client or smtp_connect(port, smtplib.SMTP)
                _send(client, record)
            except (smtplib.SMTPException, OSError):
                record.code, record.replied = -1, time.time()
                if client is not None:
                    client.close()
                client = None
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return records

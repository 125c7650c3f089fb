"""The ingest benchmark's mails: a seeded corpus of realistic support mail (about 11.7 KB on
average; trace, DKIM and MIME headers; one in five with a ~50 KB base64 attachment, some with
an HTML alternative or a Cc; every Message-ID unique), as the client sends it. As at a real
support address, most mails come from someone writing for the first time (a new customer, with
an acknowledgement to send); ``RETURNING`` of them from someone who wrote before."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from addresses import SUPPORT_ADDRESS

ATTACHMENT_BYTES = 35 * 1024  # 48 KB once base64-encoded, 49 KB with line breaks
RETURNING = 0.15  # the share of mails from someone who wrote before


FIRST_NAMES: tuple[str, ...] = (
    "Alice",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
)
FIRST_NAMES += ("Jonas", "Kavya", "Liam", "Mei", "Nadia", "Omar", "Priya", "Quentin", "Rosa")
FIRST_NAMES += ("Sven", "Tariq", "Ute", "Victor", "Wen", "Ximena", "Yusuf", "Zoë")
LAST_NAMES: tuple[str, ...] = (
    "Andersen",
    "Okafor",
    "Dubois",
    "Ivanova",
    "Rossi",
    "Haddad",
    "Müller",
    "Tanaka",
)
LAST_NAMES += ("Garcia", "Schmidt", "Rao", "Murphy", "Chen", "Kowalski", "Nakamura", "Silva")
LAST_NAMES += ("Novak", "Jensen", "Moreau", "Costa")
DOMAINS = (
    "acme-corp.com",
    "globex.io",
    "initech.net",
    "umbrella-health.org",
    "example-shop.de",
    "northwind.co.uk",
    "contoso.fr",
    "gmail.com",
    "outlook.com",
    "fastmail.fm",
)
MAILERS = (
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3774.500.171.1.1)",
    "Mozilla Thunderbird 128.4.2",
    "Gmail",
    "Roundcube Webmail/1.6.9",
)
SUBJECTS = (
    "Cannot log in since this morning",
    "Invoice {n} shows the wrong VAT rate",
    "Export to CSV fails with error 500",
    "Question about upgrading our plan",
    "Password reset mail never arrives",
    "Order {n} arrived damaged",
    "API rate limit reached although we are below quota",
    "Feature request: dark mode for the dashboard",
    "Refund for duplicate charge on card ending {n}",
    "Sync with our calendar stopped working",
    "Two-factor codes rejected on the mobile app",
    "Bulk import stuck at 99%",
    "Please update our billing address",
    "Webhook deliveries delayed by several hours",
    "Report for {n} is missing last week's data",
)
SENTENCES = (
    "We noticed the problem shortly after the maintenance window announced on your status page.",
    "Three colleagues in different offices see exactly the same behaviour.",
    "I have already cleared the browser cache and tried a private window, without success.",
    "The error message reads: 'Something went wrong, please try again later (code 0x80070005)'.",
    "This is blocking our month-end closing, so a quick answer would be much appreciated.",
    "Our account number is {n}, in case you need it to look this up.",
    "It worked fine until Tuesday; nothing changed on our side as far as I know.",
    "I attached a screenshot of the settings page as it looks right now.",
    "Could you also confirm whether this affects the data we exported last month?",
    "We are on the Business plan with 45 seats and SSO through Azure AD.",
    "The same request succeeds from the command line tool but fails from the web interface.",
    "Restarting the application and signing out and in again did not change anything.",
    "Our finance team needs a corrected document before the end of the week.",
    "Please let me know if you need logs or a HAR file; I can send them today.",
    "The timestamps in the report are two hours off, which looks like a time zone issue.",
    "I called the hotline yesterday and was told to write to this address instead.",
    "For reference, the last successful run was on the 3rd at 14:05 CET.",
    "Is there a workaround we could use in the meantime?",
)
GREETINGS = ("Hello,", "Hi there,", "Dear support team,", "Good morning,", "Hi,")
CLOSINGS = ("Best regards,", "Thanks in advance,", "Kind regards,", "Cheers,", "Thank you,")


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    domain: str
    company: str


def _person(rng: random.Random, seen: set[str]) -> Person:
    """Someone new: a name, and an address no one else in the corpus has."""
    first, last, domain = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(DOMAINS)
    base = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or "someone"
    local, n = base, 1
    while f"{local}@{domain}" in seen:
        n += 1
        local = f"{base}{n}"
    email = f"{local}@{domain}"
    seen.add(email)
    company = domain.split(".")[0].replace("-", " ").title()
    return Person(f"{first} {last}", email, domain, company)


def _b64(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode()


def _wrap(encoded: str, width: int = 76) -> str:
    return "\r\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))


def _dkim(rng: random.Random, domain: str, when: datetime) -> str:
    """A DKIM-Signature header of the usual shape and size, folded the way signers fold it."""
    signature = "\r\n\t ".join(_wrap(_b64(rng, 256), 70).split("\r\n"))
    return (
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s2048;\r\n"
        f"\tt={int(when.timestamp())}; bh={_b64(rng, 32)};\r\n"
        "\th=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;\r\n"
        f"\tb={signature}"
    )


def _body_text(rng: random.Random, person: Person, number: int) -> str:
    sentences = [s.format(n=number) for s in rng.sample(SENTENCES, rng.randint(3, 6))]
    paragraphs = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
    text = "\n\n".join(
        [rng.choice(GREETINGS), *paragraphs, f"{rng.choice(CLOSINGS)}\n{person.name}"]
    )
    if rng.random() < 0.3:
        text += f"\n{person.company}\nPhone +49 30 {rng.randint(1000000, 9999999)}"
    return "\r\n".join(text.splitlines())


def _html(text: str) -> str:
    paragraphs = "".join("<p>" + p.replace("\r\n", "<br>") + "</p>" for p in text.split("\r\n\r\n"))
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
        f'<body><div style="font-family:Calibri,sans-serif;font-size:11pt">{paragraphs}</div>'
        "</body></html>"
    )


def make_mail(rng: random.Random, index: int, sender: Person, cc: Person | None) -> bytes:
    """One mail as a common client and two relays would leave it: trace, DKIM, MIME, CRLF."""
    when = datetime(2025, 3, 3, 8, 0, tzinfo=UTC) + timedelta(seconds=37 * index)
    date = format_datetime(when)
    number = rng.randint(10000, 99999)
    relay_ip = f"203.0.113.{rng.randint(1, 254)}"
    queue_id = "".join(rng.choices("ABCDEFGHJKLMNPQRSTVWXYZ0123456789", k=12))
    message_id = f"<{rng.getrandbits(64):016x}.{index}@mail.{sender.domain}>"
    subject = rng.choice(SUBJECTS).format(n=number)
    text = _body_text(rng, sender, number)
    headers = [
        f"Return-Path: <{sender.email}>",
        f"Received: from mail-out.{sender.domain} (mail-out.{sender.domain} [{relay_ip}])\r\n"
        f"\tby mx1.example.com (Postfix) with ESMTPS id {queue_id}\r\n"
        f"\tfor <{SUPPORT_ADDRESS}>; {date}",
        f"Received: from [10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}] "
        f"by mail-out.{sender.domain} with ESMTPSA id {queue_id[::-1]}; {date}",
        _dkim(rng, sender.domain, when),
        f"Authentication-Results: mx1.example.com; dkim=pass header.d={sender.domain};\r\n"
        f"\tspf=pass smtp.mailfrom={sender.email}; dmarc=pass header.from={sender.domain}",
        f"Message-ID: {message_id}",
        f"Date: {date}",
        f'From: "{sender.name}" <{sender.email}>',
        f"To: Example Support <{SUPPORT_ADDRESS}>",
        *([f'Cc: "{cc.name}" <{cc.email}>'] if cc else []),
        f"Subject: {subject}",
        "MIME-Version: 1.0",
        f"X-Mailer: {rng.choice(MAILERS)}",
    ]
    plain = (
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text
    )
    html = rng.random() < 0.3
    attachment = index % 5 == 2
    if html:
        boundary = f"alt_{rng.getrandbits(48):012x}"
        plain = (
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n{plain}\r\n--{boundary}\r\n"
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{_html(text)}\r\n--{boundary}--"
        )
    if attachment:
        boundary = f"mix_{rng.getrandbits(48):012x}"
        name = rng.choice(("screenshot.png", "invoice.pdf", "error-log.zip", "export.xlsx"))
        payload = _wrap(base64.b64encode(rng.randbytes(ATTACHMENT_BYTES)).decode())
        body = (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n{plain}\r\n--{boundary}\r\n"
            f'Content-Type: application/octet-stream; name="{name}"\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{payload}\r\n--{boundary}--"
        )
    else:
        body = plain
    head, _, rest = body.partition("\r\n\r\n")
    return ("\r\n".join([*headers, head]) + "\r\n\r\n" + rest + "\r\n").encode()


def make_corpus(count: int, seed: int) -> list[tuple[str, bytes]]:
    """``count`` mails as (envelope sender, raw bytes), most from new people, unique ids."""
    rng = random.Random(seed)
    seen: set[str] = set()
    people: list[Person] = []
    corpus = []
    for index in range(count):
        if people and rng.random() < RETURNING:
            sender = rng.choice(people)
        else:
            sender = _person(rng, seen)
            people.append(sender)
        cc = rng.choice(people) if rng.random() < 0.1 else None
        corpus.append((sender.email, make_mail(rng, index, sender, cc if cc != sender else None)))
    return corpus


def wire_payload(raw: bytes) -> bytes:
    """The DATA payload as smtplib would send it: dot-stuffed, CRLF, ending in ``.``."""
    data = re.sub(rb"(?m)^\.", b"..", raw)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def corpus_summary(mails: Sequence[tuple[str, bytes]]) -> str:
    sizes = [len(raw) for _, raw in mails]
    attached = sum(b"Content-Disposition: attachment" in raw for _, raw in mails)
    senders = len({sender for sender, _ in mails})
    return (
        f"corpus: {len(mails)} mails, average {sum(sizes) / len(sizes) / 1024:.1f} KB "
        f"(min {min(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}), "
        f"{attached} with a ~50 KB base64 attachment, {senders} senders"
    )

"""A large base64 part is located in the raw mail: its text there decodes to its content."""

from __future__ import annotations

import base64
import random
from email import policy
from email.message import EmailMessage

from helpdesk.domain.mail.located import LOCATED_BYTES
from helpdesk.domain.mail.parse import parse


def with_files(*files: tuple[bytes, str]) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.test", "s@y.test", "Files"
    message.set_content("Attached.")
    for content, encoding in files:
        message.add_attachment(content, maintype="application", subtype="pdf", cte=encoding)
    return message.as_bytes(policy=policy.SMTP)


def test_a_large_base64_part_is_found_where_its_text_decodes_to_it() -> None:
    rng = random.Random(1)
    large, also = rng.randbytes(LOCATED_BYTES + 5), rng.randbytes(LOCATED_BYTES * 2)
    raw = with_files((large, "base64"), (also, "base64"))
    mail = parse(raw)
    for attachment, content in zip(mail.attachments, (large, also), strict=True):
        assert attachment.content == content and attachment.size == len(content)
        assert attachment.encoded_at is not None
        start, end = attachment.encoded_at
        assert base64.b64decode(raw[start:end]) == content
        lean = attachment.without_content()
        assert lean.deferred and (lean.sha256, lean.size) == (attachment.sha256, len(content))


def test_small_or_not_base64_parts_are_not_located() -> None:
    rng = random.Random(2)
    raw = with_files((rng.randbytes(1000), "base64"), (b"x" * LOCATED_BYTES, "quoted-printable"))
    assert [a.encoded_at for a in parse(raw).attachments] == [None, None]
    assert not any(a.deferred for a in parse(raw).attachments)

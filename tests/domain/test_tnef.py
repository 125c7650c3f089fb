"""Outlook's winmail.dat: built here as Outlook writes it (TNEF attributes, MAPI properties,
a compressed RTF body) and read back through ``tnef.unpack`` and ``parse``."""

from __future__ import annotations

import struct
from email import policy
from email.message import EmailMessage

import pytest
from compressed_rtf import compress

from helpdesk.domain.mail import tnef
from helpdesk.domain.mail.parse import parse

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n\x00\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}\f0\fs22 Hello support,\par\par "
    r"the invoice for order 4711 is attached\'85 and the screenshot too.\par\par Regards,\par "
    r"Bob\par}"
)
PT_STRING8, PT_BINARY = 0x001E, 0x0102


def _object(level: int, name: int, kind: int, data: bytes) -> bytes:
    head = struct.pack("<BHHI", level, name, kind, len(data))
    return head + data + struct.pack("<H", sum(data) & 0xFFFF)


def _padded(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _props(*props: tuple[int, int, bytes]) -> bytes:
    """MAPI properties, each (type, id, value) with one value of a variable length."""
    out = struct.pack("<I", len(props))
    for kind, ident, value in props:
        out += struct.pack("<HHII", kind, ident, 1, len(value)) + _padded(value)
    return out


def winmail(
    body: str = "",
    html: str = "",
    rtf: str = "",
    files: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    """A winmail.dat: a plain body (attBody), HTML (PR_HTML) or RTF (PR_RTF_COMPRESSED)
    bodies, and files (long name, MIME tag, content), as Outlook writes them."""
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _object(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _object(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += _object(1, 0x8008, 0x0007, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    if body:
        out += _object(1, 0x800C, 0x0002, body.encode("cp1252"))  # attBody
    props = []
    if html:
        props.append((PT_BINARY, 0x1013, html.encode("utf-8")))
    if rtf:
        props.append((PT_BINARY, 0x1009, compress(rtf.encode("cp1252"))))
    if props:
        out += _object(1, 0x9003, 0x0006, _props(*props))  # attMAPIProps
    for name, mime, content in files:
        out += _object(2, 0x9002, 0x0006, b"\x01\x00" + b"\xff" * 8 + b"\x00" * 4)
        out += _object(2, 0x8010, 0x0001, name.encode("cp1252")[:8] + b"\x00")  # 8.3 name
        out += _object(2, 0x800F, 0x0006, content)  # attAttachData
        long_name = (PT_STRING8, 0x3707, name.encode("cp1252") + b"\x00")
        tag = (PT_STRING8, 0x370E, mime.encode("ascii") + b"\x00")
        out += _object(2, 0x9005, 0x0006, _props(long_name, tag))  # attAttachment
    return out


FILES = (
    ("Rechnung März 4711.pdf", "application/pdf", PDF),
    ("screenshot.png", "image/png", PNG),
)


def outlook_mail(container: bytes, plain: str = "") -> bytes:
    """A mail as Outlook sends it in rich text: a plain part (often empty) and winmail.dat."""
    message = EmailMessage()
    message["From"] = "Bob Customer <bob@customer.test>"
    message["To"] = "support@example.com"
    message["Subject"] = "Invoice 4711"
    message["Message-ID"] = "<tnef-1@customer.test>"
    message.set_content(plain or "\n")
    message.add_attachment(
        container, maintype="application", subtype="ms-tnef", filename="winmail.dat"
    )
    return message.as_bytes(policy=policy.SMTP)  # CRLF, as on the wire


def test_an_rtf_body_and_its_files() -> None:
    unpacked = tnef.unpack(winmail(rtf=RTF, files=FILES))
    assert [(a.filename, a.content_type, a.content) for a in unpacked.attachments] == [
        ("Rechnung März 4711.pdf", "application/pdf", PDF),
        ("screenshot.png", "image/png", PNG),
    ]
    assert "the invoice for order 4711 is attached… and the screenshot too." in unpacked.text
    assert "\\par" not in unpacked.text and "Calibri" not in unpacked.text


def test_a_plain_body_is_preferred_to_rtf() -> None:
    unpacked = tnef.unpack(winmail(body="Plain words, café.", rtf=RTF))
    assert unpacked.text == "Plain words, café."


def test_an_html_body() -> None:
    unpacked = tnef.unpack(winmail(html="<html><body><p>Über <b>HTML</b></p></body></html>"))
    assert "Über" in unpacked.html and unpacked.text == ""


def test_a_file_without_a_mime_tag_is_typed_by_its_name() -> None:
    container = winmail(files=(("notes.txt", "", b"some notes"),))
    [attachment] = tnef.unpack(container.replace(b"\x0e\x37", b"\x0f\x37")).attachments
    assert (attachment.filename, attachment.content_type) == ("notes.txt", "text/plain")


@pytest.mark.parametrize("data", [b"", b"not tnef at all", struct.pack("<IH", 0x223E9F78, 1)[:4]])
def test_what_is_not_tnef_is_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        tnef.unpack(data)


def test_a_mail_from_outlook_becomes_text_and_attachments() -> None:
    mail = parse(outlook_mail(winmail(rtf=RTF, files=FILES)))
    assert [a.filename for a in mail.attachments] == ["Rechnung März 4711.pdf", "screenshot.png"]
    assert mail.attachments[0].content == PDF
    assert "the invoice for order 4711 is attached" in mail.text
    assert not mail.from_html


def test_the_mails_own_text_wins_over_the_containers() -> None:
    mail = parse(outlook_mail(winmail(rtf=RTF, files=FILES), plain="See the attached files."))
    assert mail.text.strip() == "See the attached files."
    assert len(mail.attachments) == 2


def test_an_html_only_container_body_is_made_text() -> None:
    container = winmail(html="<html><body><p>Der Drucker <b>brennt</b>.</p></body></html>")
    mail = parse(outlook_mail(container))
    assert mail.text == "Der Drucker brennt." and mail.from_html and mail.attachments == ()


def test_a_broken_container_is_kept_as_it_came_with_a_defect() -> None:
    broken = b"\x78\x9f\x3e\x22\x01\x00" + b"\x01\x06\x90\x08\x00\xff\xff\xff\x7f"
    mail = parse(outlook_mail(broken, plain="Hello."))
    assert [(a.filename, a.content) for a in mail.attachments] == [("winmail.dat", broken)]
    assert mail.text.strip() == "Hello."


def test_a_container_that_is_not_tnef_is_kept_and_named_a_defect() -> None:
    mail = parse(outlook_mail(b"garbage", plain="Hello."))
    assert [a.filename for a in mail.attachments] == ["winmail.dat"]
    assert any(d.startswith("winmail.dat not unpacked: ") for d in mail.defects)


def test_a_hostile_file_name_loses_its_directory_and_controls() -> None:
    container = winmail(files=(("..\\..\\evil\r\n.exe", "application/x-msdownload", b"MZ"),))
    [attachment] = parse(outlook_mail(container, plain="x")).attachments
    assert attachment.filename == "evil.exe"


# --- hostile containers: refused before tnefparse loops on their counts ---------------------


def _with_mapi(block: bytes) -> bytes:
    return struct.pack("<IH", 0x223E9F78, 1) + _object(1, 0x9003, 0x0006, block)


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        (struct.pack("<I", 0xFFFF_FFFF), "cannot hold"),  # 2**32 properties in 4 bytes
        (struct.pack("<IHHI", 1, 0x1002, 0x0001, 0xFFFF_FFFF), "cannot hold"),  # values
        (struct.pack("<IHHI", 1, 0x0102, 0x0001, 0xFFFF_FFFF), "cannot hold"),  # binaries
        (struct.pack("<IHH", 2, 0x0003, 0x0001) + b"\x00" * 4, "runs past"),
    ],
)
def test_counts_the_data_cannot_hold_are_refused(block: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        tnef.unpack(_with_mapi(block))


def test_many_tiny_attributes_are_refused_not_copied_for_each() -> None:
    """tnefparse copies the rest of the data for every attribute: 100,000 of them in 1.3 MB
    would copy 65 GB."""
    tiny = _object(1, 0x8008, 0x0007, b"x\x00")
    container = struct.pack("<IH", 0x223E9F78, 1) + tiny * 100_000
    with pytest.raises(ValueError, match="too many attributes"):
        tnef.unpack(container)
    mail = parse(outlook_mail(container, plain="Hello."))
    assert [a.filename for a in mail.attachments] == ["winmail.dat"]
    assert any("too many attributes" in defect for defect in mail.defects)


def test_an_rtf_body_that_wraps_html_is_made_text() -> None:
    """Outlook's RTF often carries the HTML it came from (\\fromhtml1)."""
    wrapped = (
        r"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}"
        r"{\*\htmltag19 <html>}{\*\htmltag50 <body>}\htmlrtf {\htmlrtf0 {\*\htmltag64 <p>}"
        r"\htmlrtf {\htmlrtf0 The scanner jams on every page.\htmlrtf\par}\htmlrtf0"
        r"{\*\htmltag72 </p>}{\*\htmltag58 </body>}{\*\htmltag27 </html>}}"
    )
    text = tnef.unpack(winmail(rtf=wrapped)).text
    assert text == "The scanner jams on every page."


def test_named_and_multi_valued_properties_pass_the_check() -> None:
    named = struct.pack("<HH", 0x0003, 0x8001) + b"\x11" * 16 + struct.pack("<II", 0, 0x8233)
    block = struct.pack("<I", 3) + named + struct.pack("<I", 7)
    block += struct.pack("<HHI", 0x1003, 0x0002, 2) + struct.pack("<ii", 1, 2)  # two ints
    block += struct.pack("<HH", 0x000B, 0x0003) + b"\x01\x00\x00\x00"  # a padded boolean
    assert tnef.unpack(_with_mapi(block)).attachments == ()


def _embedding(inner: bytes) -> bytes:
    """A container whose one attachment is the message ``inner`` (an attached Outlook item)."""
    value = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46" + inner
    out = struct.pack("<IH", 0x223E9F78, 1)
    out += _object(2, 0x9002, 0x0006, b"\x05\x00" + b"\xff" * 8 + b"\x00" * 4)
    return out + _object(2, 0x9005, 0x0006, _props((0x000D, 0x3701, value)))


def test_messages_attached_inside_messages_are_refused_past_eight_levels() -> None:
    inner = winmail(body="The innermost words.")
    for _ in range(3):
        inner = _embedding(inner)
    assert tnef.unpack(inner).attachments  # three levels: read
    for _ in range(8):
        inner = _embedding(inner)
    with pytest.raises(ValueError, match="8 levels deep"):
        tnef.unpack(inner)

# ruff: noqa: RUF001 - the test data is written in the scripts real mail uses
"""Decoding raw mail built from strings: the cases real mail gets wrong; parse never raises."""

from __future__ import annotations

import pytest

from helpdesk.domain.mail.charsets import decode_bytes, decode_header_value
from helpdesk.domain.mail.message import Address
from helpdesk.domain.mail.parse import parse

HEADERS = (
    "From: Alice <alice@customer.test>\nTo: support@example.com\nMessage-ID: <m1@customer.test>\n"
)


def raw(extra_headers: str, body: str = "Hello.\n", charset: str = "utf-8") -> bytes:
    """A mail from text: common headers, the given ones, a blank line and the body."""
    return (HEADERS + extra_headers.strip("\n") + "\n\n" + body).encode(charset, "surrogateescape")


def multipart(ctype: str, *parts: str, boundary: str = "b1") -> str:
    """Headers and body of a multipart with the given parts (each its own headers and body)."""
    body = "".join(f"--{boundary}\n{part.strip(chr(10))}\n" for part in parts)
    return f'Content-Type: {ctype}; boundary="{boundary}"\n\n{body}--{boundary}--\n'


def mime(headers_and_body: str, **kwargs: str) -> bytes:
    extra, _, body = headers_and_body.partition("\n\n")
    return raw(extra, body, **kwargs)


# --- RFC 2047 encoded words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "text"),
    [
        ("=?UTF-8?B?VGVzdG92w6Fjw60gZW1haWw=?=", "Testovácí email"),
        ("=?utf-8?q?D=C3=A9j=C3=A0_vu?=", "Déjà vu"),
        ("Re: =?iso-8859-1?q?caf=E9?= and =?utf-8?b?RMOpasOgIHZ1?=", "Re: café and Déjà vu"),
        # a character split over two encoded words, and the whitespace between words dropped
        ("=?utf-8?B?0J/RgNA=?=\n =?utf-8?B?uNCy0LXRgg==?=", "Привет"),
        (
            "=?UTF-8?Q?Fwd=3a_Cyklozam=c4=9bstnavatel?=\n =?UTF-8?B?w60=?=",
            "Fwd: Cyklozaměstnavatelí",
        ),
        ("=?koi8-r?B?896j1CDawSDNwco=?=", "Счёт за май"),
        ("=?x-foobar?q?plain_words?=", "plain words"),
        ("=?utf-8?B?not*base64!?=", "=?utf-8?B?not*base64!?="),
        ("=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"),
        ("no encoding at all,   folded\n  over lines", "no encoding at all, folded over lines"),
    ],
)
def test_encoded_words_in_the_subject(header: str, text: str) -> None:
    assert parse(raw(f"Subject: {header}")).subject == text


def test_encoded_display_name_with_a_comma_stays_one_address() -> None:
    mail = parse(raw("", "x").replace(b"Alice <", b"=?UTF-8?B?Rm9vLCBCYXI=?= <"))
    assert mail.sender == Address("alice@customer.test", "Foo, Bar")


# --- RFC 2231 and other file names ----------------------------------------------------------


def attachment(disposition: str, ctype: str = "application/pdf") -> bytes:
    part = (
        f"Content-Type: {ctype}\nContent-Disposition: {disposition}\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0=\n"
    )
    return mime(multipart("multipart/mixed", "Content-Type: text/plain\n\nSee attached.", part))


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        ("attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", "€ rates.pdf"),
        ("attachment; filename*=iso-8859-1'fr'r%E9sum%E9.pdf", "résumé.pdf"),
        (
            "attachment;\n filename*0*=utf-8''%D0%A1%D1%87%D1%91%D1%82;\n filename*1=.pdf",
            "Счёт.pdf",
        ),
        ("attachment; filename*=x-foobar''%C3%A9t%C3%A9.pdf", "été.pdf"),
        ('attachment; filename="=?utf-8?B?0KHRh9GR0YIucGRm?="', "Счёт.pdf"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\Users\\bob\\report.pdf"', "report.pdf"),
        ("attachment", "attachment.bin"),
    ],
)
def test_attachment_file_names(disposition: str, filename: str) -> None:
    mail = parse(attachment(disposition))
    assert mail.text == "See attached."
    assert [(a.filename, a.content) for a in mail.attachments] == [(filename, b"%PDF-")]


def test_raw_utf8_file_name_and_name_parameter() -> None:
    part = (
        'Content-Type: image/png; name="Картинка.png"\n'
        "Content-Transfer-Encoding: base64\n\niVBORw==\n"
    )
    mail = parse(mime(multipart("multipart/mixed", "Content-Type: text/plain\n\nHi", part)))
    assert [a.filename for a in mail.attachments] == ["Картинка.png"]


def test_a_very_long_file_name_keeps_its_extension() -> None:
    mail = parse(attachment(f'attachment; filename="{"x" * 400}.pdf"'))
    [found] = mail.attachments
    assert len(found.filename) == 255 and found.filename.endswith("x.pdf")


# --- charsets -------------------------------------------------------------------------------


def test_unknown_charset_falls_back_to_utf8() -> None:
    mail = parse(raw('Content-Type: text/plain; charset="x-foobar"\nSubject: s', "Grüße\n"))
    assert mail.text == "Grüße\n"


def test_unknown_charset_that_is_not_utf8_falls_back_to_windows_1252() -> None:
    body = "Grüße – “quoted”\n".encode("cp1252")
    mail = parse(raw("Content-Type: text/plain; charset=x-foobar\nSubject: s", "") + body)
    assert mail.text == "Grüße – “quoted”\n"


def test_a_charset_that_is_no_text_encoding_is_ignored() -> None:
    mail = parse(raw("Content-Type: text/plain; charset=base64\nSubject: s", "plain words"))
    assert mail.text == "plain words"


def test_gb2312_mail_decodes() -> None:
    headers = (
        "Subject: =?gb2312?B?xOO6w6OsysC95w==?=\n"
        "Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit"
    )
    mail = parse(raw(headers, "你好，世界\n", charset="gb18030"))
    assert (mail.subject, mail.text) == ("你好，世界", "你好，世界\n")


def test_latin1_labelled_utf8_is_read_as_utf8() -> None:
    mail = parse(raw("Content-Type: text/plain; charset=us-ascii\nSubject: s", "Ärger über Öl\n"))
    assert mail.text == "Ärger über Öl\n"


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("Grüße".encode(), "utf-8", "Grüße"),
        ("Grüße".encode("latin-1"), "utf-8", "Grüße"),  # a lying label
        ("Grüße".encode("cp1252"), None, "Grüße"),
        ("Привет, мир".encode()[:-1], "utf-8", "Привет, ми\ufffd"),  # one broken character
        ("naïve".encode("latin-1"), '"ISO-8859-1"', "naïve"),
        (b"\x93quoted\x94", "iso-8859-1", "“quoted”"),  # Windows-1252 labelled Latin-1
        ("こんにちは".encode("shift_jis"), "shift_jis", "こんにちは"),
        (b"\x81\x8d", "", "\x81\x8d"),  # bytes even Windows-1252 leaves undefined
    ],
)
def test_decode_bytes(data: bytes, charset: str | None, text: str) -> None:
    assert decode_bytes(data, charset) == text


# --- raw 8-bit headers ----------------------------------------------------------------------


def test_raw_8bit_headers_are_read_as_utf8_or_windows_1252() -> None:
    mail = parse(
        b"From: \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd <ivan@customer.test>\n"
        b"Subject: Caf\xe9 cr\xe8me\nTo: support@example.com\n\nbody\n"
    )
    assert mail.sender == Address("ivan@customer.test", "Иван")
    assert mail.subject == "Café crème"


def test_raw_8bit_subject_beside_an_encoded_word() -> None:
    mail = parse(raw("Subject: Testovácí =?utf-8?q?=C4=8Desk=C3=BD?= email"))
    assert mail.subject == "Testovácí český email"


# --- broken structure -----------------------------------------------------------------------


def test_multipart_without_a_boundary_is_read_as_text() -> None:
    mail = parse(raw("Content-Type: multipart/mixed\nSubject: s", "Just some text.\n"))
    assert (mail.text, mail.attachments) == ("Just some text.\n", ())
    assert mail.defects


def test_multipart_whose_boundary_never_comes_is_read_as_text() -> None:
    mail = parse(raw('Content-Type: multipart/alternative; boundary="nope"\nSubject: s', "Text.\n"))
    assert mail.text == "Text.\n"
    assert "StartBoundaryNotFoundDefect" in mail.defects


def test_missing_final_boundary_keeps_the_parts() -> None:
    part = "Content-Type: text/plain\n\nSome body"
    data = mime(multipart("multipart/mixed", part)).replace(b"--b1--\n", b"")
    mail = parse(data)
    assert mail.text.strip() == "Some body"
    assert "CloseBoundaryNotFoundDefect" in mail.defects


def test_no_content_type_is_plain_text() -> None:
    assert parse(raw("Subject: s", "plain\n")).text == "plain\n"


def test_a_nonsense_content_type_is_an_opaque_attachment() -> None:
    part = "Content-Type: text/\x01plain\nContent-Disposition: attachment\n\nxyz"
    mail = parse(mime(multipart("multipart/mixed", "Content-Type: text/plain\n\nHi", part)))
    assert [a.content_type for a in mail.attachments] == ["application/octet-stream"]


def test_deep_nesting_is_cut_and_said() -> None:
    body = "Content-Type: text/plain\n\ndeep"
    for level in range(30):
        body = multipart("multipart/mixed", body, boundary=f"b{level}")
    mail = parse(mime(body))
    assert "MIME nesting deeper than 20 levels" in mail.defects


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe",
        b"no headers at all",
        b"Subject: only headers",
        b'From: <>\nTo: ,,,\nCc: "unterminated\nDate: not a date\nMessage-ID: <a\x00b>\n\n',
        b"Content-Type: message/rfc822\n\nnot a mail",
        b"Content-Type: text/plain; charset*=''\n\nx",
        b"Content-Transfer-Encoding: base64\n\n!!!not base64",
        b"Content-Type: text/html\n\n<<<>>><?xml?>\x00",
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\n\nx",
        b"Subject: =?utf-8?b?=?=  =?=?=\n\n",
    ],
)
def test_parse_never_raises(data: bytes) -> None:
    mail = parse(data)
    assert isinstance(mail.text, str) and "\x00" not in mail.text + mail.subject


def test_overlong_or_broken_identifiers_are_dropped() -> None:
    mail = parse(raw(f"Message-ID: <{'x' * 1200}@a>\nReferences: <ok@a> <{'y' * 1200}@b>"))
    assert mail.message_id == "<m1@customer.test>"
    assert mail.references == ("<ok@a>",)
    long_address = parse(raw("", "x").replace(b"alice@", b"a" * 400 + b"@"))
    assert long_address.sender is None


# --- HTML and alternatives ------------------------------------------------------------------


def test_html_only_mail_becomes_text() -> None:
    html = (
        "<html><head><style>p {color: red}</style><script>alert(1)</script></head>"
        "<body><div><div><p>Hello <b>there</b>,</p><p>the printer is on fire.</p></div></div>"
        "</body></html>"
    )
    mail = parse(raw("Content-Type: text/html; charset=utf-8\nSubject: s", html))
    assert mail.from_html
    assert mail.text == "Hello there,\n\nthe printer is on fire."
    assert mail.attachments == ()


def test_html_blockquotes_become_quoted_lines() -> None:
    html = (
        "<div>Thanks!</div><div>On Mon, Bob wrote:<blockquote><p>first</p>"
        "<blockquote>older</blockquote></blockquote></div>"
    )
    mail = parse(raw("Content-Type: text/html\nSubject: s", html))
    assert mail.text.splitlines() == [
        "Thanks!",
        "On Mon, Bob wrote:",
        "",
        "> first",
        "",
        "> > older",
    ]


def test_html_nested_deeper_than_the_parser_goes_keeps_its_text() -> None:
    """libxml2 stops at 256 levels and dropped the rest: a mail came in empty."""
    for depth in (300, 5000, 100_000):
        html = (
            "<style>p {color: red}</style>" + "<div>" * depth + "Help, the <b>printer</b>"
            " &amp; scanner" + "</div>" * depth + "<p>are on fire.</p>"
        )
        mail = parse(raw("Content-Type: text/html\nSubject: s", html))
        assert mail.text == "Help, the printer & scanner\nare on fire.", depth


ALTERNATIVE = (
    "Content-Type: text/plain; charset=utf-8\n\n{plain}",
    "Content-Type: text/html; charset=utf-8\n\n<p>From <b>HTML</b></p>",
)


def test_alternative_prefers_plain_and_stores_no_html_copy() -> None:
    mail = parse(mime(multipart("multipart/alternative", *ALTERNATIVE).format(plain="From plain")))
    assert (mail.text, mail.from_html, mail.attachments) == ("From plain", False, ())


def test_alternative_with_an_empty_plain_part_uses_the_html() -> None:
    mail = parse(mime(multipart("multipart/alternative", *ALTERNATIVE).format(plain="  ")))
    assert (mail.text, mail.from_html) == ("From HTML", True)


def test_html_beside_plain_in_mixed_is_kept_as_an_attachment() -> None:
    mail = parse(mime(multipart("multipart/mixed", *ALTERNATIVE).format(plain="Plain words")))
    assert mail.text == "Plain words"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("message.html", "text/html")
    ]


# --- enclosed mail and reports --------------------------------------------------------------

ENCLOSED = "From: Bob <bob@x.test>\nSubject: Inner\n\nInner words\n"


def test_forwarded_mail_is_an_attachment_named_by_its_part() -> None:
    part = f'Content-Type: message/rfc822; name="thanks.eml"\n\n{ENCLOSED}'
    mail = parse(mime(multipart("multipart/mixed", "Content-Type: text/plain\n\nFYI", part)))
    [enclosed] = mail.attachments
    assert (mail.text, enclosed.filename, enclosed.content_type) == (
        "FYI",
        "thanks.eml",
        "message/rfc822",
    )
    assert b"Inner words" in enclosed.content


def test_message_global_is_enclosed_too() -> None:
    part = f"Content-Type: message/global\n\n{ENCLOSED}"
    mail = parse(mime(multipart("multipart/mixed", "Content-Type: text/plain\n\nFYI", part)))
    assert (mail.text, [a.filename for a in mail.attachments]) == ("FYI", ["forwarded.eml"])


def test_external_body_is_listed_not_fetched() -> None:
    part = (
        "Content-Type: message/external-body; access-type=URL;"
        ' URL="http://x.test/a"; name="a.txt"\n\nContent-Type: text/plain\n\n'
    )
    mail = parse(mime(multipart("multipart/mixed", "Content-Type: text/plain\n\nSee link", part)))
    assert mail.attachments == ()
    assert "external body not fetched: a.txt" in mail.defects


DSN = multipart(
    "multipart/report; report-type=delivery-status",
    "Content-Type: text/plain\n\nYour message could not be delivered.",
    "Content-Type: message/delivery-status\n\n"
    "Reporting-MTA: dns; mx.example.com\n\n"
    "Final-Recipient: rfc822; gone@customer.test\nAction: failed\nStatus: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
    f"Content-Type: message/rfc822\n\n{ENCLOSED}",
)


def test_delivery_status_notification() -> None:
    mail = parse(mime("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered\n" + DSN))
    assert (mail.content_type, mail.report_type) == ("multipart/report", "delivery-status")
    assert "Final-Recipient: rfc822; gone@customer.test" in mail.report
    assert "Diagnostic-Code: smtp; 550 5.1.1 user unknown" in mail.report
    assert mail.text == "Your message could not be delivered."
    assert [a.content_type for a in mail.attachments] == ["message/rfc822"]


def test_headers_for_classification_are_decoded_and_folded() -> None:
    mail = parse(
        raw("Auto-Submitted: auto-replied\nList-Id: Users\n <users.lists.test>\nSubject: s")
    )
    assert mail.headers == {"auto-submitted": "auto-replied", "list-id": "Users <users.lists.test>"}


def test_decode_header_value_of_nothing() -> None:
    assert decode_header_value(None) == ""

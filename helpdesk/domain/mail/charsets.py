"""Charsets and encoded words: bytes and header values to text, never raising on a lying label."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.policy import Compat32
from itertools import groupby

CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "cp950",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "iso-8859-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
}


_SURROGATE = re.compile("[\udc80-\udcff]")


_HIGH_BYTES = bytes(range(0x80, 0x100))


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def codec_name(charset: str | None) -> str:
    """Python's name for a declared MIME charset; "" when unknown or not a text encoding."""
    name = (charset or "").strip().strip("\"'").lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name) if name else None
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return ""
    return info.name if info is not None and info._is_text_encoding else ""


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset to text; an unknown or lying charset falls back, never raises."""
    declared = codec_name(charset)
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeError, ValueError):
            pass
    return _guess(data, declared)


def _guess(data: bytes, declared: str) -> str:
    """UTF-8 when it is (mostly) UTF-8, else the declared charset, else Windows-1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared and declared not in ("utf-8", "ascii", "cp1252"):
        return data.decode(declared, errors="replace")
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _mostly_utf8(data: bytes) -> bool:
    """A few broken sequences in real UTF-8 (a truncated name), not Latin-1 read as UTF-8."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    bad = data.decode("utf-8", errors="replace").count("\ufffd")
    return bad * 8 < high


def unescape_header(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; read them as text."""
    if _SURROGATE.search(value) is None:
        return value
    return decode_bytes(value.encode("ascii", "surrogateescape"), None)


class _Policy(Compat32):
    """compat32, but a header with raw 8-bit bytes reads as text, not as a U+FFFD ``Header``."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return unescape_header(str(value))


POLICY = _Policy()


def decode_header_value(value: object) -> str:
    """A header's text: RFC 2047 encoded words decoded (adjacent ones joined), whitespace folded."""
    if value is None:
        return ""
    return clean_header(decode_words(unescape_header(str(value))))


def decode_words(text: str) -> str:
    """Decode every encoded word; adjacent words in one charset are joined before decoding, so
    a character split across two words survives. A malformed word is kept as it came."""
    out: list[str] = []
    run: list[tuple[str, bytes]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        data = _word_bytes(match.group(2), match.group(3))
        if data is None or not run or gap.strip():
            out.append(_decode_run(run) + gap)
            run = []
        if data is None:
            out.append(match.group())
        else:
            run.append((match.group(1).split("*")[0], data))
        position = match.end()
    out.append(_decode_run(run) + text[position:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    data = text.encode("ascii", errors="replace")
    try:
        if encoding in "bB":
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def _decode_run(run: list[tuple[str, bytes]]) -> str:
    """Adjacent encoded words: those in one charset decoded together."""
    groups = groupby(run, key=lambda word: word[0].lower())
    return "".join(decode_bytes(b"".join(w[1] for w in words), name) for name, words in groups)


def clean_header(text: str) -> str:
    return " ".join(text.replace("\x00", "").split())

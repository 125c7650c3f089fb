"""Payment card numbers and IBANs masked in everything derived from what people send.

A card is a run of 13 to 19 digits (spaces or dashes between them) that passes the Luhn check;
an IBAN is a country code, two check digits and as many letters and digits as that country's
IBANs have (spaces between them), whose mod-97 check passes. Both keep only what a person needs
to tell one from another: the last four characters, and an IBAN its country. The checks are
what keep order, invoice and tracking numbers as they were. The raw mail is never masked: it is
kept as it came, for audit.
"""

from __future__ import annotations

import re
from dataclasses import replace

from helpdesk.domain.mail.message import Address, Attachment, ParsedMail

# Starts with \d (no look-behind) so the regex engine can skip ahead to digits: five times
# faster on long text; the boundary checks are done in ``_mask_card``.
_CARD = re.compile(r"\d(?:[ -]?\d){12,18}")
_IBAN_START = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]{2})\d\d")
# Each country's IBAN length, from SWIFT's IBAN registry.
_IBAN_COUNTRIES = """
15 NO
16 BE
18 DK FI FK FO GL NL SD
19 MK SI
20 AT BA EE KZ LT LU MN XK
21 CH HR LI LV
22 BG BH CR DE GB GE IE ME RS VA
23 AE GI IL IQ OM SO TL
24 AD CZ ES MD PK RO SA SE SK TN VG
25 LY PT ST
26 IS TR
27 BI DJ FR GR IT MC MR SM
28 AL AZ BY CY DO GT HN HU LB NI PL SV
29 BR EG PS QA UA
30 JO KW MU YE
31 MT SC
32 LC
33 RU
"""
IBAN_LENGTHS = {
    country: int(length)
    for length, *countries in (line.split() for line in _IBAN_COUNTRIES.strip().splitlines())
    for country in countries
}
# An IBAN of each length as written: single spaces may part its characters, and a letter or
# digit right after it makes it something else.
_IBAN_SHAPES = {
    country: re.compile(rf"[A-Za-z]{{2}}\d\d(?: ?[0-9A-Za-z]){{{length - 4}}}(?![0-9A-Za-z])")
    for country, length in IBAN_LENGTHS.items()
}


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616's check: the first four characters moved to the end, letters read as 10 to 35,
    the number modulo 97 is 1; and the length is the country's."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isascii() or not iban.isalnum():
        return False
    return int("".join(str(int(char, 36)) for char in iban[4:] + iban[:4])) % 97 == 1


def mask_cards(text: str) -> str:
    """Mask digit runs that pass the Luhn check, keeping the last four digits. A run that
    touches other digits, a dash or an ``@`` is part of something longer (an address's local
    part is kept: it is where mail goes)."""

    def _mask_card(match: re.Match[str]) -> str:
        start, end = match.span()
        inside_longer_run = (start and text[start - 1] in "0123456789-") or (
            end < len(text) and (text[end].isdigit() or text[end] in "-@")
        )
        digits = re.sub(r"\D", "", match.group())
        if inside_longer_run or not luhn_valid(digits):
            return match.group()
        return "*" * (len(digits) - 4) + digits[-4:]

    return _CARD.sub(_mask_card, text)


def mask_ibans(text: str) -> str:
    """Mask IBANs whose check passes, written whole or in groups: ``DE****************3000``."""
    out, done, position = [], 0, 0
    while (start := _IBAN_START.search(text, position)) is not None:
        shape = _IBAN_SHAPES.get(start.group(1).upper())
        found = shape.match(text, start.start()) if shape else None
        iban = found.group().replace(" ", "") if found else ""
        if found is None or not iban_valid(iban):
            position = start.start() + 1
            continue
        out += [text[done : found.start()], iban[:2].upper(), "*" * (len(iban) - 6), iban[-4:]]
        done = position = found.end()
    return "".join(out) + text[done:]


def mask(text: str) -> str:
    """Cards and IBANs masked (IBANs first: a short one's digits could pass for a card)."""
    return mask_cards(mask_ibans(text))


def _address(address: Address) -> Address:
    return replace(address, name=mask(address.name)) if address.name else address


def mask_mail(mail: ParsedMail) -> ParsedMail:
    """The mail with every text a person wrote masked: subject, text, names, attachment names
    and a bounce's report. Message-IDs, addresses and headers are the mail's machinery (threading
    and classification read them) and stay as they are."""
    return replace(
        mail,
        subject=mask(mail.subject),
        text=mask(mail.text),
        report=mask(mail.report),
        sender=_address(mail.sender) if mail.sender else None,
        to=tuple(_address(a) for a in mail.to),
        cc=tuple(_address(a) for a in mail.cc),
        attachments=tuple(_attachment(a) for a in mail.attachments),
    )


def _attachment(attachment: Attachment) -> Attachment:
    name = mask(attachment.filename)  # replace() would hash the content again: only if it must
    return attachment if name == attachment.filename else replace(attachment, filename=name)

# ruff: noqa: RUF001 - the forms are written in the scripts and with the colons clients use
"""The line a mail client writes above a quoted mail ("On <date>, <name> wrote:"), in the
languages customers write in, as Gmail, Outlook, Apple Mail and Thunderbird write it.

Each form is a few plain string tests on the line with its spaces squeezed (no backtracking on
a long line): how it starts, how it ends (before its colon, ASCII or full-width), or a word it
holds. Beyond English, a form needs a digit (the date): "Am ...", "Le ...", "El ..." open
ordinary sentences too; a form without a first word needs a time or a date in figures. Some
clients write no verb at all (Gmail in Russian and Japanese: "<date> <time>, Jane <jane@x>:",
mail.ru, Yandex): such a line counts only with an address in it and a quote right below it
(``dated_address``, which the caller asks with the next line).

Outlook writes no such line but a block of header fields ("From:/Sent:/To:/Subject:"); their
names in each language are ``OUTLOOK_FIELDS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIME = re.compile(r"\d[:：.h]\d\d")  # 10:00, 10h00, 23.11: bounded, no nested quantifier
MAX_LINE = 500  # longer is no attribution line, even folded


@dataclass(frozen=True)
class Form:
    """An attribution line: it starts with one of ``starts`` (any start when empty) and ends
    (before its colon) with one of ``ends``, or holds one of ``holds``."""

    language: str
    starts: tuple[str, ...]
    ends: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()


FORMS = (
    Form("en", ("on ",), ("wrote",)),
    Form("de", ("am ",), holds=(" schrieb ",)),
    Form("fr", ("le ",), (" a écrit", " a ecrit")),
    Form("es", ("el ",), (" escribió", " escribio")),
    Form("pt", ("em ",), (" escreveu",)),
    Form("pt", (), holds=(" escreveu no dia ",)),  # Gmail in Portugal: "Jane escreveu no dia …:"
    Form("nl", ("op ",), (" het volgende geschreven",), (" schreef ",)),
    Form("it", ("il ",), (" ha scritto",)),
    Form("pl", ("wiadomość napisana przez ",), holds=(" w dniu ",)),  # Apple Mail
    Form("pl", (), (" napisał(a)", " napisał", " napisała", " pisze")),
    Form("ru", (), (" написал(а)", " написал", " написала", " пишет")),
    Form("ja", (), ("のメール", "書きました")),
    Form("zh", (), ("写道", "寫道")),
)

OUTLOOK_FIELDS = (
    "From|Sent|To|Subject|Date|Cc"
    "|Von|Gesendet|An|Betreff|Datum"
    "|De|Envoyé|À|Objet"
    "|Enviado|Para|Asunto|Fecha"
    "|Enviada|Assunto|Data"
    "|Van|Verzonden|Aan|Onderwerp"
    "|Da|Inviato|A|Oggetto"
    "|Od|Wysłane|Wysłano|Do|Temat|DW"
    "|От|Отправлено|Кому|Тема|Дата|Копия"
    "|差出人|送信日時|宛先|件名|日付"
    "|发件人|发送时间|收件人|主题|日期|抄送|寄件者|寄件日期|收件者|主旨"
)

# "Sent from my iPhone" as phones write it, before the device's name; and where no space parts
# the words (Japanese, Chinese), the whole line.
PHONE_SENT = (
    "Sent from my|Von meinem|Envoyé de mon|Enviado desde mi|Enviado do meu|Verstuurd vanaf mijn"
    "|Inviato da|Wysłane z|Отправлено с"
)
PHONE_SENT_ALONE = r"(?:iPhone|iPad|Android)から送信|(?:发自我的|从我的) ?\w+(?:发送)?"


def _squeezed(line: str) -> str:
    return " ".join(line.split())


def _head(line: str) -> str | None:
    """The line without its closing colon, squeezed; None when it ends otherwise."""
    text = _squeezed(line[: MAX_LINE * 2])
    if len(text) > MAX_LINE or not text.endswith((":", "：")):
        return None
    return text[:-1].rstrip()


def _matches(form: Form, text: str) -> bool:
    if form.starts and not text.startswith(form.starts):
        return False
    if form.language != "en" and not any(char.isdigit() for char in text):
        return False
    if not form.starts and _TIME.search(text) is None:
        return False
    return (bool(form.ends) and text.endswith(form.ends)) or any(w in text for w in form.holds)


def is_attribution(line: str) -> bool:
    """An attribution line in one of ``FORMS``."""
    head = _head(line)
    if head is None or head.startswith(">"):
        return False
    text = head.lower()
    return any(_matches(form, text) for form in FORMS)


def dated_address(line: str, below: str) -> bool:
    """A line of a date, a time and an address, closing with a colon, right above a quote
    (``below`` is the next line with words): the attribution line of clients that write no
    verb."""
    head = _head(line)
    if head is None or head.startswith(">") or not below.lstrip().startswith(">"):
        return False
    return "@" in head and _TIME.search(head) is not None

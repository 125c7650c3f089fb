# ruff: noqa: RUF001 - the replies are written in the scripts and with the colons clients use
"""The new words of a mail: quotes and signatures stripped, forwards kept."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from helpdesk.domain.mail.clean import (
    WHOLE_NOTE,
    content_hash,
    is_forward,
    kept_whole,
    new_text,
    normalized_subject,
    split_forward,
)
from helpdesk.domain.mail.message import ParsedMail

# --- quotes and signatures ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Thanks, that fixed it.\n\nOn Mon, 3 Feb 2020 at 10:00, Support <s@x.test> wrote:\n"
            "> Please restart the printer.\n> Kind regards",
            "Thanks, that fixed it.",
        ),
        (  # the header folded over three lines, as Apple Mail and Gmail write it
            "Works now.\n\nOn Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@reply.github.com>"
            "\nwrote:\n\n> Was this caching related?",
            "Works now.",
        ),
        ("Here is another email\n\nSent from my iPhone", "Here is another email"),
        ("Quick note\n\nSent from my Verizon Wireless BlackBerry\n", "Quick note"),
        ("Regards below\n\n-- \nRick\nACME Corp, +1 555 0100", "Regards below"),
        ("Hi\n\n-Abhishek Kona\n", "Hi"),
        (
            "Outlook with a reply\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\n"
            "Old text",
            "Outlook with a reply",
        ),
        (
            "Outlook above the line\n________________________________\nFrom: Support\nOld text",
            "Outlook above the line",
        ),
    ],
)
def test_quotes_and_signatures_are_stripped(text: str, kept: str) -> None:
    assert new_text(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
        "And here is a fix -- this is not a signature.\n\nkthxbai",
        "One: here is what I have.\n\n- first bullet\n- second bullet",
        "Our office is in Room 4.\nOnce done, tell me.",
    ],
)
def test_own_words_are_kept(text: str) -> None:
    assert new_text(text) == text


def test_quoted_header_with_a_backslash_does_not_raise() -> None:
    """email_reply_parser used the header as a regex replacement template: bad escape \\U."""
    text = "Done.\n\nOn Tue, Bob <C:\\Users\\bob> wrote:\n> hello\n"
    assert new_text(text) == "Done."


def test_many_on_words_without_a_quote_are_left_alone() -> None:
    """The library's "On ... wrote:" regex backtracks cubically here; the line scan does not."""
    text = "On " * 3000
    assert new_text(text) == text.strip()


# --- forwards -------------------------------------------------------------------------------

GMAIL_FORWARD = (
    "Can you look at this?\n\n---------- Forwarded message ---------\nFrom: Bob <bob@x.test>\n"
    "Subject: Invoice\n\nThe invoice is wrong.\n\n-- \nBob"
)


def test_a_forwarded_mail_is_content() -> None:
    assert new_text(GMAIL_FORWARD) == GMAIL_FORWARD


def test_a_forward_without_own_words() -> None:
    text = "\n\n-------- Forwarded Message --------\nSubject: X\nFrom: Bob <b@x.test>\n\nBody\n"
    assert new_text(text) == text.strip()


def test_apple_mail_forward() -> None:
    text = "FYI\n\nBegin forwarded message:\n\nFrom: Bob <b@x.test>\nSubject: X\n\nBody"
    assert split_forward(text) == (
        "FYI\n",
        "Begin forwarded message:\n\nFrom: Bob <b@x.test>\nSubject: X\n\nBody",
    )


def test_a_forward_marker_below_the_quote_is_history() -> None:
    text = "Thanks!\n\nOn Mon, Bob wrote:\n> ---------- Forwarded message ---------\n> old"
    assert new_text(text) == "Thanks!"


def test_outlook_original_message_is_a_forward_only_when_the_subject_says_so() -> None:
    text = "See below.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\n\nThe printer"
    assert new_text(text) == "See below."
    assert new_text(text, forwarded=True) == text
    assert is_forward("Fwd: printer") and is_forward("FW: printer") and is_forward("[Fwd: x]")
    assert not is_forward("Re: printer") and not is_forward("Forward planning")


# --- subjects ---------------------------------------------------------------------------


def test_normalized_subject_and_content_hash() -> None:
    assert normalized_subject("RE: Aw: Fwd[2]: Printer") == "Printer"
    assert content_hash("Re: Printer", "on  fire") == content_hash("printer", "on fire")
    assert content_hash("Printer", "on fire") != content_hash("Printer", "off")


# --- attribution lines and Outlook headers in many languages --------------------------------


@dataclass(frozen=True)
class Reply:
    """A reply as a client writes it: the customer's words, the client's attribution line
    (or Outlook's header block) and the quoted mail (quoted with "> " unless Outlook's)."""

    language: str
    client: str
    own: str
    header: str
    old: str

    @property
    def name(self) -> str:
        return f"{self.language}-{self.client.lower().replace(' ', '-')}"

    @property
    def text(self) -> str:
        if self.client.startswith("Outlook"):
            return f"{self.own}\n\n________________________________\n{self.header}\n\n{self.old}\n"
        quoted = "\n".join(f"> {line}" if line else ">" for line in self.old.split("\n"))
        return f"{self.own}\n\n{self.header}\n\n{quoted}\n"


def _replies(language: str, own: str, old: str, *headers: tuple[str, str]) -> list[Reply]:
    return [Reply(language, client, own, header, old) for client, header in headers]


JANE = "Jane Support <support@example.com>"
BOB = "Bob <bob@customer.test>"
REPLIES = [
    *_replies(
        "en",
        "Thanks, the printer works again.\nTicket 4711 can be closed.",
        "Please restart the printer.\n\nJane",
        ("Gmail", f"On Mon, Nov 23, 2026 at 10:00 AM {JANE} wrote:"),
        ("Apple Mail", f"On 23 Nov 2026, at 10:00, {JANE} wrote:"),
        ("Thunderbird", "On 23/11/2026 10:00, Jane Support wrote:"),
        (
            "Outlook",
            f"From: {JANE}\nSent: Monday, November 23, 2026 10:00 AM\nTo: {BOB}\n"
            "Subject: RE: Printer error",
        ),
    ),
    *_replies(
        "de",
        "Danke, der Drucker geht wieder.\nDas Ticket kann geschlossen werden.",
        "Bitte starten Sie den Drucker neu.\n\nJane",
        ("Gmail", f"Am Mo., 23. Nov. 2026 um 10:00 Uhr schrieb {JANE}:"),
        ("Apple Mail", f"Am 23.11.2026 um 10:00 schrieb {JANE}:"),
        ("Thunderbird", "Am 23.11.26 um 10:00 schrieb Jane Support:"),
        (
            "Outlook",
            f"Von: {JANE}\nGesendet: Montag, 23. November 2026 10:00\nAn: {BOB}\n"
            "Betreff: AW: Druckerfehler",
        ),
    ),
    *_replies(
        "fr",
        "Merci, l'imprimante fonctionne.\nLe ticket peut être fermé.",
        "Veuillez redémarrer l'imprimante.\n\nJane",
        ("Gmail", f"Le lun. 23 nov. 2026 à 10:00, {JANE} a écrit :"),
        ("Apple Mail", f"Le 23 nov. 2026 à 10:00, {JANE} a écrit :"),
        ("Thunderbird", "Le 23/11/2026 à 10:00, Jane Support a écrit :"),
        (
            "Outlook",
            f"De : {JANE}\nEnvoyé : lundi 23 novembre 2026 10:00\nÀ : {BOB}\n"
            "Objet : RE: Erreur d'imprimante",
        ),
    ),
    *_replies(
        "es",
        "Gracias, la impresora ya funciona.\nPueden cerrar el ticket.",
        "Reinicie la impresora, por favor.\n\nJane",
        (
            "Gmail",
            "El lun, 23 nov 2026 a las 10:00, Jane Support (<support@example.com>) escribió:",
        ),
        ("Apple Mail", f"El 23 nov 2026, a las 10:00, {JANE} escribió:"),
        ("Thunderbird", "El 23/11/26 a las 10:00, Jane Support escribió:"),
        (
            "Outlook",
            f"De: {JANE}\nEnviado: lunes, 23 de noviembre de 2026 10:00\nPara: {BOB}\n"
            "Asunto: RE: Error de impresora",
        ),
    ),
    *_replies(
        "pt",
        "Obrigado, a impressora voltou a funcionar.\nPodem fechar o ticket.",
        "Reinicie a impressora, por favor.\n\nJane",
        ("Gmail", f"Em seg., 23 de nov. de 2026 às 10:00, {JANE} escreveu:"),
        ("Gmail Portugal", f"{JANE} escreveu no dia segunda, 23/11/2026 à(s) 10:00:"),
        ("Apple Mail", f"Em 23 de nov. de 2026, à(s) 10:00, {JANE} escreveu:"),
        ("Thunderbird", "Em 23/11/2026 10:00, Jane Support escreveu:"),
        (
            "Outlook",
            f"De: {JANE}\nEnviado: segunda-feira, 23 de novembro de 2026 10:00\nPara: {BOB}\n"
            "Assunto: RE: Erro na impressora",
        ),
    ),
    *_replies(
        "nl",
        "Bedankt, de printer werkt weer.\nHet ticket mag dicht.",
        "Start de printer opnieuw op.\n\nJane",
        ("Gmail", f"Op ma 23 nov 2026 om 10:00 schreef {JANE}:"),
        ("Apple Mail", f"Op 23 nov. 2026, om 10:00 heeft {JANE} het volgende geschreven:"),
        ("Thunderbird", "Op 23-11-2026 om 10:00 schreef Jane Support:"),
        (
            "Outlook",
            f"Van: {JANE}\nVerzonden: maandag 23 november 2026 10:00\nAan: {BOB}\n"
            "Onderwerp: RE: Printerfout",
        ),
    ),
    *_replies(
        "it",
        "Grazie, la stampante funziona di nuovo.\nPotete chiudere il ticket.",
        "Riavvii la stampante, per favore.\n\nJane",
        ("Gmail", f"Il giorno lun 23 nov 2026 alle ore 10:00 {JANE} ha scritto:"),
        ("Apple Mail", f"Il giorno 23 nov 2026, alle ore 10:00, {JANE} ha scritto:"),
        ("Thunderbird", "Il 23/11/2026 10:00, Jane Support ha scritto:"),
        (
            "Outlook",
            f"Da: {JANE}\nInviato: lunedì 23 novembre 2026 10:00\nA: {BOB}\n"
            "Oggetto: R: Errore stampante",
        ),
    ),
    *_replies(
        "pl",
        "Dziękuję, drukarka znowu działa.\nMożna zamknąć zgłoszenie.",
        "Proszę ponownie uruchomić drukarkę.\n\nJane",
        ("Gmail", f"pon., 23 lis 2026 o 10:00 {JANE} napisał(a):"),
        ("Apple Mail", f"Wiadomość napisana przez {JANE} w dniu 23.11.2026, o godz. 10:00:"),
        ("Thunderbird", "W dniu 23.11.2026 o 10:00, Jane Support pisze:"),
        (
            "Outlook",
            f"Od: {JANE}\nWysłane: poniedziałek, 23 listopada 2026 10:00\nDo: {BOB}\n"
            "Temat: RE: Błąd drukarki",
        ),
    ),
    *_replies(
        "ru",
        "Спасибо, принтер снова работает.\nЗаявку можно закрыть.",
        "Перезапустите принтер, пожалуйста.\n\nJane",
        ("Gmail", f"пн, 23 нояб. 2026 г. в 10:00, {JANE}:"),
        ("Apple Mail", f"23 нояб. 2026 г., в 10:00, {JANE} написал(а):"),
        ("Thunderbird", "23.11.2026 10:00, Jane Support пишет:"),
        (
            "Outlook",
            f"От: {JANE}\nОтправлено: 23 ноября 2026 г. 10:00\nКому: {BOB}\n"
            "Тема: RE: Ошибка принтера",
        ),
    ),
    *_replies(
        "ja",
        "ありがとうございます。プリンターが直りました。\nチケットを閉じてください。",
        "プリンターを再起動してください。\n\nJane",
        ("Gmail", f"2026年11月23日(月) 10:00 {JANE}:"),
        ("Apple Mail", f"2026/11/23 10:00、{JANE}のメール:"),
        ("Thunderbird", "2026/11/23 10:00 に Jane Support さんは書きました:"),
        (
            "Outlook",
            f"差出人: {JANE}\n送信日時: 2026年11月23日 10:00\n宛先: {BOB}\n"
            "件名: RE: プリンターのエラー",
        ),
    ),
    *_replies(
        "zh",
        "谢谢，打印机又能用了。\n可以关闭工单了。",
        "请重新启动打印机。\n\nJane",
        ("Gmail", f"{JANE} 于2026年11月23日周一 10:00写道："),
        ("Apple Mail", f"2026年11月23日 10:00，{JANE} 写道："),
        ("Thunderbird", "在 2026/11/23 10:00, Jane Support 写道:"),
        (
            "Outlook",
            f"发件人: {JANE}\n发送时间: 2026年11月23日 10:00\n收件人: {BOB}\n"
            "主题: 回复: 打印机错误",
        ),
    ),
]


@pytest.mark.parametrize("reply", REPLIES, ids=[reply.name for reply in REPLIES])
def test_a_reply_in_each_language_keeps_only_its_own_words(reply: Reply) -> None:
    assert new_text(reply.text) == reply.own


@pytest.mark.parametrize("reply", REPLIES[::4], ids=[reply.name for reply in REPLIES[::4]])
def test_a_gmail_attribution_folded_over_two_lines(reply: Reply) -> None:
    """Gmail wraps a long attribution line in plain text, inside the address."""
    header = reply.header.replace("<support@", "<\nsupport@", 1)
    assert "\n" in header
    folded = Reply(reply.language, reply.client, reply.own, header, reply.old)
    assert new_text(folded.text) == reply.own


@pytest.mark.parametrize(
    "signature",
    [
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Verstuurd vanaf mijn iPhone",
        "Inviato da iPhone",
        "Wysłane z iPhone'a",
        "Отправлено с iPhone",
        "iPhoneから送信",
        "发自我的iPhone",
    ],
)
def test_sent_from_my_phone_in_each_language_is_a_signature(signature: str) -> None:
    assert new_text(f"Danke, es geht wieder.\n\n{signature}\n") == "Danke, es geht wieder."


def test_chinese_outlook_with_full_width_colons() -> None:
    text = (
        "谢谢，打印机又能用了。\n\n发件人：Jane Support <support@example.com>\n"
        "发送时间：2026年11月23日 10:00\n收件人：Bob\n主题：回复：打印机错误\n\n请重新启动打印机。"
    )
    assert new_text(text) == "谢谢，打印机又能用了。"


@pytest.mark.parametrize(
    "text",
    [
        "Am Montag schrieb ich Ihnen schon:\n- der Drucker piept\n- das Display ist dunkel",
        "El 23 de noviembre cambiamos el tóner y escribió el técnico:\nTodo bien.",
        "Мой коллега пишет:\nпринтер не печатает.",
        "The meeting on 23.11.2026 at 10:00 with bob@customer.test:\nagenda below.",
        "Gracias.\n\nDe: mi casa\nHola",  # one field alone is no Outlook header
    ],
)
def test_sentences_that_look_like_attributions_are_kept(text: str) -> None:
    assert new_text(text) == text


# --- hazards: nothing backtracks on long input ----------------------------------------------


def test_a_100_kb_line_is_kept_whole() -> None:
    line = "Am 23.11.2026 um 10:00 schrieb " + "x@y.z 10:00 " * 8_500 + ":"
    assert len(line) > 100_000
    assert new_text(line) == line
    assert new_text("A" * 100_000) == "A" * 100_000


def test_6_kb_of_on_words_before_a_quote() -> None:
    """Too long for an attribution line (``attribution.MAX_LINE``): the quote alone goes."""
    line = "On " * 2_000 + "wrote:"
    assert new_text(f"Thanks.\n\n{line}\n> old") == f"Thanks.\n\n{line}"


def test_many_dated_address_lines_without_a_quote_stay() -> None:
    text = "\n".join(["23.11.2026 10:00, Jane <j@x.test>:"] * 2_000)
    assert new_text(text) == text


# --- a reply that is only a quote -----------------------------------------------------------


def _mail(text: str) -> ParsedMail:
    return ParsedMail("", "Re: Printer", None, (), (), (), (), None, "text/plain", text, False, ())


def test_an_all_quoted_reply_is_kept_whole_with_a_note() -> None:
    text = "On Mon, Nov 23, 2026 at 10:00 AM Jane wrote:\n> Please restart it.\n>> Older words\n"
    assert new_text(text) == ""
    kept = kept_whole(_mail(text), text)
    assert kept.body == (
        f"{WHOLE_NOTE}\n\nOn Mon, Nov 23, 2026 at 10:00 AM Jane wrote:\nPlease restart it.\n"
        "Older words"
    )
    assert kept.content_hash == content_hash("Re: Printer", kept.body)


def test_a_100_kb_quote_line_is_unquoted_whole() -> None:
    line = "> " + "> >" * 30_000 + " x" * 5_000
    assert len(line) > 100_000
    assert kept_whole(_mail(line), line).body == f"{WHOLE_NOTE}\n\n" + ("x " * 5_000).strip()

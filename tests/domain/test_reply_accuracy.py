# ruff: noqa: RUF001 - the replies are written in the scripts real mail uses
"""How well the new words of a reply are told from its quoted history and signature, measured.

Every reply in the corpora (email_reply_parser's plain bodies, talon's HTML replies from Gmail,
Hotmail, Outlook 2003/2007/2010, Thunderbird, Windows Mail, mail.ru and Yandex, and talon's three
other reply fixtures) plus hand-written replies in the shapes Apple Mail, Gmail, Outlook and
Thunderbird write, in English, German and French, is labelled by hand: phrases of the new text
that must be kept, and phrases of the quote or signature that must be gone. A case scores when
all of both hold. Plain bodies go to ``new_text`` as they are; HTML goes the real way, as an
HTML-only mail through ``parse`` (blockquotes become "> " lines) and then ``new_text``. talon's
signature samples are not replies (no quote; their signatures have no delimiter and need talon's
sender-aware classifier) and are not scored.

The replies of ``test_clean.REPLIES`` (eleven languages, each as Gmail, Apple Mail, Thunderbird
and Outlook write it) and two HTML replies in Russian and Chinese are scored too.

The accuracy and the cases missed are printed; the accuracy must not fall below ``THRESHOLD``.
When this test was written the extractor read 46 of the 57 corpus and hand cases (80.7%); then,
with German and French rules, 54 (94.7%: the Russian headers of mail.ru, Yandex and Windows Mail
were missed). With the languages of ``helpdesk.domain.mail.attribution`` it reads all 104 cases
(the 57, and the 47 in eleven languages), so the threshold is all of them. Measured on the same
cases as candidates to replace it: mail-parser-reply 1.36 (every language it has) 45 of the
57 (78.9%) and 68 of 104 (65.4%); quotequail 0.5.4, which finds the quote but no signature, 27
of 57 (47.4%) and 57 of 104 (54.8%). mail-parser-reply's "On ... wrote:" regex also backtracks:
1.2 s on an 8 KB line opening with "On " and four times that for each doubling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage

import pytest

from helpdesk.domain.mail.clean import new_text
from helpdesk.domain.mail.parse import parse
from tests.domain.test_clean import REPLIES
from tests.helpers import CORPORA

THRESHOLD = 1.0
HAND = "hand/"  # the name prefix of a hand-written case (its text is ``body``, not a file)
HTML_PART = "#html"  # a name suffix: the text/html alternative of a corpus .eml, on its own
# Corpus files that are not scored, and why.
UNSCORED = {
    "email_reply_parser/email_long_quote.txt": "a ReDoS timing fixture: upstream expects "
    "only that it finishes, and its >>> lines make any expected text arbitrary",
}


@dataclass(frozen=True)
class Case:
    """One labelled reply. ``name`` is a path under CORPORA, or ``hand/...`` with ``body``."""

    name: str
    client: str
    must_keep: tuple[str, ...]
    must_drop: tuple[str, ...]
    body: str = ""
    html: bool = False


def erp(name: str, keep: tuple[str, ...], drop: tuple[str, ...] = (), client: str = "") -> Case:
    return Case(f"email_reply_parser/{name}", client or "various (plain)", keep, drop)


# talon's HTML replies all answer "Hello! How are you? Thanks, Sasha." with
# "Hi. I am fine. Thanks, Alex"; what differs is the client's quote header. The sign-off is
# neither required nor forbidden: a parser may take "Thanks, Alex" for a signature.
TALON_KEEP = ("Hi. I am fine.",)
TALON_QUOTE = ("Hello! How are you?", "Sasha.")


def talon(name: str, client: str, *header: str, quote: tuple[str, ...] = TALON_QUOTE) -> Case:
    return Case(f"talon/html_replies/{name}", client, TALON_KEEP, quote + header, html=True)


def hand(name: str, client: str, body: str, keep: tuple[str, ...], drop: tuple[str, ...]) -> Case:
    return Case(HAND + name, client, keep, drop, body=body, html=name.endswith("-html"))


# --- hand-written replies -------------------------------------------------------------------

OWN = ("Thanks, the printer works again.", "Ticket 4711 can be closed.")
OWN_TEXT = "Thanks, the printer works again.\nTicket 4711 can be closed.\n\nBob\n"
OWN_HTML = "<div>Thanks, the printer works again.</div><div>Ticket 4711 can be closed.</div>"
OLD = ("Please restart the printer", "Jane Support")
OLD_TEXT = "Please restart the printer and tell us whether the error persists.\n\nJane\n"
OLD_HTML = "<div>Please restart the printer and tell us whether the error persists.</div>"
QUOTED_OLD = "".join(f"> {line}\n" if line else ">\n" for line in OLD_TEXT.splitlines())
OUTLOOK_HEADERS = (
    "From: Jane Support <support@example.com>\nSent: Monday, November 23, 2026 10:00 AM\n"
    "To: Bob Customer <bob@customer.test>\nSubject: RE: Printer error\n\n"
)
DE_OWN = ("Danke, der Drucker geht wieder.", "Das Ticket kann geschlossen werden.")
DE_OWN_TEXT = "Danke, der Drucker geht wieder.\nDas Ticket kann geschlossen werden.\n\nBob\n"
DE_OLD = ("Bitte starten Sie den Drucker neu", "Jane Support")
DE_QUOTE = "> Bitte starten Sie den Drucker neu.\n>\n> Jane\n"
FR_OWN = ("Merci, l'imprimante fonctionne.", "Le ticket peut être fermé.")
FR_OWN_TEXT = "Merci, l'imprimante fonctionne.\nLe ticket peut être fermé.\n\nBob\n"
FR_OLD = ("Veuillez redémarrer l'imprimante", "Jane Support")
FR_QUOTE = "> Veuillez redémarrer l'imprimante.\n>\n> Jane\n"


HAND_CASES = [
    hand(
        "apple-ios-plain",
        "Apple Mail (iOS)",
        "Thanks, the printer works again.\nTicket 4711 can be closed.\n\nSent from my iPhone\n\n"
        "> On 23 Nov 2026, at 10:00, Jane Support <support@example.com> wrote:\n>\n" + QUOTED_OLD,
        OWN,
        (*OLD, "Sent from my iPhone"),
    ),
    hand(
        "apple-mac-plain",
        "Apple Mail (macOS)",
        OWN_TEXT
        + "\nOn 23 Nov 2026, at 10:00, Jane Support <support@example.com> wrote:\n\n"
        + QUOTED_OLD,
        OWN,
        OLD,
    ),
    hand(
        "apple-cite-html",
        "Apple Mail (macOS)",
        '<html><body style="overflow-wrap: break-word; -webkit-nbsp-mode: space;">'
        + OWN_HTML
        + '<div><br><blockquote type="cite"><div>On 23 Nov 2026, at 10:00, Jane Support '
        '&lt;support@example.com&gt; wrote:</div><br class="Apple-interchange-newline">'
        + OLD_HTML
        + "<div>Jane</div></blockquote></div><br></body></html>",
        OWN,
        OLD,
    ),
    hand(
        "apple-header-outside-html",
        "Apple Mail (macOS, older)",
        "<html><body>" + OWN_HTML + "<div><br><div>On 23 Nov 2026, at 10:00, Jane Support "
        '&lt;support@example.com&gt; wrote:</div><br class="Apple-interchange-newline">'
        '<blockquote type="cite">' + OLD_HTML + "</blockquote></div></body></html>",
        OWN,
        OLD,
    ),
    hand(
        "gmail-plain",
        "Gmail",
        OWN_TEXT + "\nOn Mon, Nov 23, 2026 at 10:00 AM Jane Support <support@example.com> wrote:"
        "\n\n" + QUOTED_OLD,
        OWN,
        OLD,
    ),
    hand(
        "gmail-wrapped-header-plain",
        "Gmail",
        OWN_TEXT + "\nOn Mon, Nov 23, 2026 at 10:00 AM Jane Support via ACME Helpdesk <\n"
        "support@example.com> wrote:\n\n" + QUOTED_OLD,
        OWN,
        OLD,
    ),
    hand(  # "Thanks," opens the second line: the customer's words, not a sign-off
        "gmail-thanks-plain",
        "Gmail",
        "Hi Jane,\n\nThanks, I restarted the printer as you said.\nIt still shows error 42 after"
        " the restart.\n\nBob\n\nOn Mon, Nov 23, 2026 at 10:00 AM Jane Support <support@example"
        ".com> wrote:\n\n" + QUOTED_OLD,
        ("I restarted the printer as you said.", "It still shows error 42 after the restart."),
        OLD,
    ),
    hand(
        "gmail-html",
        "Gmail",
        '<div dir="ltr">' + OWN_HTML + '</div><br><div class="gmail_quote"><div dir="ltr" '
        'class="gmail_attr">On Mon, Nov 23, 2026 at 10:00 AM Jane Support &lt;<a href="mailto:'
        'support@example.com">support@example.com</a>&gt; wrote:<br></div><blockquote '
        'class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
        'rgb(204,204,204);padding-left:1ex">' + OLD_HTML + "</blockquote></div>",
        OWN,
        OLD,
    ),
    hand(
        "outlook-rule-plain",
        "Outlook (desktop, plain text)",
        OWN_TEXT + "\n________________________________\n" + OUTLOOK_HEADERS + OLD_TEXT,
        OWN,
        OLD,
    ),
    hand(
        "outlook-headers-plain",
        "Outlook (plain text, no rule)",
        OWN_TEXT + "\n" + OUTLOOK_HEADERS + OLD_TEXT,
        OWN,
        OLD,
    ),
    hand(
        "outlook-original-message-plain",
        "Outlook (older, plain text)",
        OWN_TEXT + "\n-----Original Message-----\n" + OUTLOOK_HEADERS + OLD_TEXT,
        OWN,
        OLD,
    ),
    hand(
        "outlook-desktop-html",
        "Outlook (desktop)",
        "<html><body><div class=WordSection1><p class=MsoNormal>Thanks, the printer works again."
        "<o:p></o:p></p><p class=MsoNormal>Ticket 4711 can be closed.<o:p></o:p></p>"
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p><div style='border:none;border-top:solid "
        "#E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in'><p class=MsoNormal><b>From:</b> Jane Support "
        "&lt;support@example.com&gt; <br><b>Sent:</b> Monday, November 23, 2026 10:00 AM<br>"
        "<b>To:</b> Bob Customer &lt;bob@customer.test&gt;<br><b>Subject:</b> RE: Printer error"
        "<o:p></o:p></p></div><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>"
        "Please restart the printer and tell us whether the error persists.<o:p></o:p></p>"
        "</div></body></html>",
        OWN,
        OLD,
    ),
    hand(
        "outlook-365-html",
        "Outlook (365 / outlook.com)",
        '<html><body><div dir="ltr">' + OWN_HTML + '</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" '
        'dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"><b>From:</b> Jane '
        "Support &lt;support@example.com&gt;<br><b>Sent:</b> Monday, November 23, 2026 10:00"
        "<br><b>To:</b> Bob Customer &lt;bob@customer.test&gt;<br><b>Subject:</b> RE: Printer "
        "error</font><div>&nbsp;</div></div>" + OLD_HTML + "</body></html>",
        OWN,
        OLD,
    ),
    hand(
        "thunderbird-plain",
        "Thunderbird",
        OWN_TEXT + "\nOn 23/11/2026 10:00, Jane Support wrote:\n" + QUOTED_OLD,
        OWN,
        OLD,
    ),
    hand(
        "thunderbird-html",
        "Thunderbird",
        "<html><body><p>Thanks, the printer works again.<br>Ticket 4711 can be closed.</p><div "
        'class="moz-cite-prefix">On 23/11/2026 10:00, Jane Support wrote:<br></div><blockquote '
        'type="cite" cite="mid:abc@example.com">' + OLD_HTML + "</blockquote></body></html>",
        OWN,
        OLD,
    ),
    hand(
        "de-gmail-plain",
        "Gmail (German)",
        DE_OWN_TEXT + "\nAm Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Jane Support <"
        "support@example.com>:\n\n" + DE_QUOTE,
        DE_OWN,
        DE_OLD,
    ),
    hand(
        "de-apple-plain",
        "Apple Mail (German)",
        DE_OWN_TEXT
        + "\nAm 23.11.2026 um 10:00 schrieb Jane Support <support@example.com>:\n\n"
        + DE_QUOTE,
        DE_OWN,
        DE_OLD,
    ),
    hand(
        "de-thunderbird-html",
        "Thunderbird (German)",
        "<html><body><p>Danke, der Drucker geht wieder.<br>Das Ticket kann geschlossen werden."
        '</p><div class="moz-cite-prefix">Am 23.11.26 um 10:00 schrieb Jane Support:<br></div>'
        '<blockquote type="cite"><div>Bitte starten Sie den Drucker neu.</div></blockquote>'
        "</body></html>",
        DE_OWN,
        DE_OLD,
    ),
    hand(
        "de-outlook-plain",
        "Outlook (German)",
        DE_OWN_TEXT + "\nVon: Jane Support <support@example.com>\nGesendet: Montag, 23. November"
        " 2026 10:00\nAn: Bob Kunde <bob@customer.test>\nBetreff: AW: Druckerfehler\n\n"
        "Bitte starten Sie den Drucker neu.\n\nJane\n",
        DE_OWN,
        DE_OLD,
    ),
    hand(
        "fr-gmail-plain",
        "Gmail (French)",
        FR_OWN_TEXT + "\nLe lun. 23 nov. 2026 à 10:00, Jane Support <support@example.com> a "
        "écrit :\n\n" + FR_QUOTE,
        FR_OWN,
        FR_OLD,
    ),
    hand(
        "fr-thunderbird-html",
        "Thunderbird (French)",
        "<html><body><p>Merci, l'imprimante fonctionne.<br>Le ticket peut être fermé.</p><div "
        'class="moz-cite-prefix">Le 23/11/2026 à 10:00, Jane Support a écrit&nbsp;:<br></div>'
        '<blockquote type="cite"><div>Veuillez redémarrer l\'imprimante.</div></blockquote>'
        "</body></html>",
        FR_OWN,
        FR_OLD,
    ),
    hand(
        "fr-outlook-plain",
        "Outlook (French)",
        FR_OWN_TEXT + "\nDe : Jane Support <support@example.com>\nEnvoyé : lundi 23 novembre "
        "2026 10:00\nÀ : Bob Client <bob@customer.test>\nObjet : RE: Erreur d'imprimante\n\n"
        "Veuillez redémarrer l'imprimante.\n\nJane\n",
        FR_OWN,
        FR_OLD,
    ),
    hand(
        "fr-apple-html",
        "Apple Mail (French)",
        "<html><body><div>Merci, l'imprimante fonctionne.</div><div>Le ticket peut être fermé."
        '</div><div><br><blockquote type="cite"><div>Le 23 nov. 2026 à 10:00, Jane Support '
        "&lt;support@example.com&gt; a écrit :</div><br><div>Veuillez redémarrer l'imprimante."
        "</div></blockquote></div></body></html>",
        FR_OWN,
        FR_OLD,
    ),
]


# --- the corpora, labelled ------------------------------------------------------------------

CORPUS_CASES = [
    erp("correct_sig.txt", ("this is an email with a correct -- signature.",), ("rick",)),
    erp(
        "email_1_1.txt",  # not a reply: a mailing-list post, "-Name" and the list footer go
        ("Hi folks", "What is the best way to clear a Riak bucket", "using the Java HTTP API."),
        ("Abhishek Kona", "riak-users mailing list"),
    ),
    erp(
        "email_1_2.txt",  # bottom-posted below an inline quote
        (
            "You can list the keys for the bucket and call delete for each.",
            "riakClient.delete(bucket, key);",
            "need to delete them all individually.",
        ),
        ("What is the best way to clear a Riak bucket", "riak-users mailing list"),
    ),
    erp(
        "email_1_3.txt",  # top-posted above "On <date>, Name wrote:"
        ("Oh thanks.", "Having the function would be great."),
        ("Abhishek Kona", "Russell Brown", "You can list the keys", "riak-users mailing list"),
    ),
    erp(
        "email_1_4.txt",
        ("Awesome! I haven't had another problem with it.",),
        ("defunkt", "Loader seems to be working well."),
    ),
    erp(
        "email_1_5.txt",  # not a reply: one fragment, dashes that are list items
        (
            "One: Here's what I've got.",
            "- This is the fourth bullet point",
            "- And another one",
            "It goes on and on for a while.",
        ),
    ),
    erp(
        "email_1_6.txt",  # "On ... wrote:" folded over three lines
        ("I get proper rendering as well.",),
        ("Corey Donohoe", "Was this caching related", "github.com/github/github/issues"),
    ),
    erp(
        "email_1_7.txt",  # CRLF line ends, folded header
        (":+1:",),
        ("Chris Wanstrath", "Steps 0-2 are in prod."),
    ),
    erp(
        "email_1_8.txt",  # inline replies between quoted paragraphs
        ("I will reply under this one", "and under this."),
        (
            "Well, here's some stuff I can write.",
            "Example Dev",
            "going to send you some inline responses.",
            "Hey there, this is my signature",
        ),
    ),
    erp(
        "email_2_1.txt",
        ("Outlook with a reply",),
        ("Google Apps Sync Team", "Dear Google Apps Sync user"),
        "Outlook (plain)",
    ),
    erp(
        "email_2_2.txt",
        ("Outlook with a reply directly above line",),
        ("CRM Comments", "I am replying to a comment."),
        "Outlook (plain)",
    ),
    erp(
        "email_2_3.txt",
        ("Outlook with a reply directly above line",),
        ("CRM Comments", "A new comment has been added"),
        "Outlook (plain)",
    ),
    erp(
        "email_BlackBerry.txt",
        ("Here is another email",),
        ("Sent from my BlackBerry",),
        "BlackBerry",
    ),
    erp(
        "email_bullets.txt",
        (
            "test 2 this should list second",
            "and retain this formatting",
            "- how about bullets - and another",
        ),
        ("Give us an example", "Joe Smith"),
        "Gmail (plain)",
    ),
    erp("email_iPhone.txt", ("Here is another email",), ("Sent from my iPhone",), "iPhone"),
    erp(
        "email_multi_word_sent_from_my_mobile_device.txt",
        ("Here is another email",),
        ("Sent from my Verizon Wireless BlackBerry",),
        "BlackBerry",
    ),
    erp(
        "email_one_is_not_on.txt",  # "One" starts a line: not an "On ... wrote:" header
        (
            "Thank, this is really helpful.",
            "One outstanding question I had:",
            "Locally (on development), when I run...",
        ),
        ("Dave Tapley", "The good news is that I've found"),
        "Apple Mail (plain)",
    ),
    erp(
        "email_sent_from_my_not_signature.txt",
        ("Here is another email", "Sent from my desk, is much easier then my mobile phone."),
    ),
    erp(
        "email_sig_delimiter_in_middle_of_line.txt",
        ("Stuff happened.", "And here is a fix -- this is not a signature.", "kthxbai"),
    ),
    erp(
        "greedy_on.txt",  # lines starting with "On" above the real header
        (
            "On your remote host you can run:",
            "telnet 127.0.0.1 52698",
            "If that fails, the tunnel is not working.",
        ),
        ("George Plymale", "I am having an odd issue"),
        "Apple Mail (plain)",
    ),
    erp(
        "pathological.txt",  # a quote of long lines that made the library's regex backtrack
        ("I think you're onto something.", "get back to a computer."),
        ("John Sullivan", "I think your code is shortening the reference sequence"),
        "Gmail (plain)",
    ),
    talon("gmail.html", "Gmail", "Alexander L", "Jun 26, 2014"),
    talon("hotmail.html", "Hotmail", "Test message", "abc@example.com", "26 Jun 2014"),
    talon("mail_ru.html", "mail.ru", "Alexander L", "26 Jun 2014"),
    talon("ms_outlook_2003.html", "Outlook 2003", "Alexander L", "June 27, 2014"),
    talon("ms_outlook_2007.html", "Outlook 2007", "Alexander L", "July 03, 2014"),
    talon(  # its quote is only the first line
        "ms_outlook_2010.html",
        "Outlook 2010",
        "foo@bar.com",
        "January 01, 2000",
        "Conversation",
        quote=TALON_QUOTE[:1],
    ),
    talon("thunderbird.html", "Thunderbird", "Alexander L", "26.06.2014"),
    talon("windows_mail.html", "Windows Mail", "Alexander L"),
    talon("yandex_ru.html", "Yandex", "Alexander L", "26.06.2014"),
    Case(
        "talon/OLK_SRC_BODY_SECTION.html",
        "Outlook for Mac",
        ("Reply",),
        ("bob@example.com", "Subject: Test"),
        html=True,
    ),
    Case(
        "talon/reply-separated-by-hr.html",
        "Outlook Web (hr rule)",
        ("Hi there Bob",),
        ("bob@example.com", "xxx@comcast.net", "Hello"),
        html=True,
    ),
    Case(
        "talon/reply-quotations-share-block.eml",  # plain and HTML alternatives; plain is read
        "Yahoo Mail",
        ("Hi Katharine.", "look forward to hearing from you soon.", "Joe XXX"),
        ("From: xxx@example.com", "New Booking Inquiry", "xxx@yahoo.com"),
    ),
    Case(
        "talon/reply-quotations-share-block.eml" + HTML_PART,
        "Yahoo Mail",
        ("Hi Katharine.", "look forward to hearing from you soon.", "Jhon Doe"),
        ("New Booking Inquiry", "Your place is the home of bespoke dining", "xxx@yahoo.com"),
        html=True,
    ),
]

# The replies of test_clean in eleven languages (Gmail, Apple Mail, Thunderbird, Outlook), and
# two in HTML, scored as well: their own words kept, the quoted mail and its author gone.
LANGUAGE_CASES = [
    hand(
        f"lang/{reply.name}-plain",
        f"{reply.client} ({reply.language})",
        reply.text,
        tuple(reply.own.split("\n")),
        (reply.old.split("\n")[0], "Jane Support"),
    )
    for reply in REPLIES
] + [
    hand(
        "lang/ru-gmail-html",
        "Gmail (ru)",
        '<div dir="ltr">Спасибо, принтер снова работает.</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">пн, 23 нояб. 2026 г. в 10:00, Jane Support &lt;'
        '<a href="mailto:support@example.com">support@example.com</a>&gt;:<br></div>'
        '<blockquote class="gmail_quote"><div>Перезапустите принтер.</div></blockquote></div>',
        ("Спасибо, принтер снова работает.",),
        ("Перезапустите принтер.", "Jane Support"),
    ),
    hand(
        "lang/zh-outlook-html",
        "Outlook (zh)",
        '<html><body><div dir="ltr">谢谢，打印机又能用了。</div><hr style="display:inline-block;'
        'width:98%"><div id="divRplyFwdMsg" dir="ltr"><b>发件人:</b> Jane Support &lt;'
        "support@example.com&gt;<br><b>发送时间:</b> 2026年11月23日 10:00<br><b>收件人:</b> Bob"
        "<br><b>主题:</b> 回复: 打印机错误</div><div>请重新启动打印机。</div></body></html>",
        ("谢谢，打印机又能用了。",),
        ("请重新启动打印机。", "Jane Support"),
    ),
]

CASES = CORPUS_CASES + HAND_CASES + LANGUAGE_CASES

# --- running a case -------------------------------------------------------------------------


def require_corpora() -> None:
    if not CORPORA.is_dir():
        pytest.fail(f"the corpora are missing: expected them at {CORPORA}")


def html_mail(html: str) -> bytes:
    """An HTML-only mail, as Gmail, Outlook or Apple Mail send a reply without a plain part."""
    message = EmailMessage()
    message["From"] = "Bob Customer <bob@customer.test>"
    message["To"] = "support@example.com"
    message["Subject"] = "Re: Printer error"
    message.set_content(html, subtype="html")
    return message.as_bytes()


def html_of(case: Case) -> str:
    """The HTML of an HTML case, as the client wrote it."""
    assert case.html, case.name
    if case.name.startswith(HAND):
        return case.body
    if case.name.endswith(HTML_PART):
        raw = (CORPORA / case.name.removesuffix(HTML_PART)).read_bytes()
        for part in message_from_bytes(raw).walk():
            payload = part.get_payload(decode=True)
            if part.get_content_type() == "text/html" and isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError(f"{case.name}: no text/html part")
    return (CORPORA / case.name).read_text(encoding="utf-8")


def input_text(case: Case) -> str:
    """What ``new_text`` is given: the plain body, or the text ``parse`` makes of the mail."""
    if case.html:
        return parse(html_mail(html_of(case))).text
    if case.name.startswith(HAND):
        return case.body
    path = CORPORA / case.name
    if path.suffix == ".eml":
        return parse(path.read_bytes()).text
    return path.read_bytes().decode("utf-8")


def squeezed(text: str) -> str:
    return " ".join(text.split())


def problems(case: Case, extracted: str) -> list[str]:
    """Why ``extracted`` is not the new text of ``case``; empty when it is."""
    text = squeezed(extracted)
    lost = [f"lost {p!r}" for p in case.must_keep if squeezed(p) not in text]
    return lost + [f"kept {p!r}" for p in case.must_drop if squeezed(p) in text]


def accuracy(extract: Callable[[Case], str], cases: list[Case]) -> tuple[int, dict[str, str]]:
    """How many cases ``extract`` gets right, and why each of the others is wrong."""
    misses = {}
    for case in cases:
        found = problems(case, extract(case))
        if found:
            misses[case.name] = "; ".join(found)
    return len(cases) - len(misses), misses


def ours(case: Case) -> str:
    return new_text(input_text(case))


def share(right: int, total: int) -> str:
    return f"{100 * right / total:.1f}% ({right}/{total})"


# --- the tests ------------------------------------------------------------------------------


def test_every_corpus_reply_is_labelled() -> None:
    require_corpora()
    replies = [
        *(CORPORA / "email_reply_parser").glob("*.txt"),
        *(CORPORA / "talon" / "html_replies").glob("*.html"),
        *(CORPORA / "talon").glob("reply-*"),
        *(CORPORA / "talon").glob("OLK_*"),
    ]
    on_disk = {path.relative_to(CORPORA).as_posix() for path in replies}
    labelled = {case.name.removesuffix(HTML_PART) for case in CORPUS_CASES}
    assert on_disk - set(UNSCORED) == labelled
    assert len({case.name for case in CASES}) == len(CASES), "a case name is used twice"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_labels_are_phrases_of_the_reply(case: Case) -> None:
    """A label that is not in the input would score for free (drop) or never (keep)."""
    require_corpora()
    text = squeezed(input_text(case))
    assert case.must_keep, "a case needs something to keep"
    for phrase in case.must_keep + case.must_drop:
        assert squeezed(phrase) in text, phrase


def test_reply_extraction_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    require_corpora()
    right, misses = accuracy(ours, CASES)
    plain = [case for case in CASES if not case.html]
    html = [case for case in CASES if case.html]
    with capsys.disabled():
        print(
            f"\nreply extraction accuracy: {share(right, len(CASES))}"
            f" [plain {share(accuracy(ours, plain)[0], len(plain))},"
            f" HTML {share(accuracy(ours, html)[0], len(html))}; threshold {THRESHOLD:.0%}]"
        )
        for name, why in misses.items():
            print(f"  missed {name}: {why}")
    assert right / len(CASES) >= THRESHOLD, misses

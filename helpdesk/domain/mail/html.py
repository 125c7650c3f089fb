"""HTML-only mail to text (inscriptis); quoted blocks stay quotes, so cleaning can drop them."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from html.parser import HTMLParser as StdlibHTMLParser
from itertools import accumulate

from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement
from lxml.etree import ParserError
from lxml.html import HtmlElement as LxmlElement
from lxml.html import HTMLParser, document_fromstring


def _html_config() -> ParserConfig:
    """Firefox's block layout without the relaxed profile's indenting of every nested div, so
    that "From:" and "On ... wrote:" lines start their line; blockquotes are marked."""
    css = dict(CSS_PROFILES["strict"])
    css["hr"] = HtmlElement(display=Display.block)
    return ParserConfig(css=css, annotation_rules={"blockquote": ["quote"]})


_HTML_CONFIG = _html_config()
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*>", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """HTML as a mail client turns it into plain text: each blockquote level becomes "> "."""
    tree = _tree(html)
    if tree is None:
        return _flat_text(html) if html.strip() else ""
    converted = Inscriptis(tree, _HTML_CONFIG)
    text = converted.get_text()
    quotes = [(a.start, a.end) for a in converted.get_annotations() if a.metadata == "quote"]
    return _quote_lines(text, quotes).strip()


def _tree(html: str) -> LxmlElement | None:
    """The parse tree, or None for HTML nested too deep for it: libxml2 stops at 256 levels
    (dropping the rest) and inscriptis recurses once a level, so such mail, which no client
    writes but a hostile sender may, is read by ``_flat_text`` instead."""
    parser = HTMLParser()
    html = _XML_DECLARATION.sub("", html.strip(), count=1)  # lxml refuses it in a str
    try:
        try:
            tree = document_fromstring(html, parser=parser)
        except ParserError:  # as inscriptis does: no element at all, so text to keep as it is
            tree = document_fromstring(f"<pre>{html}</pre>", parser=parser)
    except (ParserError, ValueError):
        return None
    if any("Excessive depth" in error.message for error in parser.error_log):
        return None
    return tree


class _Flat(StdlibHTMLParser):
    """The text of HTML at any depth (the standard library's parser keeps no tree): words,
    with a line break at each block, nothing of scripts and styles."""

    BLOCKS = frozenset(
        [
            "address",
            "article",
            "blockquote",
            "br",
            "dd",
            "div",
            "dl",
            "dt",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "li",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "td",
            "th",
            "tr",
            "ul",
        ]
    )
    HIDDEN = frozenset(("script", "style", "head", "title"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.hidden += tag in self.HIDDEN
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.HIDDEN and self.hidden > 0
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _flat_text(html: str) -> str:
    reader = _Flat()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _quote_lines(text: str, quotes: list[tuple[int, int]]) -> str:
    lines = text.split("\n")
    starts = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    words_end = [start + len(line.rstrip()) for start, line in zip(starts, lines, strict=True)]
    depth = [0] * (len(lines) + 1)
    for start, end in quotes:  # a difference array: linear in lines plus quotes
        first = bisect_right(starts, start) - 1
        if start >= words_end[first]:
            first += 1  # the quote opens after the last word of a line: it starts on the next
        depth[first] += 1
        depth[max(first, bisect_left(starts, end))] -= 1
    levels = accumulate(depth)
    return "\n".join(
        "> " * level + line if level and line.strip() else line
        for line, level in zip(lines, levels, strict=False)
    )

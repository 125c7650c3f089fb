"""HTML-only mail to text (inscriptis); quoted blocks stay quotes, so cleaning can drop them."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate

from inscriptis import get_annotated_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement


def _html_config() -> ParserConfig:
    """Firefox's block layout without the relaxed profile's indenting of every nested div, so
    that "From:" and "On ... wrote:" lines start their line; blockquotes are marked."""
    css = dict(CSS_PROFILES["strict"])
    css["hr"] = HtmlElement(display=Display.block)
    return ParserConfig(css=css, annotation_rules={"blockquote": ["quote"]})


_HTML_CONFIG = _html_config()


def html_to_text(html: str) -> str:
    """HTML as a mail client turns it into plain text: each blockquote level becomes "> "."""
    result = get_annotated_text(html, _HTML_CONFIG)
    text = str(result.get("text", ""))
    quotes = [(start, end) for start, end, label in result.get("label", []) if label == "quote"]
    return _quote_lines(text, quotes).strip()


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

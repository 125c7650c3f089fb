"""Secrets kept out of every log line: passwords in URLs, and the signing keys.

A filter on the log handlers rather than care at each call: a URL printed by a library (Dramatiq,
redis-py, IMAPClient) or in an exception's text is masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.I)


def masked(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` and each secret hidden."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        hidden = masked(message, self._secrets)
        exc_text = masked(record.exc_text, self._secrets) if record.exc_text else record.exc_text
        if hidden != message or exc_text != record.exc_text:
            record.msg, record.args, record.exc_text = hidden, None, exc_text
        return True


def install(secrets: Iterable[str] = ()) -> None:
    """Mask secrets in what every handler of the root logger writes."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)

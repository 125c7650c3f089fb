"""No secret in a log line: URL passwords and the signing keys are masked by the log filter."""

from __future__ import annotations

import logging

import pytest

from helpdesk.app.redact import Redactor, masked


def test_url_passwords_are_masked() -> None:
    assert masked("redis://:hunter2@redis:6379/0") == "redis://:***@redis:6379/0"
    assert (
        masked("at imaps://ann%40x:p%40ss@mail.x/INBOX now")
        == "at imaps://ann%40x:***@mail.x/INBOX now"
    )
    assert masked("smtp://relay.x:587 and mailto:a@b") == "smtp://relay.x:587 and mailto:a@b"
    assert masked("key=s3cr3t-key-value", ["s3cr3t-key-value"]) == "key=***"


def test_the_filter_masks_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("helpdesk.test.redact")
    caplog.handler.addFilter(Redactor(["the-signing-key-0123456789abcdef"]))
    log.warning("connecting to %s", "redis://u:pw123@127.0.0.1:6379")
    try:
        raise ValueError("bad key the-signing-key-0123456789abcdef")
    except ValueError:
        log.exception("failed")
    text = caplog.text
    assert "pw123" not in text and "the-signing-key" not in text
    assert "redis://u:***@127.0.0.1:6379" in text and "bad key ***" in text

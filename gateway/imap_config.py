"""The IMAP side's settings, read once for ``serve``, ``helpdesk imap backfill`` and the checks
at start-up (``gateway.imap`` itself knows no settings, so it loads none of the services)."""

from __future__ import annotations

from gateway.imap_session import ImapOptions, ImapTarget, target_urls
from helpdesk.app.settings import Settings
from helpdesk.domain import durations


def imap_options(settings: Settings) -> ImapOptions:
    """Raises ValueError, in words an operator can act on, for a setting that cannot work."""
    lifetime = durations.parse(settings.imap_token_lifetime.strip())
    if lifetime is None or lifetime.total_seconds() <= 0:
        raise ValueError("HELPDESK_IMAP_TOKEN_LIFETIME must be a duration such as 50m or 1h")
    return ImapOptions(
        interval_seconds=settings.imap_poll_seconds,
        max_message_bytes=settings.max_message_bytes,
        fetch_bytes=settings.imap_fetch_bytes,
        done=settings.imap_done.strip(),
        token_command=settings.imap_token_command,
        oauth_mechanism=settings.imap_oauth.strip().lower(),
        token_lifetime_seconds=lifetime.total_seconds(),
    )


def imap_targets(settings: Settings) -> list[ImapTarget]:
    return [ImapTarget.from_url(url) for url in target_urls(settings.imap_url)]

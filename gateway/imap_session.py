"""One IMAP connection: the URL, the login (password, or an OAuth2 token from a command), the
backoff between attempts, and fetching mail in batches bounded by bytes.

Microsoft 365 and Gmail take no passwords: with ``HELPDESK_IMAP_TOKEN_COMMAND`` the access token
is the stdout of that command, run without a shell (``HELPDESK_IMAP_USER`` and
``HELPDESK_IMAP_HOST`` in its environment, so one script can serve several mailboxes). The token
is kept for ``token_lifetime`` and fetched again after it, or at once when the server refuses
it. Neither the token nor the command's output is ever logged or put in an error's text.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from helpdesk.domain.net import is_loopback
from helpdesk.domain.vocabulary import TOO_LARGE_HEADER

log = logging.getLogger("helpdesk.imap")
SIZE, BODY, HEADER = b"RFC822.SIZE", b"BODY[]", b"BODY[HEADER]"
FETCH_COUNT = 200  # bodies per FETCH at most, however small
SIZES_PER_FETCH = 2000  # UIDs per FETCH of sizes and dates (a short line each)


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    ssl: bool
    username: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> ImapTarget:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("HELPDESK_IMAP_URL must look like imaps://user:pass@host/INBOX")
        ssl = parts.scheme == "imaps"
        if not ssl and not is_loopback(parts.hostname):
            raise ValueError(
                "HELPDESK_IMAP_URL: imap:// would send the password in clear; use imaps:// "
                "(imap:// is for a server on this machine only)"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if ssl else 143),
            ssl=ssl,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )

    @property
    def mailbox(self) -> str:
        """The folder's name in ``imap_mailboxes``: the account and folder, never the password."""
        return self.mailbox_of(self.folder)

    def mailbox_of(self, folder: str) -> str:
        return f"{self.username}@{self.host}:{self.port}/{folder}"


def target_urls(text: str) -> list[str]:
    """``HELPDESK_IMAP_URL``: one URL per mailbox, comma-separated (a comma in a password is
    written ``%2C``)."""
    return [url.strip() for url in text.split(",") if url.strip()]


class TokenSource:
    """The OAuth2 access token, from the configured command; never logged."""

    def __init__(self, command: str, lifetime_seconds: float) -> None:
        self._argv = shlex.split(command)
        self._lifetime = lifetime_seconds
        self._token = ""
        self._fetched = 0.0

    def token(self, target: ImapTarget, fresh: bool = False) -> str:
        if fresh or not self._token or time.monotonic() - self._fetched > self._lifetime:
            self._token, self._fetched = self._run(target), time.monotonic()
        return self._token

    def _run(self, target: ImapTarget) -> str:
        """The command's stdout. Its errors name the program only: its arguments may hold a
        client secret, its output the token."""
        env = {**os.environ, "HELPDESK_IMAP_USER": target.username}
        env["HELPDESK_IMAP_HOST"] = target.host
        program = self._argv[0] if self._argv else "(empty)"
        try:
            done = subprocess.run(self._argv, capture_output=True, env=env, timeout=60)
        except subprocess.TimeoutExpired:
            raise LoginError(f"HELPDESK_IMAP_TOKEN_COMMAND ({program}) ran over 60s") from None
        except (OSError, IndexError) as exc:
            reason = getattr(exc, "strerror", None) or "no command"
            raise LoginError(f"HELPDESK_IMAP_TOKEN_COMMAND ({program}): {reason}") from None
        token = done.stdout.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not token or any(c.isspace() for c in token):
            raise LoginError(
                f"HELPDESK_IMAP_TOKEN_COMMAND ({program}) exited {done.returncode} without "
                "printing a token (one line); run it by hand to see why"
            )
        return token


@dataclass(frozen=True)
class ImapOptions:
    interval_seconds: float = 30.0  # between polls without IDLE
    max_message_bytes: int = 25 * 1024 * 1024
    fetch_bytes: int = 25 * 1024 * 1024  # bodies per FETCH add up to no more than this
    done: str = "flag"  # what becomes of a taken mail: flag, move:FOLDER or delete
    token_command: str = ""
    oauth_mechanism: str = "xoauth2"  # or oauthbearer
    token_lifetime_seconds: float = 3000.0
    # IDLE is renewed this often (RFC 2177: under 29 minutes); the renewal is also what finds a
    # connection that died without a word (a NAT forgot it), so it is kept short.
    idle_seconds: float = 5 * 60

    def __post_init__(self) -> None:
        if self.done not in ("flag", "delete") and not self.done.startswith("move:"):
            raise ValueError("HELPDESK_IMAP_DONE must be flag, move:FOLDER or delete")
        if self.done == "move:":
            raise ValueError("HELPDESK_IMAP_DONE=move:FOLDER needs the folder's name")
        if self.fetch_bytes <= 0:
            raise ValueError("HELPDESK_IMAP_FETCH_BYTES must be a positive number of bytes")
        if self.oauth_mechanism not in ("xoauth2", "oauthbearer"):
            raise ValueError("HELPDESK_IMAP_OAUTH must be xoauth2 or oauthbearer")


def connect(target: ImapTarget, options: ImapOptions, tokens: TokenSource | None) -> IMAPClient:
    """A logged-in client. A refused token is fetched again and tried once more."""
    client = IMAPClient(target.host, port=target.port, ssl=target.ssl, timeout=60)
    client.normalise_times = False  # INTERNALDATE with its zone, for the backfill's order
    try:
        _keepalive(client.socket())
        if tokens is None:
            client.login(target.username, target.password)
            return client
        token = tokens.token(target)
        try:
            _oauth(client, target, options, token)
        except LoginError:  # expired or revoked before its time: one more try, with a new one
            log.info("IMAP %s refused the token; fetching a new one", target.mailbox)
            _oauth(client, target, options, tokens.token(target, fresh=True))
        return client
    except BaseException:
        _close(client)
        raise


def _keepalive(sock: socket.socket) -> None:
    """TCP keepalives every 30 s after a minute of silence: a connection that died without a
    word (a NAT forgot it) fails within about three minutes, IDLE or not."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 30), ("TCP_KEEPCNT", 4)):
        if hasattr(socket, name):  # Linux; elsewhere the system's defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _oauth(client: IMAPClient, target: ImapTarget, options: ImapOptions, token: str) -> None:
    if options.oauth_mechanism == "oauthbearer":
        client.oauthbearer_login(target.username, token)
    else:
        client.oauth2_login(target.username, token)


def _close(client: IMAPClient) -> None:
    with contextlib.suppress(OSError):
        client.shutdown()


class Backoff:
    """Exponential with jitter: 1 s, 2 s, 4 s… up to ``cap``, each between half and all of it,
    so that pollers cut off together do not knock on the server together."""

    def __init__(self, first: float = 1.0, cap: float = 300.0) -> None:
        self._first, self._cap, self._failures = first, cap, 0

    def reset(self) -> None:
        self._failures = 0

    def next(self) -> float:
        delay = min(self._cap, self._first * 2.0 ** min(self._failures, 30))
        self._failures += 1
        return delay / 2 + random.uniform(0, delay / 2)


def batches(
    uids: list[int], sizes: dict[int, int], limit_bytes: int, count: int = FETCH_COUNT
) -> Iterator[list[int]]:
    """``uids`` in their order, cut so that each batch's sizes add up to at most ``limit_bytes``
    (a mail larger than that goes alone) and no batch holds more than ``count``."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (total + size > limit_bytes or len(batch) >= count):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def fetch_meta(
    client: IMAPClient, uids: list[int], items: list[bytes]
) -> dict[int, dict[bytes, Any]]:
    """Small items (sizes, dates) of many mails, a few thousand UIDs per FETCH."""
    found: dict[int, dict[bytes, Any]] = {}
    for start in range(0, len(uids), SIZES_PER_FETCH):
        found |= client.fetch(uids[start : start + SIZES_PER_FETCH], items)
    return found


def too_large_note(size: int, limit: int, where: str) -> bytes:
    """The first line of a too-large mail's stored header: the pipeline's ``size`` stage
    quarantines such a record (source ``imap-too-large``) with this as the reason."""
    note = f"{size} bytes, over the limit of {limit}; the mail is kept in the IMAP folder {where}"
    return f"{TOO_LARGE_HEADER}: {note}\r\n".encode()


def fetch_batch(client: IMAPClient, batch: list[int], large: set[int]) -> dict[int, bytes]:
    """The bodies of ``batch``, only the header of those in ``large``; a mail expunged by
    another client meanwhile is missing from the answer. The folder's flags are not touched."""
    small = [u for u in batch if u not in large]
    found = client.fetch(small, [b"BODY.PEEK[]"]) if small else {}
    big = [u for u in batch if u in large]
    if big:
        found |= client.fetch(big, [b"BODY.PEEK[HEADER]"])
    bodies: dict[int, bytes] = {}
    for uid in batch:  # unsolicited FETCH responses (flags of others) are ignored
        raw = found.get(uid, {}).get(HEADER if uid in large else BODY)
        if isinstance(raw, bytes):
            bodies[uid] = raw
    return bodies

"""IDLE (RFC 2177) spoken on an IMAPClient connection, with what imaplib has read ahead seen.

IMAPClient's ``idle`` fails on an untagged response before the ``+``, and its ``idle_check``
looks only at the socket: Dovecot sends ``+ idling`` and a new mail's ``* N EXISTS`` in one
packet, which imaplib's buffered file takes out of the socket, and the mail waited for the
IDLE's renewal. These reach into imaplib and IMAPClient as IMAPClient itself does.
"""

from __future__ import annotations

import select
import ssl

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError


def idle_begin(client: IMAPClient) -> tuple[bytes, list[bytes]]:
    """Send IDLE and read up to its ``+``: returns its tag and the responses that came before.
    IMAPClient's ``idle`` fails on those, though a server may send ``* N EXISTS`` first."""
    imap = client._imap
    tag: bytes = imap._command("IDLE")
    early: list[bytes] = []
    while (response := imap._get_response()) is not None:  # None: the continuation
        if imap.tagged_commands.get(tag):
            raise IMAPClientError(f"IDLE refused: {response!r}")
        early.append(response)
    return tag, early


def idle_response(client: IMAPClient, timeout: float) -> bytes | None:
    """The next response in IDLE, or None if none came within ``timeout``. What imaplib read
    along with the ``+`` (Dovecot sends the ``* N EXISTS`` of a mail that just came in the same
    packet) is out of the socket, where a ``select`` (and IMAPClient's ``idle_check``) looks."""
    waiting = _read_ahead(client)
    if not waiting:
        poller = select.poll()
        poller.register(client.socket().fileno(), select.POLLIN)
        if not poller.poll(timeout * 1000):
            return None
        waiting = _read_ahead(client)
        if waiting == b"":  # readable, with nothing to read
            raise ConnectionError("the server closed the connection")
        if waiting is None:  # the rest of a TLS record is on its way
            return None
    response = client._imap._get_response()
    return None if response is None else bytes(response)


def idle_end(client: IMAPClient, tag: bytes) -> None:
    if not client._imap.tagged_commands.get(tag):  # unless the server ended it
        client._imap.send(b"DONE\r\n")
    status, data = client._imap._get_tagged_response(tag)
    if status != "OK":
        raise IMAPClientError(f"IDLE ended with {status}: {data!r}")


def _read_ahead(client: IMAPClient) -> bytes | None:
    """What imaplib read but did not take, else what the socket holds, without waiting: b""
    for nothing (or the connection's end), None while TLS waits for the rest of a record."""
    sock = client.socket()
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bytes(client._imap.file.peek(1))
    except ssl.SSLWantReadError:
        return None
    finally:
        sock.settimeout(timeout)

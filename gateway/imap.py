"""The IMAP poller: a second door into the same intake as the SMTP edge, one thread per mailbox.

It waits in IDLE where the server offers it (a new mail is taken within a second) and polls
every ``interval_seconds`` otherwise. Which mail is new is told by UID: the folder's UIDVALIDITY
and the last UID taken are kept in ``imap_mailboxes`` (``storage.imap_state``), so taking a
mail no longer needs deleting it. Each batch is committed through ``Intake.submit``, then the
mails are flagged ``\\Seen $Helpdesk`` (or moved, or deleted: ``HELPDESK_IMAP_DONE``), then the
place is saved. A crash before the flags makes the next run fetch the batch again, and the
intake's duplicate key stores none of it twice; a crash after them leaves mail the search passes
over (flagged, moved or gone). A new UIDVALIDITY (the folder was recreated) starts again from
the first UID; mail flagged ``$Helpdesk`` is passed over, and the rest is known by its
Message-ID.

A mail over the size limit (``HELPDESK_MAX_MESSAGE_BYTES``, where SMTP answers 552) stays in the
folder, flagged ``$HelpdeskTooLarge``; only its header is stored, and the pipeline quarantines
that record with the reason (``helpdesk mail list``). A lost connection is tried again after an
exponential backoff with jitter.
"""

from __future__ import annotations

import logging
import threading
import time
from email.utils import parseaddr
from typing import Any

from imapclient import IMAPClient
from sqlalchemy import Engine

from gateway.imap_idle import idle_begin, idle_end, idle_response
from gateway.imap_session import (
    SIZE,
    Backoff,
    ImapOptions,
    ImapTarget,
    TokenSource,
    batches,
    connect,
    fetch_batch,
    fetch_meta,
    too_large_note,
)
from gateway.intake import Arrival, Intake
from helpdesk.domain.mail.headers import header_fields
from helpdesk.domain.vocabulary import TOO_LARGE_SOURCE
from storage import imap_state
from storage.imap_state import Place

log = logging.getLogger("helpdesk.imap")
KEPT = b"$HelpdeskTooLarge"
TAKEN = b"$Helpdesk"
HEADER_BYTES = 16 * 1024  # what the header of a too-large mail counts for in a FETCH's budget
IDLE_TICK = 0.5  # how often a thread in IDLE looks whether it is asked to stop
__all__ = ["KEPT", "TAKEN", "ImapPoller", "ImapTarget", "envelope_of"]


def envelope_of(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """The envelope a delivered mail still shows: Return-Path and Delivered-To/X-Original-To."""
    fields = header_fields(raw, "return-path", "from", "delivered-to", "x-original-to")
    sender = parseaddr((fields.get("return-path") or fields.get("from") or [""])[0])[1]
    rcpts = [parseaddr(v)[1] for k in ("delivered-to", "x-original-to") for v in fields.get(k, [])]
    return sender, tuple(dict.fromkeys(r.lower() for r in rcpts if r))


def submit_all(intake: Intake, target: ImapTarget, bodies: dict[int, bytes], source: str) -> int:
    """Hand a batch to the intake at once (one group commit) and wait until it is committed."""
    futures = []
    for raw in bodies.values():
        sender, rcpts = envelope_of(raw)
        futures.append(intake.submit(Arrival(raw, sender, rcpts, source=source, peer=target.host)))
    for future in futures:
        future.result(timeout=120)  # raises when the storage failed: nothing is flagged then
    return len(futures)


class ImapPoller:
    def __init__(
        self, url: str, intake: Intake, engine: Engine, options: ImapOptions | None = None
    ) -> None:
        self._target = ImapTarget.from_url(url)
        self._options = options or ImapOptions()
        self._tokens = (
            TokenSource(self._options.token_command, self._options.token_lifetime_seconds)
            if self._options.token_command
            else None
        )
        self._intake = intake
        self._engine = engine
        self._folders: set[str] = set()  # move targets known to exist
        self._keywords = True  # whether the folder keeps flags of our own ($Helpdesk)
        self._stopping = threading.Event()
        name = f"imap-poller {self._target.mailbox}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)

    def poll_once(self) -> int:
        """Connect, take every new mail, disconnect; returns how many were committed."""
        with self._connect() as client:
            return self.poll(client)

    def _connect(self) -> IMAPClient:
        return connect(self._target, self._options, self._tokens)

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            try:
                with self._connect() as client:
                    backoff.reset()
                    self._folders.clear()
                    self._serve(client)
            except Exception as exc:  # the server is away: nothing was lost, try again
                delay = backoff.next()
                log.warning("IMAP %s failed: %s; again in %.1fs", self._target.mailbox, exc, delay)
                self._stopping.wait(delay)

    def _serve(self, client: IMAPClient) -> None:
        if not client.has_capability("IDLE"):
            while not self._stopping.is_set():
                self.poll(client)
                self._stopping.wait(self._options.interval_seconds)
            return
        polled: tuple[Any, Any] | None = None
        while not self._stopping.is_set():
            info = client.select_folder(self._target.folder)
            now = (info.get(b"UIDVALIDITY"), info.get(b"UIDNEXT"))
            if now != polled or now[1] is None:
                self._poll(client, info)
                if now[1] is not None:  # select again: mail that came during the poll was
                    polled = now  # told in the answers to its commands, which IDLE won't repeat
                    continue
            self._idle(client)

    def _idle(self, client: IMAPClient) -> None:
        """Wait until the server tells of new mail, a stop, or the IDLE's renewal."""
        tag, early = idle_begin(client)
        told = any(map(_tells_of_mail, early))
        deadline = time.monotonic() + self._options.idle_seconds
        while not told and not self._stopping.is_set() and time.monotonic() < deadline:
            response = idle_response(client, IDLE_TICK)
            if response is None:
                continue
            if response.startswith(b"* BYE"):
                raise ConnectionError("the server closed the connection")
            told = _tells_of_mail(response) or response.startswith(tag)  # or it ended the IDLE
        idle_end(client, tag)

    def poll(self, client: IMAPClient) -> int:
        """Take every mail past the saved place; returns how many were committed."""
        return self._poll(client, client.select_folder(self._target.folder))

    def _poll(self, client: IMAPClient, info: dict[bytes, Any]) -> int:
        target, engine = self._target, self._engine
        validity = int(info[b"UIDVALIDITY"])
        place = imap_state.load(engine, target.mailbox)
        if place is not None and place.uidvalidity != validity:
            log.warning(
                "IMAP %s: UIDVALIDITY changed (%d, was %d): taking the folder from its first "
                "mail again; those stored already are known by their Message-ID",
                target.mailbox,
                validity,
                place.uidvalidity,
            )
        if place is None or place.uidvalidity != validity:
            place = Place(validity)
        criteria = ["UID", f"{place.last_uid + 1}:*", "NOT", "DELETED"]
        criteria += ["NOT", "KEYWORD", TAKEN.decode(), "NOT", "KEYWORD", KEPT.decode()]
        uids = sorted(u for u in client.search(criteria) if u > place.last_uid)
        # Exchange Online keeps no keywords of ours: there the UID alone tells what was taken.
        self._keywords = b"\\*" in info.get(b"PERMANENTFLAGS", ())
        taken = self._take(client, uids, validity)
        log.info("IMAP %s: %d seen, %d taken", target.mailbox, len(uids), taken)
        return taken

    def _take(self, client: IMAPClient, uids: list[int], validity: int) -> int:
        limit = self._options.max_message_bytes
        sizes = {u: int(f.get(SIZE, 0)) for u, f in fetch_meta(client, uids, [SIZE]).items()}
        large = {u for u, size in sizes.items() if size > limit}
        budget = {u: HEADER_BYTES if u in large else size for u, size in sizes.items()}
        taken = 0
        for batch in batches(uids, budget, self._options.fetch_bytes):
            if self._stopping.is_set():  # the rest waits for the next start
                break
            bodies = fetch_batch(client, batch, large)
            note = f"{self._target.folder}, flagged {KEPT.decode()}"
            kept = {u: too_large_note(sizes[u], limit, note) + bodies[u] for u in large & {*bodies}}
            normal = {u: raw for u, raw in bodies.items() if u not in large}
            taken += submit_all(self._intake, self._target, normal, "imap")
            taken += submit_all(self._intake, self._target, kept, TOO_LARGE_SOURCE)
            self._done(client, [u for u in batch if u in normal])
            if kept and self._keywords:
                client.add_flags(sorted(kept), [KEPT])
            imap_state.save(self._engine, self._target.mailbox, Place(validity, batch[-1]))
        return taken

    def _done(self, client: IMAPClient, uids: list[int]) -> None:
        """What becomes of mail once committed: flagged, moved or deleted."""
        if not uids:
            return
        done = self._options.done
        if done == "flag":
            client.add_flags(uids, [b"\\Seen", TAKEN] if self._keywords else [b"\\Seen"])
        elif done == "delete":
            _expunge(client, uids)
        else:
            folder = done.removeprefix("move:")
            if folder not in self._folders and not client.folder_exists(folder):
                client.create_folder(folder)
            self._folders.add(folder)
            if client.has_capability("MOVE"):
                client.move(uids, folder)
            else:
                client.copy(uids, folder)
                _expunge(client, uids)


def _tells_of_mail(response: bytes) -> bool:
    """``* 3 EXISTS`` or ``* 1 RECENT``: mail came (FETCH and EXPUNGE tell of other things)."""
    return response.split()[2:3] in ([b"EXISTS"], [b"RECENT"])


def _expunge(client: IMAPClient, uids: list[int]) -> None:
    """Delete these mails only (UID EXPUNGE), or, without UIDPLUS, every deleted one."""
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.expunge(uids)
    else:
        client.expunge()

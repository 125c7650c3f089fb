"""``helpdesk imap backfill``: an existing folder taken in, oldest first, telling no one.

The folder is opened read-only and nothing in it changes. Its mails are stored in the order they
arrived (INTERNALDATE, then UID), so the pipeline threads each reply onto the ticket its first
mail opened; they are stored as ``imap-backfill`` mail, for which the pipeline plans no
acknowledgement, alert or timer, each behind a first line with its INTERNALDATE, by which the
pipeline dates its ticket and messages (``helpdesk.app.pipeline.came``). After each batch is
committed, the place reached (the last mail's date and UID) is saved under ``backfill
<account>/<folder>``: an interrupted run resumes there, and a copy stored before the
interruption is known by its Message-ID. A mail over ``HELPDESK_MAX_MESSAGE_BYTES`` is stored as
the poller stores it: its header, quarantined with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from gateway.imap import HEADER_BYTES, submit_all
from gateway.imap_session import (
    SIZE,
    ImapOptions,
    ImapTarget,
    TokenSource,
    batches,
    connect,
    fetch_batch,
    fetch_meta,
    too_large_note,
)
from gateway.intake import Intake
from helpdesk.app.pipeline import backfill_note
from helpdesk.domain.vocabulary import BACKFILL_SOURCE, TOO_LARGE_SOURCE
from storage import imap_state
from storage.imap_state import Place

log = logging.getLogger("helpdesk.imap")
DATE = b"INTERNALDATE"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Backfilled:
    seen: int  # mails in the folder (since the date)
    earlier: int  # of those, stored by an earlier run
    taken: int  # stored by this one
    too_large: int  # of those taken, over HELPDESK_MAX_MESSAGE_BYTES: header only, quarantined


def _arrived(meta: dict[bytes, object]) -> datetime:
    value = meta.get(DATE)
    if not isinstance(value, datetime):
        return EPOCH
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _noted(meta: dict[bytes, object]) -> bytes:
    arrived = _arrived(meta)
    return b"" if arrived == EPOCH else backfill_note(arrived)


def backfill(
    target: ImapTarget,
    folder: str,
    intake: Intake,
    engine: Engine,
    options: ImapOptions,
    since: date | None = None,
    started: Callable[[int], None] = lambda total: None,
    progressed: Callable[[int], None] = lambda done: None,
) -> Backfilled:
    """Store every mail of ``folder`` (received since ``since``) not stored by an earlier run.
    ``started`` is told how many remain, ``progressed`` how many each batch took in."""
    tokens = TokenSource(options.token_command, options.token_lifetime_seconds)
    with connect(target, options, tokens if options.token_command else None) as client:
        info = client.select_folder(folder, readonly=True)
        validity = int(info[b"UIDVALIDITY"])
        mailbox = "backfill " + target.mailbox_of(folder)
        place = imap_state.load(engine, mailbox)
        if place is None or place.uidvalidity != validity:
            place = Place(validity, 0, EPOCH)
        uids = client.search(["SINCE", since] if since else ["ALL"])
        meta = fetch_meta(client, list(uids), [SIZE, DATE])
        order = sorted(meta, key=lambda u: (_arrived(meta[u]), u))
        mark = (place.last_date or EPOCH, place.last_uid)
        todo = [u for u in order if (_arrived(meta[u]), u) > mark]
        limit = options.max_message_bytes
        sizes = {u: int(meta[u].get(SIZE, 0)) for u in todo}
        large = {u for u in todo if sizes[u] > limit}
        budget = {u: HEADER_BYTES if u in large else sizes[u] for u in todo}
        started(len(todo))
        taken = 0
        for batch in batches(todo, budget, options.fetch_bytes):
            got = fetch_batch(client, batch, large)
            kept = {u: too_large_note(sizes[u], limit, folder) + got[u] for u in large & {*got}}
            normal = {u: _noted(meta[u]) + raw for u, raw in got.items() if u not in large}
            taken += submit_all(intake, target, normal, BACKFILL_SOURCE)
            taken += submit_all(intake, target, kept, TOO_LARGE_SOURCE)
            last = batch[-1]
            imap_state.save(engine, mailbox, Place(validity, last, _arrived(meta[last])))
            progressed(len(batch))
        if large:
            log.warning("backfill %s: %d mail(s) too large, quarantined", folder, len(large))
        return Backfilled(len(order), len(order) - len(todo), taken, len(large))

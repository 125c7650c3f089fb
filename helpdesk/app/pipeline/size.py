"""Mail too large to take in: the IMAP poller stored only its header, with a note; quarantined.

Over SMTP such mail never gets this far (552 at DATA). The IMAP poller leaves it in its folder
and stores the header behind a first line of its own, as a mail of the source
``imap-too-large``: this stage quarantines that record with the poller's note as the reason. A
sender who writes the same header line gets nothing from it: the source is not theirs to set.
"""

from __future__ import annotations

import re

from helpdesk.app.pipeline.context import Env, Envelope, MailContext, Outcome
from helpdesk.domain.vocabulary import TOO_LARGE_HEADER, TOO_LARGE_SOURCE

_NOTE = re.compile(rb"\A" + TOO_LARGE_HEADER.encode() + rb": ([^\r\n]*)\r?\n")


def too_large_note(envelope: Envelope) -> str:
    if envelope.source != TOO_LARGE_SOURCE:
        return ""
    found = _NOTE.match(envelope.raw)
    return found.group(1).decode("ascii", "replace") if found else "(no note)"


def stage(ctx: MailContext, env: Env) -> None:
    note = too_large_note(ctx.envelope)
    if note:
        ctx.finish("size", Outcome.QUARANTINED, f"too large: {note}; only its header is stored")
    else:
        ctx.decide("size", "within the size limit")

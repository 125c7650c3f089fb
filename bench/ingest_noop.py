"""The ingest benchmark's baseline, a process of its own (``ingest.py _noop``): an aiosmtpd
server with the gateway's ``SMTP`` options whose ``handle_DATA`` answers 250 and stores
nothing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from typing import Any

from aiosmtpd.smtp import SMTP
from local_smtp import serve_smtp

MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class NoopHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def noop_main(argv: Sequence[str]) -> int:
    handler, hostname = NoopHandler(), socket.getfqdn()

    def factory() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=MAX_MESSAGE_BYTES,
            hostname=hostname,
            ident="bench no-op",
            decode_data=False,
        )

    asyncio.run(serve_smtp(factory, "no-op: SMTP"))
    return 0

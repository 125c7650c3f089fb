"""A received mail held in a file instead of in memory, and read back in chunks.

One 25 MB mail raised the listener from 96 to 198 MB when aiosmtpd held DATA as a list of
lines, then as one ``bytes``, then as the row to insert; eight at once took it to 452 MB. The
SMTP edge (``gateway.data_stream``) now writes a mail larger than its buffer to a file as it
arrives, and the intake copies that file into the database a chunk at a time: the listener never
holds such a mail whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from helpdesk.domain.mail.headers import HeaderFacts

CHUNK_BYTES = 1024 * 1024  # what is read, hashed or written at once


@dataclass(frozen=True)
class RawFile:
    """A mail's bytes in ``path`` (``size`` bytes, SHA-256 ``sha256``), and its header block
    ``head`` (what the edge reads before its 250, already in memory)."""

    path: Path
    size: int
    sha256: bytes
    head: bytes

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self.path.open("rb") as source:
            while chunk := source.read(size):
                yield chunk

    def read(self) -> bytes:
        """The whole mail (for a driver that takes a parameter only whole: PostgreSQL's)."""
        return self.path.read_bytes()


def size_of(raw: bytes | RawFile) -> int:
    return raw.size if isinstance(raw, RawFile) else len(raw)


def dedupe_key_of_file(facts: HeaderFacts, envelope_from: str, raw: RawFile) -> str:
    """``helpdesk.domain.mail.headers.dedupe_key`` for a mail in a file, from its digest: the
    same key as for the same bytes in memory (a test holds them equal)."""
    sender = facts.from_address or envelope_from.lower()
    if facts.message_id:
        material = f"mid\0{sender}\0{facts.message_id}".encode()
    else:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        material = f"raw\0{sender}\0{day}\0".encode() + raw.sha256
    return hashlib.sha256(material).hexdigest()

"""The signing keys of reply addresses: the current one, and earlier ones that still verify.

``HELPDESK_SECRET`` wins; without it a key is generated into ``var/secret`` (mode 0600), written
whole to a temporary file and linked into place, so a second process starting at the same moment
reads the first one's key, never an empty file. A key shorter than 32 bytes is refused: with a
short or empty key anyone can sign reply addresses. ``HELPDESK_SECRET_PREVIOUS`` lets a rotated
key keep verifying the addresses already handed out.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from helpdesk.app.settings import Settings

MIN_BYTES = 32
_HOW = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class InvalidKey(ValueError):
    """A key that cannot be used, said in one line with what to do."""


@dataclass(frozen=True)
class Keys:
    current: bytes
    previous: tuple[bytes, ...] = ()


def load(settings: Settings) -> Keys:
    current = settings.secret.encode() if settings.secret else _from_file(settings.var_dir)
    _check(current, "HELPDESK_SECRET" if settings.secret else str(settings.var_dir / "secret"))
    previous = tuple(k.strip().encode() for k in settings.secret_previous.split(",") if k.strip())
    for key in previous:
        _check(key, "a key in HELPDESK_SECRET_PREVIOUS")
    return Keys(current, previous)


def _check(key: bytes, where: str) -> None:
    if len(key) < MIN_BYTES:
        raise InvalidKey(f"{where} is {len(key)} bytes; a signing key needs {MIN_BYTES}: {_HOW}")


def _from_file(var_dir: Path) -> bytes:
    path = var_dir / "secret"
    if not path.exists():
        private_dir(var_dir)
        temporary = var_dir / f".secret.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(MIN_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and refuses to replace another process's key
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip().encode()


def private_dir(path: Path) -> None:
    """``path`` exists and only its owner may enter it (it holds raw mail and internal notes)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)

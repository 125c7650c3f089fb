"""Does a mail look like it holds a password, a key or a token? Then agents are warned.

Customers paste secrets into support mail ("my login is x and pw y"). Nothing is masked for it
(a password has no checksum to tell it from words, and the agent may need to see what was
sent): the ticket is flagged, so the agent knows to treat the thread with care and to ask the
customer to change what they sent. The rules prefer a missed secret to a false alarm on the
mail every helpdesk gets ("my password is not working", "the password reset link failed"): a
stated password must look like one, and a labelled one must not be an ordinary word.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

TAG = "credentials"  # the flag on the ticket: agents see it, and may remove it (#tag -credentials)
_WORD = (
    r"(?:password|passwort|passwd|passcode|passphrase|kennwort|pwd|pw|pin"
    r"|mot de passe|contraseña|senha|wachtwoord|hasło|пароль)"
)
_LOGIN = r"(?:login|log-in|user ?name|user ?id|user|benutzer(?:name)?|account|e-?mail)"
_PASSWORDS = (
    # "Password: hunter2", "pwd=abc": a label, then a value on the same line.
    (re.compile(rf"\b{_WORD}[ \t]*[:=][ \t]*(\S+)", re.I), "value"),
    # "my password is hunter2": a value only if it looks like a password.
    (re.compile(rf"\b{_WORD}\s+(?:is|was|ist|war|est|es|é)\s+(\S+)", re.I), "secret"),
    # "my login is x and pw y", "user bob / pass: s3cret": after a login on the same line, a
    # "pw" (which stands for nothing else), or a "pass" with its colon.
    (
        re.compile(
            rf"\b{_LOGIN}\b[^\n]{{0,60}}?\b(?:pwd?\b[ \t]*(?:is\b|[:=])?|pass[ \t]*(?:is\b|[:=]))"
            r"[ \t]*(\S+)",
            re.I,
        ),
        "value",
    ),
)
_TOKENS = {
    "a private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "an access key or token": re.compile(
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
        r"|\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"  # GitHub
        r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
        r"|\b[sr]k_live_[A-Za-z0-9]{16,}"  # Stripe
        r"|\bAIza[0-9A-Za-z_-]{35}"  # Google
        r"|\bhd_[A-Za-z0-9_-]{40,}"  # our own API tokens
        r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # a JWT
        r"|\bBearer\s+[A-Za-z0-9._~+/-]{20,}"
    ),
    "a password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s/@]+@", re.I),
}
# Words that follow "password" in mail about a password, not in mail that gives one.
_ORDINARY_WORDS = """
reset change changed expired expires wrong incorrect invalid forgotten forgot not no never still
again does doesn't didn't isn't won't can't field manager policy please required needed and or
the a an my your for to of in on is was were are has have had
"""
_ORDINARY = frozenset(_ORDINARY_WORDS.split())
_QUOTES = "\"'\u201c\u2018«"
_EDGES = _QUOTES + "\u201d\u2019»()[]<>.,;:!?*"


def credential_kinds(text: str) -> tuple[str, ...]:
    """What kinds of secret ``text`` seems to hold, e.g. ``("a password", "a private key")``;
    empty when none. Pure, and linear in the text (no pattern can backtrack far)."""
    found = [kind for kind, pattern in _TOKENS.items() if pattern.search(text)]
    if any(_check(how, m.group(1)) for pattern, how in _PASSWORDS for m in pattern.finditer(text)):
        found.insert(0, "a password")
    return tuple(found)


@dataclass(frozen=True)
class Scanned:
    """``credential_kinds`` of a text worked out ahead (by the decoding process, off the unit of
    work), known by the text's digest so that the text need not travel with it."""

    digest: bytes
    kinds: tuple[str, ...]


def scanned(text: str) -> Scanned:
    return Scanned(_digest(text), credential_kinds(text))


def kinds_in(text: str, ahead: Scanned | None) -> tuple[str, ...]:
    """``credential_kinds(text)``, from ``ahead`` when it was worked out for this very text."""
    if ahead is not None and ahead.digest == _digest(text):
        return ahead.kinds
    return credential_kinds(text)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _check(how: str, word: str) -> bool:
    """A labelled value is anything but an ordinary word ("Password: reset" is a subject); a
    stated one must also be quoted, or four characters or more with a digit or a symbol
    ("is hunter2", not "is wrong" or "is 8 characters long")."""
    bare = word.strip(_EDGES)
    if not bare or bare.lower() in _ORDINARY:
        return False
    if how == "value" or word[:1] in _QUOTES:
        return True
    return len(bare) >= 4 and not bare.isalpha()

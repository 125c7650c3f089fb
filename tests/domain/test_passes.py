"""Web passes: signed, expiring, of one kind only, ended by signing out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.domain import passes
from helpdesk.domain.passes import Holder
from helpdesk.domain.tokens import Party

KEY, OLD = b"k" * 32, b"o" * 32
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CY = Holder(Party.CUSTOMER, 12, NOW + timedelta(days=30), NOW)


def test_a_pass_names_its_holder_until_it_expires() -> None:
    link = passes.issue(KEY, passes.LINK, CY)
    assert passes.check(KEY, passes.LINK, link, NOW) == CY
    assert passes.check(KEY, passes.LINK, link, NOW + timedelta(days=31)) is None


def test_a_pass_is_of_one_kind_and_cannot_be_changed() -> None:
    link = passes.issue(KEY, passes.LINK, CY)
    assert passes.check(KEY, passes.SESSION, link, NOW) is None
    assert passes.check(KEY, passes.SESSION, link.replace("link.", "session.", 1), NOW) is None
    assert passes.check(KEY, passes.LINK, link.replace(".c12.", ".c13."), NOW) is None
    kind, holder, issued, expiry, mac = link.split(".")
    later = str(int((NOW + timedelta(days=3650)).timestamp()))
    assert passes.check(KEY, passes.LINK, f"{kind}.{holder}.{issued}.{later}.{mac}", NOW) is None
    newer = str(int(issued) + 3_600_000)  # as if issued after a sign-out
    assert passes.check(KEY, passes.LINK, f"{kind}.{holder}.{newer}.{expiry}.{mac}", NOW) is None
    assert passes.check(KEY, passes.LINK, "garbage", NOW) is None


def test_a_rotated_out_key_still_verifies() -> None:
    link = passes.issue(OLD, passes.LINK, CY)
    assert passes.check(KEY, passes.LINK, link, NOW) is None
    assert passes.check(KEY, passes.LINK, link, NOW, previous=[OLD]) == CY


def test_the_csrf_token_is_bound_to_its_session() -> None:
    one = passes.issue(KEY, passes.SESSION, CY)
    other = passes.issue(KEY, passes.SESSION, Holder(Party.CUSTOMER, 13, CY.expires, NOW))
    assert passes.csrf(KEY, one) == passes.csrf(KEY, one) != passes.csrf(KEY, other)


def test_signing_out_ends_the_passes_issued_before() -> None:
    session = passes.check(KEY, passes.SESSION, passes.issue(KEY, passes.SESSION, CY), NOW)
    assert session is not None and session.issued == NOW
    assert not passes.ended(session, None)
    assert passes.ended(session, NOW + timedelta(milliseconds=1))
    assert passes.ended(session, NOW)  # the same instant: made before the sign-out finished
    assert not passes.ended(session, NOW - timedelta(milliseconds=1))

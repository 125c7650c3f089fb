"""Web passes: signed, expiring, of one kind only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.domain import passes
from helpdesk.domain.passes import Holder
from helpdesk.domain.tokens import Party

KEY, OLD = b"k" * 32, b"o" * 32
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CY = Holder(Party.CUSTOMER, 12, NOW + timedelta(days=30))


def test_a_pass_names_its_holder_until_it_expires() -> None:
    link = passes.issue(KEY, passes.LINK, CY)
    assert passes.check(KEY, passes.LINK, link, NOW) == CY
    assert passes.check(KEY, passes.LINK, link, NOW + timedelta(days=31)) is None


def test_a_pass_is_of_one_kind_and_cannot_be_changed() -> None:
    link = passes.issue(KEY, passes.LINK, CY)
    assert passes.check(KEY, passes.SESSION, link, NOW) is None
    assert passes.check(KEY, passes.SESSION, link.replace("link.", "session.", 1), NOW) is None
    assert passes.check(KEY, passes.LINK, link.replace(".c12.", ".c13."), NOW) is None
    later = str(int((NOW + timedelta(days=3650)).timestamp()))
    stretched = ".".join([*link.split(".")[:2], later, link.split(".")[3]])
    assert passes.check(KEY, passes.LINK, stretched, NOW) is None
    assert passes.check(KEY, passes.LINK, "garbage", NOW) is None


def test_a_rotated_out_key_still_verifies() -> None:
    link = passes.issue(OLD, passes.LINK, CY)
    assert passes.check(KEY, passes.LINK, link, NOW) is None
    assert passes.check(KEY, passes.LINK, link, NOW, previous=[OLD]) == CY


def test_the_csrf_token_is_bound_to_its_session() -> None:
    one = passes.issue(KEY, passes.SESSION, CY)
    other = passes.issue(KEY, passes.SESSION, Holder(Party.CUSTOMER, 13, CY.expires))
    assert passes.csrf(KEY, one) == passes.csrf(KEY, one) != passes.csrf(KEY, other)

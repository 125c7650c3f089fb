"""Customers: found by email in the unit of work's read-ahead, created from their first mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.app.unit_of_work import known_customers
from storage.models import Customer


def find_customer(session: Session, email: str) -> Customer | None:
    return known_customers(session, (email,))[email]


def customer_for(session: Session, email: str, name: str, now: datetime) -> Customer:
    """The customer with ``email``, created when new.

    Two workers creating the same customer at once make one of them fail on the unique key;
    the processor retries that mail, which then finds the customer.
    """
    found = find_customer(session, email)
    if found is not None:
        if name and not found.name:
            found.name = name[:200]
        return found
    return new_customer(session, email, name, now)


def new_customer(session: Session, email: str, name: str, now: datetime) -> Customer:
    """A customer the caller has just looked for and not found."""
    customer = Customer(email=email, name=name[:200], created_at=now)
    session.add(customer)
    known_customers(session)[email] = customer
    return customer

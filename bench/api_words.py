"""The people and the words of the generated tickets: customers' names and addresses, known
without asking the database, and what agents and customers write."""

from __future__ import annotations

import populate


def customer_name(n: int) -> tuple[str, str]:
    return populate.NAMES[n % 10], populate.SURNAMES[(n // 10) % 8]


def customer_email(n: int) -> str:
    """Customer ``n``'s address: of their own, and known without asking the database."""
    first, last = customer_name(n)
    return f"{first}.{last}.{n}@{populate.DOMAINS[n % len(populate.DOMAINS)]}".lower()


REPLIES = (
    "Hello {first},\n\nthank you for the details. We could reproduce it on our side: the "
    "export job hit a timeout on accounts with more than 10,000 rows. A fix is being rolled "
    "out today; until then, please export one month at a time.\n\nBest regards,\n{agent}",
    "Hi {first},\n\nI have reset the session on your account and cleared the cached "
    "credentials. Could you try signing in again and let us know whether it works now?\n\n"
    "Kind regards,\n{agent}",
    "Dear {first},\n\nthe invoice was corrected and a credit note for the difference is "
    "attached to your account. It will show on your next statement.\n\nThanks,\n{agent}",
)
ANSWERS = (
    "Thanks, that helped partly. The first export went through, the second one still stops "
    "at 80% with the same message. Anything else I can try?\n\n{name}",
    "Hello again, it works now on the laptop but not on my phone (Android 14, app version "
    "5.2.1). Screenshot attached.\n\nBest,\n{name}",
    "Thank you. Could you also check order {n}? It seems to have the same problem.\n\n{name}",
)
NOTES = (
    "Checked the logs: timeouts on the export worker since the last deploy. Linked to the bug.",
    "Customer is on the enterprise plan, keep the SLA in mind. Billing confirmed the credit.",
)
RESOLUTIONS = ("Fixed by the export patch.", "Credentials reset.", "Invoice corrected.")

"""How many automatic answers may still go out: per recipient, and in all, in the last hour.

Every answer to a mail (an acknowledgement, a refusal, ``#help``, a command's result, a notice
of a refused mail) counts, so that the public support address cannot be used to send mail to a
third party: a forged sender gets at most ``answer_limit_per_hour`` answers (an agent, who is
answered about their own work, ``agent_answer_limit_per_hour``), and nobody gets more once
``answer_cap_per_hour`` answers have gone out in all. Counted once per unit of work from the
outbox, then kept up to date in memory as the unit plans more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.app.settings import Settings
from helpdesk.app.unit_of_work import unit
from helpdesk.domain.notices import AUTO_REPLIED
from storage.models import Outbox

log = logging.getLogger("helpdesk.notifications")
_warned = [0.0]  # when the cap was last logged: once a minute is enough in a flood


class AnswerLimits:
    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self.session, self.settings = session, settings
        self.since = now - timedelta(hours=1)

    def allow(self, email: str, agent: bool = False) -> bool:
        """Whether one more answer may go to ``email``; counts it when it may."""
        work = unit(self.session)
        settings = self.settings
        limit = settings.agent_answer_limit_per_hour if agent else settings.answer_limit_per_hour
        sent = self.preload([email])
        if work.answers_total is None:
            work.answers_total = self._count_all()
        if work.answers_total >= settings.answer_cap_per_hour:
            _warn_capped(work.answers_total)
            return False
        if sent[email] >= limit:
            return False
        sent[email] += 1
        work.answers_total += 1
        return True

    def preload(self, emails: Iterable[str]) -> dict[str, int]:
        """The answers each address got in the last hour, read in one query for a batch."""
        sent = unit(self.session).answers_sent
        wanted = {email for email in emails if email not in sent}
        if wanted:
            sent.update(dict.fromkeys(wanted, 0))
            counted = self.session.execute(
                select(Outbox.recipient, func.count())
                .where(
                    Outbox.recipient.in_(wanted),
                    Outbox.template.in_(AUTO_REPLIED),
                    Outbox.created_at >= self.since,
                )
                .group_by(Outbox.recipient)
            )
            sent.update({email: count for email, count in counted})
        return sent

    def _count_all(self) -> int:
        query = select(func.count()).where(
            Outbox.template.in_(AUTO_REPLIED), Outbox.created_at >= self.since
        )
        return self.session.scalar(query) or 0


def _warn_capped(total: int) -> None:
    if time.monotonic() - _warned[0] >= 60:
        _warned[0] = time.monotonic()
        log.warning("automatic answers withheld: %d sent in the last hour (the cap)", total)

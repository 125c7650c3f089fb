"""The notifications the helpdesk sends: each template, and the audience it is written for.

A template's name is its path under ``templates/`` without the extension; its audience is the
first part. Answers to someone's mail (an acknowledgement, a refusal, help, a command's result)
are ``Auto-Submitted: auto-replied`` (RFC 3834); the other automatic mails are auto-generated.
"""

from __future__ import annotations

import enum


class Audience(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


class Template(enum.StrEnum):
    CUSTOMER_ACK = "customer/ack"
    CUSTOMER_AGENT_REPLY = "customer/agent_reply"
    CUSTOMER_ASSIGNED = "customer/assigned"
    CUSTOMER_RESOLVED = "customer/resolved"
    CUSTOMER_AUTO_RESOLVED = "customer/auto_resolved"
    CUSTOMER_REMINDER = "customer/reminder"
    CUSTOMER_CLOSED = "customer/closed"
    CUSTOMER_REJECTED = "customer/rejected"
    CUSTOMER_HELP = "customer/help"
    AGENT_NEW_TICKET = "agent/new_ticket"
    AGENT_CUSTOMER_REPLY = "agent/customer_reply"
    AGENT_INTERNAL_NOTE = "agent/internal_note"
    AGENT_ASSIGNED = "agent/assigned"
    AGENT_FEEDBACK = "agent/feedback"
    AGENT_REJECTED_NOTICE = "agent/rejected_notice"
    AGENT_SLA_ALERT = "agent/sla_alert"
    AGENT_ESCALATED = "agent/escalated"
    AGENT_DIGEST = "agent/digest"

    @property
    def audience(self) -> Audience:
        return Audience(self.value.partition("/")[0])


AUTO_REPLIED = frozenset(
    {
        Template.CUSTOMER_ACK,
        Template.CUSTOMER_REJECTED,
        Template.CUSTOMER_HELP,
        Template.AGENT_FEEDBACK,
        Template.AGENT_REJECTED_NOTICE,
    }
)

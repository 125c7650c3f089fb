"""What the API takes and gives, as the OpenAPI schema publishes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from helpdesk.domain.vocabulary import Priority, Status

# an address mail can be sent to (international addresses wait for SMTPUTF8)
EMAIL = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
LINE = r"^[^\x00-\x1f\x7f]*$"  # one line of text: it may go in a header
WORD = r"^[^\s#\x00-\x1f\x7f]{1,100}$"  # a name that can be neither a second command nor a new line


class Error(BaseModel):
    error: str = Field(examples=["NOT_FOUND"])
    message: str = Field(examples=["Ticket not found"])


class CustomerIn(BaseModel):
    email: str = Field(pattern=EMAIL, max_length=320)
    name: str = Field("", max_length=200, pattern=LINE)


class TicketIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200, pattern=LINE)
    description: str = Field(min_length=1, max_length=100_000)
    priority: Priority = Priority.MEDIUM
    category: str | None = Field(None, pattern=WORD)
    customer: CustomerIn | None = None  # whom it is for: agents name them; customers are it


class Created(BaseModel):
    number: str


class TicketOut(BaseModel):
    number: str
    subject: str
    status: Status
    priority: Priority
    category: str
    customer: str
    assignee: str  # an agent's email, group:NAME, or "" when unassigned
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    tickets: list[TicketOut]
    total: int = Field(
        description="the matching tickets: exact up to 1,000 (or up to the end of the page "
        "asked for, when further); beyond, a lower bound, and total_exact is false"
    )
    total_exact: bool = Field(True, description="false: there are more than total")
    page: int
    pages: int = Field(description="with total_exact false, at least this many")
    limit: int


class HistoryOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]
    message: str = ""
    message_kind: str = ""
    attachments: list[str] = []
    message_verified: bool = True  # False: its sender was only named by From:, not proven


class TicketDetail(TicketOut):
    description: str
    tags: list[str]
    external_ref: str
    participants: list[str]
    linked_ticket: str
    resolution_notes: str
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    escalated_at: datetime | None
    order: str = ""  # what the order service says of external_ref (agents; "" if not set up)
    history: list[HistoryOut] = Field(
        description="the ticket's most recent 100 events, oldest first (the whole "
        "conversation: /comments, paged)"
    )
    history_truncated: bool = Field(False, description="true: older events than these exist")


class StatusIn(BaseModel):
    status: Status


class AssignIn(BaseModel):
    """One agent (email) or one group (name), never both."""

    agent: str | None = Field(None, pattern=EMAIL, max_length=320)
    group: str | None = Field(None, pattern=WORD)

    @model_validator(mode="after")
    def one_of_them(self) -> AssignIn:
        if (self.agent is None) == (self.group is None):
            raise ValueError("give an agent or a group, not both")
        return self


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=100_000)
    internal: bool = False


class CommentOut(BaseModel):
    id: int
    kind: str
    author: str
    author_kind: str
    body: str
    created_at: datetime
    attachments: list[str]
    verified: bool  # False: its sender was only named by From:, not proven


class CommentPage(BaseModel):
    comments: list[CommentOut]
    total: int
    page: int
    pages: int
    limit: int

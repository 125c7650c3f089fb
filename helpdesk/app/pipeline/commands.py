"""Mail written as an agent: authenticate it, then parse and check the commands at its top.

Nothing is applied here; ``apply`` carries out the plan, all of it or (on any problem) none.
A mail that fails authentication applies nothing, and the agent on record hears of it.
"""

from __future__ import annotations

import re

from helpdesk.app import team
from helpdesk.app.feedback import view_of
from helpdesk.app.pipeline.context import Env, MailContext, Outcome, whole_raw
from helpdesk.domain.auth import AuthFacts, Verdict, authorise, relayed, sender_verdict
from helpdesk.domain.commands import grammar
from helpdesk.domain.commands.plan import plan
from helpdesk.domain.permissions import AgentInfo, Directory, TicketView
from helpdesk.domain.tokens import Party
from storage.models import Agent

_CLOSE = re.compile(r"^\s*#close\s*$", re.I)
_HELP = re.compile(r"^\s*#help\s*$", re.I)


def agent_info(env: Env, agent: Agent) -> AgentInfo:
    return team.agent_info(env.session, agent)


def directory(env: Env) -> Directory:
    return team.directory(env.session, env.settings.category_names)


def stage(ctx: MailContext, env: Env) -> None:
    token = ctx.match.token if ctx.match else None
    agent_token = token is not None and token.party is Party.AGENT
    if ctx.agent is None and agent_token:
        _not_an_agent(ctx)
        return
    if ctx.agent is None:
        _customer_lines(ctx)
        return
    decision = authorise(_facts(ctx, env))
    if not decision.ok:
        ctx.notice_agent_id = ctx.agent.id if ctx.agent else token.party_id if token else None
        ctx.finish("commands", Outcome.REJECTED, f"not applied: {decision.reason}")
        return
    assert ctx.agent is not None and decision.scope is not None
    parsed = _parse(ctx)
    view = _view(ctx)
    ctx.plan = plan(parsed, agent_info(env, ctx.agent), decision.scope, view, directory(env))
    ctx.text = parsed.body
    if ctx.plan.problems:
        ctx.finish("commands", Outcome.REJECTED, "; ".join(str(p) for p in ctx.plan.problems))
        return
    names = ", ".join(f"#{a.name}" for a in ctx.plan.actions) or "none"
    ctx.decide("commands", f"{decision.reason}; commands: {names}")


def _facts(ctx: MailContext, env: Env) -> AuthFacts:
    assert ctx.sender is not None
    support = env.settings.support_addresses
    addresses = [*ctx.envelope.envelope_to, *(a.email for a in ctx.mail.recipients)]
    to_support = any(a.lower() in support for a in addresses)  # the plain address, no token
    verdict = Verdict.NONE
    if env.settings.require_sender_auth:
        domain = ctx.sender.email.rpartition("@")[2]
        envelope = ctx.envelope
        from_relay = relayed(envelope.source, envelope.peer, env.settings.relay_networks)
        trusted = env.settings.trusted_authserv if from_relay else frozenset()
        raw = whole_raw(envelope, env.session)
        verdict = sender_verdict(raw, domain, trusted, env.dkim_dns)
    return AuthFacts(
        sender=ctx.sender.email,
        agent_id=ctx.agent.id if ctx.agent else None,
        token=ctx.match.token if ctx.match else None,
        ticket_number=ctx.ticket.number if ctx.ticket else None,
        to_support_address=to_support and ctx.ticket is None,
        required=env.settings.require_sender_auth,
        verdict=verdict,
    )


def _parse(ctx: MailContext) -> grammar.Parsed:
    if not ctx.mail.from_html:
        return grammar.parse(ctx.mail.text)
    parsed = grammar.parse("")
    if ctx.mail.text.lstrip().startswith("#"):
        note = "commands are read from the plain-text part only; send the mail as plain text"
        parsed.problems.append(grammar.Problem(None, note))
    return grammar.Parsed(parsed.commands, parsed.problems, ctx.mail.text, parsed.lines)


def _view(ctx: MailContext) -> TicketView | None:
    return view_of(ctx.ticket) if ctx.ticket is not None else None


def _not_an_agent(ctx: MailContext) -> None:
    """Someone who is not an agent wrote to an agent's reply address: most often the customer,
    answering all. A party of the ticket is heard (as an unverified reply: the address was not
    issued to them); anyone else is kept aside with the reason, and nobody is answered."""
    assert ctx.sender is not None and ctx.match is not None
    facts = ctx.match.ticket
    if facts is not None and ctx.sender.email in facts.parties:
        ctx.decide("commands", f"{ctx.sender.email} is on {facts.number}: a reply, not commands")
        return
    where = facts.number if facts else "a ticket"
    why = f"{ctx.sender.email} wrote to an agent's reply address for {where} and is not on it"
    ctx.finish("commands", Outcome.QUARANTINED, why)


def _customer_lines(ctx: MailContext) -> None:
    """A customer may close their ticket with ``#close``, or ask for ``#help`` in a new mail."""
    lines, body = grammar.split(ctx.mail.text)
    if ctx.mail.from_html or not lines:
        return
    if ctx.ticket is not None and _CLOSE.match(lines[0].text):
        ctx.customer_close = True
        ctx.text = body
        ctx.decide("commands", "the customer closes the ticket")
    elif ctx.ticket is None and _HELP.match(lines[0].text) and not body.strip():
        ctx.help_requested = True
        ctx.finish("commands", Outcome.ANSWERED, "#help: the command table is sent back")

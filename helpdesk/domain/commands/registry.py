"""Every command, in the order ``#help`` lists them. Adding one: its module, and a line here."""

from __future__ import annotations

from helpdesk.domain.commands import (
    assign,
    block,
    category,
    close,
    customer,
    help,
    internal,
    listing,
    priority,
    ref,
    report,
    resolve,
    show,
    signin,
    status,
    tag,
    unassign,
    unblock,
)
from helpdesk.domain.commands.base import Spec

REGISTRY: tuple[Spec, ...] = tuple(
    module.COMMAND
    for module in (
        status,
        priority,
        assign,
        unassign,
        internal,
        resolve,
        close,
        category,
        tag,
        ref,
        block,
        unblock,
        customer,
        listing,
        show,
        report,
        signin,
        help,
    )
)


def _index(specs: tuple[Spec, ...]) -> tuple[dict[str, Spec], dict[str, str]]:
    """Names and aliases to commands; a name given twice is an error, not a silent replacement."""
    by_name: dict[str, Spec] = {}
    aliases: dict[str, str] = {}
    for spec in specs:
        for word in (spec.name, *spec.aliases):
            if word in by_name or word in aliases:
                raise ValueError(f"#{word} is registered twice")
            if word == spec.name:
                by_name[word] = spec
            else:
                aliases[word] = spec.name
    return by_name, aliases


SPECS, ALIASES = _index(REGISTRY)


def help_text() -> str:
    rows = []
    for spec in REGISTRY:
        who = "anyone" if spec.role is None else f"{spec.role.value}s"
        rows.append(f"{spec.usage}\n    {spec.summary} ({who})")
    return "Commands go on the first lines of your mail, one per line:\n\n" + "\n".join(rows)

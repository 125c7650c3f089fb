"""Settings from the environment (``HELPDESK_*``), a ``.env`` file, or a TOML file.

The environment wins over ``.env``, which wins over the TOML file named by ``HELPDESK_CONFIG``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from helpdesk.domain import durations
from helpdesk.domain.timers.facts import Policy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HELPDESK_", env_file=".env", extra="ignore", frozen=True
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    broker_namespace: str = "helpdesk"
    smtp_listen: str = "127.0.0.1:2525"
    http_listen: str = "127.0.0.1:8025"  # the API and pages; "" turns them off in serve
    order_lookup_url: str = ""  # the order service, with {ref}: https://orders/api/{ref}
    order_lookup_timeout: float = 2.0
    metrics_from: str = ""  # besides this machine, who may read /metrics: addresses or networks
    public_url: str = ""  # how people reach the HTTP side (links in mail); "": http://http_listen
    support_address: str = "support@localhost"
    secret: str = ""
    secret_previous: str = ""  # earlier keys, comma-separated: they verify, never sign
    outbound: str = ""
    imap_url: str = ""  # one URL per mailbox, comma-separated
    imap_poll_seconds: float = 30.0  # between polls where the server has no IDLE
    imap_done: str = "flag"  # a taken mail is flagged \\Seen $Helpdesk, or move:FOLDER, or delete
    imap_fetch_bytes: int = 25 * 1024 * 1024  # the bodies of one FETCH add up to no more
    imap_token_command: str = ""  # prints an OAuth2 access token (run without a shell)
    imap_oauth: str = "xoauth2"  # or oauthbearer
    imap_token_lifetime: str = "50m"  # a token is fetched again after this, or when refused

    max_message_bytes: int = 25 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    min_subject_chars: int = 1
    min_body_chars: int = 1
    reopen_window_days: float = 7.0
    duplicate_window_minutes: float = 10.0
    group_commit_window_ms: float = 0.5
    process_batch: int = 50  # mails per unit of work, at most (see BATCH_SECONDS too)
    # Processes that decode mail ahead of the embedded worker's writer (``helpdesk serve``)
    decode_processes: int = 1
    block_refresh_seconds: float = 5.0
    categories: str = "general,billing,technical,feature_request,bug"

    require_sender_auth: bool = False
    trusted_authserv_ids: str = ""  # whose Authentication-Results headers count…
    trusted_relays: str = ""  # …on mail from these peers (addresses or networks), or by IMAP

    templates_dir: Path | None = None
    answer_limit_per_hour: int = 5  # automatic answers to one address (acks, refusals, help)
    agent_answer_limit_per_hour: int = 60  # to one agent (the results of their commands)
    answer_cap_per_hour: int = 5000  # automatic answers to anyone, in all
    max_participants: int = 20  # people besides the customer on one ticket, each told of replies
    reconcile_seconds: float = 15.0
    sla_warning_ratio: float = 0.8  # the warning before a breach, at this share of the target
    sla_alert_cooldown: str = "1h"  # at most one alert per ticket, clock and level in this time
    auto_resolve_after: str = "7d"  # waiting for the customer this long: resolved ("" never)
    auto_resolve_reminder: str = ""  # the customer reminded this long before ("" no reminder)
    auto_close_after: str = "7d"  # resolved this long with no reply: closed ("" never)
    escalate_after: str = "1d"  # no agent activity this long (business time): supervisors told
    absence_handback_after: str = "1h"  # an absent agent's tickets go back to the team after
    test_clock: bool = False  # timers judged by var/clock-offset too (tests only)
    delivery_attempts: int = 12
    delivery_backoff_seconds: float = 30.0
    delivery_lease_seconds: float = 120.0
    smtp_timeout_seconds: float = 30.0
    webhook_attempts: int = 20  # a webhook delivery's attempts before it is given up
    webhook_backoff_seconds: float = 30.0  # the wait after its first failure, doubling to 1 h
    tls_cert: Path | None = None  # with tls_key: inbound SMTP offers STARTTLS
    tls_key: Path | None = None
    smtp_idle_seconds: float = 60.0  # an inbound session with no command for this long is closed
    smtp_session_seconds: float = 600.0  # and any inbound session after this long
    smtp_sessions_per_client: int = 20
    smtp_max_sessions: int = 200
    smtp_max_recipients: int = 100  # per mail; more are answered 452 4.5.3
    worker_threads: int = 4
    # new tickets one address may open in an hour; past it a new mail is held (0: no limit)
    max_new_tickets_per_sender_hour: int = 10

    @field_validator("support_address")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        toml_path = os.environ.get("HELPDESK_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def support_addresses(self) -> tuple[str, ...]:
        """Every address the gateway answers for; the first is the one mail is sent from."""
        return tuple(a.strip() for a in self.support_address.split(",") if a.strip())

    @property
    def trusted_authserv(self) -> frozenset[str]:
        return frozenset(
            a.strip().lower() for a in self.trusted_authserv_ids.split(",") if a.strip()
        )

    @property
    def metrics_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(
            ip_network(n.strip(), strict=False) for n in self.metrics_from.split(",") if n.strip()
        )

    @property
    def relay_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(
            ip_network(a.strip(), strict=False) for a in self.trusted_relays.split(",") if a.strip()
        )

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.categories.split(",") if c.strip())

    @property
    def timer_policy(self) -> Policy:
        return Policy(
            self.sla_warning_ratio,
            durations.parse(self.auto_resolve_after),
            durations.parse(self.auto_resolve_reminder),
            durations.parse(self.auto_close_after),
            durations.parse(self.escalate_after),
            durations.parse(self.absence_handback_after),
        )

    @property
    def alert_cooldown(self) -> timedelta:
        return durations.parse(self.sla_alert_cooldown) or timedelta(hours=1)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'helpdesk.db'}"

    @property
    def resolved_outbound(self) -> str:
        return self.outbound or f"maildir:{self.var_dir / 'outbox'}"

    @property
    def web_url(self) -> str:
        """The base of the links mails carry; "" when nothing serves HTTP."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.http_listen}" if self.http_listen else ""

    @property
    def listen_host_port(self) -> tuple[str, int]:
        return host_port(self.smtp_listen)


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8025`` too); the host defaults to this machine."""
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)

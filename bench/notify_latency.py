"""The notification benchmark's first measurement: inbound 250 -> acknowledgement at the sink,
under a steady load and then for isolated mails on idle workers."""

from __future__ import annotations

import operator
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial

from addresses import HOST
from cpu_meter import CpuMeter
from figures import percentile, spread, verdict
from notify_database import Stages, stages
from notify_load import Sent, inbound_mail, steady_load
from notify_setting import Options, Setting
from notify_sink import Arrivals
from processes import Child, helpdesk, start_workers

TARGET_P99_S = 1.0
PROBE_GAP = 3.0  # seconds between isolated mails: dramatiq's idle poll backs off to 0.5-1 s


@dataclass
class LatencyResult:
    probes: list[float | None]
    sent: list[Sent]
    latencies: list[float]
    missing: int
    duplicates: int
    encoded: int  # acks whose In-Reply-To came RFC 2047-encoded
    alerts: int
    stages: Stages

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.code == 250]


def isolated_mails(port: int, arrivals: Arrivals, count: int, run: str) -> list[float | None]:
    """One mail every PROBE_GAP seconds on idle workers: the latency when nothing is queued.
    None for an ack that did not come within the gap."""
    latencies: list[float | None] = []
    for index in range(count):
        time.sleep(PROBE_GAP)
        mail = inbound_mail(run, index)
        record = steady_load(port, [mail], rate=1.0, connections=1)[0]
        arrived = partial(operator.contains, arrivals.acks, mail.message_id)
        arrivals.wait(arrived, PROBE_GAP * 3, PROBE_GAP * 3)
        ack = arrivals.acks.get(mail.message_id)
        latencies.append(ack.at - record.replied if ack and record.code == 250 else None)
    return latencies


def measure_latency(setting: Setting) -> tuple[LatencyResult, list[Child], Child]:
    options, children, arrivals = setting.options, setting.children, setting.arrivals
    workers = start_workers(children, setting.env, options.workers, options.threads, "worker")
    server = children.start("serve", helpdesk("serve", "--smtp", f"{HOST}:0"), setting.env)
    port = server.port()

    warm = [inbound_mail(f"warm{setting.run}", i) for i in range(options.warmup)]
    steady_load(port, warm, rate=max(options.rate, 20.0), connections=2)
    arrivals.wait(lambda: all(m.message_id in arrivals.acks for m in warm), 60, 30)

    setting.profiles.attach(server, f"{setting.database.kind}-latency-serve")
    for i, worker in enumerate(workers):
        setting.profiles.attach(worker, f"{setting.database.kind}-latency-worker{i}")
    total = round(options.rate * options.seconds)
    mails = [inbound_mail(setting.run, i) for i in range(total)]
    print(f"  sending {total} mails at {options.rate:g}/s ...", flush=True)
    cpu = CpuMeter(children)
    cpu.start()
    sent = steady_load(port, mails, options.rate, options.connections)
    wanted = [s.mail.message_id for s in sent if s.code == 250]
    complete = arrivals.wait(lambda: all(m in arrivals.acks for m in wanted), 120, 30)
    if not complete:
        print("  (stopped waiting for acks: 30 s without a new mail at the sink, or 120 s)")
    cpu.report("the steady load until the last ack")
    probes = isolated_mails(port, arrivals, options.probes, f"probe{setting.run}")

    latencies = []
    missing = encoded = 0
    for record in sent:
        if record.code != 250:
            continue
        ack = arrivals.acks.get(record.mail.message_id)
        if ack is None or record.mail.sender not in ack.recipients:
            missing += 1
        else:
            latencies.append(ack.at - record.replied)
            encoded += ack.in_reply_to_encoded
    ours = set(wanted)
    alerts = sum(
        1 for a in arrivals.all if a.auto_submitted == "auto-generated" and a.in_reply_to in ours
    )
    result = LatencyResult(
        probes=probes,
        sent=sent,
        latencies=latencies,
        missing=missing,
        duplicates=arrivals.duplicate_acks,
        encoded=encoded,
        alerts=alerts,
        stages=stages(setting.database.url, sent, arrivals),
    )
    return result, workers, server


def report_latency(options: Options, result: LatencyResult) -> None:
    accepted = result.accepted
    sent = result.sent
    lateness = [max(0.0, s.started - s.due) for s in sent if s.started]
    reply = [s.replied - s.started for s in accepted]
    tried = [s for s in sent if s.started]
    span = (max(s.replied for s in tried) - min(s.started for s in tried)) if tried else 0.0
    codes = Counter(s.code for s in sent)
    print(
        f"  sent {len(tried)} in {span:.1f} s ({len(tried) / span if span else 0:.1f}/s), "
        f"accepted {len(accepted)}, replies {dict(codes)}; generator lag max "
        f"{max(lateness, default=0) * 1000:.0f} ms; MAIL->250 {spread(reply)}"
    )
    print(f"  inbound outcomes: {result.stages.outcomes}")
    print(
        f"  acks: {len(result.latencies)} arrived, {result.missing} missing, "
        f"{result.duplicates} duplicated; ack rows by attempts: {result.stages.ack_attempts}"
        + (f"; agent alerts at the sink: {result.alerts}" if options.agents else "")
    )
    print(f"  250 -> ack at sink:        {spread(result.latencies)}")
    print(f"    250 -> pipeline start:   {spread(result.stages.to_pipeline)}")
    print(f"    pipeline start -> sink:  {spread(result.stages.pipeline_to_sink)}")
    quarter = max(1, -(-len(result.latencies) // 4))  # latencies are in sending order
    parts = [result.latencies[i : i + quarter] for i in range(0, len(result.latencies), quarter)]
    print(
        "  by quarter of the run (p50/p99 ms): "
        + ", ".join(f"{percentile(p, 50) * 1000:.0f}/{percentile(p, 99) * 1000:.0f}" for p in parts)
    )
    if result.encoded:
        print(
            f"  threading check: FAIL: {result.encoded} of {len(result.latencies)} acks carry an "
            "RFC 2047-encoded In-Reply-To/References (=?utf-8?q?...?=), which no mail client "
            "threads (Message-IDs longer than ~76 characters; workers/compose.py)"
        )
    if result.probes:
        shown = ", ".join("missing" if p is None else f"{p * 1000:.0f}" for p in result.probes)
        print(f"  isolated mails on idle workers, one per {PROBE_GAP:g} s (ms): {shown}")
    p99 = percentile(result.latencies, 99)
    ok = bool(result.latencies) and result.missing == 0 and p99 <= TARGET_P99_S
    print(
        f"  target: ack p99 {p99 * 1000:.0f} ms <= {TARGET_P99_S * 1000:.0f} ms, "
        f"none missing: {verdict(ok)}"
    )

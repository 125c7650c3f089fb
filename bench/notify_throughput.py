"""The notification benchmark's second measurement: delivering queued acks against draining as
many no-op messages, in alternating rounds."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial

from addresses import REDIS_URL
from cpu_meter import CpuMeter
from figures import verdict
from notify_database import outbox_counts, seed_outbox
from notify_noop import NOOP_NAMESPACE, start_noop_workers
from notify_queue import Drain, drain_queue
from notify_setting import Options, Setting
from processes import start_workers

HELPDESK_NAMESPACE = "helpdesk"  # workers.actors.make_broker's default
TARGET_RATIO = 0.3
ROUNDS = 3  # deliveries and no-op messages, alternating: the median of each counts
WARM_UP = 100  # messages each kind of worker drains, untimed, before its timed round


def measure_throughput(
    setting: Setting, flush: Callable[[], object]
) -> tuple[Drain | None, Drain, dict[str, int], int, int]:
    """The workers of the latency run must be stopped. Rounds of deliveries and of no-op
    messages alternate, both kinds of workers running throughout, so that a machine whose speed
    drifts (other tenants) moves both sides alike. Returns (deliver, no-op: the median rounds;
    outbox rows by status, mails at the sink, deliveries seeded: over all rounds)."""
    options, children, arrivals = setting.options, setting.children, setting.arrivals
    flush()  # leftover wake-ups and the reconcile chain of the latency run
    quiet_env = setting.env | {"HELPDESK_RECONCILE_SECONDS": "3600"}
    print(
        f"  {ROUNDS} rounds of {options.deliveries} deliveries, each followed by as many no-op "
        "messages ...",
        flush=True,
    )
    cpu = CpuMeter(children)
    cpu.start()
    delivered: list[Drain] = []
    noops: list[Drain] = []
    rows: Counter[str] = Counter()
    at_sink = seeded = 0
    for index in range(ROUNDS):
        url, run = setting.database.url, f"{setting.run}r{index}"
        try:
            warm, message_ids = seed_outbox(url, WARM_UP, f"{run}w")
        except RuntimeError as exc:
            print(f"  deliver: not measured: {exc}")
            warm = []
        if warm:
            workers = start_workers(
                children, quiet_env, options.workers, options.threads, "deliver-worker"
            )
            time.sleep(1.0)  # let the boot-time watchdog check and the first idle polls pass
            for i, worker in enumerate(workers):
                setting.profiles.attach(worker, f"{setting.database.kind}-throughput{index}-{i}")
            # Sent before the timed rows exist: a warm-up job must not take them into its batch.
            drain_queue(REDIS_URL, HELPDESK_NAMESPACE, "outbox", "deliver", warm, "warm-up", 600)
            ids, timed_ids = seed_outbox(url, options.deliveries, run)
            message_ids += timed_ids
            seeded += len(warm) + len(ids)
            delivered.append(
                drain_queue(REDIS_URL, HELPDESK_NAMESPACE, "outbox", "deliver", ids, "deliver", 600)
            )
            wanted = set(message_ids)
            arrivals.wait(partial(wanted.issubset, arrivals.by_message_id.keys()), 30, 10)
            at_sink += len(wanted & arrivals.by_message_id.keys())
            rows.update(outbox_counts(setting.database.url, message_ids))
            children.stop(*workers)
        noop_workers = start_noop_workers(children, options.workers, options.threads)
        time.sleep(1.0)
        warm_up = list(range(WARM_UP))
        drain_queue(REDIS_URL, NOOP_NAMESPACE, "noop", "noop", warm_up, "warm-up", 600)
        noops.append(
            drain_queue(
                REDIS_URL,
                NOOP_NAMESPACE,
                "noop",
                "noop",
                list(range(options.deliveries)),
                "no-op",
                600,
            )
        )
        children.stop(*noop_workers)
    cpu.report("the rounds, worker start-ups included")
    setting.profiles.report()
    for label, drains in (("deliver", delivered), ("no-op", noops)):
        rates = ", ".join(f"{d.rate:.0f}/s" for d in drains)
        print(f"  {label} rounds: {rates} (median used)")
    return median_drain(delivered), median_drain(noops) or noops[0], dict(rows), at_sink, seeded


def median_drain(drains: list[Drain]) -> Drain | None:
    return sorted(drains, key=lambda d: d.rate)[len(drains) // 2] if drains else None


def report_throughput(
    options: Options,
    deliver: Drain | None,
    noop: Drain,
    rows: dict[str, int],
    at_sink: int,
    seeded: int,
) -> None:
    setup = f"{options.workers} processes x {options.threads} threads"
    print(f"  throughput, {setup} (from the first fetch to the last ack; wall from enqueue):")
    for drain in (deliver, noop):
        if drain is None:
            continue
        state = "" if drain.complete else " INCOMPLETE (timed out)"
        print(
            f"    {drain.label:<8}{drain.count:>6} msgs in {drain.seconds:6.2f} s: "
            f"{drain.rate:8.1f} msgs/s (wall {drain.wall_rate:7.1f}/s, enqueue "
            f"{drain.enqueue_end - drain.enqueue_start:.2f} s, dead {drain.dead}){state}"
        )
    if deliver is None:
        print("  target: deliver/no-op ratio: not measured")
        return
    print(f"    outbox rows, all rounds: {rows}; at the sink: {at_sink} of {seeded}")
    ratio = deliver.rate / noop.rate if noop.rate else 0.0
    ok = (
        ratio >= TARGET_RATIO
        and deliver.complete
        and at_sink == seeded
        and rows.get("sent", 0) == seeded
    )
    print(f"  target: deliver/no-op ratio {ratio:.3f} >= {TARGET_RATIO}: {verdict(ok)}")

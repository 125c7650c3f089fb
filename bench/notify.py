"""Notification benchmark: inbound mail -> acknowledgement latency, and delivery throughput.

Run from the repository root::

    .venv/bin/python bench/notify.py [--rate 50] [--seconds 20] [--workers 2] [--threads 4]
                                     [--deliveries 1000] [--database sqlite|postgresql]
                                     [--agents 0] [--profile DIR [--gil]] [--keep]

Everything runs as in production with Redis: ``helpdesk serve`` (the SMTP listener; it stores
each mail and sends the ``drain_inbound`` wake-up) and ``--workers`` separate ``helpdesk worker``
processes on a dedicated Redis database (``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/14``,
flushed before and after), delivering through ``HELPDESK_OUTBOUND=smtp://`` to an aiosmtpd sink
in a child process that notes when each mail arrives, keyed by its In-Reply-To.

1. Latency. After a short warm-up, new-ticket mails from distinct senders, with Message-IDs as
   ``email.utils.make_msgid`` makes them (70-90 characters, like many real clients'), are sent
   at a steady ``--rate`` for ``--seconds``: open loop, ``--connections`` persistent SMTP
   connections. For each, the time of its 250 is noted; latency is the arrival at the sink of
   its acknowledgement (``customer/ack``: Auto-Submitted: auto-replied, In-Reply-To = its
   Message-ID) minus that 250. Printed: p50/p99/max and missing acks, by quarter of the run too;
   a split from the database, 250 -> pipeline start (``processed_at``) -> ack at the sink; CPU
   seconds per process; acks whose In-Reply-To came RFC 2047-encoded (threading broken); then
   ``--probes`` isolated mails on idle workers. Target: p99 <= 1 s with nothing missing.
2. Throughput, in three rounds. Each round: ``--workers`` fresh ``helpdesk worker`` processes
   start, with the reconcile interval raised so that the reconciler does not re-enqueue rows
   mid-measurement, and deliver 100 pending ack rows as a warm-up (connections, caches),
   untimed. Then ``--deliveries`` more rows are written to the outbox (contexts of real acks from
   step 1) and as many ``deliver`` messages put on the queue at once, timed from the first fetch
   until the queue holds no message (all acked), polled in Redis; every row must be sent and
   reach the sink; the workers stop. Then as many processes of a plain Dramatiq ``Worker`` with
   a no-op actor, built the way ``helpdesk worker`` builds its own (same broker class, threads,
   defaults), drain 100 no-op messages untimed and then as many as there were deliveries, timed
   alike. The alternation keeps a drift in the machine's speed (other tenants) out of the ratio;
   the median round of each counts. Target: deliver rate / no-op rate >= 0.3.

PASS/FAIL is printed; the exit status is 0 whatever happens (a measurement, not a test). Child
processes are stopped by their PIDs, also on SIGINT/SIGTERM; the temporary directory, the Redis
database and the PostgreSQL database (``helpdesk_bench_notify``) are removed at the end.
``--profile DIR`` records the gateway and the workers with py-spy (``pip install py-spy``) into
folded stacks and prints the busiest frames (``--gil``: only threads holding the GIL, i.e. CPU).
The figures are for one machine: the CPU lines say how busy it was, others' load included.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import redis
from addresses import HOST, REDIS_URL
from databases import fresh_database, helpdesk_env
from figures import setup_summary
from notify_latency import measure_latency, report_latency
from notify_load import STOPPING
from notify_noop import noop_worker_main
from notify_profile import Profiles
from notify_setting import Options, Setting
from notify_sink import Arrivals, sink_main
from notify_throughput import measure_throughput, report_throughput
from processes import Children, base_env, run_helpdesk, run_script, scratch_dir

SECRET = "bench-notify-secret-not-for-production-012345"
PG_DATABASE = "helpdesk_bench_notify"


def run_database(options: Options, workdir: Path) -> None:
    kind = options.database
    var_dir = workdir / f"var-{kind}"
    var_dir.mkdir()
    store = redis.Redis.from_url(REDIS_URL)
    children = Children(workdir, base_env())
    profiles = Profiles(options.profile, options.gil)
    run = uuid.uuid4().hex[:8]
    try:
        store.flushdb()
        arrivals = Arrivals()
        sink = children.start("sink", [sys.executable, __file__, "_sink"], on_line=arrivals.add)
        sink_port = sink.port()
        with fresh_database(kind, var_dir, PG_DATABASE) as database:
            env = helpdesk_env(database, var_dir, SECRET) | {
                "HELPDESK_BROKER_URL": REDIS_URL,
                "HELPDESK_OUTBOUND": f"smtp://{HOST}:{sink_port}",
            }
            run_helpdesk(env, var_dir, "init")
            for i in range(options.agents):
                run_helpdesk(
                    env, var_dir, "agent", "add", f"agent{i}@example.com", "--name", f"A{i}"
                )
            print(
                f"\n== {database.label}: {options.workers} workers x {options.threads} threads, "
                f"Redis {REDIS_URL}, {options.agents} agents ==",
                flush=True,
            )
            setting = Setting(options, children, env, database, arrivals, profiles, run)
            latency, workers, server = measure_latency(setting)
            children.stop(server, *workers)
            report_latency(options, latency)
            profiles.report()
            deliver, noop, rows, at_sink, seeded = measure_throughput(setting, store.flushdb)
            report_throughput(options, deliver, noop, rows, at_sink, seeded)
            children.stop()
    finally:
        children.stop()
        profiles.report()
        with contextlib.suppress(redis.RedisError):
            store.flushdb()
        store.close()


def _interrupt(signum: int, frame: object) -> None:
    STOPPING.set()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=50.0, help="inbound mails/s (50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the load (20)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--deliveries", type=int, default=1000, help="throughput messages (1000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--agents", type=int, default=0, help="agents alerted per ticket (0)")
    parser.add_argument("--warmup", type=int, default=10, help="mails before measuring (10)")
    parser.add_argument("--probes", type=int, default=5, help="isolated mails after the load (5)")
    parser.add_argument("--connections", type=int, default=16, help="SMTP connections (16)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy folded stacks here")
    parser.add_argument(
        "--gil", action="store_true", help="profile only threads holding the GIL (CPU, not waits)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and the SQLite file")
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    options = Options(**vars(args))
    signal.signal(signal.SIGTERM, _interrupt)  # clean up on a plain kill too
    print(setup_summary(), flush=True)
    with scratch_dir("helpdesk-bench-notify-", keep=options.keep) as workdir:
        try:
            run_database(options, workdir)
        except Exception as exc:  # a measurement, not a test: report and exit 0
            print(f"  not measured: {type(exc).__name__}: {exc}")
        except KeyboardInterrupt:
            STOPPING.set()
            print("  interrupted")
    return 0


ROLES = {"_sink": sink_main, "_noop_worker": noop_worker_main}

if __name__ == "__main__":
    run_script(main, ROLES)

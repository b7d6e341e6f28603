"""pytest fixtures: a private Arca server for the whole test session.

The server is `bin/arca` (or $ARCA_BIN) started on a free port with a fresh data
directory. Its `arca env` output is applied to os.environ, so the official Azure
clients pick it up exactly as an application would (DefaultAzureCredential,
REQUESTS_CA_BUNDLE, ...).

Vault host names (NAME.vault.localhost, or NAME.vault.azure.net with
ARCA_DNS_PINNED=1: port 443, --dns-suffix vault.azure.net) must resolve: run the tests through
tests/python/run.sh, which runs pytest in a private mount namespace whose
/etc/hosts has the vault names.
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Vaults created (offline, before `serve`) next to the default one, for the multi-vault
# tests. tests/python/run.sh puts NAME.vault.localhost for each into the hosts file.
EXTRA_VAULTS = {
    "arca2": ["--retention-days", "7"],
    "arcapp": ["--purge-protection"],
}


def _arca_bin() -> str:
    b = os.environ.get("ARCA_BIN") or str(ROOT / "bin" / "arca")
    if not os.access(b, os.X_OK):
        pytest.exit(f"arca binary {b} not found: build it (go build -o bin/arca ./cmd/arca) or set ARCA_BIN", 2)
    return b


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM the server if pytest dies (Linux PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def parse_env(text: str) -> dict[str, str]:
    """Parse `export K=V` lines (V possibly shell-quoted) from `arca env`."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        words = shlex.split(line)
        for w in words:
            if "=" in w:
                k, v = w.split("=", 1)
                env[k] = v
    return env


def wait_healthz(url: str, cafile: str, proc: subprocess.Popen, attempts: int = 300) -> None:
    """Bounded readiness poll; fails early if the server exits."""
    last = "no attempt"
    for _ in range(attempts):
        if proc.poll() is not None:
            raise RuntimeError(f"arca exited with {proc.returncode} before becoming healthy")
        if os.path.exists(cafile):
            try:
                ctx = ssl.create_default_context(cafile=cafile)
                with urllib.request.urlopen(url, context=ctx, timeout=0.5) as r:
                    if r.status == 200:
                        return
                    last = f"HTTP {r.status}"
            except Exception as e:  # noqa: BLE001
                last = repr(e)
        else:
            last = f"{cafile} not created yet"
        time.sleep(0.1)  # poll interval of a bounded readiness loop
    raise RuntimeError(f"{url} not healthy after {attempts} attempts: {last}")


@dataclasses.dataclass
class Arca:
    bin: str
    data: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen
    log_path: str

    @property
    def vault_url(self) -> str:
        return self.env["AZURE_KEYVAULT_URL"].rstrip("/")

    @property
    def vault_host(self) -> str:
        return urllib.parse.urlsplit(self.vault_url).hostname or ""

    def url_of(self, vault: str) -> str:
        """The URL of another vault of this deployment (same suffix and port)."""
        u = urllib.parse.urlsplit(self.vault_url)
        suffix = u.netloc.split(".", 1)[1]
        return f"https://{vault}.{suffix}"

    @property
    def resource(self) -> str:
        """The challenge resource: the vault origin minus its first label (port kept)."""
        return "https://" + urllib.parse.urlsplit(self.vault_url).netloc.split(".", 1)[1]

    @property
    def authority(self) -> str:
        return self.env["AZURE_AUTHORITY_HOST"].rstrip("/")

    @property
    def ca(self) -> str:
        return self.env["REQUESTS_CA_BUNDLE"]

    def log_tail(self, n: int = 60) -> str:
        try:
            return "".join(Path(self.log_path).read_text(errors="replace").splitlines(True)[-n:])
        except OSError:
            return ""


def _audit_log_args(extra: tuple[str, ...]) -> list[str]:
    """With ARCA_AUDIT_DIR set (scripts/test-clients.sh), an audit log file of its own there."""
    d = os.environ.get("ARCA_AUDIT_DIR")
    if not d or "--audit-log" in extra:
        return []
    os.makedirs(d, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="tests-python.", suffix=".log", dir=d)
    os.close(fd)
    return ["--audit-log", path]


def audit_needle(label: str, value: str) -> None:
    """Record VALUE for scripts/scan-audit.sh (as scripts/lib.sh audit_needle does)."""
    d = os.environ.get("ARCA_AUDIT_DIR")
    if not d or not value:
        return
    os.makedirs(d, exist_ok=True)
    fd = os.open(os.path.join(d, "needles.txt"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(f"{label} (tests/python)\t{value}\n")


def _record_deployment_needles(data: str, env: dict[str, str]) -> None:
    audit_needle("AZURE_CLIENT_SECRET", env.get("AZURE_CLIENT_SECRET", ""))
    audit_needle("IDENTITY_HEADER", env.get("IDENTITY_HEADER", ""))
    try:
        audit_needle("root key", Path(data, "root.key").read_text().strip())
    except OSError:
        pass


def serve(binary: str, data: str, port: int, log_path: str, *extra: str) -> Arca:
    """Start `arca serve` on DATA/PORT, wait for /healthz, read `arca env`. Raises RuntimeError."""
    args = [binary, "serve", "--data", data, "--port", str(port), *extra, *_audit_log_args(extra)]
    log = open(log_path, "ab")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    log.close()
    pidfile = os.environ.get("ARCA_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write(f"{proc.pid}\n")
    try:
        wait_healthz(f"https://localhost:{port}/healthz", os.path.join(data, "ca.pem"), proc)
        r = subprocess.run([binary, "env", "--data", data], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"arca env failed ({r.returncode}): {r.stderr}")
        env = parse_env(r.stdout)
        missing = [k for k in ("AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "ARCA_TENANT_ID", "AZURE_CLIENT_ID",
                               "AZURE_CLIENT_SECRET", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_KEYVAULT_URL",
                               "KEY_VAULT_NAME", "REQUESTS_CA_BUNDLE") if k not in env]
        if missing:
            raise RuntimeError(f"`arca env` lacks {missing}; output was:\n{r.stdout}")
        _record_deployment_needles(data, env)
    except Exception:
        stop(proc)
        raise
    return Arca(binary, data, port, env, proc, log_path)


def stop(proc: subprocess.Popen) -> int | None:
    """SIGTERM the server and wait for it (SIGKILL after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def init_data(binary: str, data: str, vaults: dict[str, list[str]]) -> None:
    """`arca init` plus `arca vault create` for each extra vault (offline)."""
    init = [binary, "init", "--data", data]
    if os.environ.get("ARCA_TEST_VAULT"):
        init += ["--default-vault", os.environ["ARCA_TEST_VAULT"]]
    for cmd in [init] + [[binary, "vault", "create", n, "--data", data, *a] for n, a in vaults.items()]:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")


@pytest.fixture(scope="session")
def arca_bin() -> str:
    return _arca_bin()


@pytest.fixture(scope="session")
def arca(arca_bin) -> Arca:
    tmp = tempfile.mkdtemp(prefix="arca-pytest-")
    data = os.path.join(tmp, "data")
    log_path = os.path.join(tmp, "arca.log")
    extra = ["--default-vault", os.environ["ARCA_TEST_VAULT"]] if os.environ.get("ARCA_TEST_VAULT") else []
    port = _free_port()
    if os.environ.get("ARCA_DNS_PINNED") == "1":
        # DNS-pinned mode: https://NAME.vault.azure.net on 443, resource https://vault.azure.net
        port = 443
        extra += ["--dns-suffix", "vault.azure.net"]
    saved_env = dict(os.environ)
    a = None
    try:
        try:
            # Initialise offline and add the extra vaults before the first start.
            init_data(arca_bin, data, EXTRA_VAULTS)
            a = serve(arca_bin, data, port, log_path, *extra)
        except RuntimeError as e:
            log = Path(log_path).read_text(errors="replace") if os.path.exists(log_path) else ""
            pytest.exit(f"{e}\n--- arca log ---\n{log}", 3)
        os.environ.update(a.env)
        try:
            socket.getaddrinfo(a.vault_host, a.port)
        except socket.gaierror:
            pytest.exit(f"{a.vault_host} does not resolve: run the tests with tests/python/run.sh "
                        "(private mount namespace with a hosts file)", 3)
        yield a
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        if a is not None:
            rc = stop(a.proc)
            if rc not in (0, -signal.SIGTERM):
                sys.stderr.write(f"arca exited with {rc}\n")
        if os.environ.get("ARCA_KEEP_DATA") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            sys.stderr.write(f"arca data and log kept in {tmp}\n")

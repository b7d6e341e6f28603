"""Bounded readiness poll for Arca: wait_healthz.py URL CAFILE PID [ATTEMPTS].

Each attempt is one HTTPS GET (verified against CAFILE) with a 0.2 s timeout; a
failed attempt waits on the server process for at most 0.1 s before retrying, so
the loop ends early if the server exits. Exit 0 on HTTP 200, 1 otherwise.
"""
import os
import ssl
import sys
import time
import urllib.request


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie counts as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def main() -> int:
    url, cafile, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    attempts = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    last = "no attempt"
    for _ in range(attempts):
        if not alive(pid):
            print(f"wait_healthz: server process {pid} exited", file=sys.stderr)
            return 1
        if os.path.exists(cafile):
            try:
                ctx = ssl.create_default_context(cafile=cafile)
                with urllib.request.urlopen(url, context=ctx, timeout=0.5) as r:
                    if r.status == 200:
                        return 0
                    last = f"HTTP {r.status}"
            except Exception as e:  # noqa: BLE001 - report the last failure only
                last = repr(e)
        else:
            last = f"{cafile} not created yet"
        time.sleep(0.1)  # poll interval of a bounded readiness loop
    print(f"wait_healthz: {url} not healthy after {attempts} attempts: {last}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

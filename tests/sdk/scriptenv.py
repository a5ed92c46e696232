"""What every Python test script against hydra-edge shares (tests/sdk/*.py, tests/rp/*.py): the
server and admin token from the environment, a socket timeout so that a stalled server fails the
run instead of hanging it, run ids for unique names, a record of the operations called with
their statuses, and the loop that runs independent sections and reports them.

Standard library only: each script runs in its own venv (target/venv, target/venv-v1, ...).
"""

import os
import secrets
import socket
import sys
import time
import traceback
import urllib.parse

BASE = os.environ.get("HYDRA_EDGE_URL", "").rstrip("/")
TOKEN = os.environ.get("HYDRA_EDGE_ADMIN_TOKEN", "")
if not BASE or not TOKEN:
    print("set HYDRA_EDGE_URL and HYDRA_EDGE_ADMIN_TOKEN", file=sys.stderr)
    sys.exit(2)

# urllib, urllib3 and requests all fall back to the socket default.
socket.setdefaulttimeout(30)

calls = {}


def run_id(prefix):
    """A prefix for the names one run creates: runs against one server never collide."""
    return f"{prefix}-{int(time.time()):x}-{secrets.token_hex(3)}"


def record(op, status):
    calls.setdefault(op, set()).add(status)


def query(url, name):
    """The first value of query parameter `name` in `url`, or None."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url or "").query).get(name, [None])[0]


def run_sections(title, sections):
    """Run each `(name, function)`; a failure is reported and the next one runs. Prints the
    operations called and exits non-zero when a section failed."""
    failures = []
    print(f"{title} against {BASE}")
    for name, fn in sections:
        started = time.time()
        try:
            note = fn()
            print(f"  ok    {name} ({int((time.time() - started) * 1000)} ms){': ' + note if note else ''}")
        except Exception:  # noqa: BLE001 - every failure is reported, then the next section runs
            failures.append(name)
            print(f"  FAIL  {name}\n{traceback.format_exc()}")
    print(f"\n{len(calls)} distinct operations:")
    for op in sorted(calls):
        print(f"  {op}: {', '.join(str(s) for s in sorted(calls[op]))}")
    if failures:
        print(f"\nFAILED: {', '.join(failures)}")
        sys.exit(1)
    print(f"\nall {len(sections)} sections passed")

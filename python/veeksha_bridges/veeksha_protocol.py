"""The JSON-lines side of Veeksha's bridge protocol (version 1; docs/INTEGRATIONS.md), shared by
lmeval_bridge.py and wandb_bridge.py. Installed beside them; each bridge imports it from its own
directory.

One JSON object per line: Veeksha writes to the bridge's stdin, the bridge to its stdout. Any
failure is one {"type": "error", "kind", "message", ...} line and exit status 3; EOF on stdin
is exit status 4.
"""

import json
import math
import os
import sys

PROTOCOL = 1
_OUT = sys.stdout


def claim_stdout():
    """The protocol gets a private copy of fd 1; fd 1 itself (Python's print, C extensions,
    progress bars) goes to stderr, so nothing else can land in the protocol stream."""
    global _OUT
    _OUT = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def json_safe(x):
    """Plain JSON values: non-finite floats become strings (as lm-eval writes "N/A"), other
    objects (numpy numbers, tuples) their nearest JSON form."""
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [json_safe(v) for v in x]
    if hasattr(x, "item"):  # numpy scalars
        try:
            return json_safe(x.item())
        except (TypeError, ValueError):
            pass
    return str(x)


def send(obj):
    _OUT.write(json.dumps(json_safe(obj), separators=(",", ":")) + "\n")
    _OUT.flush()


def fail(kind, message, **extra):
    send(dict({"type": "error", "kind": kind, "message": message}, **extra))
    sys.exit(3)


def read():
    line = sys.stdin.readline()
    if not line:
        sys.exit(4)  # Veeksha went away: nothing left to do
    return json.loads(line)


def hello(bridge, version_key, version):
    send({"type": "hello", "protocol": PROTOCOL, "bridge": bridge, version_key: str(version),
          "python": sys.version.split()[0]})


def run(main):
    """Run a bridge's main(): an exception becomes the one error line Veeksha shows (kind
    "exception"), its traceback goes to stderr."""
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:
        import traceback
        traceback.print_exc(file=sys.stderr)
        fail("exception", "%s: %s" % (type(e).__name__, e))

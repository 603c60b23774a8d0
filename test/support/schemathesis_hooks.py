"""Schemathesis hooks for test/contract-fuzz.test.ts: sign carrier webhooks as a carrier does.

`X-Signature: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>">` with the secret the test
passes in CARRIER_WEBHOOK_SECRET. The body is serialized here, once, so the bytes signed are the
bytes sent. Bodies that are not JSON-serializable (negative cases) go unsigned and get a 401.
"""

import hashlib
import hmac
import json
import os
import time

import schemathesis

SECRET = os.environ["CARRIER_WEBHOOK_SECRET"].encode()


@schemathesis.hook
def before_call(context, case, kwargs):
    if not case.path.startswith("/carriers/") or case.body is None or isinstance(case.body, bytes):
        return
    try:
        raw = json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    case.body = raw
    case.headers = {**(case.headers or {}), "X-Timestamp": timestamp, "X-Signature": f"sha256={digest}"}

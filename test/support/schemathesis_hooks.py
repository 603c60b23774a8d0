"""Schemathesis hooks for test/contract-fuzz.test.ts: sign carrier webhooks as a carrier does.

`X-Signature: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>">` with the secret the test
passes in CARRIER_WEBHOOK_SECRET. The body is serialized here, once, so the bytes signed are the
bytes sent. Bodies that are not JSON-serializable (negative cases) go unsigned and get a 401, and so
do cases whose headers schemathesis made invalid on purpose: signing those would repair the very
part it broke, and the check that schema-violating requests are refused would count the answer
against the API.
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
    if _negative(case, "header"):
        return
    try:
        raw = json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    case.body = raw
    case.headers = {**(case.headers or {}), "X-Timestamp": timestamp, "X-Signature": f"sha256={digest}"}


def _negative(case, location):
    """Whether schemathesis generated this part of the case to violate the schema."""
    components = getattr(getattr(case, "meta", None), "components", None) or {}
    for key, info in components.items():
        if getattr(key, "value", key) == location:
            return bool(getattr(getattr(info, "mode", None), "is_negative", False))
    return False

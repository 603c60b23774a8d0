"""Schemathesis hooks for test/contract-fuzz.test.ts: sign carrier webhooks as a carrier does.

`X-Signature: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>">` with the secret the test
passes in CARRIER_WEBHOOK_SECRET. The signature is made by a `requests` auth over the prepared
request, so the bytes signed are the bytes sent, and the case itself is left alone: schemathesis
re-checks a case a hook edits against the schema, and a body swapped for its serialized bytes
checks as invalid, so every accepted carrier scan counted as a schema-violating request accepted
(whenever the fuzzer had drawn a live tracking number from an earlier response: one run in three).
Cases whose headers schemathesis made invalid on purpose (a signature header left out) go unsigned:
signing would repair the very part it broke, and the API's 202 would count against it.
"""

import hashlib
import hmac
import os
import time

import requests
import schemathesis

SECRET = os.environ["CARRIER_WEBHOOK_SECRET"].encode()


class CarrierSignature(requests.auth.AuthBase):
    def __call__(self, request):
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        timestamp = str(int(time.time()))
        digest = hmac.new(SECRET, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        request.headers["X-Timestamp"] = timestamp
        request.headers["X-Signature"] = f"sha256={digest}"
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.path.startswith("/carriers/") and not _negative(case, "header"):
        kwargs["auth"] = CarrierSignature()


def _negative(case, location):
    """Whether schemathesis generated this part of the case to violate the schema."""
    components = getattr(getattr(case, "meta", None), "components", None) or {}
    for key, info in components.items():
        if getattr(key, "value", key) == location:
            return bool(getattr(getattr(info, "mode", None), "is_negative", False))
    return False

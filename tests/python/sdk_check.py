#!/usr/bin/env python3
"""Checks surge's Architect mock with the official Genesys Cloud Python SDK (PureCloudPlatformClientV2).

Usage: sdk_check.py URL CLIENT_ID CLIENT_SECRET [LIMITED_ID LIMITED_SECRET]
   or: SURGE_MOCK_URL, SURGE_MOCK_CLIENT_ID, SURGE_MOCK_CLIENT_SECRET (+ SURGE_MOCK_LIMITED_ID/_SECRET) in the env.

With the SDK's host set to the mock's URL it: obtains a token (client credentials), lists flows, gets a
flow, publishes it and polls until SUCCESS, and receives 401, 404 and 429 as ApiException with the Genesys
error bodies and headers. The 429 comes from the optional "limited" client (a tiny token limit) or, without
it, from spending the default client's per-token limit. The SDK's own urllib3 retry (up to 10 retries that
honour Retry-After) is switched off so a 429 surfaces at once. Exits non-zero on any failure.
"""
import json
import os
import sys
import time

import urllib3
import PureCloudPlatformClientV2 as gc
from PureCloudPlatformClientV2.rest import ApiException


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print(f"ok: {msg}")


def api_client(url, cid, secret):
    gc.configuration.host = url
    client = gc.api_client.ApiClient(host=url)
    rest = client.get_http_client().rest_client
    # no automatic retries: a 429 must reach us as an ApiException, not a 10-fold sleep
    rest.pool_manager.connection_pool_kw["retries"] = urllib3.util.Retry(
        total=0, respect_retry_after_header=False, raise_on_status=False
    )
    rest.pool_manager.clear()
    return client.get_client_credentials_token(cid, secret)


def error_of(e):
    body = json.loads(e.body)
    headers = {k.lower(): v for k, v in dict(e.headers or {}).items()}
    return body, headers


def expect_error(fn, status, code, what):
    try:
        fn()
    except ApiException as e:
        check(e.status == status, f"{what}: ApiException status {e.status}")
        body, headers = error_of(e)
        for k in ("message", "code", "status", "contextId", "details", "errors"):
            check(k in body, f"{what}: error body has {k}")
        check(body["code"] == code, f"{what}: code {body['code']}")
        check(headers.get("inin-correlation-id") == body["contextId"], f"{what}: ININ-Correlation-Id == contextId")
        return body, headers
    fail(f"{what}: expected ApiException {status}")


def main():
    args = sys.argv[1:]
    env = os.environ.get
    url = args[0] if len(args) > 0 else env("SURGE_MOCK_URL")
    cid = args[1] if len(args) > 1 else env("SURGE_MOCK_CLIENT_ID")
    secret = args[2] if len(args) > 2 else env("SURGE_MOCK_CLIENT_SECRET")
    lim_id = args[3] if len(args) > 3 else env("SURGE_MOCK_LIMITED_ID")
    lim_secret = args[4] if len(args) > 4 else env("SURGE_MOCK_LIMITED_SECRET")
    if not (url and cid and secret):
        fail(__doc__)

    client = api_client(url, cid, secret)
    check(bool(client.access_token), "client-credentials token obtained")
    arch = gc.ArchitectApi(client)

    listing = arch.get_flows(page_size=25, page_number=1)
    check(listing.total >= 1 and len(listing.entities) >= 1, f"list flows: total {listing.total}")
    check(listing.page_count >= 1, "list flows: pageCount")
    flow_id = listing.entities[0].id

    flow = arch.get_flow(flow_id)
    check(flow.id == flow_id and flow.name, f"get flow {flow.name}")

    op = arch.post_flows_actions_publish(flow_id)
    check(op.action_name == "PUBLISH" and op.action_status == "STARTED" and not op.complete,
          f"publish answers an Operation STARTED ({op.action_status})")
    deadline = time.time() + 60
    seen = []
    while time.time() < deadline:
        f = arch.get_flow(flow_id)
        cur = f.current_operation
        if cur and cur.action_status not in seen:
            seen.append(cur.action_status)
        if cur and cur.action_name == "PUBLISH" and cur.complete:
            break
        time.sleep(0.2)
    check(f.current_operation.action_status == "SUCCESS", f"publish reached SUCCESS via {seen}")
    check(f.published_version is not None, f"publishedVersion set ({f.published_version.id})")

    # 404: an unknown flow, and the architect path some posts invent
    expect_error(lambda: arch.get_flow("00000000-0000-4000-8000-ffffffffffff"), 404, "not.found", "unknown flow")
    body, _ = expect_error(
        lambda: client.call_api("/api/v2/architect/flows/" + flow_id, "GET", {}, [], {"Accept": "application/json"},
                                auth_settings=["PureCloud OAuth"], response_type="object"),
        404, "not.found", "/api/v2/architect/flows/{id}")
    check("/api/v2/flows/" + flow_id in body["message"], "the 404 names the real path")

    # 401: a bad token
    bad = gc.api_client.ApiClient(host=url)
    bad.set_http_client(client.get_http_client())  # the no-retry pool
    bad.access_token = "not-a-token"
    expect_error(lambda: gc.ArchitectApi(bad).get_flow(flow_id), 401, "bad.credentials", "bad token")

    # 429
    if lim_id and lim_secret:
        limited = gc.ArchitectApi(api_client(url, lim_id, lim_secret))
        budget = 50
    else:
        limited, budget = arch, 1000
    for _ in range(budget):
        try:
            limited.get_flow(flow_id)
        except ApiException as e:
            if e.status != 429:
                fail(f"expected 429, got {e.status}")
            body, headers = error_of(e)
            ra = headers.get("retry-after")
            check(ra is not None and int(ra) >= 1, f"429 carries Retry-After: {ra}")
            check(body["code"] == "too.many.requests.retry.after", "429 code")
            check(body["message"] == f"Rate limit exceeded the maximum. Retry the request in [{ra}] seconds",
                  "429 message")
            check({"key", "namespace", "value"} <= set(body.get("limit", {})), f"429 limit {body.get('limit')}")
            check(headers.get("inin-correlation-id") == body["contextId"], "429 correlation id")
            print("sdk_check: all passed")
            return
    fail(f"no 429 within {budget} requests")


if __name__ == "__main__":
    main()

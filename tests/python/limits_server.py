#!/usr/bin/env python3
"""A small HTTP server on 127.0.0.1 that rate-limits with the `limits` library (PyPI), for surge's tests
against real limiters: the algorithm is the library's, not surge's.

Usage: limits_server.py --strategy STRATEGY --limit LIMIT [--key authorization|address] [--delay-ms N]

  STRATEGY  fixed-window, moving-window, sliding-window-counter (the library's three), or none
  LIMIT     the library's notation: "20/second", "150 per 10 seconds", "300/minute"
  --key     what the limit is kept per: the Authorization header (default) or the client's address
  --delay-ms  answer each admitted request after this long (a slow origin; with `none`, the only job)

It binds a free port, prints `listening PORT` on stdout, and serves until killed:
  POST /oauth/token   a fresh bearer token per call (never limited)
  GET  /limits/stats  {"admitted": n, "refused": n} (never limited): the ground truth
  anything else       200 {"ok":true} when the limiter admits it; else 429 with Retry-After, the
                      seconds until the library's window resets, rounded up to whole seconds
"""
import argparse
import json
import math
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from limits import parse, storage, strategies

STRATEGIES = {
    "fixed-window": strategies.FixedWindowRateLimiter,
    "moving-window": strategies.MovingWindowRateLimiter,
    "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strategy", required=True, choices=[*STRATEGIES, "none"])
    ap.add_argument("--limit", default="10/second")
    ap.add_argument("--key", choices=["authorization", "address"], default="authorization")
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()

    item = parse(args.limit)
    limiter = None if args.strategy == "none" else STRATEGIES[args.strategy](storage.MemoryStorage())
    lock = threading.Lock()
    counts = {"admitted": 0, "refused": 0}

    def decide(key):
        """(admitted, retry_after_s) for one request under `key`."""
        if limiter is None:
            return True, 0
        with lock:
            if limiter.hit(item, key):
                counts["admitted"] += 1
                return True, 0
            counts["refused"] += 1
            reset = limiter.get_window_stats(item, key).reset_time
        return False, max(1, math.ceil(reset - time.time()))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, body, headers=()):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            path = self.path.split("?", 1)[0]
            if path == "/oauth/token":
                token = uuid.uuid4().hex
                return self.answer(
                    200, json.dumps({"access_token": token, "token_type": "bearer", "expires_in": 86400})
                )
            if path == "/limits/stats":
                with lock:
                    return self.answer(200, json.dumps(counts))
            if args.key == "authorization":
                key = self.headers.get("Authorization") or "-"
            else:
                key = self.client_address[0]
            ok, retry_after = decide(key)
            if not ok:
                return self.answer(429, '{"status":429}', [("Retry-After", str(retry_after))])
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000)
            self.answer(200, '{"ok":true}')

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    srv = Server(("127.0.0.1", 0), Handler)
    print(f"listening {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

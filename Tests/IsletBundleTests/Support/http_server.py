#!/usr/bin/env python3
"""A loopback HTTP(S) file server and forward proxy for IsletBundle's tests. Python 3 stdlib only.

    http_server.py --root DIR --port-file FILE --log FILE [--host 127.0.0.1] [--rules FILE]
                   [--cert PEM --key PEM] [--proxy]

It binds HOST on a free port (port 0) and writes the port to --port-file once it listens, so a test
never races another for a port. Every request is appended to --log as one JSON line (method, path,
headers) before it is answered, so a test that got its answer can count what the server saw.

File mode serves --root with GET and HEAD, takes PUT/POST/PATCH uploads (logged with their length and
sha256, answered 201), single byte ranges (`Range: bytes=N-` and `bytes=N-M`,
206 with Content-Range, 416 past the end), HTTP/1.1 keep-alive. --rules names a JSON file, read
again on every request, mapping a request path to what to do with it:

    {"/f.bin": {"fail_status": 503, "fail_times": 2, "retry_after": "0",   # 503 twice, then serve
                "cut_after": 1048576, "cut_times": 1,   # send this many body bytes, then drop the connection
                "stall_after": 1024, "stall_seconds": 30,  # send this many, then nothing for a while
                "ignore_range": true,                   # answer 200 with the whole file to a Range request
                "wrong_range": true,                    # answer a Range request with a 206 from byte 0
                "redirect": "http://127.0.0.2:PORT/f.bin",  # 302 to another loopback server
                "status": 404}}                         # answer only this status

Counters for "_times" are per path and per server. --proxy turns it into a forward proxy: absolute
URLs (`GET http://127.0.0.1:P/x`) are fetched and relayed, CONNECT opens a tunnel; only to
127.0.0.0/8, never anywhere else.
"""

import argparse
import hashlib
import http.client
import http.server
import ipaddress
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
COUNTS = {}


def loopback_only(host):
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "islet-test-http"

    def log_message(self, format, *args):
        pass

    def record(self, **extra):
        entry = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
        entry.update(extra)
        with LOCK:
            with open(self.server.options.log, "a") as log:
                log.write(json.dumps(entry) + "\n")

    def rule(self, path):
        rules_file = self.server.options.rules
        if not rules_file or not os.path.exists(rules_file):
            return {}
        with open(rules_file) as f:
            return json.load(f).get(path, {})

    def take(self, key, times):
        """True for the first `times` calls with this key."""
        with LOCK:
            seen = COUNTS.get(key, 0)
            COUNTS[key] = seen + 1
            return seen < times

    def drain_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # --- file mode ------------------------------------------------------------------------------

    def do_GET(self):
        self.record()
        if self.server.options.proxy:
            return self.relay()
        self.drain_body()
        path = urllib.parse.urlsplit(self.path).path
        rule = self.rule(path)
        if "status" in rule:
            return self.answer(rule["status"], b"status from rules\n")
        if "fail_status" in rule and self.take(("fail", path), rule.get("fail_times", 1)):
            headers = [("Retry-After", rule["retry_after"])] if "retry_after" in rule else []
            return self.answer(rule["fail_status"], b"failing on purpose\n", headers)
        if "redirect" in rule:
            return self.answer(302, b"", [("Location", rule["redirect"])])
        target = os.path.realpath(os.path.join(self.server.options.root, path.lstrip("/")))
        root = os.path.realpath(self.server.options.root)
        if not target.startswith(root + os.sep) or not os.path.isfile(target):
            return self.answer(404, b"not found\n")
        self.target = target
        size = os.path.getsize(target)
        start, end, status = 0, size - 1, 200
        requested = self.headers.get("Range")
        if requested and not rule.get("ignore_range"):
            spec = requested.removeprefix("bytes=")
            first, _, last = spec.partition("-")
            start = 0 if rule.get("wrong_range") else int(first)
            end = min(int(last), size - 1) if last else size - 1
            if start >= size:
                return self.answer(416, b"", [("Content-Range", f"bytes */{size}")])
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        if "cut_after" in rule and self.take(("cut", path), rule.get("cut_times", 1)):
            length = min(length, rule["cut_after"])
            self.close_connection = True
        if "stall_after" in rule:
            return self.stall(min(length, rule["stall_after"]), rule.get("stall_seconds", 30))
        self.wfile.flush()
        with open(target, "rb") as f:
            self.connection.sendfile(f, start, length)
        if self.close_connection:
            self.connection.shutdown(socket.SHUT_RDWR)


    def stall(self, count, seconds):
        """Sends `count` body bytes, then nothing for `seconds`: a stalled transfer."""
        with open(self.target, "rb") as f:
            self.wfile.write(f.read(count))
        self.wfile.flush()
        time.sleep(seconds)
        self.close_connection = True

    do_HEAD = do_GET
    do_DELETE = do_GET

    def do_PUT(self):
        """Takes an upload and records its length and sha256 (file mode); answers 201."""
        if self.server.options.proxy:
            self.record()
            return self.relay()
        digest, total = hashlib.sha256(), 0
        length = int(self.headers.get("Content-Length") or 0)
        while total < length:
            chunk = self.rfile.read(min(length - total, 1 << 16))
            if not chunk:
                break
            digest.update(chunk)
            total += len(chunk)
        self.record(body_length=total, body_sha256=digest.hexdigest())
        self.answer(201, b"")

    do_POST = do_PUT
    do_PATCH = do_PUT

    # --- proxy mode -----------------------------------------------------------------------------

    def relay(self):
        target = urllib.parse.urlsplit(self.path)
        if target.scheme != "http" or not loopback_only(target.hostname or ""):
            self.drain_body()
            return self.answer(403, b"this test proxy only reaches 127.0.0.0/8 over http\n")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        hop_by_hop = {"proxy-connection", "connection", "keep-alive", "proxy-authorization"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop_by_hop}
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
        path = target.path + ("?" + target.query if target.query else "")
        upstream.request(self.command, path or "/", body=body, headers=headers)
        response = upstream.getresponse()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in hop_by_hop and name.lower() != "transfer-encoding":
                self.send_header(name, value)
        self.send_header("Via", "1.1 islet-test-proxy")
        self.end_headers()
        if self.command != "HEAD":
            while chunk := response.read(1 << 16):
                self.wfile.write(chunk)
        upstream.close()

    def do_CONNECT(self):
        self.record()
        host, _, port = self.path.rpartition(":")
        if not self.server.options.proxy or not loopback_only(host):
            return self.answer(403, b"this test proxy only tunnels to 127.0.0.0/8\n")
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        sockets = [self.connection, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                break
            done = False
            for s in readable:
                data = s.recv(1 << 16)
                if not data:
                    done = True
                    break
                (upstream if s is self.connection else self.connection).sendall(data)
            if done:
                break
        upstream.close()
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=".")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--rules")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--proxy", action="store_true")
    options = parser.parse_args()
    if not loopback_only(options.host):
        sys.exit(f"http_server.py: refusing to listen on {options.host}: loopback (127.0.0.0/8) only")
    open(options.log, "a").close()
    server = Server((options.host, 0), Handler)
    server.options = options
    if options.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.cert, options.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    temporary = options.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(temporary, options.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Re-create the HTTP sample captures: real nginx + a Python backend, driven by curl, on loopback.

    python samples/http/make_samples.py            # needs root (tcpdump on lo), nginx, curl, tcpdump

Writes samples/http/*.pcap and samples/http/manifest.json (the served files with sizes and
SHA-256, and for each capture the requests made with the expected status and decoded-body
SHA-256). tests/test_http_samples.py checks the analyzer against the manifest.

Everything runs as child processes of this script (nginx with ``daemon off`` and its config in a
temporary directory, the backend, tcpdump); they are stopped by PID at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import backend  # noqa: E402

NGINX_PORT = 18080      # plain HTTP/1.x
H2_PORT = 18082         # nginx "listen ... http2" (h2c with prior knowledge)
BACKEND_PORT = 18081
HOST = "127.0.0.1"
FIXED_MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT: Last-Modified of every served file


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def prng(n: int, seed: bytes) -> bytes:
    out = bytearray()
    h = seed
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:n])


def served_files() -> dict[str, bytes]:
    words = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
             "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
    css = "".join(".c%d { color: #%06x; margin: %dpx; } /* %s */\n" % (i, (i * 2654435761) & 0xFFFFFF, i % 17,
                                                                         words[i % len(words)]) for i in range(400))
    notes = "".join("%05d %s\n" % (i, " ".join(words[(i + k) % len(words)] for k in range(9))) for i in range(600))
    index = ("<!doctype html>\n<html><head><title>pcap-dissect sample</title>"
             "<link rel=stylesheet href=/style.css></head><body>\n"
             + "".join("<p id=p%d>%s</p>\n" % (i, " ".join(words[i % 26:] + words[:i % 26])) for i in range(20))
             + "</body></html>\n")
    return {
        "index.html": index.encode(),
        "style.css": css.encode(),
        "notes.txt": notes.encode(),
        "data.bin": prng(65536, b"data.bin"),
    }


UPLOAD = prng(150_000, b"upload.bin")
FORM = b"name=J%C3%BCrgen+Smith&comment=hello+world%21&n=42"


def nginx_conf(tmp: Path, www: Path) -> str:
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; text/css css; text/plain txt; application/octet-stream bin; }}
    default_type application/octet-stream;
    server_tokens off;
    keepalive_timeout 30;
    gzip on;
    gzip_types text/css text/plain application/json;
    gzip_min_length 64;
    gzip_proxied any;
    client_max_body_size 10m;
    server {{
        listen {HOST}:{NGINX_PORT};
        server_name localhost;
        root {www};
        location = /old {{ return 301 /index.html; }}
        location /api/ {{
            proxy_pass http://{HOST}:{BACKEND_PORT};
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $http_connection;
        }}
    }}
    server {{
        listen {HOST}:{H2_PORT} http2;
        server_name localhost;
        root {www};
    }}
}}
"""


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


class Capture:
    def __init__(self, path: Path, bpf: str):
        self.path = path
        self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-B", "32768", "-s", "0",
                                      "-w", str(path), bpf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump prints "listening on lo" once the capture runs
        line = self.proc.stderr.readline()
        if b"listening" not in line:
            raise RuntimeError(f"tcpdump: {line!r}")
        time.sleep(0.3)

    def stop(self) -> None:
        time.sleep(0.5)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        stats = self.proc.stderr.read().decode(errors="replace")
        dropped = [ln for ln in stats.splitlines() if "dropped by kernel" in ln]
        if dropped and not dropped[0].startswith("0 "):
            raise RuntimeError(f"{self.path.name}: tcpdump lost packets ({dropped[0]}); run again")


def curl(*args: str) -> None:
    """One curl invocation; ``--next`` separates requests that share the connection pool."""
    cmd = ["curl", "-s", "-o", "/dev/null"]
    for a in args:
        cmd.append(a)
        if a == "--next":
            cmd += ["-s", "-o", "/dev/null"]
    subprocess.run(cmd, check=True)


def raw_exchange(port: int, payload: bytes, read_until_close: bool = True) -> bytes:
    with socket.create_connection((HOST, port)) as s:
        s.sendall(payload)
        s.settimeout(5)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            out += b
        return out


def main() -> int:
    for tool in ("nginx", "curl", "tcpdump"):
        if shutil.which(tool) is None:
            print(f"make_samples: {tool} is not installed", file=sys.stderr)
            return 2
    files = served_files()
    tmp = Path(tempfile.mkdtemp(prefix="http-samples-"))
    www = tmp / "www"
    www.mkdir()
    for name, data in files.items():
        (www / name).write_bytes(data)
        os.utime(www / name, (FIXED_MTIME, FIXED_MTIME))
    (tmp / "upload.bin").write_bytes(UPLOAD)
    os.chmod(tmp, 0o755)
    (tmp / "nginx.conf").write_text(nginx_conf(tmp, www))
    procs = []
    base = f"http://{HOST}:{NGINX_PORT}"
    lm = formatdate(FIXED_MTIME, usegmt=True)
    manifest: dict = {
        "generator": "samples/http/make_samples.py",
        "tools": {"nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
                  "curl": subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]},
        "files": {f"/{n}": {"size": len(d), "sha256": sha(d)} for n, d in files.items()},
        "uploads": {"upload.bin": {"size": len(UPLOAD), "sha256": sha(UPLOAD)},
                    "form": {"size": len(FORM), "sha256": sha(FORM)}},
        "captures": {},
    }

    def f(name: str) -> dict:
        d = files[name]
        return {"body_len": len(d), "sha256": sha(d)}

    try:
        procs.append(subprocess.Popen([sys.executable, str(HERE / "backend.py"), str(BACKEND_PORT)]))
        procs.append(subprocess.Popen(["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                                      stderr=subprocess.DEVNULL))
        wait_port(BACKEND_PORT)
        wait_port(NGINX_PORT)
        wait_port(H2_PORT)
        caps = manifest["captures"]

        # 1. keep-alive: several requests on one connection (curl reuses it across --next)
        p = HERE / "http-keepalive.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT}")
        curl(f"{base}/index.html", "--next", "--compressed", f"{base}/style.css",
             "--next", "-I", f"{base}/data.bin",
             "--next", f"{base}/missing.html", "--next", f"{base}/old",
             "--next", "-H", f"If-Modified-Since: {lm}", f"{base}/index.html",
             "--next", "-X", "DELETE", f"{base}/index.html")
        c.stop()
        caps[p.name] = {"connections": 1, "requests": [
            {"method": "GET", "uri": "/index.html", "status": 200, **f("index.html")},
            {"method": "GET", "uri": "/style.css", "status": 200, "content_encoding": "gzip", **f("style.css")},
            {"method": "HEAD", "uri": "/data.bin", "status": 200, "body_len": 0, "sha256": None},
            {"method": "GET", "uri": "/missing.html", "status": 404},
            {"method": "GET", "uri": "/old", "status": 301, "location": f"{base}/index.html"},
            {"method": "GET", "uri": "/index.html", "status": 304, "body_len": 0, "sha256": None},
            {"method": "DELETE", "uri": "/index.html", "status": 405},
        ]}

        # 2. gzip + chunked from nginx; the backend's chunked (with extension and trailer) behind it
        p = HERE / "http-gzip-chunked.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT} or tcp port {BACKEND_PORT}")
        curl("--compressed", f"{base}/api/chunked")
        c.stop()
        cb = backend.chunked_body()
        caps[p.name] = {"connections": 2, "requests": [
            {"method": "GET", "uri": "/api/chunked", "status": 200, "content_encoding": "gzip",
             "transfer_encoding": "chunked", "port": NGINX_PORT, "decoded_len": len(cb), "sha256": sha(cb)},
            {"method": "GET", "uri": "/api/chunked", "status": 200, "transfer_encoding": "chunked",
             "port": BACKEND_PORT, "body_len": len(cb), "sha256": sha(cb)},
        ]}

        # 3. Range requests: one range (206), several ranges (206 multipart/byteranges)
        p = HERE / "http-range.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT}")
        curl("-r", "1000-1999", f"{base}/data.bin", "--next", "-r", "0-99,5000-5099", f"{base}/data.bin")
        c.stop()
        d = files["data.bin"]
        caps[p.name] = {"connections": 1, "requests": [
            {"method": "GET", "uri": "/data.bin", "status": 206, "range": "bytes=1000-1999",
             "content_range": ["bytes 1000-1999/65536"], "body_len": 1000, "sha256": sha(d[1000:2000])},
            {"method": "GET", "uri": "/data.bin", "status": 206, "range": "bytes=0-99,5000-5099",
             "content_range": ["bytes 0-99/65536", "bytes 5000-5099/65536"],
             "content_type_prefix": "multipart/byteranges"},
        ]}

        # 4. POST form, POST to a static file (405), multipart upload with Expect: 100-continue
        p = HERE / "http-post.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT}")
        curl("--compressed", "-d", FORM.decode(), f"{base}/api/form",
             "--next", "-d", "x=1", f"{base}/index.html",
             "--next", "--compressed", "-H", "Expect: 100-continue", "-F", f"file=@{tmp / 'upload.bin'}",
             "-F", "note=sample upload", f"{base}/api/upload")
        c.stop()
        caps[p.name] = {"connections": 1, "requests": [
            {"method": "POST", "uri": "/api/form", "status": 200, "request_body_len": len(FORM),
             "request_sha256": sha(FORM),
             "sha256": sha(backend.summary(FORM, "application/x-www-form-urlencoded"))},
            {"method": "POST", "uri": "/index.html", "status": 405, "request_body_len": 3},
            {"method": "POST", "uri": "/api/upload", "status": 200, "info_code": 100,
             "request_content_type_prefix": "multipart/form-data", "upload": "upload.bin"},
        ]}

        # 5. HTTP/1.0: one request that closes, then two on a keep-alive HTTP/1.0 connection
        p = HERE / "http-10.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT}")
        curl("-0", f"{base}/notes.txt")
        curl("-0", "-H", "Connection: keep-alive", f"{base}/notes.txt", "--next", "-0", "-H",
             "Connection: keep-alive", f"{base}/index.html")
        c.stop()
        caps[p.name] = {"connections": 2, "requests": [
            {"method": "GET", "uri": "/notes.txt", "status": 200, "version": "1.0", **f("notes.txt")},
            {"method": "GET", "uri": "/notes.txt", "status": 200, "version": "1.0", **f("notes.txt")},
            {"method": "GET", "uri": "/index.html", "status": 200, "version": "1.0", **f("index.html")},
        ]}

        # 6. pipelining (three requests in one write), a WebSocket upgrade, a CONNECT nginx refuses
        p = HERE / "http-pipelined-upgrade.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT}")
        raw_exchange(NGINX_PORT, b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                 b"GET /data.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                 b"GET /notes.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        raw_exchange(NGINX_PORT, b"GET /api/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 b"Sec-WebSocket-Version: 13\r\n\r\n")
        raw_exchange(NGINX_PORT, b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
        c.stop()
        caps[p.name] = {"connections": 3, "requests": [
            {"method": "GET", "uri": "/index.html", "status": 200, **f("index.html")},
            {"method": "GET", "uri": "/data.bin", "status": 200, **f("data.bin")},
            {"method": "GET", "uri": "/notes.txt", "status": 200, **f("notes.txt")},
            {"method": "GET", "uri": "/api/ws", "status": 101, "tags": ["upgrade", "websocket"]},
            {"method": "CONNECT", "uri": "example.org:443", "status": 400},
        ]}

        # 7. HTTP/2: h2c upgrade offer (nginx answers in HTTP/1.1) and prior knowledge (not dissected)
        p = HERE / "http-h2.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT} or tcp port {H2_PORT}")
        curl("--http2", f"{base}/index.html")
        curl("--http2-prior-knowledge", f"http://{HOST}:{H2_PORT}/index.html")
        c.stop()
        caps[p.name] = {"connections": 2, "requests": [
            {"method": "GET", "uri": "/index.html", "status": 200, "tags": ["h2c"], **f("index.html")},
            {"method": "PRI", "uri": "*", "version": "2.0", "tags": ["h2_preface"]},
        ]}

        # 8. a brotli decompression bomb (64 MiB of zeros in ~100 bytes)
        p = HERE / "http-bomb.pcap"
        c = Capture(p, f"tcp port {NGINX_PORT}")
        curl(f"{base}/api/bomb")
        c.stop()
        caps[p.name] = {"connections": 1, "requests": [
            {"method": "GET", "uri": "/api/bomb", "status": 200, "content_encoding": "br",
             "wire_len": len(backend.bomb()), "decoded_size": backend.BOMB_SIZE},
        ]}
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for name in manifest["captures"]:
        print(f"{name}: {(HERE / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

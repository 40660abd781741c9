"""The small backend behind nginx for the HTTP samples (run by make_samples.py).

Endpoints (HTTP/1.1, keep-alive):
  GET  /api/chunked   text/plain sent with Transfer-Encoding: chunked, a chunk extension and a trailer
  POST /api/form      echoes a JSON summary of the body (length, sha256, content type)
  POST /api/upload    same, for multipart uploads
  GET  /api/bomb      64 MiB of zeros as Content-Encoding: br (a decompression bomb, ~100 bytes on the wire)
  GET  /api/ws        a WebSocket handshake (101) followed by one text frame, then close

The bodies are deterministic (see chunked_body(), summary()) so that the manifest can state them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNKS = [("line %04d: the quick brown fox jumps over the lazy dog\n" % i).encode() * 8 for i in range(40)]


def chunked_body() -> bytes:
    return b"".join(CHUNKS)


def summary(body: bytes, ctype: str) -> bytes:
    return json.dumps({"length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                       "content_type": ctype}, sort_keys=True).encode() + b"\n"


BOMB_SIZE = 64 << 20


def bomb() -> bytes:
    import brotli

    return brotli.compress(b"\0" * BOMB_SIZE, quality=5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sample-backend/1.0"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path.startswith("/api/chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for i, c in enumerate(CHUNKS):
                ext = ";part=%d" % i if i % 10 == 0 else ""
                self.wfile.write(b"%x%s\r\n%s\r\n" % (len(c), ext.encode(), c))
            self.wfile.write(b"0\r\nX-Checksum: %s\r\n\r\n" % hashlib.sha256(chunked_body()).hexdigest().encode())
        elif self.path.startswith("/api/bomb"):
            data = bomb()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Encoding", "br")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path.startswith("/api/ws"):
            key = self.headers.get("Sec-WebSocket-Key", "")
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept.decode())
            self.end_headers()
            msg = b"hello over websocket"
            self.wfile.write(bytes([0x81, len(msg)]) + msg)
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def do_POST(self):
        body = self._body()
        out = summary(body, self.headers.get("Content-Type", ""))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main() -> None:
    port = int(sys.argv[1])
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()

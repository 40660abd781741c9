"""Live capture through Wireshark's dumpcap, consumed by the same streaming pcapng reader as files.

Why dumpcap and not libpcap bindings: dumpcap is the standard privileged capture helper (Wireshark,
tshark and pyshark's LiveCapture all use it); it handles several interfaces, capture filters,
snap length, duration/count stops and writes pcapng to a pipe. We start it as a child process
(``dumpcap -i IF ... -w -``), read its stdout with :func:`dissect.io.open_stream`, and stop it by
its PID (SIGINT first, so it flushes what it buffered).

``--write FILE`` keeps the raw capture: a tee thread copies dumpcap's output block by block into
pcapng files (optionally a ring buffer of N files of M MB: each file starts with the section's
header and interface blocks, so every file opens on its own) and passes the same bytes on to the
reader through an OS pipe.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import BinaryIO

__all__ = ["LiveCaptureError", "DumpcapCapture", "RingWriter", "find_dumpcap", "list_interfaces"]


class LiveCaptureError(Exception):
    """A live capture cannot start or failed: one clear line for the user."""


INSTALL_HINT = "dumpcap is not installed: install it with `apt-get install tshark` (Debian/Ubuntu package wireshark-common)"


def find_dumpcap() -> str:
    exe = shutil.which("dumpcap") or ("/usr/bin/dumpcap" if os.path.exists("/usr/bin/dumpcap") else None)
    if not exe:
        raise LiveCaptureError(INSTALL_HINT)
    return exe


def list_interfaces() -> list[str]:
    """Interface names dumpcap can see (``dumpcap -D``)."""
    exe = find_dumpcap()
    try:
        out = subprocess.run([exe, "-D"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LiveCaptureError(f"dumpcap -D failed: {e}") from None
    names = []
    for line in out.stdout.splitlines():
        m = re.match(r"\s*\d+\.\s+(\S+)", line)
        if m:
            names.append(m.group(1))
    return names


def _explain(stderr: str, interfaces: list[str]) -> str:
    """Turn dumpcap's stderr into one clear line."""
    text = " ".join(stderr.split())
    low = text.lower()
    if "no device named" in low or "no such device" in low or "doesn't exist" in low:
        m = re.search(r'no device named "([^"]+)"', text)
        name = m.group(1) if m else ",".join(interfaces)
        return f"no such interface: {name} (see `dumpcap -D` for the list)"
    if "permission" in low or "operation not permitted" in low:
        return ("no permission to capture on " + ",".join(interfaces) +
                ": capturing needs the CAP_NET_RAW and CAP_NET_ADMIN capabilities (run as root, or "
                "`setcap cap_net_raw,cap_net_admin+eip /usr/bin/dumpcap` and join the wireshark group)")
    if "invalid capture filter" in low:
        m = re.search(r'invalid capture filter "(.*?)"', text, re.I)
        return f"invalid capture filter {m.group(1)!r}" if m else "invalid capture filter"
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("Capturing on", "File:"))]
    return "dumpcap failed: " + (lines[0].strip() if lines else text or "unknown error")


class RingWriter:
    """Write a pcapng byte stream into one file or a ring of ``files`` files of ``size_mb`` MB.

    Works on whole blocks: every new file begins with the current section header block and its
    interface description blocks. Only files this writer created are ever deleted (ring rotation).
    """

    SHB = 0x0A0D0D0A
    IDB = 0x00000001

    def __init__(self, path: Path, files: int = 0, size_mb: float = 0):
        self.path = Path(path)
        self.files = files
        self.limit = int(size_mb * 1024 * 1024) if size_mb else 0
        self.buf = bytearray()
        self.endian = "<"
        self.header = bytearray()      # SHB + IDBs of the current section
        self.in_header = False
        self.fh: BinaryIO | None = None
        self.written = 0
        self.seq = 0
        self.created: list[Path] = []

    def _name(self) -> Path:
        if not self.limit:
            return self.path
        stamp = time.strftime("%Y%m%d%H%M%S")
        suffix = "".join(self.path.suffixes) or ".pcapng"
        stem = self.path.name[: -len(suffix)] if self.path.suffixes else self.path.name
        return self.path.with_name(f"{stem}_{self.seq:05d}_{stamp}{suffix}")

    def _open(self) -> None:
        if self.fh:
            self.fh.close()
        self.seq += 1
        p = self._name()
        self.fh = open(p, "wb")
        self.created.append(p)
        self.written = 0
        if self.header:
            self.fh.write(self.header)
            self.written += len(self.header)
        if self.files and len(self.created) > self.files:
            old = self.created.pop(0)
            try:
                old.unlink()
            except OSError:
                pass

    def write(self, data: bytes) -> None:
        self.buf += data
        pos = 0
        buf = self.buf
        while len(buf) - pos >= 12:
            btype = struct.unpack_from(self.endian + "I", buf, pos)[0]
            if btype == self.SHB or struct.unpack_from("<I", buf, pos)[0] == self.SHB:
                magic = buf[pos + 8:pos + 12]
                self.endian = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
                btype = self.SHB
            blen = struct.unpack_from(self.endian + "I", buf, pos + 4)[0]
            if blen < 12 or blen % 4:
                # Not pcapng block framing: write the rest through unchanged.
                self._emit(bytes(buf[pos:]), False)
                pos = len(buf)
                break
            if len(buf) - pos < blen:
                break
            block = bytes(buf[pos:pos + blen])
            pos += blen
            if btype == self.SHB:
                self.header = bytearray(block)
                self.in_header = True
                self._emit(block, True)
            elif btype == self.IDB and self.in_header:
                self.header += block
                self._emit(block, True)
            else:
                self.in_header = False
                self._emit(block, False)
        del buf[:pos]

    def _emit(self, block: bytes, header: bool) -> None:
        if self.fh is None:
            self.seq = 0
            self._open_first()
        elif self.limit and not header and self.written + len(block) > self.limit and self.written > len(self.header):
            self._open()
        assert self.fh is not None
        self.fh.write(block)
        self.written += len(block)

    def _open_first(self) -> None:
        saved = self.header
        self.header = bytearray()   # the first file gets the header blocks as they stream in
        self._open()
        self.header = saved

    def close(self) -> None:
        if self.buf and self.fh:
            self.fh.write(self.buf)
        if self.fh:
            self.fh.close()
            self.fh = None


class DumpcapCapture:
    """A running dumpcap child writing pcapng to a pipe; ``stream`` is what the reader consumes."""

    def __init__(self, interfaces: list[str], *, bpf: str | None = None, snaplen: int | None = None,
                 duration: float | None = None, count: int | None = None,
                 write: Path | None = None, ring_files: int = 0, ring_size_mb: float = 0):
        if not interfaces:
            raise LiveCaptureError("no interface given (use -i IFACE; see `dumpcap -D`)")
        self.interfaces = interfaces
        self.exe = find_dumpcap()
        cmd = [self.exe, "-q"]
        for i in interfaces:
            cmd += ["-i", i]
        if bpf:
            cmd += ["-f", bpf]
        if snaplen:
            cmd += ["-s", str(int(snaplen))]
        if duration:
            cmd += ["-a", f"duration:{max(1, int(round(duration)))}"]
        if count:
            cmd += ["-c", str(int(count))]
        cmd += ["-w", "-"]
        self.cmd = cmd
        self.write_path = Path(write) if write else None
        self.ring_files = ring_files
        self.ring_size_mb = ring_size_mb
        self.proc: subprocess.Popen | None = None
        self.stderr_lines: list[str] = []
        self._tee: threading.Thread | None = None
        self._ring: RingWriter | None = None
        self.stream: BinaryIO | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, wait: float = 0.5) -> BinaryIO:
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, bufsize=0,
                                         start_new_session=True)
        except OSError as e:
            raise LiveCaptureError(f"cannot start dumpcap: {e}") from None
        threading.Thread(target=self._read_stderr, daemon=True).start()
        # dumpcap reports bad interfaces/filters/permissions within a moment and exits.
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.proc.poll() is not None and self.proc.returncode != 0:
            time.sleep(0.1)
            raise LiveCaptureError(_explain("\n".join(self.stderr_lines), self.interfaces))
        stdout = self.proc.stdout
        assert stdout is not None
        if self.write_path is None:
            self.stream = stdout
        else:
            self._ring = RingWriter(self.write_path, self.ring_files, self.ring_size_mb)
            r, w = os.pipe()
            self.stream = os.fdopen(r, "rb", buffering=0)
            self._tee = threading.Thread(target=self._tee_loop, args=(stdout, w), daemon=True)
            self._tee.start()
        return self.stream

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip())
            if len(self.stderr_lines) > 200:
                del self.stderr_lines[:100]

    def _tee_loop(self, src: BinaryIO, wfd: int) -> None:
        assert self._ring is not None
        try:
            while True:
                data = src.read(65536) if not hasattr(src, "read1") else src.read1(65536)
                if not data:
                    break
                self._ring.write(data)
                view = memoryview(data)
                while view:
                    n = os.write(wfd, view)
                    view = view[n:]
        except (BrokenPipeError, OSError, ValueError):
            pass
        finally:
            self._ring.close()
            try:
                os.close(wfd)
            except OSError:
                pass

    def error(self) -> str | None:
        """The failure explanation if dumpcap exited with an error."""
        if self.proc is not None and self.proc.poll() not in (None, 0):
            return _explain("\n".join(self.stderr_lines), self.interfaces)
        return None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop dumpcap (our own child, by PID): SIGINT so it flushes, then SIGTERM/SIGKILL."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                return
            try:
                p.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def close(self) -> None:
        self.stop()
        if self._tee is not None:
            self._tee.join(timeout=5)

    @property
    def written_files(self) -> list[Path]:
        return list(self._ring.created) if self._ring else []

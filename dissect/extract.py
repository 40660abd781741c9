"""Safe extraction of messages, MIME parts and HTTP objects to a folder.

Nothing from the capture chooses a path. A file name is ``<base>-<hint>`` where ``base`` is built
by the caller from ids (flow uid, transaction number, part id) and ``hint`` is the captured file
name reduced to a harmless single component:

* only the last component of any ``/`` or ``\\`` path is kept; ``..``/``.`` and leading dots go;
* control characters, NUL, Unicode format characters (bidi overrides such as U+202E, zero-width
  characters), surrogates and unassigned code points are removed; characters Windows forbids
  (``<>:"|?*``) become ``_``; the result is NFC-normalised;
* reserved Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$) are
  prefixed with ``_``; trailing dots and spaces are stripped;
* the name is capped at ``max_name`` UTF-8 bytes, keeping a (short, sanitised) extension.

Files are created with ``O_CREAT | O_EXCL`` (and ``O_NOFOLLOW``), so an existing file (or a
symlink planted in the folder) is never overwritten or followed: a ``-1``, ``-2``... suffix is
added instead. The resolved path is checked to be directly inside the output folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = ["Extractor", "ExtractedFile", "sanitize_component", "MAX_NAME"]

MAX_NAME = 200                      # bytes (most file systems allow 255)
_MAX_EXT = 16
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
             *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
             "COM\u00b9", "COM\u00b2", "COM\u00b3", "LPT\u00b9", "LPT\u00b2", "LPT\u00b3"}
_WIN_BAD = re.compile(r'[<>:"|?*\\/]')
_WS = re.compile(r"\s+")
_DEFAULT_EXT = {"eml": ".eml"}


@dataclass(frozen=True, slots=True)
class ExtractedFile:
    kind: str
    path: Path
    size: int
    sha256: str
    hint: str | None


def _clean_chars(s: str) -> str:
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat[0] == "C":            # Cc control, Cf format (bidi, zero-width), Cs, Co, Cn
            continue
        if cat in ("Zl", "Zp"):
            continue
        out.append(ch)
    return "".join(out)


def sanitize_component(name: str | None) -> str:
    """Reduce a captured name to one harmless path component ('' when nothing is left)."""
    if not name:
        return ""
    s = str(name)
    s = s.replace("\x00", "")
    s = re.split(r"[/\\]", s)[-1]                 # last component only
    s = unicodedata.normalize("NFC", _clean_chars(s))
    s = _WIN_BAD.sub("_", s)
    s = _WS.sub(" ", s).strip()
    s = s.lstrip(".").rstrip(". ")               # no hidden/relative names, no trailing dots
    if not s or s in (".", ".."):
        return ""
    stem = s.split(".", 1)[0].strip().upper()
    if stem in _RESERVED:
        s = "_" + s
    return s


def _split_ext(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= _MAX_EXT and re.fullmatch(r"[\w\-]+", ext):
        return stem, "." + ext
    return name, ""


def _cap(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, ext = _split_ext(name)
    room = max(1, limit - len(ext.encode("utf-8")))
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return (stem or "_") + ext


class Extractor:
    """Writes extracted objects into ``out_dir`` (created if missing); see the module doc."""

    def __init__(self, out_dir: Path | str, *, max_name: int = MAX_NAME):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = self.out_dir.resolve()
        self.max_name = max(32, int(max_name))
        self.written: list[ExtractedFile] = []
        self.errors: list[str] = []

    def name_for(self, kind: str, base: str, filename_hint: str | None) -> str:
        base_s = sanitize_component(base) or "object"
        hint_s = sanitize_component(filename_hint)
        name = f"{base_s}-{hint_s}" if hint_s else base_s + _DEFAULT_EXT.get(kind, ".bin")
        name = _cap(name, self.max_name)
        return sanitize_component(name) or "object.bin"

    def write(self, kind: str, base: str, filename_hint: str | None,
              data: bytes | bytearray | memoryview | Iterable[bytes]) -> Path | None:
        """Write one object; returns its path, or None when it could not be written."""
        name = self.name_for(kind, base, filename_hint)
        stem, ext = _split_ext(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = -1
        path = None
        for i in range(10_000):
            cand = name if i == 0 else f"{stem}-{i}{ext}"
            path = self.out_dir / cand
            if path.parent != self.out_dir or os.path.isabs(cand) or os.sep in cand:
                self.errors.append(f"refused name {cand!r}")
                return None
            try:
                fd = os.open(path, flags, 0o644)
                break
            except FileExistsError:
                continue
            except OSError as e:
                self.errors.append(f"{cand}: {e.strerror or e}")
                return None
        if fd < 0 or path is None:
            self.errors.append(f"{name}: too many files with this name")
            return None
        h = hashlib.sha256()
        size = 0
        try:
            if path.resolve().parent != self.out_dir:     # belt and braces: never outside
                raise OSError("path escapes the output folder")
            with os.fdopen(fd, "wb") as f:
                fd = -1
                chunks = (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data
                for chunk in chunks:
                    if not chunk:
                        continue
                    f.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
        except OSError as e:
            if fd >= 0:
                os.close(fd)
            self.errors.append(f"{path.name}: {getattr(e, 'strerror', None) or e}")
            try:
                path.unlink()
            except OSError:
                pass
            return None
        self.written.append(ExtractedFile(kind, path, size, h.hexdigest(), filename_hint))
        return path

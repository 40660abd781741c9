"""Safe extraction: hostile names never choose a path, nothing escapes the folder, no overwrite."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissect.extract import MAX_NAME, Extractor, sanitize_component

HOSTILE = [
    "../../etc/passwd", "..\\..\\windows\\system32\\drivers\\etc\\hosts", "/abs/path", "C:\\abs",
    "CON", "con.txt", "NUL", "nul.tar.gz", "COM1", "lpt9.doc", "CONIN$", "a\x00b.txt", "\x00",
    "evil\u202etxt.exe", "\u200b\u200b", "x" * 10_000 + ".pdf", "y" * 10_000, "...", "..", ".",
    " .hidden. ", "trailing. . .", "a\r\nb", "\x1b[31mred\x1b[0m.txt", "name\ud800.txt", "",
    "a/b/c/", "////", "🎉" * 200 + ".zip", "file:stream.txt", "q?u*e<r>y|.txt", "\u2028line",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_inside(tmp_path, name):
    ex = Extractor(tmp_path / "out")
    p = ex.write("smtp-part", "Cuid-1-2", name, b"data")
    assert p is not None
    assert p.resolve().parent == (tmp_path / "out").resolve()
    assert p.read_bytes() == b"data"
    assert p.name.startswith("Cuid-1-2")
    assert len(p.name.encode()) <= MAX_NAME + 8
    assert "/" not in p.name and "\\" not in p.name and "\x00" not in p.name
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or ord(c) < 32 for c in p.name)
    assert not p.name.endswith((".", " "))
    assert sorted(os.listdir(tmp_path)) == ["out"]       # nothing written beside the folder


def test_sanitize_examples():
    assert sanitize_component("../../etc/passwd") == "passwd"
    assert sanitize_component("C:\\Windows\\x.dll") == "x.dll"
    assert sanitize_component("CON") == "_CON"
    assert sanitize_component("com1.txt") == "_com1.txt"
    assert sanitize_component("evil\u202etxt.exe") == "eviltxt.exe"
    assert sanitize_component("..") == ""
    assert sanitize_component("  .hidden. ") == "hidden"


def test_long_name_keeps_extension(tmp_path):
    ex = Extractor(tmp_path)
    p = ex.write("smtp-part", "C1-1-2", "z" * 10_000 + ".pdf", b"x")
    assert p.suffix == ".pdf" and len(p.name.encode()) <= MAX_NAME


def test_existing_file_is_never_overwritten(tmp_path):
    (tmp_path / "C1-1-2-report.pdf").write_bytes(b"precious")
    ex = Extractor(tmp_path)
    p1 = ex.write("smtp-part", "C1-1-2", "report.pdf", b"new")
    p2 = ex.write("smtp-part", "C1-1-2", "report.pdf", [b"ne", b"wer"])
    assert (tmp_path / "C1-1-2-report.pdf").read_bytes() == b"precious"
    assert p1.name == "C1-1-2-report-1.pdf" and p2.name == "C1-1-2-report-2.pdf"
    assert p2.read_bytes() == b"newer"
    assert ex.written[1].sha256 == hashlib.sha256(b"newer").hexdigest() and ex.written[1].size == 5


def test_planted_symlink_is_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "C1-1-2-x.txt").symlink_to(victim)
    p = Extractor(out).write("smtp-part", "C1-1-2", "x.txt", b"evil")
    assert victim.read_bytes() == b"keep"
    assert p is not None and p.name == "C1-1-2-x-1.txt" and not p.is_symlink()


def test_no_hint_uses_kind_extension(tmp_path):
    ex = Extractor(tmp_path)
    assert ex.write("eml", "C1-3", None, b"x").name == "C1-3.eml"
    assert ex.write("http-object", "C1-3", None, b"x").name == "C1-3.bin"


def test_unwritable_folder_returns_none(tmp_path):
    out = tmp_path / "ro"
    ex = Extractor(out)
    os.chmod(out, 0o500)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running as a user that ignores permissions (root)")
        assert ex.write("eml", "C1", None, b"x") is None and ex.errors
    finally:
        os.chmod(out, 0o700)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=400), st.text(min_size=0, max_size=40))
def test_any_name_stays_inside(tmp_path_factory, hint, base):
    out = tmp_path_factory.mktemp("hyp")
    ex = Extractor(out)
    p = ex.write("smtp-part", base, hint, b"x")
    assert p is not None and p.resolve().parent == Path(out).resolve()
    assert len(p.name.encode()) <= MAX_NAME + 8

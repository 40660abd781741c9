"""Capture input: real captures (shared corpus, editcap variants) first, hand-made edge cases after."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import shutil
import subprocess
import sys
import threading

import pytest

from dissect.errors import CaptureError
from dissect.io import CaptureInfo, open_stream, read_frames
from test_io_build import (CORPUS, corpus, eth, ipv4, ng_block, ng_epb, ng_idb, ng_opb, ng_shb, ng_spb,
                           pcap_bytes, tcp)

EDITCAP = shutil.which("editcap")
needs_editcap = pytest.mark.skipif(EDITCAP is None, reason="editcap (Wireshark tools) not installed")


def frames_of(paths, **kw):
    infos, weirds = [], []
    frames = list(read_frames(paths if isinstance(paths, list) else [paths], infos, weirds.append, **kw))
    return frames, infos, weirds


def capinfos(path) -> dict:
    """The tshark 4.0 capinfos view stored with the corpus: packets, data size, first/last time."""
    rel = path.relative_to(CORPUS / "captures")
    txt = (CORPUS / "tshark" / rel.parent / (rel.name + ".capinfos.txt"))
    if not txt.exists():
        pytest.skip(f"no capinfos view for {rel}")
    out = {}
    for line in txt.read_text().splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def utc(s: str) -> float:
    return dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc).timestamp()


def corpus_captures():
    base = CORPUS / "captures"
    if not base.exists():
        return []
    return sorted(p for p in base.rglob("*.pcap"))


# -- real captures ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", corpus_captures(), ids=lambda p: str(p.relative_to(CORPUS / "captures")))
def test_corpus_matches_capinfos(path):
    """Frame count, byte count (sum of wire lengths), first and last time equal tshark's capinfos."""
    ref = capinfos(path)
    frames, infos, _ = frames_of([str(path)])
    info = infos[0]
    assert len(frames) == info.packets == int(ref["Number of packets"])
    assert info.bytes == int(ref["Data size"].split()[0])
    assert abs(info.first_ts - utc(ref["First packet time"])) < 1e-6
    assert abs(info.last_ts - utc(ref["Last packet time"])) < 1e-6
    assert info.format == ref["File type"].rsplit(" - ", 1)[-1]


def test_truncated_capture_keeps_everything_before_the_damage():
    path = corpus("captures/suricata-verify/http-mime-truncated/input.pcap")
    frames, infos, weirds = frames_of([str(path)])
    assert len(frames) == 2696          # capinfos and iostat agree: every complete record
    assert infos[0].truncated is True
    assert [w.name for w in weirds] == ["capture_truncated"]
    assert weirds[0].uid is None and weirds[0].source == "capture"
    assert "after 2696 frames" in weirds[0].addl
    # the last frame is whole (the damage is after it)
    assert len(frames[-1][2]) == frames[-1][3] == 54


def test_gzip_capture_gives_the_same_frames_as_the_decompressed_one():
    gz = corpus("captures/zeek/http/1000-requests-one-dropped-response.pcap.gz")
    plain = corpus("captures/zeek/http/1000-requests-one-dropped-response.pcap")
    a, ia, _ = frames_of([str(gz)])
    b, ib, _ = frames_of([str(plain)])
    assert len(a) == 4102 and a == b
    assert ia[0].compressed and ia[0].compression == "gzip" and not ib[0].compressed


def test_gzip_detected_by_magic_not_by_name(tmp_path):
    src = corpus("captures/zeek/smtp.pcap")
    odd = tmp_path / "capture.bin"
    odd.write_bytes(gzip.compress(src.read_bytes()))
    assert frames_of([str(odd)])[0] == frames_of([str(src)])[0]


def test_other_compressions(tmp_path):
    import bz2
    import lzma

    import zstandard
    src = corpus("captures/zeek/smtp.pcap")
    raw = src.read_bytes()
    base = frames_of([str(src)])[0]
    for name, data in (("xz", lzma.compress(raw)), ("bzip2", bz2.compress(raw)),
                       ("zstd", zstandard.ZstdCompressor().compress(raw))):
        p = tmp_path / f"c.{name}"
        p.write_bytes(data)
        frames, infos, _ = frames_of([str(p)])
        assert frames == base and infos[0].compression == name


def test_cut_gzip_is_a_truncated_capture(tmp_path):
    src = corpus("captures/zeek/http/1000-requests-one-dropped-response.pcap.gz")
    data = src.read_bytes()
    p = tmp_path / "cut.pcap.gz"
    p.write_bytes(data[: len(data) // 2])
    frames, infos, weirds = frames_of([str(p)])
    full = frames_of([str(src)])[0]
    assert 0 < len(frames) < len(full)
    assert frames == full[: len(frames)]
    assert infos[0].truncated and weirds[-1].name == "capture_truncated"


def test_sll2_capture():
    path = corpus("captures/suricata-verify/decode-sll2-02/input.pcap")
    frames, infos, _ = frames_of([str(path)])
    assert infos[0].linktypes == {276}
    assert len(frames) == 159 and all(f[1] == 276 for f in frames)


@needs_editcap
@pytest.mark.parametrize("fmt", ["pcapng", "nsecpcap", "modpcap", "suse6_3pcap"])
def test_editcap_format_variants_give_identical_frames(tmp_path, fmt):
    src = corpus("captures/zeek/http/get-gzip.pcap")
    out = tmp_path / f"v.{fmt}"
    subprocess.run([EDITCAP, "-F", fmt, str(src), str(out)], check=True, capture_output=True)
    base, bi, _ = frames_of([str(src)])
    got, gi, _ = frames_of([str(out)])
    assert got == base
    assert gi[0].packets == bi[0].packets and gi[0].bytes == bi[0].bytes
    assert gi[0].format == ("pcapng" if fmt == "pcapng" else "pcap")
    assert gi[0].nanosecond == (fmt == "nsecpcap")


@needs_editcap
def test_merged_files_come_out_in_time_order(tmp_path):
    """Two captures whose packets interleave in time (split from one by editcap) merge back."""
    src = corpus("captures/zeek/http/pipelined-requests.pcap")
    base = frames_of([str(src)])[0]
    n = len(base)
    odd, even = tmp_path / "odd.pcap", tmp_path / "even.pcap"
    # editcap keeps only the listed packet numbers (1-based)
    subprocess.run([EDITCAP, "-r", str(src), str(odd)] + [str(i) for i in range(1, n + 1, 2)], check=True)
    subprocess.run([EDITCAP, "-r", str(src), str(even)] + [str(i) for i in range(2, n + 1, 2)], check=True)
    for order in ([even, odd], [odd, even]):
        got, infos, _ = frames_of([str(p) for p in order])
        assert sorted(got, key=lambda f: f[0]) == got
        assert sorted(got) == sorted(base)
        assert [i.path for i in infos] == [str(p) for p in order]
        assert sum(i.packets for i in infos) == n


@needs_editcap
def test_rotated_files_read_one_after_the_other(tmp_path):
    src = corpus("captures/zeek/http/1000-requests-one-dropped-response.pcap")
    subprocess.run([EDITCAP, "-c", "1000", str(src), str(tmp_path / "part.pcap")], check=True)
    parts = sorted(tmp_path.glob("part*.pcap"))
    assert len(parts) == 5
    got, infos, _ = frames_of([str(p) for p in reversed(parts)])   # given in the wrong order
    assert got == frames_of([str(src)])[0]
    assert [i.packets for i in infos] == [102, 1000, 1000, 1000, 1000]


def test_stdin_dash(tmp_path):
    src = corpus("captures/zeek/smtp.pcap")
    code = ("import sys; from dissect.io import read_frames; infos=[]; "
            "fr=list(read_frames(['-'], infos)); print(len(fr), infos[0].bytes, infos[0].path)")
    for data in (src.read_bytes(), gzip.compress(src.read_bytes())):
        r = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
        assert r.stdout.split() == [b"125", b"%d" % frames_of([str(src)])[1][0].bytes, b"-"]


def test_stream_yields_each_frame_as_soon_as_it_arrives():
    """A pipe with a live writer: the first frame comes out before the writer has finished."""
    pkt = eth(ipv4(tcp(payload=b"x" * 100)))
    data = pcap_bytes([(1.0, pkt), (2.0, pkt)])
    first_end = 24 + 16 + len(pkt)
    rfd, wfd = os.pipe()
    rf = os.fdopen(rfd, "rb")
    os.write(wfd, data[:first_end] + data[first_end:first_end + 5])   # frame 1 + a bit of frame 2
    got = []
    done = threading.Event()

    def consume():
        for fr in open_stream(rf, "pipe"):
            got.append(fr)
            done.set()
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    assert done.wait(10), "the first frame was not yielded while the writer kept the pipe open"
    assert len(got) == 1 and got[0][0] == 1.0
    os.write(wfd, data[first_end + 5:])
    os.close(wfd)
    t.join(10)
    assert [f[0] for f in got] == [1.0, 2.0]
    rf.close()


def test_stream_pcapng_from_bytesio():
    src = corpus("captures/zeek/smtp.pcap")
    base = frames_of([str(src)])[0]
    infos = []
    got = list(open_stream(io.BytesIO(src.read_bytes()), "mem", infos))
    assert got == base and infos[0].path == "mem" and infos[0].packets == 125


# -- errors -----------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(CaptureError, match=r"nope\.pcap: no such file"):
        read_frames([str(tmp_path / "nope.pcap")])


def test_directory(tmp_path):
    with pytest.raises(CaptureError, match="is a directory"):
        read_frames([str(tmp_path)])


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions")
def test_permission_denied(tmp_path):
    p = tmp_path / "secret.pcap"
    p.write_bytes(pcap_bytes([]))
    p.chmod(0)
    with pytest.raises(CaptureError, match="permission denied"):
        read_frames([str(p)])


def test_permission_denied_simulated(tmp_path, monkeypatch):
    p = tmp_path / "secret.pcap"
    p.write_bytes(pcap_bytes([]))
    real_open = open

    def deny(path, *a, **kw):
        if str(path) == str(p):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **kw)
    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(CaptureError, match=r"secret\.pcap: permission denied"):
        read_frames([str(p)])


def test_empty_file(tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    with pytest.raises(CaptureError, match=r"empty\.pcap: empty file"):
        read_frames([str(p)])


@pytest.mark.parametrize("content, what", [
    (b"<!DOCTYPE html><html><body>hello</body></html>", "text"),
    (b"PK\x03\x04" + b"\0" * 40, "ZIP archive"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 40, "ELF executable"),
    (bytes(range(200, 256)) * 2, "unknown binary data"),
])
def test_not_a_capture_says_what_the_file_looks_like(tmp_path, content, what):
    p = tmp_path / "x.pcap"
    p.write_bytes(content)
    with pytest.raises(CaptureError) as e:
        read_frames([str(p)])
    msg = str(e.value)
    assert msg.startswith(f"{p}: not a pcap or pcapng capture")
    assert what in msg and "\n" not in msg
    assert "%02x" % content[0] in msg


def test_one_bad_file_among_several_fails_before_any_frame(tmp_path):
    good = corpus("captures/zeek/smtp.pcap")
    with pytest.raises(CaptureError, match="missing.pcap: no such file"):
        read_frames([str(good), str(tmp_path / "missing.pcap")])


def test_truncated_file_header(tmp_path):
    p = tmp_path / "short.pcap"
    p.write_bytes(pcap_bytes([])[:10])
    with pytest.raises(CaptureError, match="truncated pcap file header"):
        read_frames([str(p)])


def test_gzip_of_nothing(tmp_path):
    p = tmp_path / "e.pcap.gz"
    p.write_bytes(gzip.compress(b""))
    with pytest.raises(CaptureError, match="empty file"):
        read_frames([str(p)])


def test_header_only_capture_is_not_an_error(tmp_path):
    p = tmp_path / "h.pcap"
    p.write_bytes(pcap_bytes([]))
    frames, infos, weirds = frames_of([str(p)])
    assert frames == [] and infos[0].packets == 0 and not infos[0].truncated and weirds == []
    assert infos[0].first_ts is None


# -- hand-made classic pcap edge cases ------------------------------------------------------------
PKT = eth(ipv4(tcp(payload=b"hello")))


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_byte_orders_and_resolutions(tmp_path, order, nano):
    p = tmp_path / "c.pcap"
    p.write_bytes(pcap_bytes([(1700000000.123456, PKT), (1700000001.5, PKT[:30], len(PKT))],
                             order=order, nano=nano, snaplen=30))
    frames, infos, _ = frames_of([str(p)])
    assert frames == [(1700000000.123456, 1, PKT, len(PKT)), (1700000001.5, 1, PKT[:30], len(PKT))]
    i = infos[0]
    assert i.nanosecond == nano and i.byte_order == ("little" if order == "<" else "big")
    assert i.snaplen == 30 and i.bytes == 2 * len(PKT) and i.linktypes == {1}


def test_nanosecond_timestamps_keep_their_precision(tmp_path):
    p = tmp_path / "n.pcap"
    p.write_bytes(pcap_bytes([(1.000000001, PKT), (1.000000002, PKT)], nano=True))
    frames = frames_of([str(p)])[0]
    assert frames[0][0] < frames[1][0]


def test_truncated_last_record_and_header(tmp_path):
    full = pcap_bytes([(1.0, PKT), (2.0, PKT), (3.0, PKT)])
    for cut in (len(full) - 5, len(full) - len(PKT) - 8):     # inside the data / inside the header
        p = tmp_path / "t.pcap"
        p.write_bytes(full[:cut])
        frames, infos, weirds = frames_of([str(p)])
        assert [f[0] for f in frames] == [1.0, 2.0]
        assert infos[0].truncated and infos[0].packets == 2
        assert [w.name for w in weirds] == ["capture_truncated"]


def test_impossible_record_length_stops_with_a_weird(tmp_path):
    data = bytearray(pcap_bytes([(1.0, PKT), (2.0, PKT), (3.0, PKT)]))
    second = 24 + 16 + len(PKT)
    data[second + 8:second + 12] = (0x7FFFFFFF).to_bytes(4, "little")
    p = tmp_path / "bad.pcap"
    p.write_bytes(bytes(data))
    frames, infos, weirds = frames_of([str(p)])
    assert len(frames) == 1 and infos[0].truncated
    assert [w.name for w in weirds] == ["capture_bad_record"]


def test_big_reads_carry_partial_records_over(tmp_path, monkeypatch):
    """Chunk boundaries inside records (a small chunk size forces many of them)."""
    import dissect.io.stream as stream
    src = corpus("captures/zeek/smtp.pcap")
    base = frames_of([str(src)])[0]
    monkeypatch.setattr(stream, "CHUNK", 7)
    assert frames_of([str(src)])[0] == base


# -- hand-made pcapng ---------------------------------------------------------------------------
def test_pcapng_sections_byte_orders_interfaces_resolutions(tmp_path):
    """Two sections (little then big endian), interfaces with µs, ns, 2^-20 resolution and an
    offset, EPB/OPB/SPB, and unknown blocks in between (skipped)."""
    a, b, c = PKT, eth(ipv4(tcp(payload=b"second"))), eth(ipv4(tcp(payload=b"third")))
    le = (ng_shb("<") + ng_idb("<", 1, 65535) + ng_idb("<", 101, 0, tsresol=9)
          + ng_block("<", 4, b"\x00\x00\x00\x00")                          # name resolution block
          + ng_epb("<", 0, 1_700_000_000_250_000, a)
          + ng_epb("<", 1, 1_700_000_001_000_000_500, a[14:])              # raw IP, ns
          + ng_block("<", 0x0BAD, b"custom data")                          # custom block
          + ng_spb("<", b)                                                  # SPB: interface 0
          + ng_block("<", 5, b"\0" * 12))                                   # interface statistics
    be = (ng_shb(">") + ng_idb(">", 113, 0, tsresol=0x80 | 20, tsoffset=100)
          + ng_opb(">", 0, (5 << 20) | (1 << 19), c[:20], len(c)))
    p = tmp_path / "multi.pcapng"
    p.write_bytes(le + be)
    frames, infos, weirds = frames_of([str(p)])
    assert weirds == []
    assert frames == [
        (1700000000.25, 1, a, len(a)),
        (1700000001.0000005, 101, a[14:], len(a) - 14),
        (1700000001.0000005, 1, b, len(b)),             # SPB has no time: the previous one
        (105.5, 113, c[:20], len(c)),                   # 5.5 s at 2^-20 + offset 100 s
    ]
    i = infos[0]
    assert i.format == "pcapng" and i.sections == 2 and i.linktypes == {1, 101, 113}
    assert [x["tsresol"] for x in i.interfaces] == [10 ** 6, 10 ** 9, 2 ** 20]
    assert i.nanosecond and i.packets == 4


def test_pcapng_bad_blocks_are_skipped(tmp_path):
    o = "<"
    data = (ng_shb(o) + ng_idb(o, 1)
            + ng_epb(o, 7, 1, PKT)                                        # unknown interface
            + ng_block(o, 6, b"\0" * 8)                                   # EPB too short
            + ng_epb(o, 0, 2_000_000, PKT))
    p = tmp_path / "b.pcapng"
    p.write_bytes(data)
    frames, infos, weirds = frames_of([str(p)])
    assert [f[0] for f in frames] == [2.0]
    assert [w.name for w in weirds] == ["pcapng_bad_block", "pcapng_bad_block"]


def test_pcapng_truncated_and_impossible_length(tmp_path):
    o = "<"
    good = ng_shb(o) + ng_idb(o, 1) + ng_epb(o, 0, 1_000_000, PKT)
    p = tmp_path / "t.pcapng"
    p.write_bytes(good + ng_epb(o, 0, 2_000_000, PKT)[:-7])
    frames, infos, weirds = frames_of([str(p)])
    assert len(frames) == 1 and infos[0].truncated and weirds[-1].name == "capture_truncated"
    p.write_bytes(good + b"\x06\0\0\0\x05\0\0\0" + b"\0" * 40)           # length 5: impossible
    frames, infos, weirds = frames_of([str(p)])
    assert len(frames) == 1 and infos[0].truncated and weirds[-1].name == "capture_bad_record"


def test_pcapng_bad_byte_order_magic(tmp_path):
    p = tmp_path / "bom.pcapng"
    p.write_bytes(b"\x0a\x0d\x0d\x0a\x1c\0\0\0" + b"\x11\x22\x33\x44" + b"\0" * 16)
    frames, infos, weirds = frames_of([str(p)])
    assert frames == [] and infos[0].truncated and weirds[0].name == "capture_bad_record"


def test_captureinfo_is_filled_in_path_order():
    path = corpus("captures/zeek/smtp.pcap")
    infos: list[CaptureInfo] = []
    it = read_frames([str(path), str(path)], infos)
    assert [i.path for i in infos] == [str(path)] * 2
    assert sum(1 for _ in it) == 250
    assert [i.packets for i in infos] == [125, 125]


def test_bad_block_flood_is_capped(tmp_path):
    o = "<"
    data = ng_shb(o) + ng_idb(o, 1) + ng_epb(o, 5, 1, PKT) * 250 + ng_epb(o, 0, 2_000_000, PKT)
    p = tmp_path / "flood.pcapng"
    p.write_bytes(data)
    frames, infos, weirds = frames_of([str(p)])
    assert len(frames) == 1 and len(weirds) == 100
    assert infos[0].weirds_suppressed == {"pcapng_bad_block": 150}


class _Trickle:
    """A non-seekable stream whose read1 hands out a few bytes at a time (a slow pipe)."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def read1(self, n=-1):
        k = min(self.step, n if n and n > 0 else self.step)
        out = self.data[self.pos:self.pos + k]
        self.pos += len(out)
        return out

    read = read1


@pytest.mark.parametrize("step", [1, 3, 17, 4096])
@pytest.mark.parametrize("fmt", ["pcap", "pcapng", "gzip"])
def test_stream_split_anywhere_gives_the_same_frames(step, fmt):
    src = corpus("captures/zeek/smtp-attachment-msg.pcap")
    data = src.read_bytes()
    if fmt == "pcapng":
        data = ng_shb("<") + ng_idb("<", 1) + b"".join(
            ng_epb("<", 0, round(ts * 1e6), fr, wl) for ts, _lt, fr, wl in read_frames([str(src)]))
    elif fmt == "gzip":
        data = gzip.compress(data)
    base = frames_of([str(src)])[0]
    got = list(open_stream(_Trickle(data, step), "trickle"))
    assert got == base


def test_stdin_terminal_is_an_error(monkeypatch):
    class Tty(io.BytesIO):
        def isatty(self):
            return True

        @property
        def buffer(self):
            return self
    monkeypatch.setattr(sys, "stdin", Tty(b""))
    with pytest.raises(CaptureError, match="standard input is a terminal"):
        read_frames(["-"])


def test_memory_is_flat_in_the_capture_length(tmp_path, monkeypatch):
    """Peak traced memory while reading (and decoding) N and 4N frames is the same: only the
    read chunk and the current frame are held."""
    import tracemalloc

    import dissect.io.stream as stream
    from dissect.decode import PacketDecoder
    monkeypatch.setattr(stream, "CHUNK", 1 << 16)
    frames = [(1.0 + i * 1e-3, eth(ipv4(tcp(seq=i, payload=b"%08d" % i * 60)))) for i in range(2000)]
    peaks = []
    for k in (1, 4):
        p = tmp_path / f"m{k}.pcap"
        p.write_bytes(pcap_bytes(frames * k))
        d = PacketDecoder()
        tracemalloc.start()
        n = 0
        for fr in read_frames([str(p)]):
            d.decode(*fr)
            n += 1
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert n == 2000 * k
    assert p.stat().st_size > 8 * (1 << 16) * 4       # the file is far larger than a chunk
    assert peaks[1] < peaks[0] * 1.5 and peaks[1] < 1 << 20, peaks

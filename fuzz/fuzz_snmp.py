"""Coverage-guided fuzz target for the SNMP analyzer: BER reader, message decoding, pairing, TCP
framing and the USM calls (atheris).

    .venv/bin/python fuzz/fuzz_snmp.py -max_total_time=60 [corpus_dir]

``target(data)`` is the one-input function (also usable by a shared runner). The first byte picks
the mode: even = UDP, each following chunk is one datagram; odd = TCP, chunks are stream
segments. Chunks are introduced by a control byte (bit 0: direction, bit 1: a gap (TCP) of the
length instead of bytes) and a 2-byte big-endian length. Bit 1 of the mode byte loads the
sample keys file, so that authentication and decryption run on v3 messages with known engines.
``seeds()`` gives every SNMP datagram of the samples and of the shared corpus, encoded the same
way. Any exception is a bug (strict=True).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_STATE: dict = {}


def decode(data: bytes) -> tuple[int, list[tuple[int, bytes | int]]]:
    if not data:
        return 0, []
    mode = data[0]
    out: list = []
    i, n = 1, len(data)
    while i + 3 <= n:
        h = data[i]
        size = int.from_bytes(data[i + 1:i + 3], "big")
        i += 3
        if h & 2:
            out.append((h & 1, size))
            continue
        out.append((h & 1, data[i:i + size]))
        i += size
    return mode, out


def encode(mode: int, script: list[tuple[int, bytes]]) -> bytes:
    out = bytearray([mode])
    for d, chunk in script:
        out.append(d)
        out += len(chunk).to_bytes(2, "big")
        out += chunk
    return bytes(out)


def _shared(with_keys: bool):
    from dissect.options import Caps, Options
    from dissect.snmp.analyzer import SnmpShared

    got = _STATE.get(with_keys)
    if got is None:
        caps = Caps(ber_length=64 * 1024, ber_elements=256, ber_depth=16, oid_arcs=64,
                    snmp_pending_requests=32)
        keys = ROOT / "samples" / "snmp" / "keys.toml" if with_keys else None
        opts = Options(strict=True, caps=caps, snmp_keys=keys)
        got = _STATE[with_keys] = (opts, SnmpShared(opts))
    return got


def target(data: bytes) -> None:
    from dissect.analyzer import FlowContext
    from dissect.snmp.analyzer import SnmpAnalyzer

    mode, script = decode(data)
    opts, shared = _shared(bool(mode & 2))
    proto = "tcp" if mode & 1 else "udp"
    sink: list = []
    ctx = FlowContext("Cfuzz", "10.0.0.1", 40000, "10.0.0.2", 161, proto, sink.append, opts, shared)
    an = SnmpAnalyzer(ctx)
    for k, (d, chunk) in enumerate(script):
        if isinstance(chunk, int):
            if proto == "tcp":
                an.gap(d, chunk, float(k))
        else:
            an.feed(d, chunk, float(k))
    an.close(1e6)
    if len(shared.auth_samples) > 1000:  # keep the long-lived shared state small
        shared.auth_samples.clear()
    for r in sink:
        assert r.__table__ in ("snmp_pdus", "snmp_varbinds", "weirds"), r


def seeds() -> list[bytes]:
    sys.path.insert(0, str(ROOT / "tests"))
    from snmp_drive import read_packets  # noqa: E402

    paths = sorted((ROOT / "samples" / "snmp").glob("*.pcap"))
    corpus = (ROOT / ".." / "shared" / "corpus" / "captures").resolve()
    if corpus.is_dir():
        paths += sorted(p for p in corpus.rglob("*.pcap") if "snmp" in str(p).lower())
    out = []
    for p in paths:
        try:
            pkts = read_packets(p)
        except Exception:
            continue
        udp, tcp = [], {0: b"", 1: b""}
        for ts, src, sp, dst, dp, proto, payload, _t in pkts:
            if not payload:
                continue
            d = 0 if dp in (161, 162, 16161, 16162, 16171) else 1
            if proto == "udp":
                udp.append((d, payload))
            else:
                tcp[d] += payload
        keys = 2 if "v3" in p.name or "3des" in p.name or "traps" in p.name else 0
        for i in range(0, len(udp), 8):
            out.append(encode(keys, udp[i:i + 8]))
        if tcp[0]:
            out.append(encode(1 | keys, [(0, tcp[0][:4096]), (1, tcp[1][:4096])]))
    return out


def main() -> None:  # pragma: no cover - needs atheris
    import atheris

    args = sys.argv[:]
    dirs = [a for a in args[1:] if not a.startswith("-")]
    if not dirs:
        d = ROOT / "fuzz" / "artifacts" / "snmp-seeds"
        d.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(seeds()):
            (d / f"seed-{i:03d}").write_bytes(s)
        args.append(str(d))
    atheris.instrument_all()
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    main()

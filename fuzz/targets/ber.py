"""BER reader and SNMP message decoding on one raw datagram, with tight limits.

``decode_message`` catches ``ValueError/IndexError/OverflowError`` as a last resort; this target
calls the inner decoder so such an escape (a bug hidden behind the guard) is found: only
:class:`BerError` (a declared weird name) may leave it. The generic tree walker and the OID reader
run on the same bytes."""

from __future__ import annotations

from _common import captures

INSTRUMENT = ("dissect.snmp.ber", "dissect.snmp.message")


def target(data: bytes) -> None:
    from dissect.snmp import ber, message
    from dissect.weird import WEIRDS

    lim = message.Limits(depth=8, length=4096, elements=64, oid_arcs=16)
    msg = message.Message()
    msg.size = len(data)
    try:
        message._decode_message(data, msg, lim)
    except ber.BerError as e:
        assert e.name in WEIRDS, e.name
    for name, _detail in msg.weirds:
        assert name in WEIRDS, name
    try:
        for depth, tag, vs, ve in ber.walk(data, 0, len(data), 8, 64, 4096):
            assert 0 <= vs <= ve <= len(data) and 1 <= depth <= 8
            if tag == 6:
                try:
                    arcs = ber.read_oid(data, vs, ve, 16, [])
                    assert len(arcs) <= 16
                except ber.BerError as e:
                    assert e.name in WEIRDS, e.name
    except ber.BerError as e:
        assert e.name in WEIRDS, e.name
    message.valid_scoped_pdu(data)
    message.looks_like_snmp(data)


def seeds() -> list[bytes]:
    import _common  # noqa: F401
    from snmp_drive import read_packets
    out = []
    for p in captures("snmp/*.pcap", "snmp-audit/*.pcap", corpus_globs=("*snmp*.pcap",)):
        try:
            pkts = read_packets(p)
        except Exception:
            continue
        for pk in pkts[:12]:
            payload = pk[6]
            if payload:
                out.append(bytes(payload[:4096]))
    return out

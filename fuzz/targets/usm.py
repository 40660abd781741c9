"""SNMPv3 USM: authenticate and decrypt with a key store holding the sample users' passwords.

Byte 0 even: the rest is one whole SNMP message; it is decoded, then ``KeyStore.authenticate`` and
``KeyStore.decrypt`` run on it (wrong tags, truncated salts, odd ciphertext lengths, unknown users
and engines) and must return a status, never raise. Byte 0 odd: the primitives directly
(``usm.decrypt`` for every privacy protocol with fuzzer-chosen key/salt/ciphertext/boots/time,
``usm.zero_tag``/``usm.verify`` with fuzzer-chosen offsets)."""

from __future__ import annotations

import struct

from _common import ROOT, captures

INSTRUMENT = ("dissect.snmp.usm", "dissect.snmp.keys", "dissect.snmp.message")

_STORE = []


def _store():
    if not _STORE:
        from dissect.snmp.keys import KeyStore
        _STORE.append(KeyStore.from_file(ROOT / "samples" / "snmp" / "keys.toml"))
    return _STORE[0]


def _message(data: bytes) -> None:
    from dissect.snmp import message, usm

    ks = _store()
    msg = message.decode_message(data, message.Limits(depth=8, length=4096, elements=64, oid_arcs=32))
    if msg.version_num != 3 or msg.user is None:
        return
    if msg.auth_offset is not None:
        status, proto = ks.authenticate(msg.user, msg.engine_id or b"", data, msg.auth_offset, msg.auth_len)
        assert status in ("ok", "bad", "no_key"), status
        assert proto is None or proto in usm.AUTH_PROTOCOLS, proto
    if msg.encrypted is not None and msg.priv_params is not None:
        plain, status, proto = ks.decrypt(msg.user, msg.engine_id or b"", msg.engine_boots or 0,
                                          msg.engine_time or 0, msg.priv_params, msg.encrypted,
                                          message.valid_scoped_pdu)
        assert status in ("decrypted", "no_key", "decrypt_failed"), status
        assert (plain is not None) == (status == "decrypted")
        if plain is not None:
            m2 = message.Message()
            try:
                message.decode_scoped_pdu(bytes(plain), 0, len(plain), m2, padded=True)
            except Exception as e:  # a decrypted PDU that fails to decode must be a BerError
                from dissect.snmp.ber import BerError
                assert isinstance(e, BerError), e


def _primitives(data: bytes) -> None:
    from dissect.snmp import usm

    if len(data) < 12:
        return
    klen, slen, boots, time = struct.unpack_from("!BBHH", data, 0)
    rest = data[6:]
    key, rest = rest[:klen % 40], rest[klen % 40:]
    salt, ct = rest[:slen % 12], rest[slen % 12:]
    for priv in ("des", "3des", *usm.PRIV_PROTOCOLS):
        pt = usm.decrypt(priv, key, boots, time, salt, ct)
        assert pt is None or isinstance(pt, bytes)
    if ct:
        off = klen % (len(ct) + 2)
        n = slen % 50
        z = usm.zero_tag(ct, off, n)
        assert z is None or (len(z) == len(ct) and z[off:off + n] == bytes(len(z[off:off + n])))
        for proto in usm.AUTH_PROTOCOLS:
            assert usm.verify(key or b"k", ct, off, n, proto) in (True, False)


def target(data: bytes) -> None:
    if not data:
        return
    if data[0] & 1:
        _primitives(data[1:])
    else:
        _message(data[1:])


def seeds() -> list[bytes]:
    import _common  # noqa: F401
    from snmp_drive import read_packets
    out = []
    for p in captures("snmp/snmp-v3.pcap", "snmp/snmp-pysnmp-3des.pcap", "snmp/snmp-traps.pcap"):
        try:
            pkts = read_packets(p)
        except Exception:
            continue
        for pk in pkts[:24]:
            payload = pk[6]
            if payload and payload[:1] == b"\x30":
                out.append(b"\x00" + bytes(payload[:2048]))
    out.append(b"\x01" + struct.pack("!BBHH", 16, 8, 1, 2) + bytes(range(16)) + bytes(8) + bytes(range(48)))
    return out

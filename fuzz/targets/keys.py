"""SNMPv3 keys files (TOML ``[[user]]`` tables and Wireshark's ``snmp_users`` UAT lines): any text
either gives a key store or a one-line ``KeysFileError`` naming ``<file>:<line>``; nothing else.
The parsed entries are then used once on a fixed authenticated message (localisation, trial of
protocols). Input: the file's bytes (decoded as UTF-8 as ``KeyStore.from_file`` does)."""

from __future__ import annotations

from _common import ROOT

INSTRUMENT = ("dissect.snmp.keys",)


def target(data: bytes) -> None:
    from dissect.errors import KeysFileError
    from dissect.snmp import keys

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        entries = keys._parse_uat(text, "k") if keys._looks_like_uat(text) else keys._parse_toml(text, "k")
    except KeysFileError as e:
        msg = str(e)
        assert msg.startswith("k") and "\n" not in msg, msg
        return
    for e in entries:
        assert isinstance(e, keys.UserEntry)
        e.auth_candidates(12)
        e.auth_candidates(48)
    store = keys.KeyStore(entries[:4])
    if len(store) and len(data) < 600:
        msg = bytes(64)
        store.authenticate(entries[0].name, b"\x80\x00\x1f\x88\x04ab", msg, 10, 12)


def seeds() -> list[bytes]:
    out = [(ROOT / "samples" / "snmp" / "keys.toml").read_bytes()]
    out.append(b'[[user]]\nname = "u"\npassword = "p"\nengine_id = "80001f8880"\n')
    out.append(b'[[user]]\nname = "k"\nauth_key = "00112233445566778899aabbccddeeff"\n'
               b'priv_key = "00112233445566778899aabbccddeeff"\npriv_protocol = "AES256C"\n')
    out.append(b'80001f888004,"user","SHA1","authpass","AES","privpass"\n'
               b',"u2","SHA2-256","a","AES256","b"\n')
    return out

"""SNMPv3 User-based Security Model cryptography (pure functions, no I/O, no state but caches).

* Password to key (RFC 3414 A.2.1): ``Ku = H(password repeated to exactly 1,048,576 octets)``.
* Key localisation (RFC 3414 A.2.2): ``Kul = H(Ku || engineID || Ku)`` with the *authoritative*
  engine's id (the agent for Get/Set/Trap, the receiver for an Inform). The privacy key is localised
  with the hash of the user's *authentication* protocol.
* Authentication: HMAC-MD5-96 and HMAC-SHA-96 (RFC 3414, 12-octet tags) and the RFC 7860 SHA-2
  HMACs (SHA-224/256/384/512 with 16/24/32/48-octet tags). The tag is checked over the whole
  serialised message with msgAuthenticationParameters zeroed *in place* on a copy (never re-encoded).
* Privacy: DES-CBC (RFC 3414 §8), AES-128-CFB (RFC 3826), AES-192/256-CFB with the two key
  extensions found in the field, and 3DES-EDE-CBC (Reeder draft):

  - Blumenthal draft-04 (net-snmp ``AES-192``/``AES-256``; our ``aes192``/``aes256``):
    ``Kul' = Kul || H(Kul) || H(Kul || H(Kul)) ...``
  - Reeder draft (Cisco, net-snmp ``AES-192-C``/``AES-256-C``, Wireshark; our ``aes192c``/
    ``aes256c`` and always for ``3des``): ``Kul' = Kul || localise(P2K(Kul), engineID) ...``

Every function here works on ``bytes`` and never raises on hostile input: a bad length or a bad
salt gives ``None`` (decryption impossible) or ``False`` (tag mismatch).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import warnings
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES

try:  # cryptography >= 43 keeps (3)DES in the "decrepit" module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES as _TripleDES
try:  # newer cryptography moves CFB to the "decrepit" modes as well
    from cryptography.hazmat.decrepit.ciphers.modes import CFB as _CFB
except ImportError:  # pragma: no cover - older cryptography
    _CFB = modes.CFB

__all__ = [
    "AUTH_PROTOCOLS", "PRIV_PROTOCOLS", "AuthProto", "PrivProto", "TAG_LEN_PROTOS", "MEGABYTE",
    "password_to_key", "localize", "localized_key", "extend_blumenthal", "extend_reeder",
    "zero_tag", "auth_tag", "verify", "des_decrypt", "des_encrypt", "des3_decrypt", "des3_encrypt",
    "aes_cfb_decrypt", "aes_cfb_encrypt", "priv_key_from_kul", "decrypt", "KeyCache",
    "auth_proto_name",
]

MEGABYTE = 1_048_576


@dataclass(frozen=True, slots=True)
class AuthProto:
    name: str          # md5, sha1, sha224, sha256, sha384, sha512
    hash: str          # hashlib name
    digest_len: int    # length of Ku/Kul
    tag_len: int       # truncated HMAC length in msgAuthenticationParameters
    label: str         # human name (usmHMACMD5AuthProtocol...)


AUTH_PROTOCOLS: dict[str, AuthProto] = {
    "md5": AuthProto("md5", "md5", 16, 12, "HMAC-MD5-96"),
    "sha1": AuthProto("sha1", "sha1", 20, 12, "HMAC-SHA-96"),
    "sha224": AuthProto("sha224", "sha224", 28, 16, "HMAC-SHA-224-128"),
    "sha256": AuthProto("sha256", "sha256", 32, 24, "HMAC-SHA-256-192"),
    "sha384": AuthProto("sha384", "sha384", 48, 32, "HMAC-SHA-384-256"),
    "sha512": AuthProto("sha512", "sha512", 64, 48, "HMAC-SHA-512-384"),
}

#: tag length -> the auth protocols that produce it (MD5 and SHA-1 share 12: identified by trial)
TAG_LEN_PROTOS: dict[int, tuple[str, ...]] = {12: ("md5", "sha1"), 16: ("sha224",), 24: ("sha256",),
                                              32: ("sha384",), 48: ("sha512",)}

#: digest length -> hash (to infer the hash of an already-localised key from its length)
DIGEST_LEN_PROTO: dict[int, str] = {p.digest_len: p.name for p in AUTH_PROTOCOLS.values()}


def auth_proto_name(text: str) -> str | None:
    """Normalise a user-supplied auth protocol name (MD5, SHA, SHA1, SHA-256, SHA2-256, ...)."""
    t = text.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
    t = t.removeprefix("hmac").removeprefix("usmhmac")
    if t in ("md5", "md596"):
        return "md5"
    if t in ("sha", "sha1", "sha96", "sha196"):
        return "sha1"
    for bits in ("224", "256", "384", "512"):
        if t in ("sha" + bits, "sha2" + bits):
            return "sha" + bits
    return None


@dataclass(frozen=True, slots=True)
class PrivProto:
    name: str          # des, 3des, aes128, aes192, aes192c, aes256, aes256c
    key_len: int       # key material needed from the (extended) localised key
    extension: str     # "none", "blumenthal", "reeder"
    label: str


PRIV_PROTOCOLS: dict[str, PrivProto] = {
    "des": PrivProto("des", 16, "none", "DES-CBC"),
    "3des": PrivProto("3des", 32, "reeder", "3DES-EDE-CBC (Reeder)"),
    "aes128": PrivProto("aes128", 16, "none", "AES-128-CFB"),
    "aes192": PrivProto("aes192", 24, "blumenthal", "AES-192-CFB (Blumenthal key extension)"),
    "aes192c": PrivProto("aes192c", 24, "reeder", "AES-192-CFB (Reeder/Cisco key extension)"),
    "aes256": PrivProto("aes256", 32, "blumenthal", "AES-256-CFB (Blumenthal key extension)"),
    "aes256c": PrivProto("aes256c", 32, "reeder", "AES-256-CFB (Reeder/Cisco key extension)"),
}


# --------------------------------------------------------------------------- keys

def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2.1: Ku = H(password repeated to 1 MiB). The buffer is built by repetition
    and hashed once (no per-byte or per-64-byte Python loop). Empty passwords are invalid."""
    n = len(password)
    if n == 0:
        raise ValueError("empty SNMPv3 password")
    # a memoryview slice: no second 1 MiB copy (the copy costs as much as an MD5 of it)
    buf = memoryview(password * (MEGABYTE // n + 1) if n < MEGABYTE else password)[:MEGABYTE]
    return hashlib.new(hash_name, buf).digest()


def localize(ku: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2.2: Kul = H(Ku || engineID || Ku)."""
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


def localized_key(password: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """Password straight to the localised key (uncached; see :class:`KeyCache`)."""
    return localize(password_to_key(password, hash_name), engine_id, hash_name)


def extend_blumenthal(kul: bytes, need: int, hash_name: str) -> bytes:
    """Blumenthal draft-04: Kul || H(Kul) || H(Kul || H(Kul)) ... cut to ``need`` octets."""
    key = kul
    while len(key) < need:
        key += hashlib.new(hash_name, key).digest()
    return key[:need]


def extend_reeder(kul: bytes, need: int, hash_name: str, engine_id: bytes,
                  cache: "KeyCache | None" = None) -> bytes:
    """Reeder 3DES draft (Cisco "AES-192-C"/"AES-256-C"): Kul || localise(P2K(Kul), engineID) ...

    Each step runs the full 1 MiB password-to-key on the key so far; ``cache`` memoises it."""
    key = kul
    while len(key) < need:
        if cache is not None:
            key += cache.kul(key, engine_id, hash_name)
        else:
            key += localized_key(key, engine_id, hash_name)
    return key[:need]


def priv_key_from_kul(kul: bytes, priv: str, hash_name: str, engine_id: bytes,
                      cache: "KeyCache | None" = None) -> bytes:
    """The key material a privacy protocol needs from a localised privacy key (extended if short)."""
    p = PRIV_PROTOCOLS[priv]
    if len(kul) >= p.key_len:
        return kul[:p.key_len]
    if p.extension == "reeder":
        return extend_reeder(kul, p.key_len, hash_name, engine_id, cache)
    if p.extension == "blumenthal":
        return extend_blumenthal(kul, p.key_len, hash_name)
    return kul  # too short for DES/AES-128: the cipher call rejects it


class KeyCache:
    """Memoised password->Ku (per password and hash) and Ku->Kul (per password, engine id, hash).

    Both are plain dicts with a size cap (oldest entry dropped first): one localisation costs a
    1 MiB hash, so a capture with many messages of the same user/engine computes it once.
    """

    __slots__ = ("_ku", "_kul", "max_ku", "max_kul", "ku_computed")

    def __init__(self, max_ku: int = 4096, max_kul: int = 16384):
        self._ku: dict[tuple[bytes, str], bytes] = {}
        self._kul: dict[tuple[bytes, bytes, str], bytes] = {}
        self.max_ku = max_ku
        self.max_kul = max_kul
        self.ku_computed = 0   # how many 1 MiB hashes were run (tests, stats)

    def ku(self, password: bytes, hash_name: str) -> bytes:
        k = (password, hash_name)
        got = self._ku.get(k)
        if got is None:
            got = password_to_key(password, hash_name)
            self.ku_computed += 1
            if len(self._ku) >= self.max_ku:
                self._ku.pop(next(iter(self._ku)))
            self._ku[k] = got
        return got

    def has_kul(self, password: bytes, engine_id: bytes, hash_name: str) -> bool:
        return (password, engine_id, hash_name) in self._kul

    def kul(self, password: bytes, engine_id: bytes, hash_name: str) -> bytes:
        k = (password, engine_id, hash_name)
        got = self._kul.get(k)
        if got is None:
            got = localize(self.ku(password, hash_name), engine_id, hash_name)
            if len(self._kul) >= self.max_kul:
                self._kul.pop(next(iter(self._kul)))
            self._kul[k] = got
        return got


# --------------------------------------------------------------------------- authentication

def zero_tag(whole_msg: bytes, auth_offset: int, auth_len: int) -> bytes | None:
    """A copy of the message with msgAuthenticationParameters zeroed in place (same length)."""
    if auth_offset < 0 or auth_len <= 0 or auth_offset + auth_len > len(whole_msg):
        return None
    buf = bytearray(whole_msg)
    buf[auth_offset:auth_offset + auth_len] = bytes(auth_len)
    return bytes(buf)


def auth_tag(kul: bytes, zeroed_msg: bytes, proto: str) -> bytes:
    """The truncated HMAC of the zeroed message with the localised auth key."""
    p = AUTH_PROTOCOLS[proto]
    return hmac.new(kul, zeroed_msg, p.hash).digest()[:p.tag_len]


def verify(kul: bytes, whole_msg: bytes, auth_offset: int, auth_len: int, proto: str,
           zeroed: bytes | None = None) -> bool:
    """True when the message's tag is the HMAC of the zeroed message under ``kul``.

    ``zeroed`` (from :func:`zero_tag`) may be passed to avoid re-copying for several trials."""
    p = AUTH_PROTOCOLS.get(proto)
    if p is None or auth_len != p.tag_len:
        return False
    if zeroed is None:
        zeroed = zero_tag(whole_msg, auth_offset, auth_len)
        if zeroed is None:
            return False
    tag = whole_msg[auth_offset:auth_offset + auth_len]
    return hmac.compare_digest(auth_tag(kul, zeroed, proto), tag)


# --------------------------------------------------------------------------- privacy

def _tdes(key24: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _TripleDES(key24)


def _xor8(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(8, "big")


def _cbc(key24: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    c = Cipher(_tdes(key24), modes.CBC(iv))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def des_decrypt(key16: bytes, salt: bytes, ciphertext: bytes) -> bytes | None:
    """RFC 3414 §8.1.1.1: key = first 8 octets, IV = last 8 (pre-IV) XOR salt; CBC.

    Single DES is TripleDES with the same key three times (K1=K2=K3). ``None`` when the salt is not
    8 octets or the ciphertext is not a multiple of 8 (a decryptionError)."""
    if len(key16) < 16 or len(salt) != 8 or len(ciphertext) % 8 or not ciphertext:
        return None
    k = key16[:8]
    return _cbc(k * 3, _xor8(key16[8:16], salt), ciphertext, False)


def des_encrypt(key16: bytes, salt: bytes, plaintext: bytes) -> bytes:
    """Test helper: pad with zeros to a multiple of 8 and encrypt like :func:`des_decrypt`."""
    pad = (-len(plaintext)) % 8
    return _cbc(key16[:8] * 3, _xor8(key16[8:16], salt), plaintext + bytes(pad), True)


def des3_decrypt(key32: bytes, salt: bytes, ciphertext: bytes) -> bytes | None:
    """Reeder draft: 24 key octets (EDE, K1 K2 K3) then 8 pre-IV octets; IV = pre-IV XOR salt."""
    if len(key32) < 32 or len(salt) != 8 or len(ciphertext) % 8 or not ciphertext:
        return None
    return _cbc(key32[:24], _xor8(key32[24:32], salt), ciphertext, False)


def des3_encrypt(key32: bytes, salt: bytes, plaintext: bytes) -> bytes:
    pad = (-len(plaintext)) % 8
    return _cbc(key32[:24], _xor8(key32[24:32], salt), plaintext + bytes(pad), True)


def _aes_iv(boots: int, time: int, salt: bytes) -> bytes:
    return struct.pack(">II", boots & 0xFFFFFFFF, time & 0xFFFFFFFF) + salt


def aes_cfb_decrypt(key: bytes, boots: int, time: int, salt: bytes, ciphertext: bytes) -> bytes | None:
    """RFC 3826: AES-CFB-128, IV = engineBoots(4) || engineTime(4) || salt(8); no padding.

    ``key`` is 16, 24 or 32 octets (AES-128/192/256)."""
    if len(key) not in (16, 24, 32) or len(salt) != 8 or not ciphertext:
        return None
    d = Cipher(AES(key), _CFB(_aes_iv(boots, time, salt))).decryptor()
    return d.update(ciphertext) + d.finalize()


def aes_cfb_encrypt(key: bytes, boots: int, time: int, salt: bytes, plaintext: bytes) -> bytes:
    e = Cipher(AES(key), _CFB(_aes_iv(boots, time, salt))).encryptor()
    return e.update(plaintext) + e.finalize()


def decrypt(priv: str, key: bytes, boots: int, time: int, salt: bytes, ciphertext: bytes) -> bytes | None:
    """Decrypt with a privacy protocol name and its (already extended) key material.

    Returns the plaintext (DES/3DES keep their padding: parse the ScopedPDU by its BER length),
    or ``None`` when the parameters make decryption impossible. Never raises."""
    try:
        if priv == "des":
            return des_decrypt(key, salt, ciphertext)
        if priv == "3des":
            return des3_decrypt(key, salt, ciphertext)
        if priv in PRIV_PROTOCOLS:
            return aes_cfb_decrypt(key[:PRIV_PROTOCOLS[priv].key_len], boots, time, salt, ciphertext)
    except (ValueError, TypeError):
        return None
    return None

"""SNMPv3 USM crypto: RFC 3414 A.3 vectors, hashcat self-test messages, privacy cross-checked
against pysnmp (an independent implementation used as the encryption oracle)."""

from __future__ import annotations

import hashlib
import os

import pytest

from dissect.snmp import usm
from dissect.snmp.keys import KeyStore, UserEntry

ENGINE_A3 = bytes.fromhex("000000000000000000000002")

# hashcat self-test messages (modes 25000 and 26800), password "hashcat1"; the tag is zeroed
# in the message and given separately, as in hashcat's format.
HC_ENGINE = bytes.fromhex("80001f88808106d566db57fd6000000000")
HC_MD5_MSG = bytes.fromhex(
    "30818f0201033011020409242fc0020300ffe304010102010304383036041180001f88808106d566db57fd6000"
    "00000002011002020118040a6d61747269785f4d4435040c0000000000000000000000000400303d041180001f"
    "88808106d566db57fd60000000000400a226020411f319300201000201003018301606082b0601020101020006"
    "0a2b06010401bf0803020a")
HC_MD5_TAG = bytes.fromhex("1b37c3ea872731f922959e90")
HC_SHA256_MSG = bytes.fromhex(
    "30819f020103301102047fc51818020300ffe304010102010304483046041180001f88808106d566db57fd6000"
    "00000002011002020118040e6d61747269785f5348412d32353604180000000000000000000000000000000000"
    "000000000000000400303d041180001f88808106d566db57fd60000000000400a22602040efec260020100020100"
    "3018301606082b06010201010200060a2b06010401bf0803020a")
HC_SHA256_TAG = bytes.fromhex("36d655bfeb59e933845db47d719b68ac7bc59ec087eb89a0")


def tag_offset(zeroed_msg: bytes, user: bytes, tag_len: int) -> int:
    """Where msgAuthenticationParameters sits: right after the userName OCTET STRING."""
    needle = bytes([0x04, len(user)]) + user + bytes([0x04, tag_len])
    i = zeroed_msg.find(needle)
    assert i > 0
    return i + len(needle)


def with_tag(zeroed: bytes, off: int, tag: bytes) -> bytes:
    return zeroed[:off] + tag + zeroed[off + len(tag):]


# ---------------------------------------------------------------- key localisation

@pytest.mark.parametrize("h,ku,kul", [
    ("md5", "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"),
    ("sha1", "9fb5cc0381497b3793528939ff788d5d79145211", "6695febc9288e36282235fc7151f128497b38f3f"),
    ("sha256", "ab51014d1e077f6017df2b12bee5f5aa72993177e9bb569c4dff5a4ca0b4afac",
     "8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b"),
])
def test_rfc3414_a3_vectors(h, ku, kul):
    k = usm.password_to_key(b"maplesyrup", h)
    assert k.hex() == ku
    assert usm.localize(k, ENGINE_A3, h).hex() == kul
    assert usm.localized_key(b"maplesyrup", ENGINE_A3, h).hex() == kul


def test_password_to_key_matches_pysnmp_for_odd_lengths():
    from pysnmp.proto.secmod.rfc3414 import localkey
    for pw in (b"x", b"abc", b"a" * 63, b"b" * 65, b"\x00\xff" * 40):
        for hf in (hashlib.md5, hashlib.sha1):
            assert usm.password_to_key(pw, hf().name) == bytes(localkey.hash_passphrase(pw, hf))


def test_empty_password_is_rejected():
    with pytest.raises(ValueError):
        usm.password_to_key(b"", "md5")


def test_key_cache_runs_the_1mib_hash_once():
    c = usm.KeyCache()
    a = c.kul(b"maplesyrup", ENGINE_A3, "md5")
    b = c.kul(b"maplesyrup", ENGINE_A3, "md5")
    c.kul(b"maplesyrup", b"\x80\x00\x1f\x88\x80abcd", "md5")
    assert a == b and a.hex() == "526f5eed9fcce26f8964c2930787d82b"
    assert c.ku_computed == 1


def test_key_cache_is_capped():
    c = usm.KeyCache(max_ku=2, max_kul=2)
    for pw in (b"password1", b"password2", b"password3"):
        c.kul(pw, ENGINE_A3, "md5")
    assert len(c._ku) == 2 and len(c._kul) == 2


# ---------------------------------------------------------------- authentication

def test_hashcat_md5_message_verifies_and_sha1_does_not():
    off = tag_offset(HC_MD5_MSG, b"matrix_MD5", 12)
    msg = with_tag(HC_MD5_MSG, off, HC_MD5_TAG)
    kul_md5 = usm.localized_key(b"hashcat1", HC_ENGINE, "md5")
    kul_sha = usm.localized_key(b"hashcat1", HC_ENGINE, "sha1")
    assert usm.verify(kul_md5, msg, off, 12, "md5")
    assert not usm.verify(kul_sha, msg, off, 12, "sha1")
    assert usm.auth_tag(kul_md5, HC_MD5_MSG, "md5") == HC_MD5_TAG
    # a wrong password fails
    assert not usm.verify(usm.localized_key(b"hashcat2", HC_ENGINE, "md5"), msg, off, 12, "md5")


def test_hashcat_sha256_message_verifies():
    off = tag_offset(HC_SHA256_MSG, b"matrix_SHA-256", 24)
    msg = with_tag(HC_SHA256_MSG, off, HC_SHA256_TAG)
    kul = usm.localized_key(b"hashcat1", HC_ENGINE, "sha256")
    assert usm.verify(kul, msg, off, 24, "sha256")
    assert not usm.verify(kul, msg, off, 24, "sha224")      # wrong tag length for sha224
    flipped = bytearray(msg)
    flipped[-1] ^= 1
    assert not usm.verify(kul, bytes(flipped), off, 24, "sha256")


def test_keystore_identifies_md5_vs_sha1_by_trial():
    off = tag_offset(HC_MD5_MSG, b"matrix_MD5", 12)
    msg = with_tag(HC_MD5_MSG, off, HC_MD5_TAG)
    ks = KeyStore([UserEntry(name=b"matrix_MD5", auth_password=b"hashcat1")])
    assert ks.authenticate(b"matrix_MD5", HC_ENGINE, msg, off, 12) == ("ok", "md5")
    # configured SHA-1 for an MD5 message: bad
    ks2 = KeyStore([UserEntry(name=b"matrix_MD5", auth_protocol="sha1", auth_password=b"hashcat1")])
    assert ks2.authenticate(b"matrix_MD5", HC_ENGINE, msg, off, 12) == ("bad", "sha1")
    # wrong password, no protocol configured
    ks3 = KeyStore([UserEntry(name=b"matrix_MD5", auth_password=b"hashcat2")])
    assert ks3.authenticate(b"matrix_MD5", HC_ENGINE, msg, off, 12) == ("bad", None)
    # unknown user
    assert ks.authenticate(b"someone", HC_ENGINE, msg, off, 12) == ("no_key", None)
    # engine-restricted entry for another engine: no key
    ks4 = KeyStore([UserEntry(name=b"matrix_MD5", auth_password=b"hashcat1", engine_id=ENGINE_A3)])
    assert ks4.authenticate(b"matrix_MD5", HC_ENGINE, msg, off, 12) == ("no_key", None)


def test_keystore_sha256_and_localised_key():
    off = tag_offset(HC_SHA256_MSG, b"matrix_SHA-256", 24)
    msg = with_tag(HC_SHA256_MSG, off, HC_SHA256_TAG)
    ks = KeyStore([UserEntry(name=b"matrix_SHA-256", auth_password=b"hashcat1")])
    assert ks.authenticate(b"matrix_SHA-256", HC_ENGINE, msg, off, 24) == ("ok", "sha256")
    kul = usm.localized_key(b"hashcat1", HC_ENGINE, "sha256")
    ks2 = KeyStore([UserEntry(name=b"matrix_SHA-256", auth_key=kul, engine_id=HC_ENGINE)])
    assert ks2.authenticate(b"matrix_SHA-256", HC_ENGINE, msg, off, 24) == ("ok", "sha256")


def test_authenticate_never_raises_on_bad_offsets():
    ks = KeyStore([UserEntry(name=b"u", auth_password=b"password")])
    for off, n in ((-1, 12), (10_000, 12), (5, 0), (5, 13), (0, 12)):
        st, _ = ks.authenticate(b"u", HC_ENGINE, HC_MD5_MSG, off, n)
        assert st == "bad"


# ---------------------------------------------------------------- privacy (pysnmp oracle)

def scoped_pdu(n_varbinds: int = 3) -> bytes:
    """A real BER ScopedPDU (encoded with pyasn1 through pysnmp's message types)."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api, rfc1905, rfc3412  # noqa: F401
    from pysnmp.proto.api import v2c

    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 4242)
    v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, i, 0), v2c.OctetString(b"value %d" % i))
                                  for i in range(1, n_varbinds + 1)])
    from pysnmp.proto.mpmod.rfc3412 import ScopedPDU
    sp = ScopedPDU()
    sp.setComponentByPosition(0, b"\x80\x00\x1f\x88\x80" + b"E" * 8)
    sp.setComponentByPosition(1, b"")
    sp.setComponentByPosition(2)
    sp.getComponentByPosition(2).setComponentByType(pdu.tagSet, pdu)
    return encoder.encode(sp)


def is_scoped_pdu(pt: bytes) -> bool:
    """The analyzer's check: a definite-length SEQUENCE that fits, starting with an OCTET STRING."""
    if len(pt) < 4 or pt[0] != 0x30:
        return False
    n = pt[1]
    hdr = 2
    if n & 0x80:
        k = n & 0x7F
        if not 1 <= k <= 4 or len(pt) < 2 + k:
            return False
        n = int.from_bytes(pt[2:2 + k], "big")
        hdr = 2 + k
    return hdr + n <= len(pt) and pt[hdr] == 0x04


def _pysnmp_priv():
    from pysnmp.proto.secmod.eso.priv import aes192, aes256, des3
    from pysnmp.proto.secmod.rfc3414.priv import des
    from pysnmp.proto.secmod.rfc3826.priv import aes
    return {
        "des": des.Des(), "3des": des3.Des3(), "aes128": aes.Aes(),
        "aes192": aes192.AesBlumenthal192(), "aes192c": aes192.Aes192(),
        "aes256": aes256.AesBlumenthal256(), "aes256c": aes256.Aes256(),
    }


def _pysnmp_auth_oid(h: str):
    from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
    from pysnmp.proto.secmod.rfc7860.auth import hmacsha2
    return {"md5": hmacmd5.HmacMd5.SERVICE_ID, "sha1": hmacsha.HmacSha.SERVICE_ID,
            "sha224": hmacsha2.HmacSha2.SHA224_SERVICE_ID,
            "sha256": hmacsha2.HmacSha2.SHA256_SERVICE_ID}[h]


ENGINE = bytes.fromhex("80001f8880e9630000d61ff449")
PRIV_PW = b"privpass-0123"


def _oracle_encrypt(priv: str, h: str, plaintext: bytes, boots=7, time=12345):
    from pyasn1.type import univ
    svc = _pysnmp_priv()[priv]
    oid = _pysnmp_auth_oid(h)
    ku = svc.hash_passphrase(oid, PRIV_PW)
    kul = svc.localize_key(oid, ku, univ.OctetString(ENGINE))
    ct, salt = svc.encrypt_data(kul, (boots, time, None), plaintext)
    return bytes(kul), bytes(ct), bytes(salt)


@pytest.mark.parametrize("priv", ["des", "3des", "aes128", "aes192", "aes192c", "aes256", "aes256c"])
@pytest.mark.parametrize("h", ["md5", "sha1", "sha256"])
def test_privacy_roundtrip_against_pysnmp(priv, h):
    pt = scoped_pdu()
    assert is_scoped_pdu(pt)
    okul, ct, salt = _oracle_encrypt(priv, h, pt)
    # our key derivation gives pysnmp's key material
    kul = usm.localized_key(PRIV_PW, ENGINE, usm.AUTH_PROTOCOLS[h].hash)
    mat = usm.priv_key_from_kul(kul, priv, usm.AUTH_PROTOCOLS[h].hash, ENGINE)
    assert mat == okul[:len(mat)]
    out = usm.decrypt(priv, mat, 7, 12345, salt, ct)
    assert out is not None and out[:len(pt)] == pt
    # the store identifies the protocol (and extension) by trial when it is not configured
    ks = KeyStore([UserEntry(name=b"u", auth_protocol=h, auth_password=b"authpass-0123",
                             priv_password=PRIV_PW)])
    got, status, used = ks.decrypt(b"u", ENGINE, 7, 12345, salt, ct, is_scoped_pdu)
    assert status == "decrypted" and got[:len(pt)] == pt
    if h == "sha256" and priv in ("aes192", "aes192c", "aes256", "aes256c"):
        # Kul is 32 octets: no extension, both forms give the same key
        assert used in (priv, priv.rstrip("c"), priv.rstrip("c") + "c")
    elif priv in ("3des",):
        assert used == "3des"
    else:
        assert used == priv
    # wrong privacy password: decrypt_failed, never garbage
    bad = KeyStore([UserEntry(name=b"u", auth_protocol=h, auth_password=b"authpass-0123",
                              priv_password=b"wrong-password", priv_protocols=(priv,))])
    got, status, used = bad.decrypt(b"u", ENGINE, 7, 12345, salt, ct, is_scoped_pdu)
    assert (got, status, used) == (None, "decrypt_failed", priv)


def test_blumenthal_and_reeder_differ_for_sha1_aes256():
    kul = usm.localized_key(PRIV_PW, ENGINE, "sha1")
    b = usm.priv_key_from_kul(kul, "aes256", "sha1", ENGINE)
    r = usm.priv_key_from_kul(kul, "aes256c", "sha1", ENGINE)
    assert b[:20] == r[:20] == kul and b != r and len(b) == len(r) == 32


def test_configured_extension_is_used_strictly():
    pt = scoped_pdu()
    _, ct, salt = _oracle_encrypt("aes256c", "md5", pt)
    only_b = KeyStore([UserEntry(name=b"u", auth_protocol="md5", auth_password=b"authpass-0123",
                                 priv_password=PRIV_PW, priv_protocols=("aes256",))])
    assert only_b.decrypt(b"u", ENGINE, 7, 12345, salt, ct, is_scoped_pdu)[1] == "decrypt_failed"
    both = KeyStore([UserEntry(name=b"u", auth_protocol="md5", auth_password=b"authpass-0123",
                               priv_password=PRIV_PW, priv_protocols=("aes256", "aes256c"))])
    assert both.decrypt(b"u", ENGINE, 7, 12345, salt, ct, is_scoped_pdu)[1:] == ("decrypted", "aes256c")


def test_localised_priv_key_hex():
    pt = scoped_pdu()
    okul, ct, salt = _oracle_encrypt("aes128", "sha1", pt)
    kul20 = usm.localized_key(PRIV_PW, ENGINE, "sha1")
    ks = KeyStore([UserEntry(name=b"u", priv_key=kul20, priv_protocols=("aes128",), engine_id=ENGINE)])
    got, status, used = ks.decrypt(b"u", ENGINE, 7, 12345, salt, ct, is_scoped_pdu)
    assert status == "decrypted" and got == pt and used == "aes128"


def test_decrypt_no_key_and_bad_parameters():
    ks = KeyStore([UserEntry(name=b"u", auth_password=b"authonly")])
    assert ks.decrypt(b"u", ENGINE, 1, 1, b"12345678", b"x" * 32, is_scoped_pdu) == (None, "no_key", None)
    ks = KeyStore([UserEntry(name=b"u", auth_protocol="md5", auth_password=b"a" * 8,
                             priv_password=b"b" * 8, priv_protocols=("des",))])
    # salt not 8 octets, ciphertext not a multiple of 8, empty
    for salt, ct in ((b"1234", b"x" * 16), (b"12345678", b"x" * 15), (b"12345678", b"")):
        assert ks.decrypt(b"u", ENGINE, 1, 1, salt, ct, is_scoped_pdu) == (None, "decrypt_failed", "des")
    assert usm.decrypt("aes128", b"k" * 16, 1, 1, b"short", b"data") is None
    assert usm.decrypt("nope", b"k" * 16, 1, 1, b"12345678", b"data") is None


def test_validator_exceptions_do_not_escape():
    pt = scoped_pdu()
    _, ct, salt = _oracle_encrypt("aes128", "md5", pt)
    ks = KeyStore([UserEntry(name=b"u", auth_protocol="md5", auth_password=b"x" * 8, priv_password=PRIV_PW)])

    def boom(_):
        raise RuntimeError("validator bug")

    assert ks.decrypt(b"u", ENGINE, 7, 12345, salt, ct, boom)[1] == "decrypt_failed"


def test_random_inputs_never_raise():
    ks = KeyStore([UserEntry(name=b"u", auth_password=b"password", priv_password=b"password")])
    rnd = os.urandom(4000)
    for i in range(0, 3000, 97):
        blob = rnd[i:i + 200]
        ks.authenticate(b"u", blob[:12], blob, i % 250, (i % 5) * 12)
        ks.decrypt(b"u", blob[:12], i, i * 3, blob[:8 + i % 3], blob[8:8 + i % 120], is_scoped_pdu)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(msg=st.binary(max_size=300), off=st.integers(-5, 320), n=st.sampled_from([0, 11, 12, 16, 24, 32, 48, 60]),
       engine=st.binary(max_size=40), salt=st.binary(max_size=12), ct=st.binary(max_size=100),
       boots=st.integers(-1, 1 << 33), time=st.integers(-1, 1 << 33))
def test_keystore_never_raises_on_hostile_messages(msg, off, n, engine, salt, ct, boots, time):
    ks = _FUZZ_STORE
    st_, proto = ks.authenticate(b"u", engine, msg, off, n)
    assert st_ in ("ok", "bad")
    pt, status, used = ks.decrypt(b"u", engine, boots, time, salt, ct, is_scoped_pdu)
    assert status in ("decrypted", "decrypt_failed") and (pt is None) == (status != "decrypted")


_FUZZ_STORE = KeyStore([UserEntry(name=b"u", auth_protocol="md5", auth_password=b"password",
                                  priv_password=b"password", priv_protocols=("des", "aes128", "aes256c", "3des"))])


def test_reeder_derivations_are_budgeted():
    pt = scoped_pdu()
    _, ct, salt = _oracle_encrypt("aes256c", "md5", pt)
    ks = KeyStore([UserEntry(name=b"u", auth_protocol="md5", auth_password=b"x" * 8, priv_password=PRIV_PW,
                             priv_protocols=("aes256c",))])
    ks.reeder_budget = 3
    for i in range(5):   # forged engine ids: each would cost a 1 MiB hash
        assert ks.decrypt(b"u", b"\x80\x00\x00\x00\x04" + bytes([i]) * 8, 7, 12345, salt, ct,
                          is_scoped_pdu)[1] == "decrypt_failed"
    assert ks.budget_hits == 2 and ks.cache.ku_computed == 1 + 3
    ks.reeder_budget = 1   # the real engine still works within the budget
    assert ks.decrypt(b"u", ENGINE, 7, 12345, salt, ct, is_scoped_pdu)[1] == "decrypted"


@pytest.mark.parametrize("proto", ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
def test_auth_tags_match_pysnmp_for_every_protocol(proto):
    """pysnmp signs a message (its placeholder = zeros of the tag length); we verify and identify it."""
    from pyasn1.type import univ
    from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
    from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

    svc = {"md5": hmacmd5.HmacMd5(), "sha1": hmacsha.HmacSha()}.get(proto) or \
        hmacsha2.HmacSha2(_pysnmp_auth_oid(proto) if proto in ("sha224", "sha256") else
                          {"sha384": hmacsha2.HmacSha2.SAH384_SERVICE_ID,
                           "sha512": hmacsha2.HmacSha2.SHA512_SERVICE_ID}[proto])
    n = usm.AUTH_PROTOCOLS[proto].tag_len
    user = b"user-" + proto.encode()
    # the USM part of a message: ... userName, authParams (zeros), privParams ...; then data
    msg = (b"\x30\x50\x02\x01\x03" + b"\x04\x0d" + ENGINE + b"\x04" + bytes([len(user)]) + user
           + b"\x04" + bytes([n]) + bytes(n) + b"\x04\x00" + b"\x30\x05payld")
    # Ku of md5/sha1/sha256 is cross-checked above (pysnmp, RFC vectors); pysnmp's pure-Python
    # password-to-key is slow, so only the other SHA-2 hashes use it here
    ku = (usm.password_to_key(b"auth-pass-42", usm.AUTH_PROTOCOLS[proto].hash)
          if proto in ("md5", "sha1", "sha256") else svc.hash_passphrase(b"auth-pass-42"))
    key = svc.localize_key(ku, univ.OctetString(ENGINE))
    signed = bytes(svc.authenticate_outgoing_message(key, msg))
    off = msg.find(bytes(n) + b"\x04\x00")
    assert bytes(key) == usm.localized_key(b"auth-pass-42", ENGINE, usm.AUTH_PROTOCOLS[proto].hash)
    assert usm.verify(bytes(key), signed, off, n, proto)
    ks = KeyStore([UserEntry(name=user, auth_password=b"auth-pass-42")])
    assert ks.authenticate(user, ENGINE, signed, off, n) == ("ok", proto)

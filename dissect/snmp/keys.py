"""SNMPv3 keys: the users' passwords or localised keys, read from a keys file, and the
authenticate / decrypt operations the SNMP analyzer calls.

Keys file formats (``--snmp-keys FILE``; the format is detected from the content):

1. TOML, one ``[[user]]`` table per user (and optionally per engine)::

       [[user]]
       name = "authPrivUser"
       auth_protocol = "SHA"          # MD5, SHA (=SHA1), SHA224, SHA256, SHA384, SHA512;
                                      # omit to identify it by trial
       auth_password = "..."          # or auth_key = "hex" (already localised to engine_id)
       priv_protocol = "AES"          # DES, 3DES, AES (=AES128), AES192, AES256 (try both key
                                      # extensions), AES192B/AES256B (Blumenthal only),
                                      # AES192C/AES256C (Reeder/Cisco only); omit to try all
       priv_password = "..."          # or priv_key = "hex" (already localised)
       engine_id = "80001f8880..."    # optional: restrict this entry to one authoritative engine

   Passwords are localised with the authoritative engine id of each message (the agent's for
   Get/Set/Trap, the receiver's for an Inform); the privacy key is localised with the auth
   protocol's hash. A localised key (``auth_key``/``priv_key``, e.g. from a device's config) fits
   one engine only: give its ``engine_id`` (without it the key is tried on every engine).
   ``password = "..."`` sets both passwords at once. Several entries may share a name (one per
   engine); an entry with ``engine_id`` is tried before the generic one.

2. Wireshark's ``snmp_users`` UAT file (Preferences > Protocols > SNMP > Users table), one user
   per line: ``engine_id,"userName","auth model","authPassword","priv protocol","privPassword"``
   with auth model ``MD5``, ``SHA1``, ``SHA2-224``, ``SHA2-256``, ``SHA2-384``, ``SHA2-512`` and
   priv protocol ``DES``, ``AES``, ``AES192``, ``AES256`` (Wireshark uses the Reeder extension;
   we try both), ``AES192C``, ``AES256C``; the engine id is hex (empty = any engine).

A keys file that other users can read gets a warning (``KeyStore.warnings``); a malformed one raises
:class:`dissect.errors.KeysFileError` with ``<file>:<line>: <reason>``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from dissect.errors import KeysFileError
from dissect.snmp import usm

__all__ = ["UserEntry", "KeyStore", "parse_priv_protocol", "parse_hex"]

#: user-facing priv names -> the candidate protocols to try, in order
_PRIV_NAMES: dict[str, tuple[str, ...]] = {
    "des": ("des",), "descbc": ("des",), "cbcdes": ("des",),
    "3des": ("3des",), "3desede": ("3des",), "tripledes": ("3des",), "des3": ("3des",),
    "aes": ("aes128",), "aes128": ("aes128",), "aescfb128": ("aes128",),
    "aes192": ("aes192", "aes192c"), "aes256": ("aes256", "aes256c"),
    "aes192b": ("aes192",), "aes256b": ("aes256",),
    "aes192blumenthal": ("aes192",), "aes256blumenthal": ("aes256",),
    "aes192c": ("aes192c",), "aes256c": ("aes256c",),
    "aes192reeder": ("aes192c",), "aes256reeder": ("aes256c",),
}
_ALL_PRIV = ("des", "aes128", "aes256", "aes256c", "aes192", "aes192c", "3des")
_ALL_AUTH = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def parse_priv_protocol(text: str) -> tuple[str, ...] | None:
    t = re.sub(r"[\s_\-]", "", text.strip().lower())
    return _PRIV_NAMES.get(t)


def parse_hex(text: str) -> bytes | None:
    t = text.strip()
    if t.lower().startswith("0x"):
        t = t[2:]
    t = re.sub(r"[\s:.\-]", "", t)
    if len(t) % 2:
        return None
    try:
        return bytes.fromhex(t)
    except ValueError:
        return None


@dataclass
class UserEntry:
    """One user's keys (optionally for one engine). Passwords and keys are bytes."""

    name: bytes
    engine_id: bytes | None = None
    auth_protocol: str | None = None          # md5, sha1, sha224... (None: by trial)
    auth_password: bytes | None = None
    auth_key: bytes | None = None             # localised
    priv_protocols: tuple[str, ...] | None = None   # candidates (None: all)
    priv_password: bytes | None = None
    priv_key: bytes | None = None             # localised
    where: str = ""                           # file:line, for messages

    def auth_candidates(self, tag_len: int) -> tuple[str, ...]:
        by_len = usm.TAG_LEN_PROTOS.get(tag_len, ())
        if self.auth_protocol:
            return (self.auth_protocol,) if self.auth_protocol in by_len else ()
        if self.auth_key is not None:  # the key's length tells the hash
            p = usm.DIGEST_LEN_PROTO.get(len(self.auth_key))
            return tuple(x for x in by_len if x == p) if p else by_len
        return by_len

    @property
    def has_auth(self) -> bool:
        return self.auth_password is not None or self.auth_key is not None

    @property
    def has_priv(self) -> bool:
        return self.priv_password is not None or self.priv_key is not None


class KeyStore:
    """Users' keys and the cached localisations; what the SNMP analyzer asks to verify/decrypt."""

    REEDER_BUDGET = 4096

    def __init__(self, entries: Iterable[UserEntry] = (), *, source: str | None = None,
                 cache: usm.KeyCache | None = None):
        self.entries: list[UserEntry] = list(entries)
        self.source = source
        self.warnings: list[str] = []
        self.cache = cache or usm.KeyCache()
        self._by_user: dict[bytes, list[UserEntry]] = {}
        for e in self.entries:
            self._by_user.setdefault(e.name, []).append(e)
        # (user, engine) -> (entry, auth proto) that authenticated; (user, engine) -> priv hit
        self._auth_hit: dict[tuple[bytes, bytes], tuple[UserEntry, str]] = {}
        self._priv_hit: dict[tuple[bytes, bytes], tuple[UserEntry, str, str]] = {}
        self._zero_cache: tuple[bytes, int, int, bytes] | None = None
        #: Reeder key extensions (a 1 MiB hash each, per engine id) left to compute in this run
        self.reeder_budget = self.REEDER_BUDGET
        self.budget_hits = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_options(cls, options: Any) -> "KeyStore":
        path = getattr(options, "snmp_keys", None) if options is not None else None
        if path is None:
            return cls()
        return cls.from_file(Path(path))

    @classmethod
    def from_file(cls, path: Path) -> "KeyStore":
        path = Path(path)
        try:
            st = path.stat()
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeysFileError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise KeysFileError(f"{path}: is a directory") from None
        except OSError as e:
            raise KeysFileError(f"{path}: {e.strerror or e}") from None
        if stat.S_ISDIR(st.st_mode):
            raise KeysFileError(f"{path}: is a directory")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[:e.start].count(b"\n") + 1
            raise KeysFileError(f"{path}:{line}: not UTF-8 text") from None
        if _looks_like_uat(text):
            entries = _parse_uat(text, str(path))
        else:
            entries = _parse_toml(text, str(path))
        store = cls(entries, source=str(path))
        if os.name == "posix" and st.st_mode & 0o077:
            store.warnings.append(
                f"{path}: keys file is readable by group/others (mode {stat.S_IMODE(st.st_mode):04o});"
                f" run chmod 600 on it")
        return store

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:  # an empty store is still a store; use len() for "has keys"
        return True

    def users(self) -> list[bytes]:
        return list(self._by_user)

    def _candidates(self, user: bytes, engine_id: bytes) -> list[UserEntry]:
        got = self._by_user.get(bytes(user))
        if not got:
            return []
        exact = [e for e in got if e.engine_id is not None and e.engine_id == engine_id]
        anye = [e for e in got if e.engine_id is None]
        return exact + anye

    # ------------------------------------------------------------------ keys
    def auth_kul(self, e: UserEntry, engine_id: bytes, proto: str) -> bytes:
        if e.auth_key is not None:
            return e.auth_key
        return self.cache.kul(e.auth_password, engine_id, usm.AUTH_PROTOCOLS[proto].hash)

    def priv_material(self, e: UserEntry, engine_id: bytes, hash_proto: str, priv: str) -> bytes | None:
        h = usm.AUTH_PROTOCOLS[hash_proto].hash
        if e.priv_key is not None:
            kul = e.priv_key
        elif e.priv_password is not None:
            kul = self.cache.kul(e.priv_password, engine_id, h)
        else:
            return None
        p = usm.PRIV_PROTOCOLS[priv]
        if p.extension == "reeder" and len(kul) < p.key_len and not self.cache.has_kul(kul, engine_id, h):
            # each new engine id costs a 1 MiB password-to-key: a capture full of forged engine ids
            # must not make us spend hours; past the budget, Reeder keys are not derived any more
            if self.reeder_budget <= 0:
                self.budget_hits += 1
                return None
            self.reeder_budget -= 1
        return usm.priv_key_from_kul(kul, priv, h, engine_id, self.cache)

    def _zeroed(self, whole_msg: bytes, off: int, n: int) -> bytes | None:
        zc = self._zero_cache
        if zc is not None and zc[0] is whole_msg and zc[1] == off and zc[2] == n:
            return zc[3]
        z = usm.zero_tag(whole_msg, off, n)
        if z is not None:
            self._zero_cache = (whole_msg, off, n, z)
        return z

    # ------------------------------------------------------------------ API for the analyzer
    def authenticate(self, user: bytes, engine_id: bytes, whole_msg: bytes, auth_offset: int,
                     auth_len: int) -> tuple[str, str | None]:
        """Check a message's HMAC tag: ("ok" | "bad" | "no_key", auth protocol).

        Tries the user's configured protocol, or every protocol whose tag length matches (12 octets:
        MD5 and SHA-1 by trial). Never raises."""
        user = bytes(user)
        engine_id = bytes(engine_id)
        cands = [e for e in self._candidates(user, engine_id) if e.has_auth]
        if not cands:
            return "no_key", None
        whole_msg = bytes(whole_msg)
        zeroed = self._zeroed(whole_msg, auth_offset, auth_len)
        if zeroed is None:
            return "bad", None
        hit = self._auth_hit.get((user, engine_id))
        tried: list[str] = []
        order: list[tuple[UserEntry, str]] = []
        if hit is not None and auth_len == usm.AUTH_PROTOCOLS[hit[1]].tag_len:
            order.append(hit)
        for e in cands:
            for p in e.auth_candidates(auth_len):
                if (e, p) != hit:
                    order.append((e, p))
        for e, p in order:
            tried.append(p)
            try:
                kul = self.auth_kul(e, engine_id, p)
            except ValueError:  # empty password
                continue
            if usm.verify(kul, whole_msg, auth_offset, auth_len, p, zeroed):
                self._auth_hit[(user, engine_id)] = (e, p)
                return "ok", p
        configured = {e.auth_protocol for e in cands if e.auth_protocol}
        if len(configured) == 1:
            return "bad", configured.pop()
        uniq = set(tried)
        return "bad", uniq.pop() if len(uniq) == 1 else None

    def decrypt(self, user: bytes, engine_id: bytes, boots: int, time: int, priv_params: bytes,
                ciphertext: bytes, check: Callable[[bytes], bool]) -> tuple[bytes | None, str, str | None]:
        """Decrypt an encryptedPDU: (plaintext | None, "decrypted" | "no_key" | "decrypt_failed",
        privacy protocol used).

        ``check(plaintext) -> bool`` must accept only a well-formed ScopedPDU (DES/3DES plaintext
        carries padding after it). Where the key extension or the protocol is not configured, every
        candidate is tried and the one that gave a valid ScopedPDU is reported. Never raises."""
        user = bytes(user)
        engine_id = bytes(engine_id)
        cands = [e for e in self._candidates(user, engine_id) if e.has_priv]
        if not cands:
            return None, "no_key", None
        priv_params = bytes(priv_params)
        ciphertext = bytes(ciphertext)
        key = (user, engine_id)
        order: list[tuple[UserEntry, str, str]] = []
        hit = self._priv_hit.get(key)
        if hit is not None:
            order.append(hit)
        ahit = self._auth_hit.get(key)
        for e in cands:
            if ahit is not None and ahit[0] is e:
                hashes: tuple[str, ...] = (ahit[1],)
            elif e.auth_protocol:
                hashes = (e.auth_protocol,)
            elif e.priv_key is not None and usm.DIGEST_LEN_PROTO.get(len(e.priv_key)):
                # the localised key's length tells the hash; extension needs it too
                hashes = (usm.DIGEST_LEN_PROTO[len(e.priv_key)],)
            else:
                hashes = _ALL_AUTH
            for h in hashes:
                for pv in e.priv_protocols or _ALL_PRIV:
                    if (e, h, pv) != hit:
                        order.append((e, h, pv))
        tried_material: set[tuple[str, bytes]] = set()
        for e, h, pv in order:
            try:
                mat = self.priv_material(e, engine_id, h, pv)
            except ValueError:
                continue
            if mat is None:
                continue
            sig = (pv.rstrip("c"), mat)
            if sig in tried_material:  # e.g. aes192 == aes192c when Kul is already long enough
                continue
            tried_material.add(sig)
            pt = usm.decrypt(pv, mat, boots, time, priv_params, ciphertext)
            if pt is None:
                continue
            try:
                ok = check(pt)
            except Exception:  # a validator must not break decryption attempts
                ok = False
            if ok:
                self._priv_hit[key] = (e, h, pv)
                return pt, "decrypted", pv
        confs = {e.priv_protocols for e in cands}
        last_proto = None
        if len(confs) == 1:
            only = confs.pop()
            if only is not None and len(only) == 1:
                last_proto = only[0]
        return None, "decrypt_failed", last_proto


# ---------------------------------------------------------------------- file formats

def _looks_like_uat(text: str) -> bool:
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        # UAT: a CSV record whose first field is "..." or bare hex, followed by a comma
        return bool(re.match(r'^(?:"[^"]*"|[0-9A-Fa-f:]*)\s*,\s*"', s))
    return False


_TOML_KEYS = {"name", "user", "auth_protocol", "auth_password", "auth_key", "priv_protocol",
              "priv_password", "priv_key", "engine_id", "password"}


def _toml_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """For each [[user]] table in order: (line of the header, {key: line})."""
    out: list[tuple[int, dict[str, int]]] = []
    cur: dict[str, int] | None = None
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if re.match(r"^\[\[\s*(users?)\s*\]\]", s):
            cur = {}
            out.append((i, cur))
        elif s.startswith("["):
            cur = None
        elif cur is not None:
            m = re.match(r'^([A-Za-z0-9_\-]+|"[^"]*")\s*=', s)
            if m:
                cur.setdefault(m.group(1).strip('"'), i)
    return out


def _parse_toml(text: str, where: str) -> list[UserEntry]:
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = m.group(1) if m else "1"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) or "invalid TOML"
        raise KeysFileError(f"{where}:{line}: {reason}") from None
    users = doc.get("user", doc.get("users"))
    positions = _toml_lines(text)
    other = [k for k in doc if k not in ("user", "users")]
    if other:
        raise KeysFileError(f"{where}:1: unknown top-level key {other[0]!r} (expected [[user]] tables)")
    if users is None:
        if not text.strip() or all(not ln.strip() or ln.strip().startswith("#") for ln in text.splitlines()):
            return []
        raise KeysFileError(f"{where}:1: no [[user]] table")
    if not isinstance(users, list):
        raise KeysFileError(f"{where}:1: 'user' must be an array of tables ([[user]])")
    entries = []
    for idx, u in enumerate(users):
        hdr, keylines = positions[idx] if idx < len(positions) else (1, {})

        def err(key: str | None, reason: str, hdr=hdr, keylines=keylines):
            line = keylines.get(key, hdr) if key else hdr
            raise KeysFileError(f"{where}:{line}: {reason}")

        if not isinstance(u, dict):
            err(None, "each user must be a table")
        for k in u:
            if k not in _TOML_KEYS:
                err(k, f"unknown key {k!r} (known: {', '.join(sorted(_TOML_KEYS))})")
        for k, v in u.items():
            if not isinstance(v, str):
                err(k, f"{k} must be a string")
        name = u.get("name", u.get("user"))
        if not name:
            err(None, "user without a name")
        e = UserEntry(name=name.encode("utf-8"), where=f"{where}:{hdr}")
        if "engine_id" in u and u["engine_id"].strip():
            eid = parse_hex(u["engine_id"])
            if eid is None:
                err("engine_id", "engine_id must be hex")
            if not 5 <= len(eid) <= 32:
                err("engine_id", f"engine_id must be 5 to 32 octets (got {len(eid)})")
            e.engine_id = eid
        if "auth_protocol" in u:
            p = usm.auth_proto_name(u["auth_protocol"])
            if p is None:
                err("auth_protocol", f"unknown auth_protocol {u['auth_protocol']!r} "
                                     "(MD5, SHA, SHA224, SHA256, SHA384, SHA512)")
            e.auth_protocol = p
        if "priv_protocol" in u:
            pv = parse_priv_protocol(u["priv_protocol"])
            if pv is None:
                err("priv_protocol", f"unknown priv_protocol {u['priv_protocol']!r} "
                                     "(DES, 3DES, AES, AES192, AES256, AES192C, AES256C)")
            e.priv_protocols = pv
        pw = u.get("password")
        for kind in ("auth", "priv"):
            pwd = u.get(f"{kind}_password", pw)
            keyhex = u.get(f"{kind}_key")
            if pwd is not None and f"{kind}_password" in u and keyhex is not None:
                err(f"{kind}_key", f"give {kind}_password or {kind}_key, not both")
            if keyhex is not None:
                k = parse_hex(keyhex)
                if k is None or not k:
                    err(f"{kind}_key", f"{kind}_key must be hex")
                if kind == "auth" and len(k) not in usm.DIGEST_LEN_PROTO:
                    err(f"{kind}_key", f"auth_key must be a localised key of 16, 20, 28, 32, 48 or 64 octets (got {len(k)})")
                if kind == "auth" and e.auth_protocol and len(k) != usm.AUTH_PROTOCOLS[e.auth_protocol].digest_len:
                    err(f"{kind}_key", f"auth_key length {len(k)} does not match {e.auth_protocol}")
                if kind == "priv" and len(k) < 16:
                    err(f"{kind}_key", f"priv_key must be at least 16 octets (got {len(k)})")
                setattr(e, f"{kind}_key", k)
            elif pwd is not None:
                if pwd == "":
                    err(f"{kind}_password" if f"{kind}_password" in u else "password", "empty password")
                setattr(e, f"{kind}_password", pwd.encode("utf-8"))
        if not e.has_auth and not e.has_priv:
            err(None, f"user {name!r} has no password or key")
        entries.append(e)
    return entries


_AUTH_UAT = {"md5": "md5", "sha1": "sha1", "sha": "sha1", "sha2224": "sha224", "sha2256": "sha256",
             "sha2384": "sha384", "sha2512": "sha512", "sha224": "sha224", "sha256": "sha256",
             "sha384": "sha384", "sha512": "sha512"}


def _uat_fields(line: str) -> list[bytes] | None:
    """Split one UAT record: fields are "quoted strings" (\\xHH and \\\\ escapes) or bare hex.

    Escapes give raw bytes; literal text is UTF-8."""
    out: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == '"':
            i += 1
            buf = bytearray()
            while i < n and line[i] != '"':
                c = line[i]
                if c == "\\" and i + 1 < n:
                    nx = line[i + 1]
                    if nx == "x" and i + 3 < n and re.match(r"[0-9A-Fa-f]{2}", line[i + 2:i + 4]):
                        buf.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    buf += nx.encode("utf-8")
                    i += 2
                    continue
                buf += c.encode("utf-8")
                i += 1
            if i >= n:
                return None  # unterminated quote
            i += 1
            out.append(bytes(buf))
        else:
            j = line.find(",", i)
            j = n if j < 0 else j
            out.append(line[i:j].strip().encode("utf-8"))
            i = j
        while i < n and line[i] in " \t\r":
            i += 1
        if i >= n:
            return out
        if line[i] != ",":
            return None
        i += 1


def _parse_uat(text: str, where: str) -> list[UserEntry]:
    entries = []
    for ln, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        f = _uat_fields(s)
        if f is None:
            raise KeysFileError(f"{where}:{ln}: malformed line (unbalanced quotes or missing comma)")
        if len(f) != 6:
            raise KeysFileError(f"{where}:{ln}: expected 6 fields (engine id, user, auth model, "
                                f"auth password, priv protocol, priv password), got {len(f)}")
        eid_b, name, auth_b, apw, priv_b, ppw = f
        eid_s, auth, priv = (x.decode("utf-8", "replace") for x in (eid_b, auth_b, priv_b))
        if not name:
            raise KeysFileError(f"{where}:{ln}: empty user name")
        e = UserEntry(name=name, where=f"{where}:{ln}")
        if eid_s:
            eid = parse_hex(eid_s)
            if eid is None:
                raise KeysFileError(f"{where}:{ln}: engine id must be hex")
            if eid and not 5 <= len(eid) <= 32:
                raise KeysFileError(f"{where}:{ln}: engine id must be 5 to 32 octets (got {len(eid)})")
            e.engine_id = eid or None
        a = _AUTH_UAT.get(re.sub(r"[\s_\-]", "", auth.lower()))
        if auth and a is None:
            raise KeysFileError(f"{where}:{ln}: unknown authentication model {auth!r} "
                                "(MD5, SHA1, SHA2-224, SHA2-256, SHA2-384, SHA2-512)")
        e.auth_protocol = a
        if apw:
            e.auth_password = apw
        if priv:
            pv = parse_priv_protocol(priv)
            if pv is None:
                raise KeysFileError(f"{where}:{ln}: unknown privacy protocol {priv!r} "
                                    "(DES, AES, AES192, AES256, AES192C, AES256C)")
            # Wireshark's AES192/AES256 use the Reeder extension: try it first
            if pv == ("aes192", "aes192c"):
                pv = ("aes192c", "aes192")
            elif pv == ("aes256", "aes256c"):
                pv = ("aes256c", "aes256")
            e.priv_protocols = pv
        if ppw:
            e.priv_password = ppw
        if not e.has_auth and not e.has_priv:
            # a noAuthNoPriv user: nothing to do with it, but not an error
            continue
        entries.append(e)
    return entries


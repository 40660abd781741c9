"""The SNMP security audit: ``snmp_findings`` from a run's SNMP records (``Protocol.finalize``).

Findings (``kind``), each with a severity, the hosts involved, counts, first/last seen and evidence:

* ``default_community`` / ``cleartext_community``: a v1/v2c community seen in clear text, per
  community and per agent, with a ``verdict``: *accepted* (a Response came back), *rejected* (no
  response from an agent that answered other requests or sent an authenticationFailure trap) or
  *unknown* (only seen in traps, or sent to an address that never answered anything). Default
  or guessable communities (the built-in list plus ``--wordlist``) are ``default_community``.
* ``write_access`` (a SetRequest answered noError) and ``write_refused`` (a Set answered with an
  error, or not answered).
* ``community_scan``: one manager trying many communities, or sweeping many agents mostly in vain.
* ``auth_failure_trap``: authenticationFailure traps (1.3.6.1.6.3.1.1.5.5 / v1 generic-trap 4).
* v3: ``v3_no_auth`` (noAuthNoPriv), ``v3_no_priv`` (authNoPriv), ``v3_md5_auth``, ``v3_des_priv``,
  ``v3_wrong_digest`` (usmStatsWrongDigests reports: password guessing), ``v3_unknown_user``
  (usmStatsUnknownUserNames reports: user enumeration), ``v3_decryption_errors``,
  ``v3_auth_failed`` / ``v3_decrypt_failed`` (our keys did not fit), ``v3_encrypted_no_key``.
* ``v3_weak_password``: the offline check found a user's password in the word list (built-in
  list, ``--wordlist``, plus the communities and user names seen in the capture). The password is
  in the secret ``password`` column (masked unless ``--show-secrets``).
* ``v3_hashcat_export``: how many messages were written to ``--hashcat FILE``.

The offline check tries each word once per hash (the 1 MiB password-to-key), then localises it for
every (user, engine) still unsolved: its cost grows with words x hashes, not with messages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from dissect.schema import col, record
from dissect.snmp import usm
from dissect.weird import Weird, declare

__all__ = ["SnmpFinding", "RECORD_TYPES", "finalize", "load_wordlist", "builtin_wordlist",
           "hashcat_lines", "crack", "SEVERITIES", "AUTH_FAILURE_TRAP_OID"]

SEVERITIES = ("critical", "high", "medium", "low", "info")
AUTH_FAILURE_TRAP_OID = "1.3.6.1.6.3.1.1.5.5"

W_WORDLIST = declare("snmp_wordlist_unreadable", "The --wordlist file could not be read; only the built-in list was used", "warning")
W_WORDLIST_CAP = declare("snmp_wordlist_cap", "The SNMPv3 offline password check stopped at caps.snmp_wordlist_words words", "info")
W_KEYS_PERMS = declare("snmp_keys_file_readable", "The --snmp-keys file is readable by group/others (chmod 600 it)", "warning")
W_REEDER_CAP = declare("snmp_key_derivation_cap", "Too many engine ids needed a Reeder (AES-192/256-C, 3DES) key extension; the rest were not tried", "warning")
W_HASHCAT = declare("snmp_hashcat_write_failed", "The --hashcat file could not be written", "error")

#: thresholds of the scanning heuristics
SCAN_MIN_COMMUNITIES = 5          # one manager, this many distinct communities: guessing
SCAN_MIN_AGENTS = 16              # one manager, this many agents, mostly unanswered: sweep
GUESSING_MIN_WRONG_DIGESTS = 3    # this many wrongDigests reports: password guessing
ENUM_MIN_USERS = 3                # this many distinct unknown users: user enumeration
CRACK_SAMPLES_PER_USER = 8        # messages per (user, engine) used to confirm a found password
MAX_CAPTURE_WORDS = 1000         # communities/user names of the capture tried as v3 passwords
HASHCAT_MAX_MSG = 1500            # hashcat's SNMPv3 modes take messages up to 1500 octets


@record("snmp_findings", "SNMP security audit findings: cleartext and default communities with their "
                         "verdict, write access, scanning, authentication failures and weak SNMPv3 settings.")
class SnmpFinding:
    severity: str = col("critical, high, medium, low or info")
    kind: str = col("Finding type: default_community, cleartext_community, write_access, write_refused, "
                    "community_scan, auth_failure_trap, v3_no_auth, v3_no_priv, v3_md5_auth, v3_des_priv, "
                    "v3_wrong_digest, v3_unknown_user, v3_decryption_errors, v3_auth_failed, "
                    "v3_decrypt_failed, v3_encrypted_no_key, v3_weak_password, v3_hashcat_export")
    subject: str | None = col("The community or v3 user name(s) concerned", secret=True)
    verdict: str | None = col("For communities and v3 levels: accepted (a Response came back), rejected "
                              "(no response, an authenticationFailure trap or a Report), unknown", default=None)
    agents: tuple = col("Agents concerned (the hosts the requests were sent to; the sender of a trap)",
                        default=())
    managers: tuple = col("Managers concerned (the hosts that sent the requests; the trap receivers)",
                          default=())
    count: int = col("Number of messages behind the finding", default=0)
    first_seen: float | None = col("First message", kind="time", default=None)
    last_seen: float | None = col("Last message", kind="time", default=None)
    evidence: str = col("Short evidence: flows (uid), request ids, counts", default="")
    password: str | None = col("v3_weak_password: the password found", default=None, secret=True)


RECORD_TYPES = (SnmpFinding,)

_SEV_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


# ---------------------------------------------------------------------- word lists

def builtin_wordlist() -> list[bytes]:
    """The built-in list of default communities and weak passwords (``wordlist.txt``)."""
    data = resources.files("dissect.snmp").joinpath("wordlist.txt").read_bytes()
    return [w for w in _lines(data) if not w.startswith(b"#")]


_KU_TABLE: dict[tuple[bytes, str], bytes] | None = None
KU_TABLE_FILE = "wordlist_ku.txt"
_KU_HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def builtin_ku_table() -> dict[tuple[bytes, str], bytes]:
    """Precomputed Ku (RFC 3414 password-to-key, engine-independent) of every built-in word for
    the six hashes, from ``wordlist_ku.txt``: the built-in check then costs no 1 MiB hashes.
    Rebuild with ``python -m dissect.snmp.audit --rebuild-ku`` after editing ``wordlist.txt``
    (a test fails when the table is stale). Entries of words no longer listed are ignored."""
    global _KU_TABLE
    if _KU_TABLE is None:
        table: dict[tuple[bytes, str], bytes] = {}
        try:
            data = resources.files("dissect.snmp").joinpath(KU_TABLE_FILE).read_text("ascii")
        except (OSError, UnicodeDecodeError):
            data = ""
        words = set(builtin_wordlist())
        for ln in data.splitlines():
            parts = ln.split()
            if len(parts) != 1 + len(_KU_HASHES) or ln.startswith("#"):
                continue
            try:
                w = bytes.fromhex(parts[0])
                kus = [bytes.fromhex(x) for x in parts[1:]]
            except ValueError:
                continue
            if w not in words:
                continue
            for h, ku in zip(_KU_HASHES, kus):
                if len(ku) == usm.AUTH_PROTOCOLS[h].digest_len:
                    table[(w, h)] = ku
        _KU_TABLE = table
    return _KU_TABLE


def rebuild_ku_table(path: Path | str) -> int:
    """Write the precomputed Ku table of the built-in word list (see :func:`builtin_ku_table`)."""
    lines = ["# word(hex) then Ku for md5 sha1 sha224 sha256 sha384 sha512: generated by "
             "python -m dissect.snmp.audit --rebuild-ku"]
    for w in dict.fromkeys(builtin_wordlist()):
        lines.append(" ".join([w.hex()] + [usm.password_to_key(w, h).hex() for h in _KU_HASHES]))
    Path(path).write_text("\n".join(lines) + "\n", encoding="ascii")
    return len(lines) - 1


def _lines(data: bytes) -> list[bytes]:
    out = []
    for ln in data.split(b"\n"):
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        if ln:
            out.append(ln)
    return out


def load_wordlist(path: Path | str | None, limit: int | None = None) -> list[bytes]:
    """A user word list: one word per line, raw bytes, kept as is (no comments, no stripping of
    spaces; only the line end). Raises OSError when unreadable."""
    if path is None:
        return []
    out: list[bytes] = []
    with open(path, "rb") as f:
        for ln in f:
            if ln.endswith(b"\n"):
                ln = ln[:-1]
            if ln.endswith(b"\r"):
                ln = ln[:-1]
            if ln:
                out.append(ln)
                if limit is not None and len(out) > limit:
                    break
    return out


def _text(b: bytes | str | None) -> str:
    if b is None:
        return ""
    if isinstance(b, str):
        return b
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + b.hex()


# ---------------------------------------------------------------------- helpers

class _Acc:
    """Accumulates one finding's hosts, counts, times and evidence."""

    __slots__ = ("agents", "managers", "count", "first", "last", "uids", "ids", "extra")

    def __init__(self):
        self.agents: dict[str, None] = {}
        self.managers: dict[str, None] = {}
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.uids: dict[str, None] = {}
        self.ids: list[int] = []
        self.extra: dict[str, int] = defaultdict(int)

    def add(self, r: Any, agent: str | None, manager: str | None, rid: int | None = None) -> None:
        self.count += 1
        ts = r.ts
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts
        if agent:
            self.agents[agent] = None
        if manager:
            self.managers[manager] = None
        if r.uid and len(self.uids) < 64:
            self.uids[r.uid] = None
        if rid is not None and len(self.ids) < 8:
            self.ids.append(rid)

    def evidence(self, head: str = "") -> str:
        parts = [head] if head else []
        for k, v in self.extra.items():
            parts.append(f"{v} {k}")
        uids = list(self.uids)
        if uids:
            more = f" (+{len(uids) - 3})" if len(uids) > 3 else ""
            parts.append("flows " + ",".join(uids[:3]) + more)
        if self.ids:
            parts.append("ids " + ",".join(str(i) for i in self.ids[:5]) + (" ..." if len(self.ids) > 5 else ""))
        return "; ".join(parts)

    def finding(self, severity: str, kind: str, subject: str | None, evidence: str,
                verdict: str | None = None, password: str | None = None) -> SnmpFinding:
        return SnmpFinding(severity=severity, kind=kind, subject=subject, verdict=verdict,
                           agents=tuple(self.agents), managers=tuple(self.managers), count=self.count,
                           first_seen=self.first, last_seen=self.last, evidence=evidence,
                           password=password)


def _is_auth_failure_trap(r: Any) -> bool:
    return r.pdu_type in ("trap", "trapv2", "inform") and (
        r.generic_trap == "authenticationFailure" or r.trap_oid == AUTH_FAILURE_TRAP_OID)


# ---------------------------------------------------------------------- community audit

def _community_findings(pdus: list, guessable: set[str]) -> list[SnmpFinding]:
    out: list[SnmpFinding] = []
    by_index = {r.pdu_index: r for r in pdus}
    resp_of: dict[int, Any] = {}
    for r in pdus:
        if r.request_index is not None:
            resp_of[r.request_index] = r

    per: dict[tuple[str, str], dict] = {}
    sets_ok: dict[str, _Acc] = {}
    sets_refused: dict[str, _Acc] = {}
    authfail: dict[str, _Acc] = {}
    managers: dict[str, dict] = {}

    for r in pdus:
        if r.version not in ("1", "2c"):
            continue
        if _is_auth_failure_trap(r):
            authfail.setdefault(r.src_h, _Acc()).add(r, r.src_h, r.dst_h)
        com = r.community
        if com is None:
            continue
        t = r.pdu_type
        if t in ("get", "getnext", "getbulk", "set", "inform"):
            agent, manager = r.dst_h, r.src_h
        elif t in ("trap", "trapv2"):
            agent, manager = r.src_h, r.dst_h
        elif t in ("response", "report"):
            if r.request_index is not None and r.request_index in by_index:
                continue  # counted through its request
            agent, manager = r.src_h, r.dst_h   # a response whose request was not captured
        else:
            continue
        st = per.get((com, agent))
        if st is None:
            st = per[(com, agent)] = {"acc": _Acc(), "req": 0, "ans": 0, "notif": 0, "rej_err": 0}
        acc: _Acc = st["acc"]
        acc.add(r, agent, manager, r.request_id)
        if t in ("response", "report"):
            st["ans"] += 1
            st["req"] += 1
        elif t in ("trap", "trapv2"):
            st["notif"] += 1
        else:
            st["req"] += 1
            resp = resp_of.get(r.pdu_index)
            answered = bool(r.answered) and (resp is None or resp.error_status != "authorizationError")
            if answered:
                st["ans"] += 1
            elif r.answered:
                st["rej_err"] += 1
            m = managers.setdefault(manager, {"coms": {}, "agents": {}, "req": 0, "ans": 0, "acc": _Acc(),
                                              "ok_coms": {}})
            m["coms"][com] = None
            m["agents"][agent] = None
            m["req"] += 1
            m["acc"].add(r, agent, manager)
            if answered:
                m["ans"] += 1
                m["ok_coms"][com] = None
            if t == "set":
                err = resp.error_status if resp is not None else None
                if r.answered and (err in (None, "noError")) and resp is not None:
                    sets_ok.setdefault(com, _Acc()).add(r, agent, manager, r.request_id)
                else:
                    a = sets_refused.setdefault(com, _Acc())
                    a.add(r, agent, manager, r.request_id)
                    a.extra[err or "unanswered"] += 1

    answering = {agent for (_c, agent), st in per.items() if st["ans"]}
    for (com, agent), st in per.items():
        acc = st["acc"]
        if st["ans"]:
            verdict = "accepted"
        elif st["req"] and (agent in answering or authfail.get(agent) is not None):
            # the agent is alive (it answered other communities or sent authenticationFailure
            # traps) and stayed silent for this one: rejected
            verdict = "rejected"
        else:
            # never answered anything at all: no agent there, or a one-way capture: no evidence
            verdict = "unknown"
        default = com.casefold() in guessable
        kind = "default_community" if default else "cleartext_community"
        if verdict == "accepted":
            sev = "high" if default else "medium"
        elif verdict == "rejected":
            sev = "low"
        else:
            sev = "low" if default else "info"
        bits = []
        if st["req"]:
            bits.append(f"{st['ans']}/{st['req']} requests answered")
        if st["rej_err"]:
            bits.append(f"{st['rej_err']} answered authorizationError")
        if st["notif"]:
            bits.append(f"{st['notif']} traps")
        af = authfail.get(agent)
        if verdict == "rejected" and af is not None:
            bits.append(f"agent sent {af.count} authenticationFailure traps")
        elif verdict == "unknown" and st["req"]:
            bits.append("the agent answered nothing in this capture (no agent there, or one-way capture?)")
        if default:
            bits.append("default/guessable community")
        out.append(acc.finding(sev, kind, com, acc.evidence("; ".join(bits)), verdict))

    for com, acc in sets_ok.items():
        out.append(acc.finding("critical", "write_access", com,
                               acc.evidence(f"{acc.count} SetRequests answered noError"), "accepted"))
    for com, acc in sets_refused.items():
        out.append(acc.finding("medium", "write_refused", com,
                               acc.evidence(f"{acc.count} SetRequests refused"), "rejected"))
    for agent, acc in authfail.items():
        out.append(acc.finding("medium", "auth_failure_trap", None,
                               acc.evidence(f"{acc.count} authenticationFailure traps from {agent}")))
    for manager, m in managers.items():
        ncom, nag = len(m["coms"]), len(m["agents"])
        if ncom >= SCAN_MIN_COMMUNITIES or (nag >= SCAN_MIN_AGENTS and m["ans"] * 2 < m["req"]):
            acc = m["acc"]
            ok = list(m["ok_coms"])
            subject = ",".join(ok[:5]) if ok else None
            out.append(acc.finding(
                "high", "community_scan", subject,
                acc.evidence(f"{manager} tried {ncom} communities against {nag} agents; "
                             f"{m['ans']}/{m['req']} answered; {len(ok)} communities worked"),
                "accepted" if ok else "rejected"))
    return out


# ---------------------------------------------------------------------- v3 audit

def _v3_findings(pdus: list) -> list[SnmpFinding]:
    out: list[SnmpFinding] = []
    by_index = {r.pdu_index: r for r in pdus}
    resp_of: dict[int, Any] = {}
    for r in pdus:
        if r.request_index is not None:
            resp_of[r.request_index] = r

    level: dict[tuple[str, str, str], dict] = {}
    md5: dict[str, _Acc] = {}
    des: dict[str, _Acc] = {}
    wrong: dict[tuple[str, str], _Acc] = {}
    unknown: dict[tuple[str, str], tuple[_Acc, dict]] = {}
    decerr: dict[tuple[str, str], _Acc] = {}
    authbad: dict[str, _Acc] = {}
    decfail: dict[str, _Acc] = {}
    nokey: dict[str, _Acc] = {}

    for r in pdus:
        if r.version != "3":
            continue
        user = r.user or ""
        t = r.pdu_type
        if t == "report":
            req = by_index.get(r.request_index) if r.request_index is not None else None
            ruser = (req.user if req is not None and req.user else user) or ""
            reason = r.report_reason or ""
            key = (r.src_h, r.dst_h)   # agent, manager
            if reason == "wrongDigests":
                wrong.setdefault((ruser, r.src_h), _Acc()).add(r, r.src_h, r.dst_h,
                                                              req.msg_id if req is not None else r.msg_id)
            elif reason == "unknownUserNames":
                acc, users = unknown.setdefault(key, (_Acc(), {}))
                acc.add(r, r.src_h, r.dst_h)
                if ruser:
                    users[ruser] = None
            elif reason == "decryptionErrors":
                decerr.setdefault((ruser, r.src_h), _Acc()).add(r, r.src_h, r.dst_h)
            continue
        if r.is_request:
            agent, manager = r.dst_h, r.src_h
        elif t in ("trapv2", "trap"):
            agent, manager = r.src_h, r.dst_h
        else:
            agent, manager = r.src_h, r.dst_h
        if r.auth_proto == "md5":
            md5.setdefault(user, _Acc()).add(r, agent, manager)
        if r.priv_proto == "des":
            des.setdefault(user, _Acc()).add(r, agent, manager)
        if r.auth == "bad":
            authbad.setdefault(user, _Acc()).add(r, agent, manager, r.msg_id)
        if r.privacy == "decrypt_failed":
            decfail.setdefault(user, _Acc()).add(r, agent, manager, r.msg_id)
        elif r.privacy == "no_key":
            nokey.setdefault(user, _Acc()).add(r, agent, manager)
        sl = r.security_level
        if sl in ("noAuthNoPriv", "authNoPriv") and user and t != "response":
            # discovery (empty user) is normal; responses are counted through their request
            st = level.setdefault((sl, user, agent), {"acc": _Acc(), "req": 0, "ok": 0, "rep": {},
                                                      "nrep": 0, "denied": 0})
            st["acc"].add(r, agent, manager, r.msg_id)
            if r.is_request:
                st["req"] += 1
                resp = resp_of.get(r.pdu_index)
                if resp is not None and resp.pdu_type == "response":
                    if resp.error_status == "authorizationError":
                        st["denied"] += 1
                    else:
                        st["ok"] += 1
                elif resp is not None and resp.pdu_type == "report":
                    st["nrep"] += 1
                    st["rep"][resp.report_reason or "report"] = None

    for (sl, user, agent), st in level.items():
        acc = st["acc"]
        if st["req"] and st["nrep"] == st["req"]:
            continue  # every request got a Report (unknown user, wrong digest...): reported as such
        if st["ok"]:
            verdict = "accepted"
        elif st["rep"]:
            verdict = "rejected"
        elif st["req"]:
            verdict = "rejected"
        else:
            verdict = "unknown"
        if sl == "noAuthNoPriv":
            kind, sev = "v3_no_auth", {"accepted": "high", "unknown": "medium"}.get(verdict, "low")
        else:
            kind, sev = "v3_no_priv", {"accepted": "medium", "unknown": "low"}.get(verdict, "info")
        head = f"{sl}: {st['ok']}/{st['req']} requests answered with a Response"
        if st["denied"]:
            head += f"; {st['denied']} answered authorizationError"
        if st["rep"]:
            head += "; reports: " + ",".join(st["rep"])
        out.append(acc.finding(sev, kind, user, acc.evidence(head), verdict))
    for user, acc in md5.items():
        out.append(acc.finding("low", "v3_md5_auth", user, acc.evidence("HMAC-MD5-96 authentication")))
    for user, acc in des.items():
        out.append(acc.finding("medium", "v3_des_priv", user, acc.evidence("DES-CBC privacy (56-bit key)")))
    for (user, agent), acc in wrong.items():
        sev = "high" if acc.count >= GUESSING_MIN_WRONG_DIGESTS else "medium"
        head = f"{acc.count} usmStatsWrongDigests reports from {agent}"
        if acc.count >= GUESSING_MIN_WRONG_DIGESTS:
            head += " (password guessing?)"
        out.append(acc.finding(sev, "v3_wrong_digest", user or None, acc.evidence(head), "rejected"))
    for (agent, manager), (acc, users) in unknown.items():
        sev = "high" if len(users) >= ENUM_MIN_USERS else "medium"
        head = f"{acc.count} usmStatsUnknownUserNames reports, {len(users)} distinct user names"
        if len(users) >= ENUM_MIN_USERS:
            head += " (user enumeration?)"
        out.append(acc.finding(sev, "v3_unknown_user", ",".join(list(users)[:10]) or None,
                               acc.evidence(head), "rejected"))
    for (user, agent), acc in decerr.items():
        out.append(acc.finding("low", "v3_decryption_errors", user or None,
                               acc.evidence(f"{acc.count} usmStatsDecryptionErrors reports from {agent}"),
                               "rejected"))
    for user, acc in authbad.items():
        out.append(acc.finding("low", "v3_auth_failed", user,
                               acc.evidence(f"{acc.count} messages failed authentication with the supplied keys")))
    for user, acc in decfail.items():
        out.append(acc.finding("low", "v3_decrypt_failed", user,
                               acc.evidence(f"{acc.count} messages could not be decrypted with the supplied keys")))
    for user, acc in nokey.items():
        out.append(acc.finding("info", "v3_encrypted_no_key", user,
                               acc.evidence(f"{acc.count} encrypted messages without a key")))
    return out


# ---------------------------------------------------------------------- offline password check

@dataclass
class CrackTarget:
    user: bytes
    engine_id: bytes
    tag_len: int
    samples: list                # AuthSample-like tuples (first one is tried, all confirm)
    zeroed: bytes                # the first sample with its tag zeroed
    tag: bytes
    found: bytes | None = None
    proto: str | None = None
    confirmed: int = 0


def _targets(samples: Iterable) -> list[CrackTarget]:
    groups: dict[tuple[bytes, bytes, int], CrackTarget] = {}
    for s in samples:
        try:
            ts, uid, user, engine_id, msg, off, n = s[:7]
        except (TypeError, ValueError):
            continue
        if user is None or not engine_id or n not in usm.TAG_LEN_PROTOS:
            continue
        user, engine_id, msg = bytes(user), bytes(engine_id), bytes(msg)
        key = (user, engine_id, n)
        t = groups.get(key)
        if t is None:
            z = usm.zero_tag(msg, off, n)
            if z is None:
                continue
            groups[key] = CrackTarget(user, engine_id, n, [s], z, msg[off:off + n])
        elif len(t.samples) < CRACK_SAMPLES_PER_USER:
            t.samples.append(s)
    return list(groups.values())


def crack(samples: Iterable, words: Iterable[bytes], cache: usm.KeyCache | None = None,
          known: dict | None = None, keys: Any = None) -> list[CrackTarget]:
    """Try every word against every (user, engine, tag length) of the samples; returns the targets
    (``found``/``proto`` set when a word verified). Each word costs one 1 MiB hash per candidate
    hash function, whatever the number of users and engines.

    ``known`` maps (user, engine id) to the auth protocol already identified (only that hash is
    tried). ``keys`` (a KeyStore): when it verifies a target with a supplied password, that password
    is looked up in the word list instead of hashing every word."""
    targets = _targets(samples)
    if not targets:
        return targets
    words = list(words)
    wordset = set(words)
    pre = builtin_ku_table()
    skip: set[int] = set()
    for t in targets:
        if keys is None or not len(keys):
            break
        s0 = t.samples[0]
        try:
            st, proto = keys.authenticate(t.user, t.engine_id, bytes(s0[4]), s0[5], s0[6])
        except Exception:  # the store never raises; be safe anyway
            continue
        hit = getattr(keys, "_auth_hit", {}).get((t.user, t.engine_id))
        if st == "ok" and hit is not None and hit[0].auth_password is not None:
            skip.add(id(t))
            if hit[0].auth_password in wordset:
                kul = usm.localized_key(hit[0].auth_password, t.engine_id, usm.AUTH_PROTOCOLS[proto].hash)
                t.found, t.proto = hit[0].auth_password, proto
                t.confirmed = sum(1 for s in t.samples if usm.verify(kul, bytes(s[4]), s[5], s[6], proto))
    seen: set[bytes] = set()
    for w in words:
        if not w or w in seen:
            continue
        seen.add(w)
        open_t = [t for t in targets if t.found is None and id(t) not in skip]
        if not open_t:
            break
        hashes: dict[str, list[CrackTarget]] = {}
        for t in open_t:
            p_known = (known or {}).get((t.user, t.engine_id))
            cands = ((p_known,) if p_known in usm.TAG_LEN_PROTOS[t.tag_len]
                     else usm.TAG_LEN_PROTOS[t.tag_len])
            for p in cands:
                hashes.setdefault(p, []).append(t)
        for p, ts in hashes.items():
            h = usm.AUTH_PROTOCOLS[p].hash
            ku = pre.get((w, h))
            if ku is None:
                ku = cache.ku(w, h) if cache is not None else usm.password_to_key(w, h)
            for t in ts:
                if t.found is not None:
                    continue
                kul = usm.localize(ku, t.engine_id, h)
                if usm.auth_tag(kul, t.zeroed, p) == t.tag:
                    t.found, t.proto = w, p
                    t.confirmed = sum(1 for s in t.samples
                                      if usm.verify(kul, bytes(s[4]), s[5], s[6], p))
    return targets


# ---------------------------------------------------------------------- hashcat export

_HASHCAT_TYPE = {"md5": 1, "sha1": 2, "sha224": 3, "sha256": 4, "sha384": 5, "sha512": 6}
HASHCAT_MODES = {0: 25000, 1: 25100, 2: 25200, 3: 26700, 4: 26800, 5: 26900, 6: 27300}


def hashcat_type(tag_len: int, proto: str | None = None) -> int | None:
    """hashcat's $SNMPv3$<type>$: 0 = MD5 or SHA-1 (mode 25000), 1 MD5 (25100), 2 SHA-1 (25200),
    3 SHA-224 (26700), 4 SHA-256 (26800), 5 SHA-384 (26900), 6 SHA-512 (27300)."""
    if proto is not None and proto in _HASHCAT_TYPE and usm.AUTH_PROTOCOLS[proto].tag_len == tag_len:
        return _HASHCAT_TYPE[proto]
    return {12: 0, 16: 3, 24: 4, 32: 5, 48: 6}.get(tag_len)


def hashcat_line(number: int, whole_msg: bytes, auth_offset: int, auth_len: int, engine_id: bytes,
                 proto: str | None = None) -> str | None:
    """``$SNMPv3$<type>$<packet number>$<message with zeroed tag, hex>$<engine id hex>$<tag hex>``."""
    typ = hashcat_type(auth_len, proto)
    z = usm.zero_tag(bytes(whole_msg), auth_offset, auth_len)
    if typ is None or z is None or not engine_id:
        return None
    tag = bytes(whole_msg[auth_offset:auth_offset + auth_len])
    return f"$SNMPv3${typ}${number % 100_000_000}${z.hex()}${bytes(engine_id).hex()}${tag.hex()}"


def hashcat_lines(samples: Iterable, known: dict | None = None) -> tuple[list[str], list[str]]:
    """One hashcat line per (user, engine, tag length) (its first message); ``known`` maps
    (user, engine_id) to an identified auth protocol (md5/sha1) to pick modes 25100/25200.

    Returns (lines, notes) where notes explain messages hashcat is likely to reject."""
    lines: list[str] = []
    notes: list[str] = []
    seen: set[tuple[bytes, bytes, int]] = set()
    n = big = 0
    odd_engine: dict[int, None] = {}
    for s in samples:
        try:
            ts, uid, user, engine_id, msg, off, alen = s[:7]
        except (TypeError, ValueError):
            continue
        if user is None or not engine_id:
            continue
        key = (bytes(user), bytes(engine_id), alen)
        if key in seen:
            continue
        seen.add(key)
        proto = (known or {}).get((bytes(user), bytes(engine_id)))
        n += 1
        line = hashcat_line(n, msg, off, alen, engine_id, proto)
        if line is None:
            continue
        if len(msg) > HASHCAT_MAX_MSG:
            big += 1
        if not 13 <= len(engine_id) <= 17:
            odd_engine[len(engine_id)] = None
        lines.append(line)
    if big:
        notes.append(f"{big} messages exceed hashcat's {HASHCAT_MAX_MSG} octets")
    if odd_engine:
        notes.append(f"engine ids of {','.join(map(str, odd_engine))} octets: hashcat's SNMPv3 modes "
                     "may accept only 13 to 17")
    return lines, notes


# ---------------------------------------------------------------------- finalize

def _weird(name: str, addl: str) -> Weird:
    return Weird(ts=0.0, uid=None, name=name, source="snmp", addl=addl[:200])


def finalize(shared: Any, records_by_table: dict[str, list]) -> list:
    """``Protocol.finalize`` of SNMP: the ``snmp_findings`` rows (plus weirds for cap hits)."""
    pdus = records_by_table.get("snmp_pdus") or []
    options = getattr(shared, "options", None)
    samples = [s for s in getattr(shared, "auth_samples", None) or ()
               if isinstance(s, tuple) and len(s) >= 7]
    extra: list = []

    for w in getattr(getattr(shared, "keys", None), "warnings", None) or ():
        extra.append(_weird(W_KEYS_PERMS, str(w)))
    hits = getattr(getattr(shared, "keys", None), "budget_hits", 0)
    if isinstance(hits, int) and hits > 0:
        extra.append(_weird(W_REEDER_CAP, f"{hits} decryption attempts skipped"))

    words = builtin_wordlist()
    cap = getattr(getattr(options, "caps", None), "snmp_wordlist_words", 20_000)
    wl_path = getattr(options, "snmp_wordlist", None)
    if wl_path is not None:
        try:
            user_words = load_wordlist(wl_path, cap)
        except OSError as e:
            extra.append(_weird(W_WORDLIST, f"{wl_path}: {e.strerror or e}"))
            user_words = []
        if len(user_words) > cap:
            user_words = user_words[:cap]
            extra.append(_weird(W_WORDLIST_CAP, f"{wl_path}: first {cap} words tried (raise it with --cap "
                                                f"snmp_wordlist_words=N, or crack the --hashcat export)"))
        words = words + user_words
    guessable = {_text(w).casefold() for w in words}

    findings: list[SnmpFinding] = []
    if pdus:
        findings += _community_findings(pdus, guessable)
        findings += _v3_findings(pdus)

    known: dict[tuple[bytes, bytes], str] = {}
    for r in pdus:   # auth protocols the supplied keys identified (for the hashcat modes)
        if r.auth == "ok" and r.auth_proto and r.user is not None and r.engine_id:
            try:
                known[(r.user.encode("utf-8"), bytes.fromhex(r.engine_id))] = r.auth_proto
            except ValueError:
                pass
    if samples:
        # words seen in the capture are good guesses too: communities and user names
        local: list[bytes] = []
        for r in pdus:
            if r.community:
                local.append(r.community.encode("utf-8", "surrogateescape"))
                if r.community.startswith("0x"):   # binary communities are shown as 0x-hex
                    try:
                        local.append(bytes.fromhex(r.community[2:]))
                    except ValueError:
                        pass
        for s in samples:
            if s[2]:
                local.append(bytes(s[2]))
        keys = getattr(shared, "keys", None)
        cache = getattr(keys, "cache", None)
        # a scan can bring thousands of communities: each costs 1 MiB hashes, so keep the first ones
        local = list(dict.fromkeys(w for w in local if w))[:MAX_CAPTURE_WORDS]
        targets = crack(samples, local + words, cache, known, keys)
        by_user: dict[bytes, list[CrackTarget]] = defaultdict(list)
        for t in targets:
            if t.found is not None:
                known[(t.user, t.engine_id)] = t.proto
                by_user[t.user].append(t)
        for user, ts in by_user.items():
            acc = _Acc()
            for t in ts:
                for s in t.samples:
                    src, dst = (s[7], s[8]) if len(s) > 8 else ("", "")
                    acc.agents.setdefault(_host(dst if _is_req_side(s) else src), None)
                    acc.managers.setdefault(_host(src if _is_req_side(s) else dst), None)
                    if acc.first is None or s[0] < acc.first:
                        acc.first = s[0]
                    if acc.last is None or s[0] > acc.last:
                        acc.last = s[0]
                    if s[1]:
                        acc.uids[s[1]] = None
            acc.agents.pop("", None)
            acc.managers.pop("", None)
            acc.count = sum(t.confirmed for t in ts)
            total = sum(len(t.samples) for t in ts)
            t0 = ts[0]
            label = usm.AUTH_PROTOCOLS[t0.proto].label
            head = (f"password found offline ({label}, engine {t0.engine_id.hex()}); verifies "
                    f"{acc.count}/{total} sampled messages")
            if acc.count < total:
                head += " (other messages used another password: guessing?)"
            pw = {_text(t.found) for t in ts}
            findings.append(acc.finding("critical", "v3_weak_password", _text(user), acc.evidence(head),
                                        None, password=",".join(sorted(pw))))
            if t0.proto == "md5" and not any(f.kind == "v3_md5_auth" and f.subject == _text(user)
                                             for f in findings):
                findings.append(acc.finding("low", "v3_md5_auth", _text(user),
                                            acc.evidence("HMAC-MD5-96 authentication (identified offline)")))

    out_path = getattr(options, "snmp_hashcat", None)
    if out_path is not None:
        lines, notes = hashcat_lines(samples, known)
        try:
            with open(out_path, "w", encoding="ascii") as f:
                for ln in lines:
                    f.write(ln + "\n")
        except OSError as e:
            extra.append(_weird(W_HASHCAT, f"{out_path}: {e.strerror or e}"))
        else:
            modes = sorted({HASHCAT_MODES[int(ln.split("$")[2])] for ln in lines})
            ev = (f"{len(lines)} messages written to {out_path}"
                  + (f" (hashcat -m {','.join(map(str, modes))})" if modes else ""))
            if notes:
                ev += "; " + "; ".join(notes[:3])
            findings.append(SnmpFinding(severity="info", kind="v3_hashcat_export", subject=None,
                                        count=len(lines), evidence=ev))

    findings.sort(key=lambda f: (_SEV_ORDER.get(f.severity, 9), f.kind, f.first_seen or 0.0))
    return findings + extra


def _host(hp: str) -> str:
    """'10.0.0.1:161' / '[::1]:161' / '::1:161' -> host."""
    if not hp:
        return ""
    if hp.startswith("["):
        return hp[1:hp.find("]")]
    return hp.rsplit(":", 1)[0]


def _port(hp: str) -> int | None:
    try:
        return int(hp.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _is_req_side(s) -> bool:
    """Is the sample's sender the manager side (destination port 161, or a non-agent port)?"""
    if len(s) < 9:
        return True
    sp, dp = _port(s[7]), _port(s[8])
    if dp in (161, 10161):
        return True
    if dp in (162, 10162):
        return False
    if sp in (161, 10161):
        return False
    return (dp or 0) < (sp or 0)


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    if sys.argv[1:] == ["--rebuild-ku"]:
        out = Path(__file__).with_name(KU_TABLE_FILE)
        print(f"{out}: {rebuild_ku_table(out)} words")
    else:
        sys.exit("usage: python -m dissect.snmp.audit --rebuild-ku")

"""The SNMP security audit: ``snmp_findings`` from a run's SNMP records, incrementally.

Every ``snmp_pdus`` row goes once through :func:`observe` (``Protocol.observe``) into the run's
:class:`AuditState`, which keeps bounded aggregates only (per community/agent/manager/user/engine;
see its docstring for the caps), so that memory stays flat however long the capture is, in memory,
streamed (``--stream``), parallel and Dask runs alike; :func:`finalize` (``Protocol.finalize``) turns
the aggregates into findings at the end.

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

import copy
from bisect import insort
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from math import inf
from pathlib import Path
from typing import Any, Iterable

from dissect.schema import col, record
from dissect.snmp import usm
from dissect.weird import Weird, declare

__all__ = ["SnmpFinding", "RECORD_TYPES", "AuditState", "observe", "finalize", "load_wordlist", "builtin_wordlist",
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


# ---------------------------------------------------------------------- incremental audit state
#
# The audit is computed from aggregates, never from the whole snmp_pdus table: ``observe`` feeds
# every row once to the run's :class:`AuditState` (in batches: the streaming spiller hands over
# what it drains, :meth:`dissect.pipeline.Pipeline.finish` the rest, the parallel merge the merged
# rows), and ``finalize`` turns the aggregates into findings.
#
# Order independence: wherever the findings depend on an order (the order of the findings of one
# kind, of the hosts of a finding, of its evidence flows and ids, of the communities tried as v3
# passwords...), that order is the order of the rows in an in-memory run (the canonical order,
# ``dissect.order``): the first row that brought an item is the one with the smallest key
# ``(ts, uid, pdu_index)``, and the state keeps, for every item, the smallest key that brought
# it. Batches may therefore come in any order (the streaming spiller's production order, the
# canonical order, a request after its answer...) and give the same findings, as long as the rows
# of one run use one numbering of ``pdu_index`` (production numbering, or the canonical one).

UIDS_KEPT = 64                     # evidence flows remembered per finding (3 shown, +N counted)
IDS_KEPT = 8                       # evidence request ids / msgIDs remembered per finding (5 shown)
WORDS_KEPT = 2 * MAX_CAPTURE_WORDS  # communities kept for the v3 check (each gives >= 1/2 word)

W_KEY_CAP = declare("snmp_audit_key_cap", "The SNMP audit hit caps.snmp_audit_keys entries in one of its "
                    "tables (communities x agents, managers, v3 users...); further ones were not audited",
                    "warning")
W_HOST_CAP = declare("snmp_audit_host_cap", "An SNMP audit finding hit caps.snmp_audit_hosts hosts, "
                     "communities or user names; further ones were not listed and such counts are lower "
                     "bounds", "info")
W_PENDING_AUDIT_CAP = declare("snmp_audit_pending_cap", "More than caps.snmp_audit_pending SNMP requests "
                              "waited for their answer's row in the audit; the oldest was audited alone",
                              "warning")

_REQ_TYPES = frozenset(("get", "getnext", "getbulk", "set", "inform"))
_TRAP_TYPES = frozenset(("trap", "trapv2"))
_ANSWER_TYPES = frozenset(("response", "report"))


class _Ord:
    """Items in the order of their smallest key, at most ``cap`` of them (those of smallest key).

    ``hits``: a one-element list counting the items that did not fit (None: not a cap, silent)."""

    __slots__ = ("d", "cap", "mx", "hits")

    def __init__(self, cap: int, hits: list | None = None):
        self.d: dict = {}
        self.cap = cap
        self.mx: tuple | None = None      # (key, item) of the largest key once full; None: unknown
        self.hits = hits

    def add(self, item, k) -> None:
        d = self.d
        cur = d.get(item)
        if cur is not None:
            if k < cur:
                d[item] = k
                if self.mx is not None and self.mx[1] == item:
                    self.mx = None
            return
        if len(d) < self.cap:
            d[item] = k
            mx = self.mx
            if mx is not None and k > mx[0]:
                self.mx = (k, item)
            return
        if self.hits is not None:
            self.hits[0] += 1
        if not d:
            return
        mx = self.mx
        if mx is None:
            it = max(d, key=d.__getitem__)
            mx = self.mx = (d[it], it)
        if k < mx[0]:             # rows out of order: this item came earlier than the last kept
            del d[mx[1]]
            d[item] = k
            self.mx = None

    def items(self) -> list:
        d = self.d
        return sorted(d, key=d.__getitem__)

    def __len__(self) -> int:
        return len(self.d)


def _cadd(s: dict, item, cap: int, hits: list) -> None:
    """Add to a counting set (order irrelevant) of at most ``cap`` items."""
    if item not in s:
        if len(s) >= cap:
            hits[0] += 1
        else:
            s[item] = None


def _evidence(head: str, extra: list, uids: list, ids: list) -> str:
    parts = [head] if head else []
    for k, v in extra:
        parts.append(f"{v} {k}")
    if uids:
        more = f" (+{len(uids) - 3})" if len(uids) > 3 else ""
        parts.append("flows " + ",".join(uids[:3]) + more)
    if ids:
        parts.append("ids " + ",".join(str(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else ""))
    return "; ".join(parts)


class _Acc:
    """One finding's hosts, counts, times and evidence."""

    __slots__ = ("agents", "managers", "count", "k0", "last", "uids", "ids", "extra")

    def __init__(self, hosts: int, hits: list):
        self.agents = _Ord(hosts, hits)
        self.managers = _Ord(hosts, hits)
        self.count = 0
        self.k0: tuple | None = None      # smallest key: (first ts, uid, pdu_index)
        self.last: float | None = None
        self.uids = _Ord(UIDS_KEPT)
        self.ids: list[tuple] = []        # (key, id), the IDS_KEPT smallest keys, sorted
        self.extra: dict | None = None    # name -> [count, smallest key]

    def add(self, r: Any, k: tuple, agent: str | None, manager: str | None, rid: int | None = None) -> None:
        self.count += 1
        if self.k0 is None or k < self.k0:
            self.k0 = k
        ts = r.ts
        if self.last is None or ts > self.last:
            self.last = ts
        if agent:
            self.agents.add(agent, k)
        if manager:
            self.managers.add(manager, k)
        if r.uid:
            self.uids.add(r.uid, k)
        if rid is not None:
            ids = self.ids
            if len(ids) < IDS_KEPT:
                insort(ids, (k, rid))
            elif k < ids[-1][0]:
                insort(ids, (k, rid))
                ids.pop()

    def count_extra(self, name: str, k: tuple, cap: int, hits: list) -> None:
        ex = self.extra
        if ex is None:
            ex = self.extra = {}
        cur = ex.get(name)
        if cur is None:
            if len(ex) >= cap:
                hits[0] += 1
                return
            ex[name] = [1, k]
        else:
            cur[0] += 1
            if k < cur[1]:
                cur[1] = k

    @property
    def first(self) -> float | None:
        return None if self.k0 is None else self.k0[0]

    def evidence(self, head: str = "") -> str:
        extra = [(n, v[0]) for n, v in sorted(self.extra.items(), key=lambda kv: kv[1][1])] if self.extra else []
        return _evidence(head, extra, self.uids.items(), [i for _k, i in self.ids])

    def finding(self, severity: str, kind: str, subject: str | None, evidence: str,
                verdict: str | None = None, password: str | None = None) -> SnmpFinding:
        return SnmpFinding(severity=severity, kind=kind, subject=subject, verdict=verdict,
                           agents=tuple(self.agents.items()), managers=tuple(self.managers.items()),
                           count=self.count, first_seen=self.first, last_seen=self.last,
                           evidence=evidence, password=password)


class _Per:
    """One community at one agent."""
    __slots__ = ("acc", "req", "ans", "notif", "rej_err")

    def __init__(self, acc: _Acc):
        self.acc = acc
        self.req = self.ans = self.notif = self.rej_err = 0


class _Manager:
    """One manager's requests (community scans)."""
    __slots__ = ("coms", "agents", "req", "ans", "acc", "ok_coms")

    def __init__(self, acc: _Acc, hosts: int, hits: list):
        self.coms: dict = {}
        self.agents: dict = {}
        self.req = self.ans = 0
        self.acc = acc
        self.ok_coms = _Ord(hosts, hits)


class _Level:
    """One v3 user at one agent at a security level without privacy or authentication."""
    __slots__ = ("acc", "req", "ok", "rep", "nrep", "denied")

    def __init__(self, acc: _Acc, hosts: int, hits: list):
        self.acc = acc
        self.req = self.ok = self.nrep = self.denied = 0
        self.rep = _Ord(hosts, hits)


def _is_auth_failure_trap(r: Any) -> bool:
    return r.pdu_type in ("trap", "trapv2", "inform") and (
        r.generic_trap == "authenticationFailure" or r.trap_oid == AUTH_FAILURE_TRAP_OID)


def _by_first(table: dict, acc=lambda v: v) -> list:
    """A table's entries in the order an in-memory run created them (smallest key first)."""
    return sorted(table.items(), key=lambda kv: acc(kv[1]).k0)


class AuditState:
    """The aggregates of the SNMP audit, fed one ``snmp_pdus`` row at a time (:meth:`add`).

    Keeps per community/agent/manager/user/engine counts, first/last seen, the first flows and
    ids as evidence and the verdict inputs, never the rows themselves, except the answered
    requests and answers waiting for their other half (normally a row or two: the analyzer
    emits an answered request right before its answer). Every table is capped:
    ``caps.snmp_audit_keys`` entries per table, ``caps.snmp_audit_hosts`` hosts/communities/users
    per finding, ``caps.snmp_audit_pending`` rows waiting for their other half; each hit is counted
    and reported as a weird by :func:`finalize`.
    """

    def __init__(self, options: Any = None):
        caps = getattr(options, "caps", None)
        self.key_cap = int(getattr(caps, "snmp_audit_keys", 50_000))
        self.hosts = int(getattr(caps, "snmp_audit_hosts", 1_000))
        self.pending_cap = int(getattr(caps, "snmp_audit_pending", 65_536))
        self.key_hits = [0]
        self.host_hits = [0]
        self.pending_hits = 0
        self.rows = 0
        # pairing: answered requests by pdu_index, answers by the request_index they point to
        self.wait_req: dict[int, tuple] = {}
        self.wait_ans: dict[int, tuple] = {}
        # community audit (v1/v2c)
        self.per: dict[tuple[str, str], _Per] = {}
        self.sets_ok: dict[str, _Acc] = {}
        self.sets_refused: dict[str, _Acc] = {}
        self.authfail: dict[str, _Acc] = {}
        self.managers: dict[str, _Manager] = {}
        # v3 audit
        self.level: dict[tuple[str, str, str], _Level] = {}
        self.md5: dict[str, _Acc] = {}
        self.des: dict[str, _Acc] = {}
        self.wrong: dict[tuple[str, str], _Acc] = {}
        self.unknown: dict[tuple[str, str], tuple[_Acc, _Ord]] = {}
        self.decerr: dict[tuple[str, str], _Acc] = {}
        self.authbad: dict[str, _Acc] = {}
        self.decfail: dict[str, _Acc] = {}
        self.nokey: dict[str, _Acc] = {}
        # offline password check: communities seen (first ones), auth protocols identified
        self.words = _Ord(WORDS_KEPT)
        self.known: dict[tuple[str, str], tuple[tuple, str]] = {}

    # -- sizes (tests, memory checks) ---------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        """Entries of every table and of the largest per-finding list (bounded by the caps)."""
        out = {n: len(getattr(self, n)) for n in (
            "wait_req", "wait_ans", "per", "sets_ok", "sets_refused", "authfail", "managers", "level",
            "md5", "des", "wrong", "unknown", "decerr", "authbad", "decfail", "nokey", "known", "words")}
        most = 0
        for acc in self._accs():
            most = max(most, len(acc.agents), len(acc.managers))
        for m in self.managers.values():
            most = max(most, len(m.coms), len(m.agents), len(m.ok_coms))
        for _acc, users in self.unknown.values():
            most = max(most, len(users))
        out["hosts_per_finding"] = most
        return out

    def _accs(self):
        for st in self.per.values():
            yield st.acc
        for m in self.managers.values():
            yield m.acc
        for st in self.level.values():
            yield st.acc
        for acc, _u in self.unknown.values():
            yield acc
        for t in (self.sets_ok, self.sets_refused, self.authfail, self.md5, self.des, self.wrong,
                  self.decerr, self.authbad, self.decfail, self.nokey):
            yield from t.values()

    def copy(self) -> "AuditState":
        """An independent copy (a snapshot's finalize adds rows without touching the run's state)."""
        memo: dict = {}
        for _k, r in list(self.wait_req.values()) + list(self.wait_ans.values()):
            memo[id(r)] = r          # rows are immutable: shared, not copied
        return copy.deepcopy(self, memo)

    # -- input --------------------------------------------------------------------------------
    def _entry(self, table: dict, key, make):
        e = table.get(key)
        if e is None:
            if len(table) >= self.key_cap:
                self.key_hits[0] += 1
                return None
            e = table[key] = make()
        return e

    def _acc(self) -> _Acc:
        return _Acc(self.hosts, self.host_hits)

    def feed(self, rows: Iterable) -> None:
        """Observe ``snmp_pdus`` rows (each row of a run exactly once, in any order of batches)."""
        add = self.add
        for r in rows:
            add(r)

    def add(self, r: Any) -> None:
        self.rows += 1
        ts = r.ts
        k = (-inf if ts is None else ts, r.uid or "", r.pdu_index)
        com = r.community
        if com:
            self.words.add(com, k)
        if r.auth == "ok" and r.auth_proto and r.user is not None and r.engine_id:
            kk = (r.user, r.engine_id)
            cur = self.known.get(kk)
            if cur is not None:
                if k > cur[0]:      # the last one of the run wins
                    self.known[kk] = (k, r.auth_proto)
            elif len(self.known) < self.key_cap:
                self.known[kk] = (k, r.auth_proto)
            else:
                self.key_hits[0] += 1
        ri = r.request_index
        if ri is not None:          # an answer: audited with its request
            got = self.wait_req.pop(ri, None)
            if got is None:
                self._wait(self.wait_ans, ri, k, r)
            else:
                self._audit(got[1], got[0], None, r)
                self._audit(r, k, got[1], None)
        elif r.answered:            # a request whose answer is in the table
            got = self.wait_ans.pop(r.pdu_index, None)
            if got is None:
                self._wait(self.wait_req, r.pdu_index, k, r)
            else:
                self._audit(r, k, None, got[1])
                self._audit(got[1], got[0], r, None)
        else:
            self._audit(r, k, None, None)

    def _wait(self, table: dict, index: int, k: tuple, r: Any) -> None:
        if len(table) >= self.pending_cap:
            self.pending_hits += 1
            if not table:            # a cap of 0: nothing waits
                self._audit(r, k, None, None)
                return
            old = next(iter(table))
            ok, orow = table.pop(old)
            self._audit(orow, ok, None, None)
        table[index] = (k, r)

    def flush(self) -> None:
        """End of the rows: the halves still waiting are audited alone."""
        for table in (self.wait_req, self.wait_ans):
            while table:
                _i, (k, r) = table.popitem()
                self._audit(r, k, None, None)

    def _audit(self, r: Any, k: tuple, req: Any, resp: Any) -> None:
        """One row, with the request it answers (``req``) or the answer it got (``resp``)."""
        v = r.version
        if v == "1" or v == "2c":
            self._community(r, k, req, resp)
        elif v == "3":
            self._v3(r, k, req, resp)

    # -- community audit ----------------------------------------------------------------------
    def _community(self, r: Any, k: tuple, req: Any, resp: Any) -> None:
        if _is_auth_failure_trap(r):
            a = self._entry(self.authfail, r.src_h, self._acc)
            if a is not None:
                a.add(r, k, r.src_h, r.dst_h)
        com = r.community
        if com is None:
            return
        t = r.pdu_type
        if t in _REQ_TYPES:
            agent, manager = r.dst_h, r.src_h
        elif t in _TRAP_TYPES:
            agent, manager = r.src_h, r.dst_h
        elif t in _ANSWER_TYPES:
            if req is not None:
                return  # counted through its request
            agent, manager = r.src_h, r.dst_h   # an answer whose request was not captured
        else:
            return
        st = self._entry(self.per, (com, agent), lambda: _Per(self._acc()))
        if st is not None:
            st.acc.add(r, k, agent, manager, r.request_id)
        if t in _ANSWER_TYPES:
            if st is not None:
                st.ans += 1
                st.req += 1
            return
        if t in _TRAP_TYPES:
            if st is not None:
                st.notif += 1
            return
        answered = bool(r.answered) and (resp is None or resp.error_status != "authorizationError")
        if st is not None:
            st.req += 1
            if answered:
                st.ans += 1
            elif r.answered:
                st.rej_err += 1
        m = self._entry(self.managers, manager, lambda: _Manager(self._acc(), self.hosts, self.host_hits))
        if m is not None:
            # counted, not listed: room for at least the scan thresholds whatever the host cap
            # (a full set makes the count a lower bound, said in the evidence)
            ccap = max(self.hosts, SCAN_MIN_AGENTS, SCAN_MIN_COMMUNITIES)
            _cadd(m.coms, com, ccap, self.host_hits)
            _cadd(m.agents, agent, ccap, self.host_hits)
            m.req += 1
            m.acc.add(r, k, agent, manager)
            if answered:
                m.ans += 1
                m.ok_coms.add(com, k)
        if t == "set":
            err = resp.error_status if resp is not None else None
            if r.answered and (err in (None, "noError")) and resp is not None:
                a = self._entry(self.sets_ok, com, self._acc)
                if a is not None:
                    a.add(r, k, agent, manager, r.request_id)
            else:
                a = self._entry(self.sets_refused, com, self._acc)
                if a is not None:
                    a.add(r, k, agent, manager, r.request_id)
                    a.count_extra(err or "unanswered", k, self.hosts, self.host_hits)

    # -- v3 audit -----------------------------------------------------------------------------
    def _v3(self, r: Any, k: tuple, req: Any, resp: Any) -> None:
        user = r.user or ""
        t = r.pdu_type
        if t == "report":
            ruser = (req.user if req is not None and req.user else user) or ""
            reason = r.report_reason or ""
            src, dst = r.src_h, r.dst_h   # agent, manager
            if reason == "wrongDigests":
                a = self._entry(self.wrong, (ruser, src), self._acc)
                if a is not None:
                    a.add(r, k, src, dst, req.msg_id if req is not None else r.msg_id)
            elif reason == "unknownUserNames":
                e = self._entry(self.unknown, (src, dst), lambda: (self._acc(), _Ord(self.hosts, self.host_hits)))
                if e is not None:
                    e[0].add(r, k, src, dst)
                    if ruser:
                        e[1].add(ruser, k)
            elif reason == "decryptionErrors":
                a = self._entry(self.decerr, (ruser, src), self._acc)
                if a is not None:
                    a.add(r, k, src, dst)
            return
        if r.is_request:
            agent, manager = r.dst_h, r.src_h
        else:   # traps, responses and the rest: sent by the agent
            agent, manager = r.src_h, r.dst_h
        if r.auth_proto == "md5":
            a = self._entry(self.md5, user, self._acc)
            if a is not None:
                a.add(r, k, agent, manager)
        if r.priv_proto == "des":
            a = self._entry(self.des, user, self._acc)
            if a is not None:
                a.add(r, k, agent, manager)
        if r.auth == "bad":
            a = self._entry(self.authbad, user, self._acc)
            if a is not None:
                a.add(r, k, agent, manager, r.msg_id)
        if r.privacy == "decrypt_failed":
            a = self._entry(self.decfail, user, self._acc)
            if a is not None:
                a.add(r, k, agent, manager, r.msg_id)
        elif r.privacy == "no_key":
            a = self._entry(self.nokey, user, self._acc)
            if a is not None:
                a.add(r, k, agent, manager)
        sl = r.security_level
        if (sl == "noAuthNoPriv" or sl == "authNoPriv") and user and t != "response":
            # discovery (empty user) is normal; responses are counted through their request
            st = self._entry(self.level, (sl, user, agent), lambda: _Level(self._acc(), self.hosts, self.host_hits))
            if st is None:
                return
            st.acc.add(r, k, agent, manager, r.msg_id)
            if r.is_request:
                st.req += 1
                if resp is not None and resp.pdu_type == "response":
                    if resp.error_status == "authorizationError":
                        st.denied += 1
                    else:
                        st.ok += 1
                elif resp is not None and resp.pdu_type == "report":
                    st.nrep += 1
                    st.rep.add(resp.report_reason or "report", k)

    # -- output -------------------------------------------------------------------------------
    def community_findings(self, guessable: set[str]) -> list[SnmpFinding]:
        out: list[SnmpFinding] = []
        answering = {agent for (_c, agent), st in self.per.items() if st.ans}
        authfail = self.authfail
        for (com, agent), st in _by_first(self.per, lambda st: st.acc):
            acc = st.acc
            if st.ans:
                verdict = "accepted"
            elif st.req and (agent in answering or authfail.get(agent) is not None):
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
            if st.req:
                bits.append(f"{st.ans}/{st.req} requests answered")
            if st.rej_err:
                bits.append(f"{st.rej_err} answered authorizationError")
            if st.notif:
                bits.append(f"{st.notif} traps")
            af = authfail.get(agent)
            if verdict == "rejected" and af is not None:
                bits.append(f"agent sent {af.count} authenticationFailure traps")
            elif verdict == "unknown" and st.req:
                bits.append("the agent answered nothing in this capture (no agent there, or one-way capture?)")
            if default:
                bits.append("default/guessable community")
            out.append(acc.finding(sev, kind, com, acc.evidence("; ".join(bits)), verdict))

        for com, acc in _by_first(self.sets_ok):
            out.append(acc.finding("critical", "write_access", com,
                                   acc.evidence(f"{acc.count} SetRequests answered noError"), "accepted"))
        for com, acc in _by_first(self.sets_refused):
            out.append(acc.finding("medium", "write_refused", com,
                                   acc.evidence(f"{acc.count} SetRequests refused"), "rejected"))
        for agent, acc in _by_first(authfail):
            out.append(acc.finding("medium", "auth_failure_trap", None,
                                   acc.evidence(f"{acc.count} authenticationFailure traps from {agent}")))
        for manager, m in _by_first(self.managers, lambda m: m.acc):
            ncom, nag = len(m.coms), len(m.agents)
            if ncom >= SCAN_MIN_COMMUNITIES or (nag >= SCAN_MIN_AGENTS and m.ans * 2 < m.req):
                acc = m.acc
                ok = m.ok_coms.items()
                subject = ",".join(ok[:5]) if ok else None
                ccap = max(self.hosts, SCAN_MIN_AGENTS, SCAN_MIN_COMMUNITIES)
                tc = f"at least {ncom}" if ncom >= ccap else str(ncom)
                ta = f"at least {nag}" if nag >= ccap else str(nag)
                out.append(acc.finding(
                    "high", "community_scan", subject,
                    acc.evidence(f"{manager} tried {tc} communities against {ta} agents; "
                                 f"{m.ans}/{m.req} answered; {len(ok)} communities worked"),
                    "accepted" if ok else "rejected"))
        return out

    def v3_findings(self) -> list[SnmpFinding]:
        out: list[SnmpFinding] = []
        for (sl, user, agent), st in _by_first(self.level, lambda st: st.acc):
            acc = st.acc
            if st.req and st.nrep == st.req:
                continue  # every request got a Report (unknown user, wrong digest...): reported as such
            reps = st.rep.items()
            if st.ok:
                verdict = "accepted"
            elif reps or st.req:
                verdict = "rejected"
            else:
                verdict = "unknown"
            if sl == "noAuthNoPriv":
                kind, sev = "v3_no_auth", {"accepted": "high", "unknown": "medium"}.get(verdict, "low")
            else:
                kind, sev = "v3_no_priv", {"accepted": "medium", "unknown": "low"}.get(verdict, "info")
            head = f"{sl}: {st.ok}/{st.req} requests answered with a Response"
            if st.denied:
                head += f"; {st.denied} answered authorizationError"
            if reps:
                head += "; reports: " + ",".join(reps)
            out.append(acc.finding(sev, kind, user, acc.evidence(head), verdict))
        for user, acc in _by_first(self.md5):
            out.append(acc.finding("low", "v3_md5_auth", user, acc.evidence("HMAC-MD5-96 authentication")))
        for user, acc in _by_first(self.des):
            out.append(acc.finding("medium", "v3_des_priv", user, acc.evidence("DES-CBC privacy (56-bit key)")))
        for (user, agent), acc in _by_first(self.wrong):
            sev = "high" if acc.count >= GUESSING_MIN_WRONG_DIGESTS else "medium"
            head = f"{acc.count} usmStatsWrongDigests reports from {agent}"
            if acc.count >= GUESSING_MIN_WRONG_DIGESTS:
                head += " (password guessing?)"
            out.append(acc.finding(sev, "v3_wrong_digest", user or None, acc.evidence(head), "rejected"))
        for (agent, manager), (acc, users) in _by_first(self.unknown, lambda e: e[0]):
            names = users.items()
            sev = "high" if len(names) >= ENUM_MIN_USERS else "medium"
            head = f"{acc.count} usmStatsUnknownUserNames reports, {len(names)} distinct user names"
            if len(names) >= ENUM_MIN_USERS:
                head += " (user enumeration?)"
            out.append(acc.finding(sev, "v3_unknown_user", ",".join(names[:10]) or None,
                                   acc.evidence(head), "rejected"))
        for (user, agent), acc in _by_first(self.decerr):
            out.append(acc.finding("low", "v3_decryption_errors", user or None,
                                   acc.evidence(f"{acc.count} usmStatsDecryptionErrors reports from {agent}"),
                                   "rejected"))
        for user, acc in _by_first(self.authbad):
            out.append(acc.finding("low", "v3_auth_failed", user,
                                   acc.evidence(f"{acc.count} messages failed authentication with the supplied keys")))
        for user, acc in _by_first(self.decfail):
            out.append(acc.finding("low", "v3_decrypt_failed", user,
                                   acc.evidence(f"{acc.count} messages could not be decrypted with the supplied keys")))
        for user, acc in _by_first(self.nokey):
            out.append(acc.finding("info", "v3_encrypted_no_key", user,
                                   acc.evidence(f"{acc.count} encrypted messages without a key")))
        return out

    def known_protocols(self) -> dict[tuple[bytes, bytes], str]:
        """(user, engine id) -> the auth protocol the supplied keys identified (last one seen)."""
        known: dict[tuple[bytes, bytes], str] = {}
        for (user, engine), (_k, proto) in self.known.items():
            try:
                known[(user.encode("utf-8"), bytes.fromhex(engine))] = proto
            except ValueError:
                pass
        return known

    def capture_words(self) -> list[bytes]:
        """The communities seen, in order, as candidate passwords (binary ones shown as 0x-hex
        are tried both ways)."""
        local: list[bytes] = []
        for com in self.words.items():
            local.append(com.encode("utf-8", "surrogateescape"))
            if com.startswith("0x"):
                try:
                    local.append(bytes.fromhex(com[2:]))
                except ValueError:
                    pass
        return local

    def cap_weirds(self) -> list[Weird]:
        out = []
        if self.key_hits[0]:
            out.append(_weird(W_KEY_CAP, f"{self.key_hits[0]} rows or entries beyond {self.key_cap} entries "
                                         "per audit table (raise it with --cap snmp_audit_keys=N)"))
        if self.host_hits[0]:
            out.append(_weird(W_HOST_CAP, f"{self.host_hits[0]} hosts/communities/users beyond {self.hosts} "
                                          "per finding not listed (--cap snmp_audit_hosts=N)"))
        if self.pending_hits:
            out.append(_weird(W_PENDING_AUDIT_CAP, f"{self.pending_hits} rows audited without their other half "
                                                   f"(--cap snmp_audit_pending=N)"))
        return out


def observe(shared: Any, table: str, rows: list) -> None:
    """``Protocol.observe`` of SNMP: the ``snmp_pdus`` rows into the run's :class:`AuditState`
    (kept on the shared state as ``shared.audit``)."""
    if table != "snmp_pdus" or shared is None or not rows:
        return
    st = getattr(shared, "audit", None)
    if st is None:
        st = AuditState(getattr(shared, "options", None))
        shared.audit = st
    st.feed(rows)


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
    """``Protocol.finalize`` of SNMP: the ``snmp_findings`` rows (plus weirds for cap hits).

    The findings come from the run's :class:`AuditState` (``shared.audit``, fed by :func:`observe`).
    ``records_by_table["snmp_pdus"]``, when present, holds rows that were *not* observed (the
    pipeline leaves the observed table out; a live snapshot passes the rows still in memory): they
    are added to a copy of the state, which the run keeps unchanged."""
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

    state = getattr(shared, "audit", None)
    rows = records_by_table.get("snmp_pdus") or []
    if state is None:
        state = AuditState(options)
    elif rows or state.wait_req or state.wait_ans:
        state = state.copy()
    state.feed(rows)
    state.flush()
    extra += state.cap_weirds()

    findings: list[SnmpFinding] = []
    if state.rows:
        findings += state.community_findings(guessable)
        findings += state.v3_findings()

    known = state.known_protocols()   # auth protocols the supplied keys identified (hashcat modes)
    if samples:
        # words seen in the capture are good guesses too: communities and user names
        local = state.capture_words()
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
            agents: dict[str, None] = {}
            managers: dict[str, None] = {}
            uids: dict[str, None] = {}
            first = last = None
            for t in ts:
                for s in t.samples:
                    src, dst = (s[7], s[8]) if len(s) > 8 else ("", "")
                    agents.setdefault(_host(dst if _is_req_side(s) else src), None)
                    managers.setdefault(_host(src if _is_req_side(s) else dst), None)
                    if first is None or s[0] < first:
                        first = s[0]
                    if last is None or s[0] > last:
                        last = s[0]
                    if s[1]:
                        uids[s[1]] = None
            agents.pop("", None)
            managers.pop("", None)
            count = sum(t.confirmed for t in ts)
            total = sum(len(t.samples) for t in ts)
            t0 = ts[0]
            label = usm.AUTH_PROTOCOLS[t0.proto].label
            head = (f"password found offline ({label}, engine {t0.engine_id.hex()}); verifies "
                    f"{count}/{total} sampled messages")
            if count < total:
                head += " (other messages used another password: guessing?)"
            pw = {_text(t.found) for t in ts}

            def _found(sev: str, kind: str, head: str, password: str | None = None) -> SnmpFinding:
                return SnmpFinding(severity=sev, kind=kind, subject=_text(user), verdict=None,
                                   agents=tuple(agents), managers=tuple(managers), count=count,
                                   first_seen=first, last_seen=last,
                                   evidence=_evidence(head, [], list(uids), []), password=password)

            findings.append(_found("critical", "v3_weak_password", head, ",".join(sorted(pw))))
            if t0.proto == "md5" and not any(f.kind == "v3_md5_auth" and f.subject == _text(user)
                                             for f in findings):
                findings.append(_found("low", "v3_md5_auth", "HMAC-MD5-96 authentication (identified offline)"))

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

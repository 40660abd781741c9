"""Run options and resource caps. One object, passed to every stage; no globals.

Every cap has a default sized for a 2-core / few-GB analyst machine; hitting any cap is recorded
as a weird. The CLI maps ``--cap NAME=VALUE`` onto :class:`Caps` fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass
class Caps:
    max_flows: int = 200_000                 # live flows in the flow table
    flow_idle_timeout: float = 300.0         # seconds without packets before a flow is flushed
    udp_idle_timeout: float = 60.0
    tcp_ooo_bytes: int = 4 << 20             # buffered out-of-order bytes per direction
    tcp_ooo_segments: int = 4096             # buffered out-of-order segments per direction
    frag_pending: int = 8192                 # IP datagrams being reassembled
    frag_timeout: float = 30.0               # seconds
    frag_bytes: int = 64 << 20               # bytes buffered in pending IP fragments (all datagrams)
    line_length: int = 64 * 1024             # SMTP/HTTP line (command, reply, header line)
    header_count: int = 512                  # headers per HTTP/MIME message
    header_bytes: int = 256 * 1024           # total header block size
    smtp_pending_commands: int = 512
    mime_depth: int = 32
    mime_parts: int = 10_000
    body_memory: int = 8 << 20               # body bytes kept in memory before spilling to a temp file
    message_bytes: int = 256 << 20           # largest message/body processed (the rest is counted, not kept)
    decompressed_bytes: int = 256 << 20      # content-coding output cap per body
    decompression_ratio: int = 1000          # output/input ratio above which a bomb is declared
    ber_depth: int = 32
    ber_length: int = 1 << 20
    ber_elements: int = 10_000
    oid_arcs: int = 128
    snmp_pending_requests: int = 65_536
    snmp_wordlist_words: int = 20_000        # --wordlist words tried by the SNMPv3 offline check (~1-10 ms each)
    snmp_audit_keys: int = 50_000            # entries per SNMP audit table (community x agent, manager, v3 user...)
    snmp_audit_hosts: int = 1_000            # hosts, communities or user names listed per SNMP audit finding
    snmp_audit_pending: int = 65_536         # SNMP requests waiting in the audit for their answer's row
    http_pending: int = 1024                 # HTTP requests waiting for their responses per connection

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def set(self, name: str, value: str) -> None:
        if name not in self.names():
            raise ValueError(f"unknown cap {name!r} (known: {', '.join(self.names())})")
        cur = getattr(self, name)
        setattr(self, name, type(cur)(float(value)) if isinstance(cur, int) else float(value))


@dataclass
class Options:
    decode_as: dict[int, str] = field(default_factory=dict)   # port -> protocol name ("smtp", "http", "snmp")
    protocols: tuple[str, ...] | None = None                  # None = every analyzer
    show_secrets: bool = False
    credentials: bool = False                                 # build the credentials table (secrets)
    http_headers: bool = False                                # build the http_headers child table
    http_body_bytes: int = 0                                  # keep decoded HTTP bodies up to this size (http_bodies table, HAR)
    snmp_keys: Path | None = None                             # TOML or Wireshark snmp_users file
    snmp_wordlist: Path | None = None
    snmp_hashcat: Path | None = None                          # write SNMPv3 hashcat lines here (audit)
    extract_dir: Path | None = None                           # write messages/objects here
    strict: bool = False                                      # re-raise analyzer exceptions (tests)
    caps: Caps = field(default_factory=Caps)
    progress: bool = False
    stream_dir: Path | None = None                            # stream finished rows to files here (flat memory)
    stream_format: str = "parquet"                            # parquet | csv | json (dissect.spill)
    stream_rows: int = 20_000                                 # with stream_dir: rows buffered before they are written

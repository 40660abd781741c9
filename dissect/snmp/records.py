"""The SNMP tables: ``snmp_pdus`` (one row per PDU) and ``snmp_varbinds`` (its variable bindings).

Join: ``snmp_varbinds.pdu_index == snmp_pdus.pdu_index`` (``pdu_index`` is unique within a run;
``uid`` is there too for joins with ``flows``). The audit's ``snmp_findings`` lives in
``dissect.snmp.audit``.
"""

from __future__ import annotations

from dissect.schema import col, record

__all__ = ["SnmpPdu", "SnmpVarbind"]


@record("snmp_pdus", "SNMP PDUs (v1, v2c, v3), one row per message, with request/response pairing.")
class SnmpPdu:
    ts: float = col("Time of the message")
    uid: str = col("Flow id (flows.uid)")
    pdu_index: int = col("Row id of this PDU within the run (snmp_varbinds.pdu_index refers to it)")
    src_h: str = col("Sender address")
    src_p: int = col("Sender port")
    dst_h: str = col("Receiver address")
    dst_p: int = col("Receiver port")
    transport: str = col("udp or tcp (RFC 3430)")
    version: str | None = col("SNMP version: 1, 2c or 3")
    community: str | None = col("Community string (v1/v2c), text or 0x-hex", default=None, secret=True)
    pdu_type: str | None = col("get, getnext, response, set, trap (v1), getbulk, inform, trapv2, report; "
                               "'encrypted' when a v3 PDU could not be decrypted", default=None)
    is_request: bool | None = col("A confirmed-class PDU that expects a Response (get, getnext, set, getbulk, inform)",
                                  default=None)
    request_id: int | None = col("request-id", default=None)
    error_status: str | None = col("error-status name (noError, noSuchName, notWritable...)", default=None)
    error_index: int | None = col("error-index", default=None)
    non_repeaters: int | None = col("GetBulk non-repeaters", default=None)
    max_repetitions: int | None = col("GetBulk max-repetitions", default=None)
    varbind_count: int = col("Number of variable bindings decoded", default=0)
    enterprise: str | None = col("v1 Trap enterprise OID", default=None)
    agent_addr: str | None = col("v1 Trap agent-addr", default=None)
    generic_trap: str | None = col("v1 Trap generic-trap name (coldStart ... enterpriseSpecific)", default=None)
    specific_trap: int | None = col("v1 Trap specific-trap", default=None)
    time_stamp: int | None = col("v1 Trap time-stamp, or sysUpTime.0 of a v2 Trap/Inform (TimeTicks, 1/100 s)",
                                 default=None)
    trap_oid: str | None = col("Trap OID: snmpTrapOID.0 of a v2 Trap/Inform, or the RFC 3584 mapping of a v1 Trap",
                               default=None)
    msg_id: int | None = col("v3 msgID", default=None)
    max_size: int | None = col("v3 msgMaxSize", default=None)
    flags: int | None = col("v3 msgFlags (1 auth, 2 priv, 4 reportable)", default=None)
    security_model: int | None = col("v3 msgSecurityModel (3 = USM)", default=None)
    security_level: str | None = col("v3 noAuthNoPriv, authNoPriv or authPriv (from the flags)", default=None)
    user: str | None = col("v3 USM user name", default=None)
    engine_id: str | None = col("v3 msgAuthoritativeEngineID (hex)", default=None)
    engine_id_format: str | None = col("Engine id format (RFC 3411): ipv4, ipv6, mac, text, octets, "
                                       "netsnmp-random, enterprise-N, rfc1910, invalid, empty", default=None)
    engine_enterprise: int | None = col("Engine id enterprise number (IANA PEN)", default=None)
    engine_id_value: str | None = col("Engine id value decoded per its format", default=None)
    engine_boots: int | None = col("v3 msgAuthoritativeEngineBoots", default=None)
    engine_time: int | None = col("v3 msgAuthoritativeEngineTime (seconds)", default=None)
    context_engine_id: str | None = col("v3 contextEngineID (hex)", default=None)
    context_name: str | None = col("v3 contextName", default=None)
    auth: str | None = col("v3 authentication: ok, bad (wrong digest for the key we hold), unchecked "
                           "(no key), none (not authenticated); empty for v1/v2c", default=None)
    auth_proto: str | None = col("Authentication protocol that verified (md5, sha1, sha224...)", default=None)
    privacy: str | None = col("v3 privacy: decrypted, no_key, decrypt_failed, none (not encrypted)", default=None)
    priv_proto: str | None = col("Privacy protocol that decrypted (des, aes128, aes256 (Blumenthal), "
                                 "aes256c (Reeder)...)", default=None)
    report_reason: str | None = col("Meaning of a Report: unknownEngineIDs, notInTimeWindows, unknownUserNames, "
                                    "wrongDigests, decryptionErrors, unsupportedSecLevels, ...", default=None)
    answered: bool | None = col("Requests: a matching Response/Report came back; empty for other PDUs", default=None)
    outcome: str | None = col("Requests: what came back: the Response's error-status (noError, notWritable...), "
                              "report:<reason> for a Report, 'encrypted' when the answer stayed encrypted; "
                              "empty when unanswered", default=None)
    response_time: float | None = col("Seconds between the request and its response (on both rows)",
                                      kind="duration", default=None)
    request_index: int | None = col("Responses: pdu_index of the request they answer", default=None)
    size: int = col("Message size in octets", default=0)


@record("snmp_varbinds", "SNMP variable bindings, one row per varbind of a PDU (join on pdu_index).")
class SnmpVarbind:
    ts: float = col("Time of the message")
    uid: str = col("Flow id (flows.uid)")
    pdu_index: int = col("snmp_pdus.pdu_index of the PDU this varbind belongs to")
    index: int = col("Position in the varbind list (0-based)")
    oid: str = col("Object name (dotted OID)")
    type: str = col("Value type: integer, octet-string, null, oid, ipaddress, counter32, gauge32, timeticks, "
                    "opaque (net-snmp float/double shown as float:/double:), nsapaddress, counter64, uinteger32, noSuchObject, noSuchInstance, endOfMibView, "
                    "error (the varbind was malformed; value says why)")
    value: str | None = col("Value as text (OCTET STRING: text when printable, else 0x-hex)", default=None)
    value_int: int | None = col("Numeric value for integer/counter/gauge/timeticks types", default=None)

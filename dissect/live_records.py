"""Records that only live capture produces."""

from __future__ import annotations

from dissect.schema import col, record


@record("tshark_packets", "With `dissect live --engine pyshark`: tshark's full dissection summary of every frame "
        "(for protocols pcap-dissect does not decode).")
class TsharkPacket:
    ts: float = col("Capture time of the frame")
    number: int = col("tshark's frame number")
    interface: str = col("Interface the frame was captured on (as tshark names it)")
    protocols: str = col("tshark's protocol stack of the frame (frame.protocols), e.g. eth:ethertype:ip:udp:dns")
    highest_layer: str = col("The top protocol tshark recognised")
    length: int = col("Frame length on the wire (bytes)")

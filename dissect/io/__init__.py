"""Capture sources: pcap, pcapng, gzip, stdin, several files merged, live (dumpcap)."""

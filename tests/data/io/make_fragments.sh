#!/bin/sh
# Re-create loopback-fragments.pcap: real IPv4 and IPv6 fragments made by the Linux kernel.
# A private network namespace whose loopback has an MTU of 1500 (the traffic never leaves it);
# UDP datagrams of 4000, 1472/1452, 1473/1453 and 9000 bytes to 127.0.0.1 and ::1 are fragmented
# by the sending kernel and captured by tcpdump on that loopback. Needs root, iproute2, tcpdump.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
ns=dissect-frag-$$
ip netns add "$ns"
trap 'ip netns delete "$ns"' EXIT
ip netns exec "$ns" ip link set lo up mtu 1500
tmp=$(mktemp -d)
ip netns exec "$ns" tcpdump -i lo -U -w "$tmp/f.pcap" udp or ip6 2>/dev/null &
tp=$!
sleep 1.5
ip netns exec "$ns" "$py" - <<'PY'
import socket, time
def payload(n, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))
r4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r4.bind(("127.0.0.1", 9999))
r6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r6.bind(("::1", 9999))
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i, n in enumerate((4000, 1472, 1473, 9000)):
    s4.sendto(payload(n, i), ("127.0.0.1", 9999)); time.sleep(0.05)
for i, n in enumerate((4000, 1452, 1453, 9000)):
    s6.sendto(payload(n, i), ("::1", 9999)); time.sleep(0.05)
PY
sleep 1
kill -INT "$tp"
wait "$tp" || true
mv "$tmp/f.pcap" "$here/loopback-fragments.pcap"
rmdir "$tmp"
echo "wrote $here/loopback-fragments.pcap"

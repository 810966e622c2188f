#!/bin/sh
# Runs a command in a new network namespace whose loopback is rate-limited by a tbf qdisc, so
# that a UDP socket's send buffer really fills up: on the usual loopback the kernel frees each
# datagram's buffer as soon as it is sent, and a send never meets EAGAIN. The command sees
# QUICREUSE_SLOW_LOOPBACK=1. The rate (20 Mbit/s) is far below what even a sanitizer build
# sends. As root it uses `unshare -n`; otherwise an unprivileged user
# namespace (`unshare -rn`). Without either it fails: the test it wraps must not go unrun.
for tool in unshare ip tc; do
  command -v "$tool" >/dev/null || { echo "slow_loopback: $tool not found (util-linux, iproute2)" >&2; exit 1; }
done
if unshare -n true 2>/dev/null; then
  ns="-n"
elif unshare -rn true 2>/dev/null; then
  ns="-rn"
else
  echo "slow_loopback: cannot create a network namespace (unshare -n and unshare -rn refused)" >&2
  exit 1
fi
exec unshare $ns sh -c '
  ip link set lo up &&
  tc qdisc add dev lo root tbf rate 20mbit burst 16kb latency 400ms &&
  QUICREUSE_SLOW_LOOPBACK=1 exec "$@"' sh "$@"

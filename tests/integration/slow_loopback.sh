#!/bin/sh
# Runs a command in a new network namespace whose loopback is rate-limited by a tbf qdisc, so
# that a UDP socket's send buffer really fills up: on the usual loopback the kernel frees each
# datagram's buffer as soon as it is sent, and a send never meets EAGAIN. The command sees
# QUICREUSE_SLOW_LOOPBACK=1. Needs root (unshare -n, ip, tc); exits 77 (skipped) without them.
command -v unshare >/dev/null && command -v ip >/dev/null && command -v tc >/dev/null || exit 77
unshare -n true 2>/dev/null || exit 77
exec unshare -n sh -c '
  ip link set lo up &&
  tc qdisc add dev lo root tbf rate 200mbit burst 64kb latency 200ms &&
  QUICREUSE_SLOW_LOOPBACK=1 exec "$@"' sh "$@"

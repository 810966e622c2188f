#!/usr/bin/env python3
"""Splits the idle heap of bench/idle_memory by component, from a heaptrack recording.

    heaptrack build/bench/idle_memory --exit-at-idle [--parent client] [--conns N]
    bench/heap_breakdown.py heaptrack.idle_memory.<pid>.zst --conns N

--exit-at-idle leaves the process with every connection still allocated, so heaptrack reports the
idle heap as "leaked". Each leaked allocation is attributed by its backtrace, from the allocation
site outwards: the first frame in libngtcp2 makes it ngtcp2's, the first in GnuTLS (or the
nettle/gmp/tasn1 libraries beneath it) GnuTLS's, the first in our code ours. Backtraces with fewer
than N/10 allocations are one-off costs of the endpoint or the process and are listed apart.
Sizes are requested bytes; "chunk" adds glibc's 8-byte header and 16-byte rounding (32-byte
minimum) to each allocation.
"""

import argparse
import collections
import re
import subprocess
import sys

GNUTLS_FAMILY = ("libgnutls", "libnettle", "libhogweed", "libgmp", "libtasn1", "libp11-kit",
                 "libidn2", "libunistring")
ALLOCATORS = {"malloc", "calloc", "realloc", "operator new(unsigned long)", "operator new",
              "posix_memalign", "aligned_alloc", "memalign", "strdup", "__strdup",
              "gnutls_malloc", "gnutls_calloc", "gnutls_realloc"}
# Allocation wrappers: the bench's counting allocator and the library's ngtcp2 allocator
# (src/core/ngtcp2_memory.cpp), which only pass ngtcp2's requests on.
WRAPPERS = re.compile(r"counting_|recycling_|take_cached|plain_realloc")
UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}


def parse_size(text):
    m = re.fullmatch(r"([0-9.]+)([KMG]?)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def chunk(size):
    return max(32, (int(size) + 8 + 15) & ~15)


def read_entries(path):
    """Yields (bytes, calls, frames) per leaked backtrace; frames are (function, module), leaf
    first."""
    out = subprocess.run(["heaptrack_print", "-f", path, "-l", "1", "-p", "0", "-a", "0", "-T", "0",
                          "-m", "0", "-n", "1000000"], check=True, capture_output=True,
                         text=True).stdout
    header = re.compile(r"^([0-9.]+[KMG]?) leaked over ([0-9]+) calls from$")
    entry = None
    pending = []  # frames whose module line has not been seen yet (inlined groups)
    for line in out.splitlines():
        m = header.match(line)
        if m:
            if entry:
                entry[2].extend((f, "?") for f in pending)
                yield entry
            entry = (parse_size(m.group(1)), int(m.group(2)), [])
            pending = []
            continue
        if entry is None:
            continue
        if line.startswith("    in "):
            module = line[len("    in "):].strip()
            entry[2].extend((f, module) for f in pending)
            pending = []
        elif line.startswith("    at "):
            continue
        elif line.startswith("  ") and not line.startswith("   "):
            pending.append(line.strip())
    if entry:
        entry[2].extend((f, "?") for f in pending)
        yield entry


def module_kind(module):
    base = module.rsplit("/", 1)[-1]
    if base.startswith("libngtcp2_crypto"):
        return "ngtcp2_crypto"
    if base.startswith("libngtcp2"):
        return "ngtcp2"
    if base.startswith(GNUTLS_FAMILY):
        return "gnutls"
    if base.startswith(("libc.so", "libstdc++", "libm.so", "ld-linux")):
        return "system"
    if module == "?":
        return "unknown"
    return "ours"


def short(function):
    function = re.sub(r"\(.*", "", function)
    return function[:90]


def classify(frames):
    """Returns (component, detail)."""
    # Only ngtcp2 allocates through the bench's counting allocator: whatever the unwinder saw
    # above it (tail calls can hide ngtcp2's own frames), such a block is ngtcp2's.
    if any(f.startswith(("count_in", "count_out")) for f, _ in frames):
        return "bench harness", "--ngtcp2-sizes bookkeeping"
    through_ngtcp2_mem = any(f.startswith("counting_") for f, _ in frames)
    frames = [(f, m) for f, m in frames if f not in ALLOCATORS and not WRAPPERS.search(f)]
    if through_ngtcp2_mem and not any(module_kind(m) == "ngtcp2" for _, m in frames[:1]):
        caller = next((short(f) for f, m in frames if module_kind(m) == "ours"), "?")
        api = next((short(f) for f, m in frames if module_kind(m) == "ngtcp2"
                    and f.startswith("ngtcp2_")), "ngtcp2")
        return "ngtcp2", f"{api} <- {caller}"
    kinds = [module_kind(m) for _, m in frames]
    for i, kind in enumerate(kinds):
        if kind in ("system", "unknown"):
            continue
        if kind == "ngtcp2":
            api = next((short(f) for f, k in zip([f for f, _ in frames[i:]], kinds[i:])
                        if k == "ngtcp2" and f.startswith("ngtcp2_")), "ngtcp2")
            caller = next((short(f) for f, k in zip([f for f, _ in frames[i:]], kinds[i:])
                           if k == "ours"), "")
            return "ngtcp2", f"{api} <- {caller}"
        if kind == "gnutls":
            # The outermost GnuTLS entry point, and who called it.
            j = i
            while j < len(kinds) and kinds[j] in ("gnutls", "system", "unknown"):
                j += 1
            api = next((short(f) for f, _ in reversed(frames[i:j]) if f.startswith("gnutls_")),
                       "gnutls")
            caller_kind = kinds[j] if j < len(kinds) else "?"
            if caller_kind == "ngtcp2_crypto" and api in ("gnutls_aead_cipher_init",
                                                          "gnutls_cipher_init"):
                return "GnuTLS", f"cipher contexts of the QUIC keys ({api} <- ngtcp2_crypto)"
            if caller_kind == "ngtcp2_crypto":
                return "GnuTLS", f"session state ({api} <- ngtcp2_crypto)"
            caller = short(frames[j][0]) if j < len(frames) else "?"
            return "GnuTLS", f"{api} <- {caller}"
        if kind == "ngtcp2_crypto":
            return "ngtcp2", f"ngtcp2_crypto: {short(frames[i][0])}"
        function = short(frames[i][0])
        # Name our allocation by the first frame that is quicreuse code (not std:: or asio::).
        for f, _ in frames[i:]:
            s = short(f)
            if s.startswith(("quicreuse::", "receive_loop")) and not s.startswith(
                    "quicreuse::bench"):
                return "ours", s
            if s.startswith("quicreuse::bench") or s == "main":
                return "bench harness", s
        return "ours", function
    return "other", short(frames[0][0]) if frames else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording")
    parser.add_argument("--conns", type=int, default=2000)
    parser.add_argument("--details", type=int, default=12, help="lines per component")
    args = parser.parse_args()
    n = args.conns

    per_conn = collections.defaultdict(lambda: collections.Counter())
    per_conn_calls = collections.defaultdict(lambda: collections.Counter())
    per_conn_chunks = collections.defaultdict(float)
    fixed = collections.Counter()
    for size, calls, frames in read_entries(args.recording):
        component, detail = classify(frames)
        if calls < n / 10:
            fixed[f"{component}: {detail}"] += size
            continue
        per_conn[component][detail] += size
        per_conn_calls[component][detail] += calls
        # A backtrace whose blocks were mostly freed again (a growing vector) leaves fewer live
        # blocks than calls: count those bytes as one block.
        per_conn_chunks[component] += (chunk(size / calls) * calls if size / calls >= 16
                                       else chunk(size))

    total = sum(sum(c.values()) for c in per_conn.values())
    total_chunks = sum(per_conn_chunks.values())
    print(f"idle heap per connection ({n} connections), by component")
    print(f"{'component':<16}{'requested B':>12}{'allocs':>8}{'chunk B':>10}")
    for component in sorted(per_conn, key=lambda c: -sum(per_conn[c].values())):
        b = sum(per_conn[component].values()) / n
        a = sum(per_conn_calls[component].values()) / n
        print(f"{component:<16}{b:>12.0f}{a:>8.1f}{per_conn_chunks[component] / n:>10.0f}")
    print(f"{'total':<16}{total / n:>12.0f}{'':>8}{total_chunks / n:>10.0f}")
    for component in sorted(per_conn, key=lambda c: -sum(per_conn[c].values())):
        print(f"\n{component}:")
        for detail, size in per_conn[component].most_common(args.details):
            calls = per_conn_calls[component][detail]
            print(f"  {size / n:8.0f} B {calls / n:5.2f}x  {detail}")
        rest = per_conn[component].most_common()[args.details:]
        if rest:
            print(f"  {sum(s for _, s in rest) / n:8.0f} B        ({len(rest)} more backtraces)")
    print(f"\none-off (fewer than {n // 10} allocations per backtrace), whole process:")
    for detail, size in fixed.most_common(args.details):
        print(f"  {size / 1024:8.1f} KiB  {detail}")
    rest = fixed.most_common()[args.details:]
    if rest:
        print(f"  {sum(s for _, s in rest) / 1024:8.1f} KiB  ({len(rest)} more backtraces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

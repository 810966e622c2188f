#!/usr/bin/env bash
# Builds the quic-go interop test peer (tests/interop/go/src/quicgo-peer) into
# OUTDIR/quicgo-peer.
#
# The build is offline and uses GOPATH mode: quic-go 0.29 and its dependencies
# come from the Debian package golang-github-lucas-clemente-quic-go-dev under
# /usr/share/gocode (scripts/setup installs it). Works from any directory and
# with HOME unset: GOPATH and GOCACHE are set explicitly, the Go build cache
# lives in OUTDIR/gocache.
#
# Usage: tests/interop/build-go-peer.sh OUTDIR
set -euo pipefail

die() {
    echo "build-go-peer.sh: error: $*" >&2
    exit 1
}

[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 OUTDIR" >&2; exit 2; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gocode=/usr/share/gocode

command -v go >/dev/null 2>&1 ||
    die "'go' not found in PATH; install golang-go (scripts/setup does this)"
[[ -d "$gocode/src/github.com/lucas-clemente/quic-go" ]] ||
    die "quic-go not found in $gocode; install golang-github-lucas-clemente-quic-go-dev (scripts/setup does this)"
[[ -f "$script_dir/go/src/quicgo-peer/main.go" ]] ||
    die "peer source $script_dir/go/src/quicgo-peer/main.go is missing"

mkdir -p "$1"
outdir="$(cd "$1" && pwd)"

# Pin the whole Go environment so that neither the caller's environment nor a
# user go/env file (GOENV=off) can switch to module mode or the network.
unset GOFLAGS GOROOT GOBIN GOMODCACHE
export GO111MODULE=off
export GOENV=off
export GOPATH="$script_dir/go:$gocode"
export GOCACHE="$outdir/gocache"
export GOPROXY=off
export GOTOOLCHAIN=local
export CGO_ENABLED=0

echo "build-go-peer.sh: $(go version), GOPATH=$GOPATH" >&2
go build -o "$outdir/quicgo-peer" quicgo-peer
echo "build-go-peer.sh: built $outdir/quicgo-peer" >&2

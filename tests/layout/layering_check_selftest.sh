#!/bin/sh
# layering_check.sh must catch a planted wrong-way include of each kind (and pass on a clean tree).
# Usage: layering_check_selftest.sh CHECK_SCRIPT
set -u
check=${1:?usage: layering_check_selftest.sh CHECK_SCRIPT}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/src/core" "$scratch/src/io" "$scratch/src/multiaddr" "$scratch/src/reuse" \
         "$scratch/src/tool" "$scratch/include/quicreuse" "$scratch/examples"
"$check" "$scratch" || { echo "selftest: a clean tree was reported"; exit 1; }

# plant FILE LINE: the check must now fail and name FILE.
plant() {
  printf '%s\n' "$2" > "$scratch/$1"
  out=$("$check" "$scratch")
  rc=$?
  rm -f "$scratch/$1"
  if [ $rc -eq 0 ] || ! printf '%s' "$out" | grep -q "$1"; then
    echo "selftest: '$2' in $1 was not reported"
    exit 1
  fi
}
plant src/core/planted.hpp '#include <asio/io_context.hpp>'
plant src/core/planted.cpp '#include "io/endpoint_state.hpp"'
plant src/multiaddr/planted.cpp '#include "reuse/reuse.hpp"'
plant src/io/planted.hpp '  #  include "reuse/manager_state.hpp"'
plant src/reuse/planted.cpp '#include "tool/common.hpp"'
plant include/quicreuse/planted.hpp '#include "core/endpoint.hpp"'
plant src/tool/planted.cpp '#include "io/endpoint_state.hpp"'
plant examples/planted.cpp '#include "core/rng.hpp"'
echo "selftest: every planted include was reported"

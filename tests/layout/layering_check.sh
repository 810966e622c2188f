#!/bin/sh
# The layers of the library point one way: core <- multiaddr, io <- reuse <- public API <- tool.
# Usage: layering_check.sh ROOT  (ROOT holds src/ and include/). Prints every include that points
# the wrong way and exits 1 if there is one.
set -u
root=${1:?usage: layering_check.sh ROOT}
status=0

# forbid DIR PATTERN WHY: no file under ROOT/DIR may have an #include matching PATTERN.
forbid() {
  hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*$2" "$root/$1" 2>/dev/null)
  if [ -n "$hits" ]; then
    printf '%s\n' "$hits" | sed "s|^$root/||; s|\$|   <- $3|"
    status=1
  fi
}

forbid src/core '<asio' 'core is sans-IO: no Asio'
forbid src/core '"(io|reuse|multiaddr|tool)/' 'core includes only core'
forbid src/multiaddr '"(core|io|reuse|tool)/' 'the multiaddr codec stands alone'
forbid src/io '"(reuse|multiaddr|tool)/' 'io sits below the connection manager'
forbid src/reuse '"tool/' 'the library never includes the tool'
forbid include/quicreuse '"' 'public headers include only <quicreuse/...> and system headers'
forbid src/tool '"(core|io|reuse|multiaddr)/' 'the tool uses the public API only'
forbid examples '"(core|io|reuse|multiaddr)/' 'the examples use the public API only'
exit $status

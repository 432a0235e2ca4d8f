#!/usr/bin/env bash
# The architecture's rule: only io_*.c and main_*.c may touch libevent, OpenSSL, file and clock
# syscalls. Everything else is the deterministic core.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bad=$(grep -nE '#include <(event2|openssl)/|[^_a-z](read|write|fsync|open|clock_gettime|getrandom)\(' \
  $(find "$root/common" "$root/quorum" "$root/observer" "$root/proxy" -name '*.c' ! -name 'io_*.c' ! -name 'main_*.c' 2>/dev/null) \
  | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)' || true)
if [ -n "$bad" ]; then
  echo "core files doing I/O:"; echo "$bad"; exit 1
fi
echo "core is free of I/O calls"

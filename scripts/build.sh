#!/usr/bin/env bash
# Builds zkedge into build/ (or $1 with extra cmake flags after it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
# Sanitizers off unless asked for: a cached ON from an earlier configure must not leak in.
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZKEDGE_SANITIZE=OFF "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null

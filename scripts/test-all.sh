#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: cmocka unit tests (the deterministic
# cluster simulator's seeds among them), integration tests with real clients against zkedge-server
# (standalone, 3- and 5-member ensembles, mixed zkedge + Apache ensembles), the same kazoo and
# ensemble tests against Apache ZooKeeper 3.8,
# the zkCli.sh comparison, the C client test, fuzz corpus replay plus a short bounded fuzz run,
# and unit + integration tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" || exit 1
py=/usr/bin/python3
failed=()
step() { echo; echo "=== $1"; }
run() { local name=$1; shift; if "$@"; then echo "--- $name: ok"; else echo "--- $name: FAILED"; failed+=("$name"); fi; }

step "layering rule: the core does no I/O"
run core-io-rule "$root/scripts/check-core-io.sh"

step "build"
"$root/scripts/build.sh" "$root/build" || exit 1
step "unit tests"
run unit bash -c "cd build && ctest --output-on-failure"

step "deterministic simulator: 3000 more seeds (tests/sim/sweep; the unit step ran 200)"
run sim-sweep "$root/tests/sim/sweep" 1 3000 "$root/build/tests/sim/zk-sim"

step "integration tests against zkedge-server"
run integration-zkedge env ZK_TARGET=zkedge ZKEDGE_SERVER="$root/build/zkedge-server" \
  C_CLIENT_TEST="$root/build/tests/integration/c_client_test" \
  $py -m pytest -q -p no:cacheprovider tests/integration

step "the same integration tests against Apache ZooKeeper 3.8 (every expectation checked on the real thing)"
run integration-apache env ZK_TARGET=apache C_CLIENT_TEST="$root/build/tests/integration/c_client_test" \
  $py -m pytest -q -p no:cacheprovider tests/integration -k "not durability and not datadir and not zkcli and not interop"

step "fuzz: corpus replay and a short bounded run"
for f in build/tests/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  t=$(basename "$f"); t=${t#fuzz_}
  run "fuzz-$t" "$f" -runs=20000 -max_total_time=20 -seed=$RANDOM "tests/fuzz/corpus/$t"
done

step "build with AddressSanitizer + UndefinedBehaviorSanitizer"
"$root/scripts/build.sh" "$root/build-asan" -DZKEDGE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "unit tests under sanitizers"
run unit-asan bash -c "cd build-asan && ctest --output-on-failure"
step "integration tests against the sanitized zkedge-server, with three connection loops (threads)"
run integration-asan env ZK_TARGET=zkedge ZKEDGE_SERVER="$root/build-asan/zkedge-server" ZKEDGE_SANITIZED=1 \
  ZKEDGE_IO_THREADS=3 \
  C_CLIENT_TEST="$root/build/tests/integration/c_client_test" \
  $py -m pytest -q -p no:cacheprovider tests/integration -k "not zkcli"
step "fuzz corpus under sanitizers"
for f in build-asan/tests/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  t=$(basename "$f"); t=${t#fuzz_}
  run "fuzz-asan-$t" "$f" -runs=5000 -max_total_time=20 "tests/fuzz/corpus/$t"
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all test steps passed"

#!/usr/bin/env bash
# Side-by-side benchmark of zkedge and Apache ZooKeeper 3.8 on this machine (bench/README.md).
#
#   bench/run.sh [--quick] [--targets "zkedge apache"] [--out FILE] [--no-build]
#
# For each target: start the server on 127.0.0.1 (free port, fresh mktemp data dir, the same
# zoo.cfg keys), wait for ruok, run the zkbench matrix (get/set x sessions x in-flight x value
# size), populate znodes and read VmRSS, restart and time until a known node can be read, hold
# as many idle sessions as it takes, then stop it. Prints a markdown report with the ratio
# zkedge/apache per row (and writes it to FILE with --out).
#
# Environment: BENCH_DURATION (10) and BENCH_WARMUP (2) seconds per run, BENCH_SESSIONS
# ("1 16 64"), BENCH_INFLIGHT ("1 32"), BENCH_VALUES ("100 4096"), BENCH_OPS ("get set"),
# BENCH_ZNODES_SMALL (100000), BENCH_ZNODES_LARGE (1000000), BENCH_CONNECT_SESSIONS (50000),
# BENCH_HOLD (10), BENCH_SERVER_WARMUP (10 s of untimed mixed load before the matrix),
# BENCH_WORKERS (1), BUILD_DIR (<repo>/build), BENCH_TMP (parent of the data dirs, default
# $TMPDIR or /tmp), BENCH_KEEP=1 keeps the data dirs. --quick: 1 s runs, 100-byte values,
# 1 and 16 sessions, 10k/50k znodes, 2000 idle sessions (about a minute per server).
#
# Only 127.0.0.0/8 is used; only the PIDs this script starts are ever signalled; every wait
# has a bound.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
quick=0
nobuild=0
targets="zkedge apache"
out=""
cmdline="bench/run.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--no-build) nobuild=1 ;;
	--targets) targets=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ $quick = 1 ]; then
	DURATION=${BENCH_DURATION:-1}; WARMUP=${BENCH_WARMUP:-0.5}
	SESSIONS_LIST=${BENCH_SESSIONS:-"1 16"}; INFLIGHT_LIST=${BENCH_INFLIGHT:-"1 32"}
	VALUES=${BENCH_VALUES:-"100"}; OPS=${BENCH_OPS:-"get set"}
	ZN_SMALL=${BENCH_ZNODES_SMALL:-10000}; ZN_LARGE=${BENCH_ZNODES_LARGE:-50000}
	CONNECT_N=${BENCH_CONNECT_SESSIONS:-2000}; HOLD=${BENCH_HOLD:-3}
	SERVER_WARMUP=${BENCH_SERVER_WARMUP:-2}
else
	DURATION=${BENCH_DURATION:-10}; WARMUP=${BENCH_WARMUP:-2}
	SESSIONS_LIST=${BENCH_SESSIONS:-"1 16 64"}; INFLIGHT_LIST=${BENCH_INFLIGHT:-"1 32"}
	VALUES=${BENCH_VALUES:-"100 4096"}; OPS=${BENCH_OPS:-"get set"}
	ZN_SMALL=${BENCH_ZNODES_SMALL:-100000}; ZN_LARGE=${BENCH_ZNODES_LARGE:-1000000}
	CONNECT_N=${BENCH_CONNECT_SESSIONS:-50000}; HOLD=${BENCH_HOLD:-10}
	SERVER_WARMUP=${BENCH_SERVER_WARMUP:-10}
fi
WORKERS=${BENCH_WORKERS:-1}
[ "$ZN_LARGE" -gt "$ZN_SMALL" ] || { echo "run.sh: BENCH_ZNODES_LARGE must exceed BENCH_ZNODES_SMALL" >&2; exit 2; }

ZKEDGE=$build/zkedge-server
ZKBENCH=$build/bench/zkbench
APACHE_CP="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
APACHE_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
APACHE_OPTS="-Dzookeeper.admin.enableServer=false -Dzookeeper.maxCnxns=0"

log() { echo "[run.sh $(date +%H:%M:%S)] $*" >&2; }

# ---- build ----
build_note=""
if [ $nobuild = 0 ]; then
	log "building zkedge-server and zkbench in $build"
	if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZKEDGE_SANITIZE=OFF >/dev/null &&
	       cmake --build "$build" -j"$(nproc)" --target zkedge-server zkbench >/dev/null; }; then
		[ -x "$build/zkedge-server" ] && [ -x "$build/bench/zkbench" ] ||
			{ echo "run.sh: build failed" >&2; exit 1; }
		build_note=" (build of the current tree failed: binaries from an earlier build)"
		log "build failed; using the existing binaries in $build"
	fi
else
	build_note=" (--no-build: binaries as found in ${build#"$root"/})"
fi
[ -x "$build/bench/zkbench" ] || { echo "run.sh: no $build/bench/zkbench" >&2; exit 1; }

# ---- bookkeeping: results, our pids, cleanup ----
results=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/zkbench-results.XXXXXX")
declare -A R          # R[target|key] = value
declare -a OURPIDS=() # every server / background zkbench we started
datadirs=()

cleanup() {
	for p in "${OURPIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		for d in "${datadirs[@]}"; do rm -rf "$d"; done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Raise our fd limit (inherited by the servers and zkbench) to the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)

free_port() {
	local _ p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	return 1
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Settle memory before reading RSS: a full GC for the JVM (G1 then uncommits), a pause for both.
settle() {
	local target=$1 pid=$2
	if [ "$target" = apache ] && command -v jcmd >/dev/null; then
		timeout 60 jcmd "$pid" GC.run >/dev/null 2>&1
	fi
	sleep 1
}

heap_used_kb() {
	timeout 30 jcmd "$1" GC.heap_info 2>/dev/null | awk '/heap/ && /used/ {for (i=1;i<=NF;i++) if ($i=="used") {v=$(i+1); sub(/K,?/,"",v); print v; exit}}'
}

SERVER_PID=""
start_server() { # target dir
	local target=$1 dir=$2
	if [ "$target" = zkedge ]; then
		"$ZKEDGE" "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
	else
		# shellcheck disable=SC2086
		java -cp "$APACHE_CP" $APACHE_OPTS "$APACHE_MAIN" "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
	fi
	SERVER_PID=$!
	OURPIDS+=("$SERVER_PID")
}

# Drop a reaped pid from OURPIDS so cleanup never signals a recycled pid.
forget_pid() {
	local keep=() p
	for p in "${OURPIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	OURPIDS=("${keep[@]}")
}

stop_server() { # pid
	local pid=$1 _
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$pid"; }
	wait "$pid" 2>/dev/null
	forget_pid "$pid"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
getv() { sed -n "s/\(^\|.* \)$1=\([^ ]*\).*/\2/p" | head -1; }

# Runs zkbench, prints its result line; the command is appended to $results/commands (a file,
# since callers run this in a command substitution).
bench() { # target port logname args...
	local target=$1 port=$2 name=$3; shift 3
	local cmd=("$ZKBENCH" --hosts "127.0.0.1:$port" "$@")
	echo "zkbench --hosts 127.0.0.1:PORT $*" >>"$results/commands"
	timeout $((${DURATION%.*} + ${WARMUP%.*} + 300)) "${cmd[@]}" >"$results/$target.$name.out" 2>"$results/$target.$name.err"
	local rc=$?
	cat "$results/$target.$name.out"
	return $rc
}

# ---- one target ----
run_target() {
	local target=$1
	local dir port pid line
	dir=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/zkbench-$target.XXXXXX")
	datadirs+=("$dir")
	port=$(free_port) || { log "no free port"; return 1; }
	mkdir -p "$dir/data"
	cat >"$dir/zoo.cfg" <<-CFG
	tickTime=2000
	dataDir=$dir/data
	clientPort=$port
	clientPortAddress=127.0.0.1
	maxClientCnxns=0
	4lw.commands.whitelist=*
	CFG
	# Extra zoo.cfg lines for zkedge only, e.g. BENCH_ZKEDGE_CFG="zkedge.ioThreads=1".
	if [ "$target" = zkedge ] && [ -n "${BENCH_ZKEDGE_CFG:-}" ]; then
		printf '%s\n' $BENCH_ZKEDGE_CFG >>"$dir/zoo.cfg"
	fi
	R[$target|fs]=$(df -T "$dir" | awk 'NR==2{print $2}')
	log "$target: starting on 127.0.0.1:$port, data in $dir"
	local t0; t0=$(now)
	start_server "$target" "$dir"; pid=$SERVER_PID
	if ! "$ZKBENCH" --op probe --hosts "127.0.0.1:$port" --wait 60 >/dev/null; then
		log "$target: did not answer ruok within 60 s; log tail:"; tail -5 "$dir/server.log" >&2
		stop_server "$pid"; return 1
	fi
	R[$target|start_empty_s]=$(elapsed "$t0" "$(now)")
	settle "$target" "$pid"
	R[$target|rss_empty]=$(rss_kb "$pid")

	# Warm the server up (the JVM's JIT, zkedge's allocator) with an untimed mixed load.
	log "$target: warm-up, mixed load for $SERVER_WARMUP s"
	bench "$target" "$port" warmup --op mixed --read-ratio 0.5 --sessions 16 --inflight 8 \
		--duration "$SERVER_WARMUP" --warmup 0 --keys 1000 --prefix /bench --workers "$WORKERS" >/dev/null

	# The matrix.
	local op v s k key
	for op in $OPS; do for v in $VALUES; do for s in $SESSIONS_LIST; do for k in $INFLIGHT_LIST; do
		key="$op|$v|$s|$k"
		log "$target: $op value=$v sessions=$s inflight=$k"
		line=$(bench "$target" "$port" "m.$op.$v.$s.$k" --op "$op" --value-size "$v" --sessions "$s" \
			--inflight "$k" --duration "$DURATION" --warmup "$WARMUP" --keys 1000 --prefix /bench \
			--workers "$WORKERS")
		R[$target|$key|ops]=$(echo "$line" | getv ops_s)
		R[$target|$key|p50]=$(echo "$line" | getv p50_us)
		R[$target|$key|p99]=$(echo "$line" | getv p99_us)
		R[$target|$key|bad]=$(echo "$line" | awk '{for(i=1;i<=NF;i++){split($i,a,"="); if((a[1]=="errors"||a[1]=="lost"||a[1]=="dropped"||a[1]=="timeouts")&&a[2]>0) printf "%s ", $i}}')
		[ -n "$line" ] || R[$target|$key|bad]="no result (see $results/$target.m.$op.$v.$s.$k.err)"
	done; done; done; done

	# Memory with znodes.
	log "$target: populating $ZN_SMALL znodes"
	line=$(bench "$target" "$port" pop1 --op populate --znodes "$ZN_SMALL" --prefix /pop1 --value-size 100)
	R[$target|pop1_rate]=$(echo "$line" | getv ops_s)
	R[$target|pop1_created]=$(echo "$line" | getv created)
	settle "$target" "$pid"
	R[$target|rss_small]=$(rss_kb "$pid")
	[ "$target" = apache ] && R[$target|heap_small]=$(heap_used_kb "$pid")
	local more=$((ZN_LARGE - ZN_SMALL))
	log "$target: populating $more more znodes (total $ZN_LARGE)"
	line=$(bench "$target" "$port" pop2 --op populate --znodes "$more" --prefix /pop2 --value-size 100)
	R[$target|pop2_rate]=$(echo "$line" | getv ops_s)
	R[$target|pop2_created]=$(echo "$line" | getv created)
	settle "$target" "$pid"
	R[$target|rss_large]=$(rss_kb "$pid")
	[ "$target" = apache ] && R[$target|heap_large]=$(heap_used_kb "$pid")

	# Restart with the large tree: stop, start, time until ruok and a get of a known node.
	log "$target: restart with $ZN_LARGE znodes"
	stop_server "$pid"
	t0=$(now)
	start_server "$target" "$dir"; pid=$SERVER_PID
	"$ZKBENCH" --op probe --hosts "127.0.0.1:$port" --path /pop2/p0000/n0000 --wait 600 \
		>"$results/$target.restart.out" 2>&1
	case $? in
	0) R[$target|restart]="$(elapsed "$t0" "$(now)") s" ;;
	3) R[$target|restart]="data lost on restart ($(elapsed "$t0" "$(now)") s to serve)" ;;
	*) R[$target|restart]="no answer within 600 s" ;;
	esac
	settle "$target" "$pid"
	R[$target|rss_restarted]=$(rss_kb "$pid")

	# Concurrent idle sessions and memory per idle session.
	log "$target: holding up to $CONNECT_N sessions for $HOLD s"
	local before with ready="$results/$target.ready"
	before=$(rss_kb "$pid")
	rm -f "$ready"
	echo "zkbench --hosts 127.0.0.1:PORT --op connect-only --sessions $CONNECT_N --duration $HOLD --ready-file F" >>"$results/commands"
	timeout $((HOLD + 900)) "$ZKBENCH" --hosts "127.0.0.1:$port" --op connect-only --sessions "$CONNECT_N" \
		--duration "$HOLD" --ready-file "$ready" >"$results/$target.connect.out" 2>"$results/$target.connect.err" &
	local bpid=$!
	OURPIDS+=("$bpid")
	local _
	for _ in $(seq 1 9000); do # up to 900 s for the connect phase
		[ -s "$ready" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$ready" ]; then
		settle "$target" "$pid"
		with=$(rss_kb "$pid")
	fi
	wait "$bpid"
	forget_pid "$bpid"
	line=$(cat "$results/$target.connect.out")
	local est; est=$(echo "$line" | getv established)
	R[$target|sess_est]=$est
	R[$target|sess_alive]=$(echo "$line" | getv alive_at_end)
	R[$target|sess_detail]=$(echo "$line" | sed 's/.*alive_at_end=[^ ]* //')
	if [ -n "${with:-}" ] && [ -n "$est" ] && [ "$est" -gt 0 ]; then
		R[$target|sess_bytes]=$(( (with - before) * 1024 / est ))
	fi
	grep -m3 -i -E 'too many open files|emfile' "$dir/server.log" >"$results/$target.emfile" 2>/dev/null
	R[$target|emfile]=$(grep -c -i -E 'too many open files|emfile' "$dir/server.log" 2>/dev/null)

	stop_server "$pid"
	R[$target|ok]=1
	log "$target: done"
}

# ---- report ----
ratio() { # a b -> a/b with 2 decimals, or -
	awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a/b; else printf "-" }'
}
mb() { awk -v k="$1" 'BEGIN{ if (k ~ /^[0-9]+$/) printf "%.1f", k/1024; else printf "-" }'; }
val() { local v=${R[$1]:-}; echo "${v:--}"; }

report() {
	local z=zkedge a=apache
	echo "## zkedge vs Apache ZooKeeper: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Command: \`$cmdline\` (BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_WORKERS=$WORKERS)"
	echo
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); data dirs on ${R[zkedge|fs]:-${R[apache|fs]:-?}}; fd limit $FD_LIMIT."
	echo "zkedge: $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+local changes)')$build_note. Apache: $(basename "$(readlink -f /usr/share/java/zookeeper.jar)"), $(java -version 2>&1 | head -1), default max heap $(java -XX:+PrintFlagsFinal -version 2>/dev/null | awk '/ MaxHeapSize /{printf "%.0f MiB", $4/1048576}'), started as \`java -cp $APACHE_CP $APACHE_OPTS $APACHE_MAIN zoo.cfg\`."
	[ -n "${BENCH_ZKEDGE_CFG:-}" ] && echo "zkedge also: ${BENCH_ZKEDGE_CFG}."
	echo "Both: zoo.cfg tickTime=2000, clientPortAddress=127.0.0.1, maxClientCnxns=0, 4lw.commands.whitelist=*, forceSync default (yes)."
	echo
	echo "### Throughput and latency (ops/s; p50 and p99 in µs; ratio = zkedge/apache)"
	echo
	echo "| op | value | sessions | in flight | zkedge ops/s | apache ops/s | ratio | zkedge p50 | apache p50 | ratio | zkedge p99 | apache p99 | ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local op v s k key notes=""
	for op in $OPS; do for v in $VALUES; do for s in $SESSIONS_LIST; do for k in $INFLIGHT_LIST; do
		key="$op|$v|$s|$k"
		echo "| $op | $v | $s | $k | $(val "$z|$key|ops") | $(val "$a|$key|ops") | $(ratio "${R[$z|$key|ops]:-}" "${R[$a|$key|ops]:-}") | $(val "$z|$key|p50") | $(val "$a|$key|p50") | $(ratio "${R[$z|$key|p50]:-}" "${R[$a|$key|p50]:-}") | $(val "$z|$key|p99") | $(val "$a|$key|p99") | $(ratio "${R[$z|$key|p99]:-}" "${R[$a|$key|p99]:-}") |"
		[ -n "${R[$z|$key|bad]:-}" ] && notes+="- zkedge $op value=$v sessions=$s inflight=$k: ${R[$z|$key|bad]}"$'\n'
		[ -n "${R[$a|$key|bad]:-}" ] && notes+="- apache $op value=$v sessions=$s inflight=$k: ${R[$a|$key|bad]}"$'\n'
	done; done; done; done
	[ -n "$notes" ] && { echo; echo "Runs with errors:"; echo; printf '%s' "$notes"; }
	echo
	echo "### Memory, start-up, sessions"
	echo
	echo "| metric | zkedge | apache | ratio |"
	echo "|---|---:|---:|---:|"
	row() { echo "| $1 | $2 | $3 | $(ratio "$2" "$3") |"; }
	row "start to ruok, empty (s)" "$(val "$z|start_empty_s")" "$(val "$a|start_empty_s")"
	row "RSS, empty tree (MiB)" "$(mb "${R[$z|rss_empty]:-}")" "$(mb "${R[$a|rss_empty]:-}")"
	row "RSS, $ZN_SMALL znodes of 100 B (MiB)" "$(mb "${R[$z|rss_small]:-}")" "$(mb "${R[$a|rss_small]:-}")"
	row "RSS, $ZN_LARGE znodes of 100 B (MiB)" "$(mb "${R[$z|rss_large]:-}")" "$(mb "${R[$a|rss_large]:-}")"
	row "populate rate, first $ZN_SMALL (creates/s)" "$(val "$z|pop1_rate")" "$(val "$a|pop1_rate")"
	row "populate rate, next $((ZN_LARGE - ZN_SMALL)) (creates/s)" "$(val "$z|pop2_rate")" "$(val "$a|pop2_rate")"
	local zr=${R[$z|restart]:-} ar=${R[$a|restart]:-}
	echo "| restart with $ZN_LARGE znodes, to ruok + get (s) | $(val "$z|restart") | $(val "$a|restart") | $(ratio "${zr%% s}" "${ar%% s}") |"
	row "RSS after restart (MiB)" "$(mb "${R[$z|rss_restarted]:-}")" "$(mb "${R[$a|rss_restarted]:-}")"
	row "idle sessions established (of $CONNECT_N)" "$(val "$z|sess_est")" "$(val "$a|sess_est")"
	row "idle sessions still alive after $HOLD s" "$(val "$z|sess_alive")" "$(val "$a|sess_alive")"
	row "memory per idle session (bytes of RSS)" "$(val "$z|sess_bytes")" "$(val "$a|sess_bytes")"
	echo
	echo "Notes:"
	echo "- Apache RSS is read after \`jcmd <pid> GC.run\` and 1 s (G1 gives memory back then); zkedge after 1 s. Apache heap used after GC: $(val "$a|heap_small") KiB with $ZN_SMALL znodes, $(val "$a|heap_large") KiB with $ZN_LARGE."
	echo "- Session failures: zkedge: $(val "$z|sess_detail"); apache: $(val "$a|sess_detail"). 'Too many open files' lines in the server log: zkedge $(val "$z|emfile"), apache $(val "$a|emfile"). One process cannot hold more sessions than its fd limit ($FD_LIMIT here)."
	echo "- Latency is per request, send to reply, closed loop (a new request as each reply arrives); numbers taken on a shared machine are noisy."
	echo
	echo "<details><summary>zkbench commands (PORT = the server's port)</summary>"
	echo
	awk '!seen[$0]++ {print "    " $0}' "$results/commands" 2>/dev/null
	echo
	echo "</details>"
	echo
	echo "Raw output: $results"
}

for t in $targets; do
	case $t in
	zkedge) [ -x "$ZKEDGE" ] || { log "no $ZKEDGE"; continue; } ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null || { log "no Apache ZooKeeper (Debian package zookeeper)"; continue; } ;;
	*) log "unknown target $t"; continue ;;
	esac
	run_target "$t" || log "$t: failed, see $results"
done

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi

#!/usr/bin/env bash
# Side-by-side benchmark of a 3-voter zkedge ensemble and a 3-voter Apache ZooKeeper 3.8
# ensemble on this machine (bench/README.md, docs/benchmarks.md "Quorum (3 voters)").
#
#   bench/run_quorum.sh [--quick] [--targets "zkedge apache"] [--out FILE] [--no-build]
#
# For each target (one kind per ensemble): start three members on 127.0.0.1, each with its own
# zoo.cfg (server.1-3 lines) and dataDir/myid in a fresh mktemp folder, wait until one leads
# and two follow, warm up, run the zkbench matrix with the sessions spread round-robin over all
# three members (set and get x sessions x in-flight), then the failover trials: zkfailover
# writes through a follower, kill -9's the leader and times until a write sent after the kill
# succeeds; the killed member is restarted and the ensemble waited for until whole again,
# BENCH_FAILOVER_TRIALS times. Prints a markdown report with the ratio zkedge/apache per row
# (and writes it to FILE with --out).
#
# Environment: BENCH_TARGETS (same as --targets), BENCH_DURATION (10) and BENCH_WARMUP (2)
# seconds per row, BENCH_SESSIONS ("3 48"), BENCH_INFLIGHT ("1 32"), BENCH_VALUES ("100"),
# BENCH_OPS ("set get"), BENCH_SERVER_WARMUP (10 s of untimed mixed load first),
# BENCH_WORKERS (1), BENCH_FAILOVER_TRIALS (10), BENCH_FAILOVER_PRE (1 s of writes before each
# kill), BENCH_FAILOVER_TIMEOUT (30 s after the kill), BENCH_WHOLE_WAIT (120 s for the ensemble
# to be whole), BENCH_ZKEDGE_CFG (extra zoo.cfg lines for zkedge members), BUILD_DIR
# (<repo>/build), BENCH_TMP (parent of the data dirs, default $TMPDIR or /tmp), BENCH_KEEP=1
# keeps the data dirs. --quick: 1 s rows, 3 sessions, 3 trials, 2 s warm-up.
#
# Only 127.0.0.0/8 is used; only the PIDs this script starts are ever signalled (zkfailover
# kill -9's the leader among the pids it is given: ours); every wait has a bound.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
quick=0
nobuild=0
targets=${BENCH_TARGETS:-"zkedge apache"}
out=""
cmdline="bench/run_quorum.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--no-build) nobuild=1 ;;
	--targets) targets=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "run_quorum.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ $quick = 1 ]; then
	DURATION=${BENCH_DURATION:-1}; WARMUP=${BENCH_WARMUP:-0.5}
	SESSIONS_LIST=${BENCH_SESSIONS:-"3"}; INFLIGHT_LIST=${BENCH_INFLIGHT:-"1 32"}
	SERVER_WARMUP=${BENCH_SERVER_WARMUP:-2}; TRIALS=${BENCH_FAILOVER_TRIALS:-3}
else
	DURATION=${BENCH_DURATION:-10}; WARMUP=${BENCH_WARMUP:-2}
	SESSIONS_LIST=${BENCH_SESSIONS:-"3 48"}; INFLIGHT_LIST=${BENCH_INFLIGHT:-"1 32"}
	SERVER_WARMUP=${BENCH_SERVER_WARMUP:-10}; TRIALS=${BENCH_FAILOVER_TRIALS:-10}
fi
VALUES=${BENCH_VALUES:-"100"}; OPS=${BENCH_OPS:-"set get"}
WORKERS=${BENCH_WORKERS:-1}
FO_PRE=${BENCH_FAILOVER_PRE:-1}
FO_TIMEOUT=${BENCH_FAILOVER_TIMEOUT:-30}
WHOLE_WAIT=${BENCH_WHOLE_WAIT:-120}
MEMBERS=3
TICK=2000; INIT_LIMIT=10; SYNC_LIMIT=5

ZKEDGE=$build/zkedge-server
ZKBENCH=$build/bench/zkbench
ZKFAILOVER=$build/bench/zkfailover
APACHE_CP="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
APACHE_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
APACHE_OPTS="-Dzookeeper.admin.enableServer=false -Dzookeeper.maxCnxns=0"

log() { echo "[run_quorum.sh $(date +%H:%M:%S)] $*" >&2; }

# ---- build: the load tools are required, the server only when zkedge is a target ----
build_note=""
if [ $nobuild = 0 ]; then
	log "building zkbench and zkfailover in $build"
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZKEDGE_SANITIZE=OFF >/dev/null &&
		cmake --build "$build" -j"$(nproc)" --target zkbench zkfailover >/dev/null ||
		log "build of zkbench/zkfailover failed; using what is in $build"
	case " $targets " in *" zkedge "*)
		log "building zkedge-server in $build"
		if ! cmake --build "$build" -j"$(nproc)" --target zkedge-server >/dev/null; then
			build_note=" (build of the current tree failed: binary from an earlier build)"
			log "build of zkedge-server failed; using the existing binary in $build if any"
		fi ;;
	esac
else
	build_note=" (--no-build: binaries as found in $build)"
fi
for b in "$ZKBENCH" "$ZKFAILOVER"; do
	[ -x "$b" ] || { echo "run_quorum.sh: no $b" >&2; exit 1; }
done

# ---- bookkeeping: results, our pids, cleanup ----
results=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/zkquorum-results.XXXXXX")
declare -A R          # R[target|key] = value
declare -a OURPIDS=() # every server we started
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

ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)

# A free port in PORT: below the ephemeral range (32768-), so an outgoing connection cannot
# take it between our check and the member's bind, and distinct from every port handed out
# before (so not called in a subshell).
declare -A TAKEN=()
PORT=""
pick_port() {
	local _ p
	for _ in $(seq 1 200); do
		p=$((15000 + RANDOM % 17000))
		[ -n "${TAKEN[$p]:-}" ] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then TAKEN[$p]=1; PORT=$p; return 0; fi
	done
	return 1
}

forget_pid() {
	local keep=() p
	for p in "${OURPIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	OURPIDS=("${keep[@]}")
}

stop_server() { # pid (a member's server, reaped by its wrapper subshell)
	local pid=$1 _
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$pid"; }
	forget_pid "$pid"
}

getv() { sed -n "s/\(^\|.* \)$1=\([^ ]*\).*/\2/p" | head -1; }

# ---- one ensemble: members 1..3, their ports and pids ----
declare -a CPORT QPORT EPORT MPID
HOSTS=""
ENS_DIR=""

member_dir() { echo "$ENS_DIR/m$1"; }

write_member() { # target i
	local target=$1 i=$2 d j
	d=$(member_dir "$i")
	mkdir -p "$d/data"
	echo "$i" >"$d/data/myid"
	{
		echo "tickTime=$TICK"
		echo "initLimit=$INIT_LIMIT"
		echo "syncLimit=$SYNC_LIMIT"
		echo "dataDir=$d/data"
		echo "clientPort=${CPORT[$i]}"
		echo "clientPortAddress=127.0.0.1"
		echo "maxClientCnxns=0"
		echo "4lw.commands.whitelist=*"
		for j in $(seq 1 $MEMBERS); do echo "server.$j=127.0.0.1:${QPORT[$j]}:${EPORT[$j]}"; done
		# Extra zoo.cfg lines for zkedge only, e.g. BENCH_ZKEDGE_CFG="zkedge.ioThreads=1".
		if [ "$target" = zkedge ] && [ -n "${BENCH_ZKEDGE_CFG:-}" ]; then
			# shellcheck disable=SC2086 # one line per word, as run.sh
			printf '%s\n' $BENCH_ZKEDGE_CFG
		fi
	} >"$d/zoo.cfg"
}

# Starts member i. The server runs under a small subshell that waits for it, so that its death
# by kill -9 is reaped there and bash prints no "Killed" notice; MPID[i] is the server's own
# pid (written to the member's pid file by that subshell).
start_member() { # target i
	local target=$1 i=$2 d _
	d=$(member_dir "$i")
	echo "=== start $(date +%H:%M:%S.%N)" >>"$d/server.log"
	rm -f "$d/pid"
	if [ "$target" = zkedge ]; then
		( "$ZKEDGE" "$d/zoo.cfg" >>"$d/server.log" 2>&1 & echo $! >"$d/pid.tmp"; mv "$d/pid.tmp" "$d/pid"; wait ) 2>/dev/null &
	else
		# shellcheck disable=SC2086
		( java -cp "$APACHE_CP" $APACHE_OPTS "$APACHE_MAIN" "$d/zoo.cfg" >>"$d/server.log" 2>&1 &
		  echo $! >"$d/pid.tmp"; mv "$d/pid.tmp" "$d/pid"; wait ) 2>/dev/null &
	fi
	for _ in $(seq 1 500); do [ -s "$d/pid" ] && break; sleep 0.01; done
	MPID[i]=$(cat "$d/pid" 2>/dev/null)
	OURPIDS+=("${MPID[$i]}")
}

pids_csv() { local i s=""; for i in $(seq 1 $MEMBERS); do s+="${s:+,}${MPID[$i]}"; done; echo "$s"; }

wait_whole() { # target name -> prints zkfailover's line, returns its status
	timeout $((WHOLE_WAIT + 30)) "$ZKFAILOVER" --hosts "$HOSTS" --wait-whole "$WHOLE_WAIT" \
		>"$results/$1.$2.out" 2>&1
	local rc=$?
	cat "$results/$1.$2.out"
	return $rc
}

log_tails() {
	local i
	for i in $(seq 1 $MEMBERS); do
		log "member $i log tail:"; tail -5 "$(member_dir "$i")/server.log" >&2
	done
}

bench() { # target logname args...
	local target=$1 name=$2; shift 2
	echo "zkbench --hosts 127.0.0.1:PORT1,127.0.0.1:PORT2,127.0.0.1:PORT3 $*" >>"$results/commands"
	timeout $((${DURATION%.*} + ${WARMUP%.*} + 300)) "$ZKBENCH" --hosts "$HOSTS" "$@" \
		>"$results/$target.$name.out" 2>"$results/$target.$name.err"
	local rc=$?
	cat "$results/$target.$name.out"
	return $rc
}

median_min_max() { # numbers on stdin -> "median min max" (or "- - -")
	sort -g | awk '{v[NR]=$1} END { if (NR == 0) { print "- - -"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

run_target() {
	local target=$1 i line
	ENS_DIR=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/zkquorum-$target.XXXXXX")
	datadirs+=("$ENS_DIR")
	HOSTS=""
	for i in $(seq 1 $MEMBERS); do
		pick_port || { log "no free port"; return 1; }; CPORT[i]=$PORT
		pick_port || { log "no free port"; return 1; }; QPORT[i]=$PORT
		pick_port || { log "no free port"; return 1; }; EPORT[i]=$PORT
		HOSTS+="${HOSTS:+,}127.0.0.1:${CPORT[$i]}"
	done
	for i in $(seq 1 $MEMBERS); do write_member "$target" "$i"; done
	R[$target|fs]=$(df -T "$ENS_DIR" | awk 'NR==2{print $2}')
	log "$target: starting $MEMBERS members (client ports $HOSTS), data in $ENS_DIR"
	local t0 t1
	t0=$(date +%s.%N)
	for i in $(seq 1 $MEMBERS); do start_member "$target" "$i"; done
	if ! line=$(wait_whole "$target" start); then
		log "$target: ensemble not whole within $WHOLE_WAIT s: $line"; log_tails
		R[$target|fail]="ensemble never whole: $line"
		stop_ensemble; return 1
	fi
	t1=$(date +%s.%N)
	R[$target|start_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
	R[$target|first_leader]=$(echo "$line" | getv leader)
	log "$target: whole after ${R[$target|start_s]} s: $line"

	log "$target: warm-up, mixed load for $SERVER_WARMUP s over all members"
	bench "$target" warmup --op mixed --read-ratio 0.5 --sessions 24 --inflight 8 \
		--duration "$SERVER_WARMUP" --warmup 0 --keys 1000 --prefix /bench --workers "$WORKERS" >/dev/null

	local op v s k key
	for op in $OPS; do for v in $VALUES; do for s in $SESSIONS_LIST; do for k in $INFLIGHT_LIST; do
		key="$op|$v|$s|$k"
		log "$target: $op value=$v sessions=$s inflight=$k"
		line=$(bench "$target" "m.$op.$v.$s.$k" --op "$op" --value-size "$v" --sessions "$s" \
			--inflight "$k" --duration "$DURATION" --warmup "$WARMUP" --keys 1000 --prefix /bench \
			--workers "$WORKERS")
		R[$target|$key|ops]=$(echo "$line" | getv ops_s)
		R[$target|$key|p50]=$(echo "$line" | getv p50_us)
		R[$target|$key|p99]=$(echo "$line" | getv p99_us)
		R[$target|$key|bad]=$(echo "$line" | awk '{for(i=1;i<=NF;i++){split($i,a,"="); if((a[1]=="errors"||a[1]=="lost"||a[1]=="dropped"||a[1]=="timeouts")&&a[2]>0) printf "%s ", $i}}')
		[ -n "$line" ] || R[$target|$key|bad]="no result (see $results/$target.m.$op.$v.$s.$k.err)"
	done; done; done; done

	# Failover trials.
	local t killed ms ok=0 list="" trials="" restarted TRIALS_RUN _
	echo "zkfailover --hosts 127.0.0.1:PORT1,127.0.0.1:PORT2,127.0.0.1:PORT3 --pids PID1,PID2,PID3 --follower TRIAL --pre $FO_PRE --timeout $FO_TIMEOUT" >>"$results/commands"
	echo "zkfailover --hosts 127.0.0.1:PORT1,127.0.0.1:PORT2,127.0.0.1:PORT3 --wait-whole $WHOLE_WAIT" >>"$results/commands"
	if ! line=$(wait_whole "$target" whole.0); then
		log "$target: ensemble not whole after the matrix: $line (a member died?); no failover trials"
		log_tails
		trials="(ensemble not whole after the matrix: $line)"
		TRIALS_RUN=0
	else
		TRIALS_RUN=$TRIALS
	fi
	for t in $(seq 1 "$TRIALS_RUN"); do
		log "$target: failover trial $t of $TRIALS"
		timeout $((FO_TIMEOUT + 120)) "$ZKFAILOVER" --hosts "$HOSTS" --pids "$(pids_csv)" --follower "$t" \
			--pre "$FO_PRE" --timeout "$FO_TIMEOUT" >"$results/$target.failover.$t.out" \
			2>"$results/$target.failover.$t.err"
		line=$(cat "$results/$target.failover.$t.out")
		log "$target: $line"
		killed=$(echo "$line" | getv killed)
		ms=$(echo "$line" | getv ms)
		case $line in
		"failover ok "*)
			ok=$((ok + 1)); list+="$ms"$'\n'
			R[$target|fo_reconnect]+="$(echo "$line" | getv reconnect_ms)"$'\n'
			R[$target|fo_expired]=$(( ${R[$target|fo_expired]:-0} + $(echo "$line" | getv expired) ))
			trials+="${trials:+; }$(printf '%.0f' "$ms") (killed $killed, new leader $(echo "$line" | getv new_leader), via $(echo "$line" | getv via))" ;;
		"failover timeout "*)
			trials+="${trials:+; }none within ${FO_TIMEOUT} s (killed $killed)" ;;
		*)
			trials+="${trials:+; }error: ${line:-no output, see $results/$target.failover.$t.err}" ;;
		esac
		# Restart the killed member (if one was killed) and wait until the ensemble is whole.
		restarted=0
		if [ -n "$killed" ] && [ "$killed" -ge 1 ] 2>/dev/null && [ -n "${MPID[$killed]:-}" ]; then
			for _ in $(seq 1 100); do kill -0 "${MPID[$killed]}" 2>/dev/null || break; sleep 0.05; done
			if ! kill -0 "${MPID[$killed]}" 2>/dev/null; then
				forget_pid "${MPID[$killed]}"
				start_member "$target" "$killed"
				restarted=1
			fi
		fi
		if ! line=$(wait_whole "$target" "whole.$t"); then
			log "$target: ensemble not whole again within $WHOLE_WAIT s after trial $t: $line"; log_tails
			trials+="${trials:+; }(ensemble not whole after trial $t: trials stopped)"
			break
		fi
		[ $restarted = 1 ] && R[$target|whole_ms]+="$(echo "$line" | getv ms)"$'\n'
	done
	R[$target|fo_ok]=$ok
	R[$target|fo_trials]=$trials
	local med mn mx
	read -r med mn mx <<<"$(printf '%s' "$list" | grep . | median_min_max)"
	R[$target|fo_med]=$med; R[$target|fo_min]=$mn; R[$target|fo_max]=$mx
	read -r med mn mx <<<"$(printf '%s' "${R[$target|fo_reconnect]:-}" | grep . | median_min_max)"
	R[$target|fo_rc_med]=$med
	read -r med mn mx <<<"$(printf '%s' "${R[$target|whole_ms]:-}" | grep . | median_min_max)"
	R[$target|whole_med]=$med

	stop_ensemble
	R[$target|ok]=1
	log "$target: done"
}

stop_ensemble() {
	local i
	for i in $(seq 1 $MEMBERS); do
		[ -n "${MPID[$i]:-}" ] && stop_server "${MPID[$i]}"
		MPID[i]=""
	done
}

# ---- report ----
ratio() { # a b -> a/b with 2 decimals, or -
	awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a/b; else printf "-" }'
}
val() { local v=${R[$1]:-}; echo "${v:--}"; }

report() {
	local z=zkedge a=apache
	echo "## Quorum (3 voters): zkedge vs Apache ZooKeeper, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Command: \`$cmdline\` (BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_WORKERS=$WORKERS BENCH_FAILOVER_TRIALS=$TRIALS BENCH_FAILOVER_PRE=$FO_PRE)"
	echo
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); data dirs on ${R[zkedge|fs]:-${R[apache|fs]:-?}}; fd limit $FD_LIMIT; load average $LOAD_AT_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "zkedge: $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+local changes)')$build_note. Apache: $(basename "$(readlink -f /usr/share/java/zookeeper.jar)"), $(java -version 2>&1 | head -1), default max heap $(java -XX:+PrintFlagsFinal -version 2>/dev/null | awk '/ MaxHeapSize /{printf "%.0f MiB", $4/1048576}') per member, started as \`java -cp $APACHE_CP $APACHE_OPTS $APACHE_MAIN zoo.cfg\`."
	[ -n "${BENCH_ZKEDGE_CFG:-}" ] && echo "zkedge also: ${BENCH_ZKEDGE_CFG}."
	echo "Both: $MEMBERS members on 127.0.0.1, each with its own zoo.cfg and dataDir/myid: tickTime=$TICK, initLimit=$INIT_LIMIT, syncLimit=$SYNC_LIMIT, server.1-$MEMBERS=127.0.0.1:QUORUMPORT:ELECTIONPORT, clientPortAddress=127.0.0.1, maxClientCnxns=0, 4lw.commands.whitelist=*, forceSync default (yes). Ensemble start to whole (one leader, two synced followers): zkedge $(val "$z|start_s") s, apache $(val "$a|start_s") s."
	echo
	echo "### Throughput and latency, sessions spread round-robin over the $MEMBERS members (ops/s; p50 and p99 in µs; ratio = zkedge/apache)"
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
	echo "### Failover: leader kill -9 to the first successful write ($TRIALS trials)"
	echo
	echo "| metric | zkedge | apache | ratio |"
	echo "|---|---:|---:|---:|"
	row() { echo "| $1 | $2 | $3 | $(ratio "$2" "$3") |"; }
	row "median (ms)" "$(val "$z|fo_med")" "$(val "$a|fo_med")"
	row "min (ms)" "$(val "$z|fo_min")" "$(val "$a|fo_min")"
	row "max (ms)" "$(val "$z|fo_max")" "$(val "$a|fo_max")"
	row "median, kill to session re-established (ms)" "$(val "$z|fo_rc_med")" "$(val "$a|fo_rc_med")"
	row "trials with a write within $FO_TIMEOUT s" "$(val "$z|fo_ok")" "$(val "$a|fo_ok")"
	row "sessions expired during the trials" "$(val "$z|fo_expired")" "$(val "$a|fo_expired")"
	row "median, restart of the killed member to whole (ms)" "$(val "$z|whole_med")" "$(val "$a|whole_med")"
	echo
	echo "Per trial, ms (killed member, new leader, member written through):"
	echo
	echo "- zkedge: $(val "$z|fo_trials")"
	echo "- apache: $(val "$a|fo_trials")"
	[ -n "${R[$z|fail]:-}" ] && echo "- zkedge failed: ${R[$z|fail]}"
	[ -n "${R[$a|fail]:-}" ] && echo "- apache failed: ${R[$a|fail]}"
	echo
	echo "Notes:"
	echo "- Failover: zkfailover writes setData (100 B, one in flight) through a follower (the first in member order in odd trials, the second in even ones) for $FO_PRE s, kill -9's the leader's pid, and reports the time from the kill to the reply of the first write sent after it that succeeded. A lost connection is re-established with the same session (id, password, last zxid) on the surviving members, the one it wrote through first, every 5 ms: no client back-off is included. Then the killed member is restarted on its data dir and the next trial waits until one member leads and the leader's mntr counts two synced followers."
	echo "- Latency is per request, send to reply, closed loop; client and all three members share the machine's cores, so numbers are noisy: read ratios, not digits."
	echo
	echo "<details><summary>commands (PORTn = member n's client port)</summary>"
	echo
	awk '!seen[$0]++ {print "    " $0}' "$results/commands" 2>/dev/null
	echo
	echo "</details>"
	echo
	echo "Raw output: $results"
}

for t in $targets; do
	case $t in
	zkedge) [ -x "$ZKEDGE" ] || { log "no $ZKEDGE"; R[zkedge|fail]="no $ZKEDGE"; continue; } ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null ||
		{ log "no Apache ZooKeeper (Debian package zookeeper)"; R[apache|fail]="not installed"; continue; } ;;
	*) log "unknown target $t"; continue ;;
	esac
	run_target "$t" || log "$t: failed, see $results"
done

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi

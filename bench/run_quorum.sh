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

LOG_NAME=run_quorum.sh
# shellcheck source=bench/lib_ensemble.sh
. "$root/bench/lib_ensemble.sh"

ens_build "$nobuild" "$targets"
ens_setup zkquorum

bench() { # target logname args...
	bench_on "$HOSTS" "127.0.0.1:PORT1,127.0.0.1:PORT2,127.0.0.1:PORT3" "$@"
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

# ---- report ----
report() {
	local z=zkedge a=apache
	echo "## Quorum (3 voters): zkedge vs Apache ZooKeeper, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Command: \`$cmdline\` (BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_WORKERS=$WORKERS BENCH_FAILOVER_TRIALS=$TRIALS BENCH_FAILOVER_PRE=$FO_PRE)"
	echo
	echo "Machine: $(machine_desc); data dirs on ${R[zkedge|fs]:-${R[apache|fs]:-?}}; fd limit $FD_LIMIT; load average $LOAD_AT_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "zkedge: $(zkedge_desc). Apache: $(apache_desc), started as \`java -cp $APACHE_CP $APACHE_OPTS $APACHE_MAIN zoo.cfg\`."
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
	kind_available "$t" "$t" || continue
	run_target "$t" || log "$t: failed, see $results"
done

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi

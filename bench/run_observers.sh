#!/usr/bin/env bash
# Side-by-side benchmark of observers: 3 voters + up to 8 observers of zkedge and of Apache
# ZooKeeper 3.8 on this machine (bench/README.md "run_observers.sh", docs/benchmarks.md
# "Observers").
#
#   bench/run_observers.sh [--quick] [--targets "zkedge apache zkedge-om apache-om"] [--out FILE]
#                          [--no-build]
#
# Targets: zkedge and apache (observers follow the leader), zkedge-om and apache-om (observers
# follow followers: observerMasterPort on every member). For each: three voters and
# max(BENCH_OBSERVERS) observers, each with its own zoo.cfg (server.N lines, ":observer" for
# observers, peerType=observer in an observer's own) in a fresh mktemp folder, all started at
# once and warmed up together; then, for each observer count N from the largest down
# (observers beyond N are stopped, so the ones measured stay warm):
#   reads  zkbench get with BENCH_READ_SESSIONS sessions per observer, round-robin over the N
#          observers only, x BENCH_READ_INFLIGHT; per-observer figures from each observer's
#          mntr zk_packets_received over the run
#   writes zkbench set at a fixed BENCH_WRITE_RATE through the leader for BENCH_CPU_DURATION s,
#          reading utime+stime (+ reaped children) of the leader, the followers and the
#          observers from /proc/PID/stat over the measured window (zkbench --cpu-pids); at the
#          same time zkfailover --lag writes through the leader every BENCH_LAG_INTERVAL_MS and
#          times each write's reply to the NodeDataChanged notification on every observer
# then (not for *-om) the catch-up of an observer that was stopped while BENCH_CATCHUP_TXNS
# creates went through the leader (start to serving, start to the leader's zxid), and how many
# idle sessions one observer holds (BENCH_HOLD_SESSIONS attempted) with memory per session.
# Prints a markdown report (and writes it to FILE with --out).
#
# Environment: BENCH_TARGETS, BENCH_OBSERVERS ("1 2 4 8"), BENCH_DURATION (5) and BENCH_WARMUP
# (2) s per read row, BENCH_READ_SESSIONS (8 per observer), BENCH_READ_INFLIGHT ("1 32"),
# BENCH_WRITE_RATE (1000 set/s), BENCH_WRITE_SESSIONS (8), BENCH_WRITE_INFLIGHT (8),
# BENCH_CPU_DURATION (5 s measured), BENCH_CPU_REPEAT (3 write runs per count, medians
# reported), BENCH_LAG_INTERVAL_MS (10), BENCH_CATCHUP_TXNS (100000),
# BENCH_HOLD_SESSIONS (100000), BENCH_HOLD (10 s), BENCH_LOCAL_SESSIONS (1: every member gets
# localSessionsEnabled=true and localSessionsUpgradingEnabled=true), BENCH_PARTS ("reads cpu
# catchup sessions": what zkedge and apache run), BENCH_OM_PARTS ("cpu": what the *-om targets
# run; "cpu" is the write row with the lag probe), BENCH_SERVER_WARMUP (10),
# BENCH_WORKERS (1), BENCH_WHOLE_WAIT (120), BENCH_ZKEDGE_CFG, BUILD_DIR (<repo>/build),
# BENCH_TMP, BENCH_KEEP=1. --quick: observers "1 2", 1 s rows, 2 s write rows, 10000 txns,
# 2000 sessions, one write run per count (about 2 minutes for the four default targets; the
# full run about 10).
#
# Only 127.0.0.0/8 is used (*-om members on 127.0.1.N: an observer derives a master's address
# from the voter's address and the one observerMasterPort, as Apache does, so each member
# needs its own address); only the PIDs this script starts are ever signalled; every wait has a
# bound.
# Lists of members and observer counts are split on purpose:
# shellcheck disable=SC2046,SC2086
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
quick=0
nobuild=0
targets=${BENCH_TARGETS:-"zkedge apache zkedge-om apache-om"}
out=""
cmdline="bench/run_observers.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--no-build) nobuild=1 ;;
	--targets) targets=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,45p' "$0"; exit 0 ;;
	*) echo "run_observers.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ $quick = 1 ]; then
	OBS_LIST=${BENCH_OBSERVERS:-"1 2"}
	DURATION=${BENCH_DURATION:-1}; WARMUP=${BENCH_WARMUP:-0.5}
	CPU_DURATION=${BENCH_CPU_DURATION:-2}; CPU_REPEAT=${BENCH_CPU_REPEAT:-1}
	SERVER_WARMUP=${BENCH_SERVER_WARMUP:-2}
	CATCHUP_TXNS=${BENCH_CATCHUP_TXNS:-10000}; HOLD_SESSIONS=${BENCH_HOLD_SESSIONS:-2000}
	HOLD=${BENCH_HOLD:-2}
else
	OBS_LIST=${BENCH_OBSERVERS:-"1 2 4 8"}
	DURATION=${BENCH_DURATION:-5}; WARMUP=${BENCH_WARMUP:-2}
	CPU_DURATION=${BENCH_CPU_DURATION:-5}; CPU_REPEAT=${BENCH_CPU_REPEAT:-3}
	SERVER_WARMUP=${BENCH_SERVER_WARMUP:-10}
	CATCHUP_TXNS=${BENCH_CATCHUP_TXNS:-100000}; HOLD_SESSIONS=${BENCH_HOLD_SESSIONS:-100000}
	HOLD=${BENCH_HOLD:-10}
fi
READ_SESSIONS=${BENCH_READ_SESSIONS:-8}
READ_INFLIGHT=${BENCH_READ_INFLIGHT:-"1 32"}
WRITE_RATE=${BENCH_WRITE_RATE:-1000}
WRITE_SESSIONS=${BENCH_WRITE_SESSIONS:-8}
WRITE_INFLIGHT=${BENCH_WRITE_INFLIGHT:-8}
LAG_INTERVAL=${BENCH_LAG_INTERVAL_MS:-10}
LOCAL_SESSIONS=${BENCH_LOCAL_SESSIONS:-1}
PARTS=${BENCH_PARTS:-"reads cpu catchup sessions"}
OM_PARTS=${BENCH_OM_PARTS:-"cpu"}
WORKERS=${BENCH_WORKERS:-1}
WHOLE_WAIT=${BENCH_WHOLE_WAIT:-120}
VOTERS=3
TICK=2000; INIT_LIMIT=10; SYNC_LIMIT=5

OBS_ASC=$(printf '%s\n' $OBS_LIST | sort -n -u | xargs)
OBS_DESC=$(printf '%s\n' $OBS_LIST | sort -n -r -u | xargs)
MAXOBS=$(printf '%s\n' $OBS_LIST | sort -n | tail -1)
case $MAXOBS in ''|*[!0-9]*) echo "run_observers.sh: bad BENCH_OBSERVERS" >&2; exit 2 ;; esac
if [ "$MAXOBS" -lt 1 ] || [ "$MAXOBS" -gt 13 ]; then
	echo "run_observers.sh: BENCH_OBSERVERS must be between 1 and 13" >&2; exit 2
fi
MEMBERS=$((VOTERS + MAXOBS))

LOG_NAME=run_observers.sh
# shellcheck source=bench/lib_ensemble.sh
. "$root/bench/lib_ensemble.sh"

ens_build "$nobuild" "$targets"
ens_setup zkobservers

# ---- helpers ----
addr() { echo "${MHOST[$1]}:${CPORT[$1]}"; }       # member i's client address
obs_member() { echo $((VOTERS + $1)); }           # observer j (1-based) is member VOTERS + j
hosts_of() { local s="" i; for i in "$@"; do s+="${s:+,}$(addr "$i")"; done; echo "$s"; }
voter_list() { seq 1 $VOTERS | tr '\n' ' '; }
obs_list() { local j s=""; for j in $(seq 1 "$1"); do s+="$(obs_member "$j") "; done; echo "$s"; }
shown_obs() { local j s=""; for j in $(seq 1 "$1"); do s+="${s:+,}OBS$j"; done; echo "$s"; }
shown_members() { local j s="V1,V2,V3"; for j in $(seq 1 "$1"); do s+=",OBS$j"; done; echo "$s"; }

fourlw() { # member cmd -> the answer on stdout
	timeout 10 "$ZKFAILOVER" --hosts "$(addr "$1")" --4lw "$2" 2>/dev/null
}
mntr_val() { # member key
	fourlw "$1" mntr | awk -v k="$2" '$1 == k {print $2; exit}'
}
zxid_of() { # member -> its srvr Zxid as a decimal number (empty if none)
	local z
	z=$(fourlw "$1" srvr | sed -n 's/^Zxid: //p' | head -1)
	[ -n "$z" ] && printf '%d\n' "$z"
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Settle memory before reading RSS: a full GC for the JVM (G1 then uncommits), a pause for both.
settle() { # kind pid
	if [ "$1" = apache ] && command -v jcmd >/dev/null; then
		timeout 60 jcmd "$2" GC.run >/dev/null 2>&1
	fi
	sleep 1
}
fcalc() { awk "BEGIN{ $1 }"; }

LEADER=0
# wait_members target name N: the voters and observers 1..N whole (srvr roles; and without
# observer masters the leader's zk_synced_observers equal to N, when its mntr has the key).
wait_members() {
	local t=$1 name=$2 n=$3 om=$4 line _ so
	local hosts
	hosts=$(hosts_of $(voter_list) $(obs_list "$n"))
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if ! line=$(wait_whole_on "$hosts" "$t" "$name" --observers "$n"); then
			echo "$line"; return 1
		fi
		so=$(echo "$line" | getv synced_observers)
		if [ "$om" = 1 ] || [ "$so" = -1 ] || [ "$so" = "$n" ]; then
			echo "$line"; return 0
		fi
		sleep 1 # a stopped observer still counted by the leader
	done
	echo "$line (zk_synced_observers=$so, expected $n)"
	return 1
}

# ---- one target ----
run_target() {
	local t=$1 kind=${1%-om} om=0 parts i j line
	case $t in *-om) om=1; parts=$OM_PARTS ;; *) parts=$PARTS ;; esac
	ENS_DIR=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/zkobservers-$t.XXXXXX")
	datadirs+=("$ENS_DIR")
	for i in $(seq 1 $MEMBERS); do
		pick_port || { log "no free port"; return 1; }; CPORT[i]=$PORT
		pick_port || { log "no free port"; return 1; }; QPORT[i]=$PORT
		pick_port || { log "no free port"; return 1; }; EPORT[i]=$PORT
		if [ $om = 1 ]; then MHOST[i]=127.0.1.$i; else MHOST[i]=127.0.0.1; fi
		if [ "$i" -gt $VOTERS ]; then MOBS[i]=1; else MOBS[i]=0; fi
		MPID[i]=""
	done
	ENS_EXTRA_CFG=""
	[ "$LOCAL_SESSIONS" = 1 ] && ENS_EXTRA_CFG+="localSessionsEnabled=true localSessionsUpgradingEnabled=true "
	if [ $om = 1 ]; then
		pick_port || { log "no free port"; return 1; }
		ENS_EXTRA_CFG+="observerMasterPort=$PORT"
		R[$t|om_port]=$PORT
	fi
	for i in $(seq 1 $MEMBERS); do write_member "$kind" "$i"; done
	R[$t|fs]=$(df -T "$ENS_DIR" | awk 'NR==2{print $2}')
	HOSTS=$(hosts_of $(seq 1 $MEMBERS))
	log "$t: starting $VOTERS voters and $MAXOBS observers ($HOSTS), data in $ENS_DIR"
	local t0 t1
	t0=$(date +%s.%N)
	for i in $(seq 1 $MEMBERS); do start_member "$kind" "$i"; done
	if ! line=$(wait_members "$t" start "$MAXOBS" "$om"); then
		log "$t: not whole within $WHOLE_WAIT s: $line"; log_tails
		R[$t|fail]="ensemble never whole: $line"
		stop_ensemble; return 1
	fi
	t1=$(date +%s.%N)
	R[$t|start_s]=$(fcalc "printf \"%.2f\", $t1 - $t0")
	LEADER=$(echo "$line" | getv leader)
	R[$t|leader]=$LEADER
	log "$t: whole after ${R[$t|start_s]} s: $line"

	log "$t: warm-up, mixed load for $SERVER_WARMUP s over all members"
	bench_on "$HOSTS" "$(shown_members "$MAXOBS")" "$t" warmup --op mixed --read-ratio 0.5 \
		--sessions $((2 * MEMBERS)) --inflight 8 --duration "$SERVER_WARMUP" --warmup 0 --keys 1000 \
		--prefix /bench --workers "$WORKERS" >/dev/null

	local n k running=$MAXOBS m
	for n in $OBS_DESC; do
		# Stop the observers beyond n (the leader drops them; the rest stay warm).
		for j in $(seq $((n + 1)) "$running"); do
			m=$(obs_member "$j")
			[ -n "${MPID[$m]:-}" ] && stop_server "${MPID[$m]}"
			MPID[m]=""
		done
		running=$n
		if ! line=$(wait_members "$t" "whole.$n" "$n" "$om"); then
			log "$t: not whole with $n observers: $line"; log_tails
			R[$t|fail]+="not whole with $n observers: $line; "
			continue
		fi
		LEADER=$(echo "$line" | getv leader)
		[ "$LEADER" != "${R[$t|leader]}" ] && R[$t|note]+="leader changed to member $LEADER before the $n-observer rows; "
		R[$t|$n|synced_obs]=$(echo "$line" | getv synced_observers)
		case " $parts " in *" reads "*) read_rows "$t" "$n" ;; esac
		case " $parts " in *" cpu "*) write_row "$t" "$n" ;; esac
	done
	case " $parts " in *" catchup "*) catchup_row "$t" "$kind" ;; esac
	case " $parts " in *" sessions "*) sessions_row "$t" "$kind" ;; esac

	stop_ensemble
	R[$t|ok]=1
	log "$t: done"
}

# Reads on observers 1..n: total, and per observer from the change in its zk_packets_received.
read_rows() {
	local t=$1 n=$2 k line j m key obs hosts
	obs=$(obs_list "$n")
	hosts=$(hosts_of $obs)
	for k in $READ_INFLIGHT; do
		key="r|$n|$k"
		log "$t: reads on $n observers, $((n * READ_SESSIONS)) sessions x $k in flight"
		local -a before=() after=()
		for m in $obs; do before+=("$(mntr_val "$m" zk_packets_received)"); done
		line=$(bench_on "$hosts" "$(shown_obs "$n")" "$t" "r.$n.$k" --op get --value-size 100 \
			--sessions $((n * READ_SESSIONS)) --inflight "$k" --duration "$DURATION" --warmup "$WARMUP" \
			--keys 1000 --prefix /bench --no-setup --workers "$WORKERS")
		for m in $obs; do after+=("$(mntr_val "$m" zk_packets_received)"); done
		R[$t|$key|ops]=$(echo "$line" | getv ops_s)
		R[$t|$key|p50]=$(echo "$line" | getv p50_us)
		R[$t|$key|p99]=$(echo "$line" | getv p99_us)
		R[$t|$key|bad]=$(echo "$line" | awk '{for(i=1;i<=NF;i++){split($i,a,"="); if((a[1]=="errors"||a[1]=="lost"||a[1]=="dropped"||a[1]=="timeouts")&&a[2]>0) printf "%s ", $i}}')
		[ -n "$line" ] || R[$t|$key|bad]="no result (see $results/$t.r.$n.$k.err)"
		# per observer: the run's ops/s split by each observer's share of the packets received
		local d="" ok=1
		for j in $(seq 0 $((n - 1))); do
			case "${before[$j]:-}${after[$j]:-}" in ''|*[!0-9]*) ok=0 ;; esac
			d+="$(( ${after[$j]:-0} - ${before[$j]:-0} )) "
		done
		R[$t|$key|per]=$(fcalc "printf \"%.1f\", ${R[$t|$key|ops]:-0} / $n")
		if [ $ok = 1 ] && [ -n "${R[$t|$key|ops]:-}" ]; then
			R[$t|$key|min]=$(echo "$d" | awk -v ops="${R[$t|$key|ops]}" '{s=0; for(i=1;i<=NF;i++) s+=$i; mn=-1; mx=0; for(i=1;i<=NF;i++){v=ops*$i/(s>0?s:1); if(mn<0||v<mn) mn=v; if(v>mx) mx=v} printf "%.0f %.0f", mn, mx}')
		fi
		R[$t|$key|pkts]=$d
	done
}

# median of the numbers on stdin, and "min-max" of them: "MEDIAN MIN-MAX" (1 decimal), or "- -"
med_rng() {
	grep -E '^[0-9.]+$' | sort -g | awk '{v[NR]=$1} END { if (NR == 0) { print "- -"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.1f %.1f-%.1f\n", m, v[1], v[NR] }'
}

# Writes at a fixed rate through the leader: CPU of every member over the measured window,
# and the lag probe alongside; BENCH_CPU_REPEAT times, medians reported.
write_row() {
	local t=$1 n=$2 line lag key i m pids obs members rep
	key="w|$n"
	obs=$(obs_list "$n")
	pids=${MPID[$LEADER]}
	for i in $(voter_list); do [ "$i" != "$LEADER" ] && pids+=",${MPID[$i]}"; done
	for m in $obs; do pids+=",${MPID[$m]}"; done
	members=$(hosts_of $(voter_list) $obs)
	local lag_s
	lag_s=$(fcalc "v = $CPU_DURATION - 1; if (v < 0.5) v = 0.5; print v")
	echo "zkbench --hosts LEADER --op set --value-size 100 --sessions $WRITE_SESSIONS --inflight $WRITE_INFLIGHT --rate $WRITE_RATE --duration $CPU_DURATION --warmup $WARMUP --keys 1000 --prefix /bench --no-setup --cpu-pids LEADER,FOLLOWERS,OBSERVERS" >>"$results/commands"
	echo "zkfailover --hosts $(shown_members "$n") --lag $lag_s --via LEADER --interval-ms $LAG_INTERVAL --path /zklag" >>"$results/commands"
	local -A L=() # per-repetition values, one per line
	local f
	for rep in $(seq 1 "$CPU_REPEAT"); do
		f="$t.w.$n.$rep"
		log "$t: writes at $WRITE_RATE/s through the leader (member $LEADER) with $n observers, lag probe alongside ($rep of $CPU_REPEAT)"
		timeout $((${CPU_DURATION%.*} + ${WARMUP%.*} + 300)) "$ZKBENCH" --hosts "$(addr "$LEADER")" --op set \
			--value-size 100 --sessions "$WRITE_SESSIONS" --inflight "$WRITE_INFLIGHT" --rate "$WRITE_RATE" \
			--duration "$CPU_DURATION" --warmup "$WARMUP" --keys 1000 --prefix /bench --no-setup \
			--workers 1 --cpu-pids "$pids" >"$results/$f.out" 2>"$results/$f.err" &
		local bpid=$!
		OURPIDS+=("$bpid")
		sleep "$WARMUP"
		timeout $((${CPU_DURATION%.*} + 120)) "$ZKFAILOVER" --hosts "$members" --lag "$lag_s" --via "$LEADER" \
			--interval-ms "$LAG_INTERVAL" --path /zklag >"$results/$f.lag.out" 2>"$results/$f.lag.err"
		wait "$bpid"
		forget_pid "$bpid"
		line=$(cat "$results/$f.out")
		lag=$(cat "$results/$f.lag.out")
		log "$t: $line"
		log "$t: $lag"
		R[$t|$key|bad]+=$(echo "$line" | awk '{for(i=1;i<=NF;i++){split($i,a,"="); if((a[1]=="errors"||a[1]=="lost"||a[1]=="dropped"||a[1]=="timeouts")&&a[2]>0) printf "%s ", $i}}')
		case $lag in "lag ok "*) ;; *) R[$t|$key|bad]+="lag probe: ${lag:-no output} " ;; esac
		local writes lw cpu all
		writes=$(echo "$line" | getv writes)
		lw=$(echo "$lag" | getv writes)
		cpu=$(echo "$line" | getv cpu_s)
		L[wps]+="$(echo "$line" | getv ops_s)"$'\n'
		L[wp99]+="$(echo "$line" | getv p99_us)"$'\n'
		if [ -n "$writes" ] && [ -n "$cpu" ]; then
			# cpu_s = leader, the two followers, observers 1..n; µs of CPU per write (the
			# probe's writes, sent during the window, count too)
			all=$(( writes + ${lw:-0} ))
			L[leader_us]+=$(echo "$cpu" | awk -F, -v w="$all" '{ if ($1 >= 0) printf "%.1f", $1 * 1e6 / w }')$'\n'
			L[fol_us]+=$(echo "$cpu" | awk -F, -v w="$all" '{ printf "%.1f", ($2 + $3) / 2 * 1e6 / w }')$'\n'
			L[obs_us]+=$(echo "$cpu" | awk -F, -v w="$all" '{ s = 0; for (i = 4; i <= NF; i++) s += $i; if (NF > 3) printf "%.1f", s / (NF - 3) * 1e6 / w }')$'\n'
			R[$t|$key|cpu]+="${R[$t|$key|cpu]:+; }$cpu / $all writes"
		fi
		for m in lag_p50_us lag_p99_us visible_p50_us visible_p99_us; do
			L[$m]+="$(echo "$lag" | getv $m)"$'\n'
		done
		R[$t|$key|lag_samples]=$(( ${R[$t|$key|lag_samples]:-0} + $(echo "$lag" | getv samples | grep . || echo 0) ))
		R[$t|$key|lag_before]=$(( ${R[$t|$key|lag_before]:-0} + $(echo "$lag" | getv before_ack | grep . || echo 0) ))
		R[$t|$key|lag_missed]=$(( ${R[$t|$key|lag_missed]:-0} + $(echo "$lag" | getv missed | grep . || echo 0) ))
	done
	local med rng k
	for m in wps wp99 leader_us fol_us obs_us; do
		read -r med rng <<<"$(printf '%s' "${L[$m]:-}" | med_rng)"
		[ "$med" = - ] && continue
		k="$t|$key|$m"
		R[$k]=$med
		[ "$m" = wp99 ] && R[$k]=${med%.0}
		R[${k}_rng]=$rng
	done
	for m in lag50:lag_p50_us lag99:lag_p99_us vis50:visible_p50_us vis99:visible_p99_us; do
		read -r med rng <<<"$(printf '%s' "${L[${m#*:}]:-}" | med_rng)"
		[ "$med" = - ] && continue
		k="$t|$key|${m%%:*}"
		R[$k]=${med%.0}
	done
}

# An observer stopped while CATCHUP_TXNS creates go through the leader, then started again.
catchup_row() {
	local t=$1 kind=$2 o line z0 z1 ts pop
	o=$(obs_member 1)
	log "$t: catch-up: stopping observer 1 (member $o), $CATCHUP_TXNS creates through the leader"
	stop_server "${MPID[$o]}"
	MPID[o]=""
	z0=$(zxid_of "$LEADER")
	pop=$(bench_on "$(addr "$LEADER")" LEADER "$t" catchup.populate --op populate --znodes "$CATCHUP_TXNS" \
		--prefix /catchup --value-size 100)
	z1=$(zxid_of "$LEADER")
	R[$t|cu_rate]=$(echo "$pop" | getv ops_s)
	if [ -z "$z0" ] || [ -z "$z1" ]; then
		R[$t|cu_fail]="no zxid from the leader's srvr"
		return
	fi
	R[$t|cu_txns]=$((z1 - z0))
	log "$t: leader at zxid $(printf '0x%x' "$z1") ($((z1 - z0)) txns); starting observer 1"
	ts=$(date +%s.%N)
	start_member "$kind" "$o"
	echo "zkfailover --hosts OBS1 --catchup LEADER_ZXID --since START_TIME --wait 300" >>"$results/commands"
	line=$(timeout 330 "$ZKFAILOVER" --hosts "$(addr "$o")" --catchup "$z1" --since "$ts" --wait 300 \
		2>"$results/$t.catchup.err")
	echo "$line" >"$results/$t.catchup.out"
	log "$t: $line"
	case $line in
	"catchup ok "*)
		R[$t|cu_ms]=$(echo "$line" | getv ms)
		R[$t|cu_serving_ms]=$(echo "$line" | getv serving_ms) ;;
	*) R[$t|cu_fail]="${line:-no output}" ;;
	esac
	# zkedge logs how it synced; Apache (no slf4j binding on this class path) logs nothing
	R[$t|cu_sync]=$(sed -n '/^=== start/h; /^=== start/!H; ${x;p}' "$(member_dir "$o")/server.log" 2>/dev/null |
		grep -o 'up to date with leader.*sync=[A-Z]*' | grep -o 'sync=[A-Z]*' | tail -1 | cut -d= -f2)
	[ -n "${R[$t|cu_sync]}" ] || R[$t|cu_sync]="-"
}

# Idle sessions on one observer: how many it holds, memory per session, whether they were local.
sessions_row() {
	local t=$1 kind=$2 o pid before with="" ready z0 z1="" line est
	ready="$results/$t.ready"
	o=$(obs_member 1)
	pid=${MPID[$o]}
	[ -n "$pid" ] || { R[$t|ss_fail]="observer 1 not running"; return; }
	log "$t: holding up to $HOLD_SESSIONS sessions on observer 1 (member $o) for $HOLD s"
	settle "$kind" "$pid"
	before=$(rss_kb "$pid")
	z0=$(zxid_of "$LEADER")
	rm -f "$ready"
	echo "zkbench --hosts OBS1 --op connect-only --sessions $HOLD_SESSIONS --duration $HOLD --handshake-timeout 5 --ready-file F" >>"$results/commands"
	timeout $((HOLD + 900)) "$ZKBENCH" --hosts "$(addr "$o")" --op connect-only --sessions "$HOLD_SESSIONS" \
		--duration "$HOLD" --handshake-timeout 5 --ready-file "$ready" \
		>"$results/$t.sessions.out" 2>"$results/$t.sessions.err" &
	local bpid=$! _
	OURPIDS+=("$bpid")
	for _ in $(seq 1 9000); do # up to 900 s for the connect phase
		[ -s "$ready" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -s "$ready" ]; then
		z1=$(zxid_of "$LEADER")
		R[$t|ss_local]=$(mntr_val "$o" zk_local_sessions)
		R[$t|ss_global]=$(mntr_val "$o" zk_global_sessions)
		settle "$kind" "$pid"
		with=$(rss_kb "$pid")
	fi
	wait "$bpid"
	forget_pid "$bpid"
	line=$(cat "$results/$t.sessions.out")
	log "$t: $line"
	est=$(echo "$line" | getv established)
	R[$t|ss_est]=$est
	R[$t|ss_alive]=$(echo "$line" | getv alive_at_end)
	R[$t|ss_detail]=$(echo "$line" | sed 's/.*alive_at_end=[^ ]* //')
	if [ -n "$with" ] && [ -n "$est" ] && [ "$est" -gt 0 ]; then
		R[$t|ss_bytes]=$(( (with - before) * 1024 / est ))
		R[$t|ss_rss]=$(fcalc "printf \"%.1f\", $with / 1024")
	fi
	if [ -n "$z0" ] && [ -n "$z1" ] && [ -n "$est" ] && [ "$est" -gt 0 ]; then
		R[$t|ss_txns]=$((z1 - z0))
	fi
	R[$t|ss_emfile]=$(grep -c -i -E 'too many open files|emfile' "$(member_dir "$o")/server.log" 2>/dev/null)
}

# ---- report ----
report() {
	local z=zkedge a=apache ao=apache-om zo=zkedge-om n k key t
	local have_zo=0
	case " $targets " in *" zkedge-om "*) have_zo=1 ;; esac
	echo "## Observers: zkedge vs Apache ZooKeeper, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Command: \`$cmdline\` (BENCH_OBSERVERS=\"$OBS_ASC\" BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_READ_SESSIONS=$READ_SESSIONS BENCH_READ_INFLIGHT=\"$READ_INFLIGHT\" BENCH_WRITE_RATE=$WRITE_RATE BENCH_CPU_DURATION=$CPU_DURATION BENCH_CPU_REPEAT=$CPU_REPEAT BENCH_CATCHUP_TXNS=$CATCHUP_TXNS BENCH_HOLD_SESSIONS=$HOLD_SESSIONS BENCH_LOCAL_SESSIONS=$LOCAL_SESSIONS)"
	echo
	echo "Machine: $(machine_desc); data dirs on ${R[zkedge|fs]:-${R[apache|fs]:-?}}; fd limit $FD_LIMIT (hard $(ulimit -Hn)); load average $LOAD_AT_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "zkedge: $(zkedge_desc). Apache: $(apache_desc), started as \`java -cp $APACHE_CP $APACHE_OPTS $APACHE_MAIN zoo.cfg\`."
	[ -n "${BENCH_ZKEDGE_CFG:-}" ] && echo "zkedge also: ${BENCH_ZKEDGE_CFG}."
	echo "All: $VOTERS voters + $MAXOBS observers, each with its own zoo.cfg and dataDir/myid: tickTime=$TICK, initLimit=$INIT_LIMIT, syncLimit=$SYNC_LIMIT, server.1-$VOTERS=HOST:QUORUMPORT:ELECTIONPORT, server.4-$MEMBERS=HOST:QUORUMPORT:ELECTIONPORT:observer, peerType=observer in observers' own, clientPortAddress=HOST, maxClientCnxns=0, 4lw.commands.whitelist=*$( [ "$LOCAL_SESSIONS" = 1 ] && echo ', localSessionsEnabled=true, localSessionsUpgradingEnabled=true'), forceSync default (yes); HOST 127.0.0.1. *-om: also observerMasterPort=PORT on every member, member N on 127.0.1.N. Start to whole: $(for t in $targets; do printf '%s %s s, ' "$t" "$(val "$t|start_s")"; done | sed 's/, $/./')"
	echo
	echo "### Reads on observers (get, 100 B; $READ_SESSIONS sessions per observer, sessions only on the observers; ops/s; ratio = zkedge/apache)"
	echo
	echo "| observers | in flight | zkedge total | apache total | ratio | zkedge per observer (min-max) | apache per observer (min-max) | ratio | zkedge p99 µs | apache p99 µs |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local notes=""
	for n in $OBS_ASC; do for k in $READ_INFLIGHT; do
		key="r|$n|$k"
		local zmm amm
		zmm=""; amm=""
		if [ "$n" -gt 1 ]; then
			zmm=$(echo "${R[$z|$key|min]:-}" | awk 'NF==2{printf " (%s-%s)", $1, $2}')
			amm=$(echo "${R[$a|$key|min]:-}" | awk 'NF==2{printf " (%s-%s)", $1, $2}')
		fi
		echo "| $n | $k | $(val "$z|$key|ops") | $(val "$a|$key|ops") | $(ratio "${R[$z|$key|ops]:-}" "${R[$a|$key|ops]:-}") | $(val "$z|$key|per")$zmm | $(val "$a|$key|per")$amm | $(ratio "${R[$z|$key|per]:-}" "${R[$a|$key|per]:-}") | $(val "$z|$key|p99") | $(val "$a|$key|p99") |"
		for t in $targets; do
			[ -n "${R[$t|$key|bad]:-}" ] && notes+="- $t reads, $n observers x $k in flight: ${R[$t|$key|bad]}"$'\n'
		done
	done; done
	echo
	echo "### Leader CPU per write as observers are added (setData at $WRITE_RATE/s through the leader; µs of leader CPU per write, median of $CPU_REPEAT runs of $CPU_DURATION s, (min-max))"
	echo
	if [ $have_zo = 1 ]; then
		echo "| observers | zkedge | apache | ratio | zkedge with observer masters | apache with observer masters | ratio |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
	else
		echo "| observers | zkedge | apache | ratio | apache with observer masters (zkedge-om not run) |"
		echo "|---:|---:|---:|---:|---:|"
	fi
	for n in $OBS_ASC; do
		key="w|$n"
		printf '| %s | %s | %s | %s |' "$n" "$(cpu_cell "$z|$key")" "$(cpu_cell "$a|$key")" \
			"$(ratio "${R[$z|$key|leader_us]:-}" "${R[$a|$key|leader_us]:-}")"
		[ $have_zo = 1 ] && printf ' %s |' "$(cpu_cell "$zo|$key")"
		printf ' %s |' "$(cpu_cell "$ao|$key")"
		[ $have_zo = 1 ] && printf ' %s |' "$(ratio "${R[$zo|$key|leader_us]:-}" "${R[$ao|$key|leader_us]:-}")"
		echo
	done
	local lo hi
	lo=$(echo "$OBS_ASC" | awk '{print $1}'); hi=$(echo "$OBS_ASC" | awk '{print $NF}')
	printf '| growth %s -> %s observers |' "$lo" "$hi"
	for t in $z $a; do printf ' %s |' "$(growth "${R[$t|w|$lo|leader_us]:-}" "${R[$t|w|$hi|leader_us]:-}")"; done
	printf ' |'
	[ $have_zo = 1 ] && printf ' %s |' "$(growth "${R[$zo|w|$lo|leader_us]:-}" "${R[$zo|w|$hi|leader_us]:-}")"
	printf ' %s |' "$(growth "${R[$ao|w|$lo|leader_us]:-}" "${R[$ao|w|$hi|leader_us]:-}")"
	[ $have_zo = 1 ] && printf ' |'
	echo
	echo
	echo "### Write path detail and observer lag (commit to visible on the observer)"
	echo
	echo "Lag: zkfailover --lag writes setData through the leader every $LAG_INTERVAL ms while the load above runs; each observer has a persistent watch on the node; lag = the watch notification's arrival minus the write reply's (committed and applied on the leader), 0 when the observer was first; send->visible from the write's send. µs."
	echo
	[ "$CPU_REPEAT" -gt 1 ] && echo "Each figure is the median of the $CPU_REPEAT runs (samples and observer-first counts are their sums)." && echo
	echo "| target | observers | set/s | write p99 µs | leader µs/write | follower µs/write (mean) | observer µs/write (mean) | lag p50 | lag p99 | send->visible p50 | send->visible p99 | samples | observer first |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for t in $targets; do for n in $OBS_ASC; do
		key="w|$n"
		[ -n "${R[$t|$key|wps]:-}${R[$t|$key|lag50]:-}" ] || continue
		echo "| $t | $n | $(val "$t|$key|wps") | $(val "$t|$key|wp99") | $(val "$t|$key|leader_us") | $(val "$t|$key|fol_us") | $(val "$t|$key|obs_us") | $(val "$t|$key|lag50") | $(val "$t|$key|lag99") | $(val "$t|$key|vis50") | $(val "$t|$key|vis99") | $(val "$t|$key|lag_samples") | $(val "$t|$key|lag_before") |"
		[ -n "${R[$t|$key|bad]:-}" ] && notes+="- $t writes, $n observers: ${R[$t|$key|bad]}"$'\n'
		[ -n "${R[$t|$key|lag_missed]:-}" ] && [ "${R[$t|$key|lag_missed]}" != 0 ] && notes+="- $t lag, $n observers: ${R[$t|$key|lag_missed]} notifications missing after 5 s"$'\n'
	done; done
	echo
	echo "### Catch-up: an observer stopped while $CATCHUP_TXNS creates (100 B) went through the leader, then started"
	echo
	echo "| metric | zkedge | apache | ratio |"
	echo "|---|---:|---:|---:|"
	row() { echo "| $1 | $2 | $3 | $(ratio "$2" "$3") |"; }
	row "txns the observer missed (leader zxid difference)" "$(val "$z|cu_txns")" "$(val "$a|cu_txns")"
	row "populate rate through the leader (creates/s)" "$(val "$z|cu_rate")" "$(val "$a|cu_rate")"
	row "process start to serving (ms)" "$(val "$z|cu_serving_ms")" "$(val "$a|cu_serving_ms")"
	row "process start to caught up: srvr Zxid = leader's (ms)" "$(val "$z|cu_ms")" "$(val "$a|cu_ms")"
	local async="${R[$a|cu_sync]:--}"
	[ "$async" = - ] && async="(not logged)"
	echo "| sync the observer got | $(val "$z|cu_sync") | $async | |"
	echo
	echo "### Sessions on one observer (connect-only, $HOLD_SESSIONS attempted, held $HOLD s)"
	echo
	echo "| metric | zkedge | apache | ratio |"
	echo "|---|---:|---:|---:|"
	row "sessions established" "$(val "$z|ss_est")" "$(val "$a|ss_est")"
	row "still alive after $HOLD s" "$(val "$z|ss_alive")" "$(val "$a|ss_alive")"
	row "memory per session (bytes of RSS)" "$(val "$z|ss_bytes")" "$(val "$a|ss_bytes")"
	row "observer RSS while holding them (MiB)" "$(val "$z|ss_rss")" "$(val "$a|ss_rss")"
	row "txns at the leader while they connected (global sessions: one each)" "$(val "$z|ss_txns")" "$(val "$a|ss_txns")"
	local zl al
	zl="$(val "$z|ss_local") / $(val "$z|ss_global")"; al="$(val "$a|ss_local") / $(val "$a|ss_global")"
	[ "$zl" = "- / -" ] && [ -n "${R[$z|ss_est]:-}" ] && zl="(no answer: no fd left)"
	[ "$al" = "- / -" ] && [ -n "${R[$a|ss_est]:-}" ] && al="(no answer: no fd left)"
	echo "| observer mntr zk_local_sessions / zk_global_sessions while holding | $zl | $al | |"
	echo
	echo "Session failures: zkedge: $(val "$z|ss_detail"); apache: $(val "$a|ss_detail"). 'Too many open files' lines in the observer's log: zkedge $(val "$z|ss_emfile") (Apache logs nothing here). One process cannot hold more connections than its fd limit ($FD_LIMIT here)."
	echo
	for t in $targets; do
		[ -n "${R[$t|fail]:-}" ] && notes+="- $t failed: ${R[$t|fail]}"$'\n'
		[ -n "${R[$t|cu_fail]:-}" ] && notes+="- $t catch-up: ${R[$t|cu_fail]}"$'\n'
		[ -n "${R[$t|ss_fail]:-}" ] && notes+="- $t sessions: ${R[$t|ss_fail]}"$'\n'
		[ -n "${R[$t|note]:-}" ] && notes+="- $t: ${R[$t|note]}"$'\n'
	done
	[ -n "$notes" ] && { echo "Problems:"; echo; printf '%s' "$notes"; echo; }
	echo "Observers attached to the leader (its mntr zk_synced_observers) at each count: $(for t in $targets; do printf '%s:' "$t"; for n in $OBS_ASC; do printf ' %s=%s' "$n" "$(val "$t|$n|synced_obs")"; done; printf '; '; done | sed 's/; $/./')"
	echo
	echo "Notes:"
	echo "- All members start at once, warm up together ($SERVER_WARMUP s of mixed load over every member), and the observer counts are measured from the largest down: the observers beyond N are stopped (SIGTERM) before the N rows, so every observer measured is warm."
	echo "- Reads: zkbench get with $READ_SESSIONS sessions per observer, round-robin over the N observers only (the voters serve no reads); per observer = total / N, with the least and most loaded observer from each one's zk_packets_received over the run."
	echo "- CPU: utime+stime (+cutime+cstime: zkedge's forked snapshot writers once reaped) from /proc/PID/stat at the start and end of zkbench's measured window ($CPU_DURATION s, after $WARMUP s of the same load), divided by the writes acknowledged in it (zkbench's plus the lag probe's); $CPU_REPEAT such runs per observer count, median reported. Clock ticks are 10 ms."
	echo "- The load generator, the lag probe and all members share the machine's cores; figures are noisy: read ratios, not digits."
	echo
	echo "<details><summary>commands (OBSn = observer n's client address, V1-V3 the voters', LEADER the leader's)</summary>"
	echo
	awk '!seen[$0]++ {print "    " $0}' "$results/commands" 2>/dev/null
	echo
	echo "</details>"
	echo
	echo "Raw output: $results"
}

cpu_cell() { # target|w|n -> "median (min-max)" of the leader's µs per write
	local v=${R[$1|leader_us]:-} r=${R[$1|leader_us_rng]:-}
	[ -n "$v" ] || { echo -; return; }
	if [ "$CPU_REPEAT" -gt 1 ] && [ -n "$r" ]; then echo "$v ($r)"; else echo "$v"; fi
}

growth() { # a b -> +x% from a to b, or -
	awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0) printf "%+.0f%%", (b - a) * 100 / a; else printf "-" }'
}

for t in $targets; do
	kind_available "${t%-om}" "$t" || continue
	run_target "$t" || log "$t: failed, see $results"
done

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi

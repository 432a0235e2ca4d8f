# Shell functions shared by bench/run_quorum.sh and bench/run_observers.sh: building the tools,
# ports, starting and stopping ensemble members (zkedge or Apache ZooKeeper 3.8) and waiting
# until they are whole, running zkbench, and small report helpers. Sourced, not run.
#
# The sourcing script sets before calling ens_build / ens_setup:
#   LOG_NAME    name in log lines (run_quorum.sh, ...)
#   root build  repository root and build directory
#   MEMBERS     members in the ensemble (1..MEMBERS); TICK, INIT_LIMIT, SYNC_LIMIT
#   WHOLE_WAIT  seconds to wait for an ensemble to be whole
#   DURATION WARMUP  (bench_on's time bound)
# and per member i (set by the caller before write_member):
#   CPORT[i] QPORT[i] EPORT[i]   client, quorum and election ports
#   MHOST[i]    address the member binds and is known by (default 127.0.0.1)
#   MOBS[i]     1 = observer (peerType=observer, ":observer" on its server line)
#   ENS_EXTRA_CFG  zoo.cfg lines for every member of both kinds (one per word)
#   BENCH_ZKEDGE_CFG  zoo.cfg lines for zkedge members only
# Only 127.0.0.0/8 is used; only the PIDs started here (OURPIDS) are ever signalled.
# shellcheck shell=bash

ZKEDGE=$build/zkedge-server
ZKBENCH=$build/bench/zkbench
ZKFAILOVER=$build/bench/zkfailover
APACHE_CP="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
APACHE_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
APACHE_OPTS="-Dzookeeper.admin.enableServer=false -Dzookeeper.maxCnxns=0"

log() { echo "[$LOG_NAME $(date +%H:%M:%S)] $*" >&2; }

# ---- build: the load tools are required, the server only when zkedge is a target ----
# ens_build NOBUILD TARGETS: sets build_note; exits when the load tools are missing.
build_note=""
ens_build() {
	local nobuild=$1 targets=$2 b
	if [ "$nobuild" = 0 ]; then
		log "building zkbench and zkfailover in $build"
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZKEDGE_SANITIZE=OFF >/dev/null &&
			cmake --build "$build" -j"$(nproc)" --target zkbench zkfailover >/dev/null ||
			log "build of zkbench/zkfailover failed; using what is in $build"
		case " $targets " in *" zkedge"*)
			log "building zkedge-server in $build"
			if ! cmake --build "$build" -j"$(nproc)" --target zkedge-server >/dev/null; then
				build_note=" (build of the current tree failed: binary from an earlier build)"
				log "build of zkedge-server failed; using the existing binary in $build if any"
			fi ;;
		esac
	else
		build_note=" (--no-build: binaries as found in ${build#"$root"/})"
	fi
	for b in "$ZKBENCH" "$ZKFAILOVER"; do
		[ -x "$b" ] || { echo "$LOG_NAME: no $b" >&2; exit 1; }
	done
}

# ---- bookkeeping: results, our pids, cleanup ----
declare -A R          # R[target|key] = value
declare -a OURPIDS=() # every process we started and may signal
datadirs=()
results=""

cleanup() {
	local p d
	for p in "${OURPIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		for d in "${datadirs[@]}"; do rm -rf "$d"; done
	fi
}

# ens_setup PREFIX: the results folder (PREFIX-results.XXXXXX), traps, fd limit, load average.
ens_setup() {
	results=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/$1-results.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	FD_LIMIT=$(ulimit -n)
	LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
}

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

# ---- one ensemble: members 1..MEMBERS, their ports and pids ----
declare -a CPORT QPORT EPORT MPID MHOST MOBS
HOSTS=""
ENS_DIR=""

member_dir() { echo "$ENS_DIR/m$1"; }

write_member() { # kind i
	local kind=$1 i=$2 d j
	d=$(member_dir "$i")
	mkdir -p "$d/data"
	echo "$i" >"$d/data/myid"
	{
		echo "tickTime=$TICK"
		echo "initLimit=$INIT_LIMIT"
		echo "syncLimit=$SYNC_LIMIT"
		echo "dataDir=$d/data"
		echo "clientPort=${CPORT[$i]}"
		echo "clientPortAddress=${MHOST[$i]:-127.0.0.1}"
		echo "maxClientCnxns=0"
		echo "4lw.commands.whitelist=*"
		[ "${MOBS[$i]:-0}" = 1 ] && echo "peerType=observer"
		for j in $(seq 1 "$MEMBERS"); do
			echo "server.$j=${MHOST[$j]:-127.0.0.1}:${QPORT[$j]}:${EPORT[$j]}$([ "${MOBS[$j]:-0}" = 1 ] && echo ":observer")"
		done
		if [ -n "${ENS_EXTRA_CFG:-}" ]; then
			# shellcheck disable=SC2086 # one line per word
			printf '%s\n' $ENS_EXTRA_CFG
		fi
		# Extra zoo.cfg lines for zkedge only, e.g. BENCH_ZKEDGE_CFG="zkedge.ioThreads=1".
		if [ "$kind" = zkedge ] && [ -n "${BENCH_ZKEDGE_CFG:-}" ]; then
			# shellcheck disable=SC2086 # one line per word, as run.sh
			printf '%s\n' $BENCH_ZKEDGE_CFG
		fi
	} >"$d/zoo.cfg"
}

# Starts member i. The server runs under a small subshell that waits for it, so that its death
# by kill -9 is reaped there and bash prints no "Killed" notice; MPID[i] is the server's own
# pid (written to the member's pid file by that subshell).
start_member() { # kind i
	local kind=$1 i=$2 d _
	d=$(member_dir "$i")
	echo "=== start $(date +%H:%M:%S.%N)" >>"$d/server.log"
	rm -f "$d/pid"
	if [ "$kind" = zkedge ]; then
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

pids_csv() { local i s=""; for i in $(seq 1 "$MEMBERS"); do s+="${s:+,}${MPID[$i]}"; done; echo "$s"; }

# wait_whole_on HOSTS target name [zkfailover args...]: prints zkfailover's line, returns its
# status.
wait_whole_on() {
	local hosts=$1 t=$2 n=$3
	shift 3
	timeout $((WHOLE_WAIT + 30)) "$ZKFAILOVER" --hosts "$hosts" --wait-whole "$WHOLE_WAIT" "$@" \
		>"$results/$t.$n.out" 2>&1
	local rc=$?
	cat "$results/$t.$n.out"
	return $rc
}

wait_whole() { # target name -> over all of HOSTS
	wait_whole_on "$HOSTS" "$1" "$2"
}

log_tails() {
	local i f
	for i in $(seq 1 "$MEMBERS"); do
		f="$(member_dir "$i")/server.log"
		[ -f "$f" ] || continue
		log "member $i log tail:"; tail -5 "$f" >&2
	done
}

# bench_on HOSTS SHOWN target logname args...: zkbench on HOSTS, its command line recorded with
# SHOWN in place of the hosts; prints zkbench's result line.
bench_on() {
	local hosts=$1 shown=$2 target=$3 name=$4
	shift 4
	echo "zkbench --hosts $shown $*" >>"$results/commands"
	timeout $((${DURATION%.*} + ${WARMUP%.*} + 300)) "$ZKBENCH" --hosts "$hosts" "$@" \
		>"$results/$target.$name.out" 2>"$results/$target.$name.err"
	local rc=$?
	cat "$results/$target.$name.out"
	return $rc
}

stop_ensemble() {
	local i
	for i in $(seq 1 "$MEMBERS"); do
		[ -n "${MPID[$i]:-}" ] && stop_server "${MPID[$i]}"
		MPID[i]=""
	done
}

# Is this kind of server available here? Records R[target|fail] when not.
kind_available() { # kind target
	case $1 in
	zkedge) [ -x "$ZKEDGE" ] || { log "no $ZKEDGE"; R[$2|fail]="no $ZKEDGE"; return 1; } ;;
	apache) [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null ||
		{ log "no Apache ZooKeeper (Debian package zookeeper)"; R[$2|fail]="not installed"; return 1; } ;;
	*) log "unknown target $2"; return 1 ;;
	esac
}

# ---- report helpers ----
median_min_max() { # numbers on stdin -> "median min max" (or "- - -")
	sort -g | awk '{v[NR]=$1} END { if (NR == 0) { print "- - -"; exit }
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

ratio() { # a b -> a/b with 2 decimals, or -
	awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a/b; else printf "-" }'
}
val() { local v=${R[$1]:-}; echo "${v:--}"; }

machine_desc() { # the machine, for the report
	echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
}
apache_desc() {
	echo "$(basename "$(readlink -f /usr/share/java/zookeeper.jar)"), $(java -version 2>&1 | head -1), default max heap $(java -XX:+PrintFlagsFinal -version 2>/dev/null | awk '/ MaxHeapSize /{printf "%.0f MiB", $4/1048576}') per member"
}
zkedge_desc() {
	echo "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+local changes)')$build_note"
}

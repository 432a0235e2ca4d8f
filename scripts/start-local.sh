#!/usr/bin/env bash
# Installs what is missing, builds, and starts a local zkedge deployment on loopback with its
# data under ./local/: a quorum of three voting members (client ports 2181-2183, quorum ports
# 2888-2890, election ports 3888-3890). Observers and the proxy join this script as they land.
# Stop it with: scripts/start-local.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
local_dir="$root/local"
members="1 2 3"
base_client=${ZKEDGE_PORT:-2181}

stop() {
  for i in $members; do
    pidf="$local_dir/member$i/zkedge-server.pid"
    [ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
  done
}
if [ "${1:-}" = "stop" ]; then stop; echo "stopped"; exit 0; fi

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
servers=""
for i in $members; do
  servers+="server.$i=127.0.0.1:$((2887 + i)):$((3887 + i))"$'\n'
done
connect=""
for i in $members; do
  dir="$local_dir/member$i"
  port=$((base_client + i - 1))
  connect+="${connect:+,}127.0.0.1:$port"
  mkdir -p "$dir/data"
  [ -f "$dir/data/myid" ] || echo "$i" > "$dir/data/myid"
  if [ -f "$dir/zkedge-server.pid" ] && kill -0 "$(cat "$dir/zkedge-server.pid")" 2>/dev/null; then
    echo "member $i already running (pid $(cat "$dir/zkedge-server.pid"))"
    continue
  fi
  cat > "$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=60
4lw.commands.whitelist=*
$servers
CFG
  nohup "$root/build/zkedge-server" "$dir/zoo.cfg" > "$dir/zkedge-server.log" 2>&1 &
  echo $! > "$dir/zkedge-server.pid"
done
# Serving = a leader is elected and this member is in sync with it (srvr answers with a Mode).
for i in $members; do
  port=$((base_client + i - 1))
  for _ in $(seq 1 150); do
    echo srvr | nc -q1 127.0.0.1 "$port" 2>/dev/null | grep -q '^Mode: \(leader\|follower\)' && break
    sleep 0.2
  done
  mode=$(echo srvr | nc -q1 127.0.0.1 "$port" 2>/dev/null | sed -n 's/^Mode: //p')
  [ -n "$mode" ] || { echo "member $i did not start serving:"; tail "$local_dir/member$i/zkedge-server.log"; exit 1; }
  echo "member $i on 127.0.0.1:$port: $mode"
done
echo "zkedge quorum is serving: connect string $connect (logs: local/member*/zkedge-server.log)"
echo "try: /usr/bin/python3 -c \"from kazoo.client import KazooClient; z=KazooClient('$connect'); z.start(); z.ensure_path('/hello'); print(z.get_children('/')); z.stop()\""

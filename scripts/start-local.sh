#!/usr/bin/env bash
# Installs what is missing, builds, and starts a local zkedge deployment on loopback with its
# data under ./local/. For now that is one standalone server; quorum, observers and the proxy
# join this script as they land. Stop it with: kill $(cat local/zkedge-server.pid)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
port=${ZKEDGE_PORT:-2181}
local_dir="$root/local"
mkdir -p "$local_dir/data"
if [ -f "$local_dir/zkedge-server.pid" ] && kill -0 "$(cat "$local_dir/zkedge-server.pid")" 2>/dev/null; then
  echo "already running (pid $(cat "$local_dir/zkedge-server.pid"))"
else
  cat > "$local_dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$local_dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=60
4lw.commands.whitelist=*
CFG
  nohup "$root/build/zkedge-server" "$local_dir/zoo.cfg" > "$local_dir/zkedge-server.log" 2>&1 &
  echo $! > "$local_dir/zkedge-server.pid"
  for _ in $(seq 1 50); do
    [ "$(echo ruok | nc -q1 127.0.0.1 "$port" 2>/dev/null)" = "imok" ] && break
    sleep 0.1
  done
  [ "$(echo ruok | nc -q1 127.0.0.1 "$port" 2>/dev/null)" = "imok" ] || { echo "zkedge-server did not start:"; tail "$local_dir/zkedge-server.log"; exit 1; }
fi
echo "zkedge-server is serving: connect string 127.0.0.1:$port (log: local/zkedge-server.log)"
echo "try: /usr/bin/python3 -c \"from kazoo.client import KazooClient; z=KazooClient('127.0.0.1:$port'); z.start(); z.ensure_path('/hello'); print(z.get_children('/')); z.stop()\""

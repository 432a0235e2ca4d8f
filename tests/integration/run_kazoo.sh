#!/bin/sh
# Runs the kazoo integration tests. Target: ZK_TARGET=zkedge (default, build/zkedge-server or
# $ZKEDGE_SERVER) or ZK_TARGET=apache (the Debian zookeeper package). Extra args go to pytest.
#   tests/integration/run_kazoo.sh                 # against zkedge
#   ZK_TARGET=apache tests/integration/run_kazoo.sh -x -k "kazoo and watches"   # a -k of yours replaces -k kazoo
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$here" -k kazoo "$@"

"""Sessions survive a server restart, as in ZooKeeper: the session table is in the snapshot and
the log, so a client that reconnects within its timeout keeps its session and its ephemerals;
one that does not come back is expired after its timeout and its ephemerals go."""
import struct
import threading
import time

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

from zkraw import OPEN_ACL, Raw, ustring


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def test_session_and_ephemerals_survive_restart(fresh_server):
    zk = KazooClient(hosts=fresh_server.hosts, timeout=4.0,
                     connection_retry=dict(max_tries=-1, delay=0.1, max_delay=0.5))
    lost = threading.Event()
    zk.add_listener(lambda st: lost.set() if st == KazooState.LOST else None)
    zk.start(timeout=15)
    sid = zk.client_id[0]
    zk.create("/eph-survives", b"x", ephemeral=True)
    fresh_server.kill()
    fresh_server.start()
    wait_for(lambda: zk.connected, 15, "the client to reconnect")
    assert zk.client_id[0] == sid
    assert not lost.is_set()
    assert zk.exists("/eph-survives").ephemeralOwner == sid
    zk.stop()
    zk.close()


def test_abandoned_session_expires_after_restart(fresh_server):
    raw = Raw(fresh_server.port)
    raw.handshake(timeout_ms=1000)
    raw.request(1, 1, ustring("/eph-abandoned") + ustring(b"x") + OPEN_ACL + struct.pack(">i", 1))
    assert raw.reply()[2] == 0
    raw.close()  # the client vanishes without closing its session
    fresh_server.kill()
    fresh_server.start()
    other = KazooClient(hosts=fresh_server.hosts)
    other.start(timeout=15)
    assert other.exists("/eph-abandoned") is not None  # restored with its session...
    wait_for(lambda: other.exists("/eph-abandoned") is None, 20, "the abandoned session to expire")
    other.stop()
    other.close()

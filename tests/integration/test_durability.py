"""Crash safety of the transaction log: kill -9 under a concurrent write load, twenty times.
Every acknowledged write must be there after the restart, and nothing unacknowledged may
appear twice. (Against Apache ZooKeeper too when ZK_TARGET=apache: the same guarantee.)"""
import random
import threading
import time

import pytest
from kazoo.client import KazooClient

from conftest import ZkServer

WRITERS = 4
ROUNDS = 20


def writer(hosts, wid, round_no, stop, acked, lock):
    zk = KazooClient(hosts=hosts, timeout=4.0, connection_retry=dict(max_tries=0))
    try:
        zk.start(timeout=10)
    except Exception:  # noqa: BLE001 - the server may already be gone
        return
    n = 0
    try:
        while not stop.is_set() and n < 100000:
            pending = []
            for _ in range(16):  # pipelined: 16 creates in flight
                uid = "%d-%d-%d" % (round_no, wid, n)
                n += 1
                pending.append((uid, zk.create_async("/dur/seq/n-", uid.encode(), sequence=True)))
            for uid, res in pending:
                try:
                    path = res.get(timeout=5)
                except Exception:  # noqa: BLE001 - unacknowledged: may or may not be there
                    stop.set()
                    continue
                with lock:
                    acked[uid] = path
    finally:
        try:
            zk.stop()
            zk.close()
        except Exception:  # noqa: BLE001
            pass


def test_kill9_under_load_keeps_every_acknowledged_write():
    srv = ZkServer()
    try:
        srv.start()
        zk = KazooClient(hosts=srv.hosts)
        zk.start(timeout=10)
        zk.ensure_path("/dur/seq")
        zk.stop()
        zk.close()
        acked, lock = {}, threading.Lock()
        rng = random.Random(1234)
        for round_no in range(ROUNDS):
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(srv.hosts, w, round_no, stop, acked, lock))
                       for w in range(WRITERS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 0.8))
            srv.kill()
            stop.set()
            for t in threads:
                t.join(timeout=30)
                assert not t.is_alive(), "writer thread hung"
            srv.start()
        zk = KazooClient(hosts=srv.hosts)
        zk.start(timeout=10)
        children = zk.get_children("/dur/seq")
        values = {}
        for c in children:
            v = zk.get("/dur/seq/" + c)[0].decode()
            values.setdefault(v, []).append(c)
        zk.stop()
        zk.close()
        assert len(acked) > ROUNDS * 10, "the load generated too few writes to mean anything"
        missing = [u for u in acked if u not in values]
        assert not missing, "%d acknowledged writes lost, e.g. %s" % (len(missing), missing[:5])
        for uid, path in acked.items():
            assert "/dur/seq/" + values[uid][0] == path, "acknowledged write %s at the wrong path" % uid
        dups = {v: cs for v, cs in values.items() if len(cs) > 1}
        assert not dups, "writes applied twice: %s" % list(dups.items())[:5]
    finally:
        srv.cleanup()

"""The data directory is ZooKeeper's own: Apache ZooKeeper 3.8 started on zkedge's data dir serves
the same tree, zkedge started on Apache ZooKeeper's data dir serves the same tree, and Apache's
TxnLogToolkit and SnapshotFormatter read zkedge's files. These tests always run both servers."""
import glob
import os
import subprocess

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

from conftest import JAVA, ZkServer, apache_classpath

STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion", "ephemeralOwner",
               "dataLength", "numChildren", "pzxid")


def populate(hosts):
    zk = KazooClient(hosts=hosts)
    zk.start(timeout=15)
    zk.add_auth("digest", "bob:pw")
    zk.create("/app", b"root-data")
    zk.create("/app/cfg", b"x" * 5000)
    zk.create("/app/null")  # kazoo sends empty data
    seqs = [zk.create("/app/seq-", b"s%d" % i, sequence=True) for i in range(5)]
    zk.delete(seqs[1])
    zk.create("/app/secret", b"s", acl=[make_digest_acl("bob", "pw", all=True)])
    zk.set("/app/cfg", b"y" * 10)
    zk.set("/app/cfg", b"z" * 20)
    t = zk.transaction()
    t.create("/app/m1", b"1")
    t.create("/app/m2", b"2")
    t.commit()
    bad = zk.transaction()
    bad.create("/app/m3", b"3")
    bad.delete("/app/missing")
    bad.commit()
    keeper = KazooClient(hosts=hosts, timeout=30)
    keeper.start(timeout=15)
    keeper.create("/app/eph", b"e", ephemeral=True)
    return zk, keeper


def dump(hosts):
    """Every node under / (except /zookeeper) with data, stat and ACL, read as the super user."""
    zk = KazooClient(hosts=hosts)
    zk.start(timeout=30)
    zk.add_auth("digest", "bob:pw")
    out = {}
    todo = ["/"]
    while todo:
        p = todo.pop()
        data, st = zk.get(p)
        acl, _ = zk.get_acls(p)
        out[p] = (data, tuple(getattr(st, f) for f in STAT_FIELDS),
                  sorted((a.perms, a.id.scheme, a.id.id) for a in acl))
        for c in zk.get_children(p):
            full = (p.rstrip("/") + "/" + c)
            if not full.startswith("/zookeeper"):
                todo.append(full)
    zk.stop()
    zk.close()
    return out


def stop_clients(*clients):
    for c in clients:
        c.stop()
        c.close()


def other_server(target, datadir):
    srv = ZkServer(target=target)
    srv.datadir = datadir
    return srv


def test_apache_serves_zkedge_data_dir():
    ours = ZkServer(target="zkedge")
    theirs = None
    try:
        ours.start()
        zk, keeper = populate(ours.hosts)
        before = dump(ours.hosts)
        # Stop with the ephemeral's session still open: it must survive as in ZooKeeper.
        ours.kill()
        stop_clients(zk)
        theirs = other_server("apache", ours.datadir)
        theirs.start()
        after = dump(theirs.hosts)
        assert after == before
    finally:
        if theirs:
            theirs.cleanup()
        ours.cleanup()


def test_zkedge_serves_apache_data_dir():
    theirs = ZkServer(target="apache")
    ours = None
    try:
        theirs.start()
        zk, keeper = populate(theirs.hosts)
        before = dump(theirs.hosts)
        theirs.kill()
        stop_clients(zk)
        ours = other_server("zkedge", theirs.datadir)
        ours.start()
        after = dump(ours.hosts)
        assert after == before
        # And zkedge keeps writing to it: a restart sees the new node too.
        zk = KazooClient(hosts=ours.hosts)
        zk.start(timeout=15)
        zk.create("/app/after-switch", b"ok")
        zk.stop()
        zk.close()
        ours.restart()
        zk = KazooClient(hosts=ours.hosts)
        zk.start(timeout=15)
        assert zk.get("/app/after-switch")[0] == b"ok"
        zk.stop()
        zk.close()
    finally:
        if ours:
            ours.cleanup()
        theirs.cleanup()


def run_java(main, *args):
    return subprocess.run([JAVA, "-cp", apache_classpath(), main, *args], capture_output=True, text=True,
                          timeout=120)


def test_apache_toolkits_read_zkedge_files():
    ours = ZkServer(target="zkedge")
    try:
        ours.start()
        zk, keeper = populate(ours.hosts)
        stop_clients(zk, keeper)
        ours.restart()  # the start-up snapshot covers everything replayed from the log
        ours.stop()
        vdir = os.path.join(ours.datadir, "version-2")
        logs = sorted(glob.glob(os.path.join(vdir, "log.*")))
        snaps = sorted(glob.glob(os.path.join(vdir, "snapshot.*")))
        assert logs and snaps
        txns = 0
        for log in logs:
            r = run_java("org.apache.zookeeper.server.persistence.TxnLogToolkit", log)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "CRC" not in r.stdout + r.stderr
            assert "EOF reached after" in r.stdout
            txns += int(r.stdout.split("EOF reached after")[1].split()[0])
        # createSession x2, 10 creates/deletes/sets, 2 multis, 1 ephemeral, 2 closeSessions at least
        assert txns >= 15
        newest = max(snaps, key=lambda p: int(p.rsplit(".", 1)[1], 16))
        r = run_java("org.apache.zookeeper.server.SnapshotFormatter", newest)
        assert r.returncode == 0, r.stdout + r.stderr
        for path in ("/app/cfg", "/app/secret", "/app/m1", "/app/seq-0000000006"):
            assert path in r.stdout
    finally:
        ours.cleanup()

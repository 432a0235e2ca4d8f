"""The voting quorum as processes on loopback, talked to by kazoo clients: 3 and 5 voters and a
quorum of one. Every member is of ZK_TARGET's kind (zkedge, or Apache ZooKeeper 3.8 with
ZK_TARGET=apache, so every expectation is checked on the real thing); the harness is in
ensemble.py. Every wait is bounded in count and time; no assertion is about how fast anything
happens, only that it happens within a generous bound."""
import collections
import threading
import uuid

import pytest
from kazoo.exceptions import (ConnectionClosedError, ConnectionLoss, OperationTimeoutError,
                              SessionExpiredError)

from conftest import Collector, close_client, new_client, wait_until
from ensemble import (Ensemble, assert_same_tree, bounded_sync, learner_sync_modes, make_ensemble,  # noqa: F401
                      read_children_data, write_batch, write_until_ok)

# errors a write may end with while the ensemble has no leader
LOST = (ConnectionLoss, OperationTimeoutError, SessionExpiredError, ConnectionClosedError)


def unique(prefix):
    return "/q-%s-%s" % (prefix, uuid.uuid4().hex[:8])


def check_sync_mode(member, log_text, expected):
    """Apache always logs its sync mode: it must be the expected one. zkedge is held to it when
    its log names one (lines with sync=DIFF / sync=SNAP / sync=TRUNC)."""
    modes = learner_sync_modes(member, log_text)
    if member.kind == "apache" or modes:
        assert expected in modes, "member %d (%s) synced by %s, expected %s" % (
            member.sid, member.kind, sorted(modes) or "(no sync line in its log)", expected)
    return modes


# ---------------------------------------------------------------------------------------------
# 3 voters, nothing failing: one ensemble for the module

@pytest.fixture(scope="module")
def ens3():
    e = Ensemble(3)
    try:
        e.start()
        yield e
    finally:
        e.cleanup()


@pytest.fixture
def per_member(ens3):
    """One started client per member (client i on member i+1 only), closed after the test."""
    ens3.wait_for_leader()
    cs = [ens3.client(m) for m in ens3]
    yield cs
    for c in cs:
        ens3.close_client(c)


def test_three_voters_elect_one_leader(ens3):
    leader = ens3.wait_for_leader()
    modes = ens3.modes()
    assert sorted(modes.values()) == ["follower", "follower", "leader"], modes
    assert modes[leader.sid] == "leader"


def test_writes_through_every_member_are_read_on_every_member(ens3, per_member):
    base = unique("rw")
    per_member[0].create(base, b"root")
    for i, c in enumerate(per_member):
        c.create("%s/from-%d" % (base, i + 1), ("v%d" % (i + 1)).encode())
        for j in range(5):
            c.create("%s/from-%d/c%d" % (base, i + 1, j), b"x")
    # each member changes and deletes what another one created
    for i, c in enumerate(per_member):
        other = (i + 1) % len(per_member) + 1
        c.set("%s/from-%d" % (base, other), ("set-by-%d" % (i + 1)).encode())
        c.delete("%s/from-%d/c0" % (base, other))
    for i, c in enumerate(per_member):
        bounded_sync(c, base)
        assert sorted(c.get_children(base)) == ["from-1", "from-2", "from-3"], "member %d" % (i + 1)
        for k in range(1, 4):
            setter = (k - 2) % 3 + 1  # member k's node was set by member k-1
            data, st = c.get("%s/from-%d" % (base, k))
            assert data == ("set-by-%d" % setter).encode(), "member %d reads %r for from-%d" % (i + 1, data, k)
            assert st.version == 1
            assert sorted(c.get_children("%s/from-%d" % (base, k))) == ["c1", "c2", "c3", "c4"]
    assert_same_tree(ens3, base)


def test_sequential_nodes_are_unique_across_members(ens3, per_member):
    base = unique("seq")
    per_member[0].create(base)
    per = 30
    results = []
    for c in per_member:  # all members' creates in flight at once
        results += [c.create_async(base + "/s-", b"", sequence=True) for _ in range(per)]
    names = [r.get(timeout=20) for r in results]
    assert len(set(names)) == len(names) == per * len(per_member), "duplicate sequential names"
    suffixes = sorted(int(n.rsplit("-", 1)[1]) for n in names)
    assert suffixes == list(range(per * len(per_member))), "sequence numbers are not 0..n-1"
    for c in per_member:
        bounded_sync(c, base)
        assert sorted(base + "/" + k for k in c.get_children(base)) == sorted(names)


def test_ephemerals_vanish_everywhere_when_their_session_closes(ens3, per_member):
    base = unique("eph")
    per_member[0].create(base)
    leader = ens3.wait_for_leader()
    follower = ens3.others(leader)[0]
    owners = {}
    for m in (leader, follower):  # a session on the leader and one on a follower
        c = ens3.client(m)
        c.create("%s/e-%d" % (base, m.sid), b"mine", ephemeral=True)
        owners[m.sid] = c
    for c in per_member:
        bounded_sync(c, base)
        for sid, o in owners.items():
            st = c.exists("%s/e-%d" % (base, sid))
            assert st is not None and st.ephemeralOwner == o.client_id[0]
    for sid, o in owners.items():
        ens3.close_client(o)  # closeSession
    for i, c in enumerate(per_member):
        def gone():
            bounded_sync(c, base)
            return c.get_children(base) == []
        wait_until(gone, timeout=15, interval=0.1, what="ephemerals gone on member %d" % (i + 1))


def test_watches_fire_on_a_member_other_than_the_one_written(ens3, per_member):
    base = unique("watch")
    per_member[0].create(base)
    per_member[0].create(base + "/d", b"0")
    leader = ens3.wait_for_leader()
    writer_sid = ens3.others(leader)[0].sid  # write through a follower
    writer = per_member[writer_sid - 1]
    watchers = {}
    for m in ens3:
        if m.sid == writer_sid:
            continue
        c = per_member[m.sid - 1]
        bounded_sync(c, base)
        w = dict(data=Collector(), child=Collector(), exists=Collector())
        assert c.get(base + "/d", watch=w["data"])[0] == b"0"
        assert c.get_children(base, watch=w["child"]) == ["d"]
        assert c.exists(base + "/new", watch=w["exists"]) is None
        watchers[m.sid] = w
    writer.set(base + "/d", b"1")
    writer.create(base + "/new", b"")
    for sid, w in watchers.items():
        for kind, col in w.items():
            assert col.wait(1, timeout=15), "%s watch did not fire on member %d" % (kind, sid)
        assert w["data"].items[0].type == "CHANGED" and w["data"].items[0].path == base + "/d"
        assert w["child"].items[0].type == "CHILD" and w["child"].items[0].path == base
        assert w["exists"].items[0].type == "CREATED" and w["exists"].items[0].path == base + "/new"


# ---------------------------------------------------------------------------------------------
# kill -9 the leader under a continuous write load

class Writer(threading.Thread):
    """A kazoo client preferring one member (failing over to the others) that creates
    sequential nodes under its own parent, data = a unique id per write, 8 in flight, and
    records which writes were acknowledged (uid -> path) and which failed."""

    PIPELINE = 8
    MAX_WRITES = 50000

    def __init__(self, ens, wid, prefer, parent, stop):
        super().__init__(name="writer-%d" % wid, daemon=True)
        self.ens, self.wid, self.prefer, self.parent, self.stop_ev = ens, wid, prefer, parent, stop
        self.acked = {}
        self.failed = []
        self.errors = collections.Counter()
        self.lock = threading.Lock()
        self.crash = None

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        c = new_client(self.ens.hosts(first=self.prefer), timeout=4.0, randomize_hosts=False)
        try:
            c.start(timeout=20)
            n = 0
            while not self.stop_ev.is_set() and n < self.MAX_WRITES:
                batch = []
                for _ in range(self.PIPELINE):
                    uid = "w%d-%d" % (self.wid, n)
                    n += 1
                    try:
                        batch.append((uid, c.create_async(self.parent + "/n-", uid.encode(), sequence=True)))
                    except Exception as e:  # noqa: BLE001 - refused at once (e.g. session lost)
                        self.failed.append(uid)
                        self.errors[type(e).__name__] += 1
                bad = False
                for uid, r in batch:
                    try:
                        path = r.get(timeout=15)
                    except Exception as e:  # noqa: BLE001 - unacknowledged: may or may not be there
                        self.failed.append(uid)
                        self.errors[type(e).__name__] += 1
                        bad = True
                        continue
                    with self.lock:
                        self.acked[uid] = path
                if bad:
                    self.stop_ev.wait(0.1)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.crash = e
        finally:
            close_client(c)


def check_writes(ens, members, parents, writers):
    """Every acknowledged write is on every given member at the path it was acknowledged with,
    no write is there twice, and all members hold the same children and data."""
    acked = {}
    for w in writers:
        acked.update(w.acked)
    views = {}
    for m in members:
        c = ens.client(m)
        try:
            views[m.sid] = {p: read_children_data(c, p) for p in parents}
        finally:
            ens.close_client(c)
    for sid, view in views.items():
        seen = collections.Counter()
        where = {}
        for p, kids in view.items():
            for k, data in kids.items():
                seen[data.decode()] += 1
                where[data.decode()] = p + "/" + k
        dup = [u for u, n in seen.items() if n > 1]
        assert not dup, "member %d holds writes more than once: %r" % (sid, dup[:10])
        missing = [u for u in acked if where.get(u) != acked[u]]
        assert not missing, "member %d lacks %d acknowledged writes (e.g. %r -> %r, found at %r)" % (
            sid, len(missing), missing[0], acked[missing[0]], where.get(missing[0]))
    ref = next(iter(views.values()))
    for sid, view in views.items():
        assert view == ref, "members disagree on the written nodes (member %d)" % sid
    return len(acked)


def test_kill9_leader_under_write_load_keeps_every_acknowledged_write(make_ensemble):
    ens = make_ensemble(3)
    old = ens.wait_for_leader()
    base = unique("load")
    setup = ens.client(old)
    parents = ["%s/w%d" % (base, i) for i in range(4)]
    setup.create(base)
    for p in parents:
        setup.create(p)
    ens.close_client(setup)

    stop = threading.Event()
    writers = [Writer(ens, i, ens[i % len(ens) + 1], parents[i], stop) for i in range(4)]
    for w in writers:
        w.start()
    try:
        wait_until(lambda: all(w.acked_count() >= 100 or w.crash for w in writers), timeout=60,
                   interval=0.05, what="every writer to have 100 acknowledged writes")
        before = [w.acked_count() for w in writers]
        old.kill()
        new = ens.wait_for_leader()
        assert new is not old and new.alive()
        write_until_ok(ens, base + "/after-failover", members=ens.alive())
        # the load goes on: every writer (the ones on the killed member failed over) gets on
        wait_until(lambda: all(w.acked_count() >= b + 100 or w.crash for w, b in zip(writers, before)),
                   timeout=60, interval=0.1, what="every writer to have 100 more acknowledged writes")
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=30)
    assert not any(w.is_alive() for w in writers), "a writer thread hung"
    crashes = [(w.wid, w.crash) for w in writers if w.crash]
    assert not crashes, "writers stopped with %r" % crashes
    total = check_writes(ens, ens.alive(), parents, writers)
    print("acknowledged %d writes, %d failed (%r); leader %d -> %d"
          % (total, sum(len(w.failed) for w in writers), sum((w.errors for w in writers), collections.Counter()),
             old.sid, new.sid))
    assert total >= 800

    # the killed member comes back as a follower and catches up
    ens.restart(old)
    assert ens.wait_for_leader() is new
    assert old.mode() == "follower"
    check_writes(ens, list(ens), parents, writers)
    assert_same_tree(ens, base, members=list(ens))


# ---------------------------------------------------------------------------------------------
# a follower that missed txns catches up by DIFF; one with no data by SNAP

def test_killed_follower_catches_up_by_diff(make_ensemble):
    ens = make_ensemble(3)
    leader = ens.wait_for_leader()
    follower, other = ens.others(leader)
    base = unique("diff")
    c = ens.client(other)
    write_batch(c, base, "before", 30)
    follower.kill()
    write_batch(c, base, "while-down", 100)
    offset = follower.log_size()
    follower.start()
    assert ens.wait_for_leader() is leader
    assert follower.mode() == "follower"
    tree = assert_same_tree(ens, base, members=list(ens))
    assert "/while-down-99" in tree and "/while-down-97" not in tree
    assert tree["/while-down-0"][0] == b"set"
    check_sync_mode(follower, follower.log_since(offset), "DIFF")


def test_wiped_follower_catches_up_by_snap(make_ensemble):
    ens = make_ensemble(3)
    leader = ens.wait_for_leader()
    follower, other = ens.others(leader)
    base = unique("snap")
    c = ens.client(other)
    write_batch(c, base, "before", 60)
    follower.stop()
    follower.wipe()
    write_batch(c, base, "while-down", 30)
    offset = follower.log_size()
    follower.start()
    assert ens.wait_for_leader() is leader
    assert follower.mode() == "follower"
    tree = assert_same_tree(ens, base, members=list(ens))
    assert "/before-59" in tree and "/while-down-0" in tree
    check_sync_mode(follower, follower.log_since(offset), "SNAP")
    # and it keeps following: a write through the re-synced member is seen everywhere
    c2 = ens.client(follower)
    c2.create(base + "/via-resynced", b"ok")
    assert_same_tree(ens, base, members=list(ens), expect={"/via-resynced": b"ok"})


# ---------------------------------------------------------------------------------------------
# a minority cannot commit

@pytest.mark.parametrize("isolated", ["leader", "follower"])
def test_minority_cannot_commit(make_ensemble, isolated):
    """Two of three members stopped (SIGSTOP): the third, leader or follower, must not complete
    a write; once they continue, writes are served again and the write that failed is either
    on every member or on none."""
    ens = make_ensemble(3)
    leader = ens.wait_for_leader()
    follower = ens.others(leader)[0]
    alone = leader if isolated == "leader" else follower
    base = unique("minority")
    c = ens.client(alone, connection_retry=dict(max_tries=-1, delay=0.1, backoff=1.5, max_delay=0.5))
    c.create(base, b"")
    for m in ens.others(alone):
        m.pause()
    try:
        r = c.create_async(base + "/w", b"minority")
        try:
            got = r.get(timeout=8)
        except LOST + (c.handler.timeout_exception,) as e:
            print("the write on member %d (%s) ended with %r" % (alone.sid, isolated, e))
            got = None
        assert got is None, "a write completed on member %d while the other two were stopped" % alone.sid
        # the lone member stops serving (a leader without a quorum steps down, a follower without
        # its leader looks for one)
        wait_until(lambda: alone.mode() not in ("leader", "follower"), timeout=20, interval=0.2,
                   what="member %d to stop serving without a quorum" % alone.sid)
    finally:
        for m in ens:
            if m.paused:
                m.resume()
    ens.wait_for_leader()
    write_until_ok(ens, base + "/after", b"after")
    views = {}
    for m in ens:
        rc = ens.client(m)
        bounded_sync(rc, base)
        st = rc.exists(base + "/w")
        views[m.sid] = None if st is None else rc.get(base + "/w")[0]
        assert rc.get(base + "/after")[0] == b"after"
        ens.close_client(rc)
    print("the failed write afterwards: %r" % views)
    assert len(set(views.values())) == 1, "the failed write is on some members only: %r" % views
    assert set(views.values()) <= {None, b"minority"}


# ---------------------------------------------------------------------------------------------
# 5 voters lose two (the leader among them)

def test_five_voters_survive_two_kills(make_ensemble):
    ens = make_ensemble(5)
    old = ens.wait_for_leader()
    victims = [old, ens.others(old)[0]]
    base = unique("five")
    c = ens.client(ens.others(*victims)[0])
    write_batch(c, base, "before", 30)
    ens.close_client(c)
    for v in victims:
        v.kill()
    new = ens.wait_for_leader()
    assert new not in victims
    for m in ens.alive():  # writes through each of the three left
        write_until_ok(ens, "%s/after-%d" % (base, m.sid), b"x", members=[m])
    c = ens.client(new)
    write_batch(c, base, "three-left", 50)
    for v in victims:
        ens.restart(v, wait=False)
    ens.wait_for_leader()
    assert sorted(ens.modes().values()) == ["follower"] * 4 + ["leader"]
    tree = assert_same_tree(ens, base, members=list(ens))
    for m in ens.others(*victims):
        assert "/after-%d" % m.sid in tree
    assert "/three-left-48" in tree and "/three-left-49" not in tree


# ---------------------------------------------------------------------------------------------
# a quorum of one

def test_single_member_without_standalone_is_a_quorum_of_one(make_ensemble):
    ens = make_ensemble(1, extra_config=["standaloneEnabled=false"])
    only = ens[1]
    assert ens.wait_for_leader() is only
    assert only.mode() == "leader"
    base = unique("one")
    c = ens.client(only)
    write_batch(c, base, "a", 20)
    ens.close_client(c)
    only.kill()
    only.start()
    assert ens.wait_for_leader() is only
    assert only.mode() == "leader"
    c = ens.client(only)
    assert c.exists(base + "/a-18") is not None and c.exists(base + "/a-19") is None
    c.create(base + "/after-restart")

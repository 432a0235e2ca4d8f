"""Observers, the read-scaling tier, as processes talked to by kazoo clients: 3 voters and 4
observers on loopback (every member of ZK_TARGET's kind: zkedge, or Apache ZooKeeper 3.8 with
ZK_TARGET=apache, so every expectation is checked on the real thing); the harness is in
ensemble.py.

  * observers serve reads and forward writes; srvr, mntr and conf show them as ZooKeeper does;
  * they never count for the quorum: 2 of 3 voters stopped, no write completes, with 4 observers up;
  * a killed observer catches up (DIFF), a wiped one by SNAP;
  * a client moving to an observer that lags behind what it has seen is refused or served only
    once the observer has caught up: the zxids it observes never go backwards;
  * local sessions on an observer (reads cost the quorum nothing; an ephemeral upgrades the
    session, and vanishes with it);
  * an observer cut off from the quorum for longer than syncLimit under load, with
    readonlymode.enabled=true, serves reads to read-only clients and refuses writes with
    NOTREADONLY, then catches up by DIFF with nothing lost, duplicated or reordered. The cut is a
    network namespace of the observer's own whose quorum link the test takes down (root with
    iproute2); without namespaces, the three voters are stopped with SIGSTOP instead.

Every wait is bounded in count and time; no assertion is about how fast anything happens."""
import collections
import threading
import time
import uuid

import pytest
from kazoo.exceptions import (ConnectionClosedError, ConnectionLoss, NotReadOnlyCallError,
                              OperationTimeoutError, SessionExpiredError)

from conftest import (FLAGS, OPEN_ACL, TICK_MS, Collector, Dec, RawSession, TcpProxy, close_client, new_client,
                      wait_until)
from ensemble import (SYNC_LIMIT, Ensemble, assert_same_tree, bounded_sync, learner_sync_modes,
                      netns_available, read_children_data, write_batch, write_until_ok)

VOTERS, OBSERVERS = 3, 4
SYNC_LIMIT_S = SYNC_LIMIT * TICK_MS / 1000.0
# errors a write may end with while there is no leader
LOST = (ConnectionLoss, OperationTimeoutError, SessionExpiredError, ConnectionClosedError)
LOCAL_SESSIONS = ["localSessionsEnabled=true", "localSessionsUpgradingEnabled=true"]
READ_ONLY = ["readonlymode.enabled=true"]  # a Java system property for Apache, a zoo.cfg key for zkedge


def unique(prefix):
    return "/obs-%s-%s" % (prefix, uuid.uuid4().hex[:8])




def check_sync_mode(member, log_text, expected):
    """The learner's log (since it rejoined) names the sync mode it got: the expected one."""
    modes = learner_sync_modes(member, log_text)
    assert expected in modes, "member %d (%s) synced by %s, expected %s" % (
        member.sid, member.kind, sorted(modes) or "(no sync line in its log)", expected)
    return modes


def get(client, path, timeout=15.0):
    return client.get_async(path).get(timeout=timeout)


# ---------------------------------------------------------------------------------------------
# 3 voters + 4 observers: one ensemble for most of the module

@pytest.fixture(scope="module")
def ens():
    # a long session timeout allowed: a client moving between observers keeps its session
    e = Ensemble(VOTERS, observers=OBSERVERS, extra_config=["maxSessionTimeout=30000"])
    try:
        e.start()
        yield e
    finally:
        e.cleanup()


@pytest.fixture
def per_member(ens):
    """One started client per member (on that member only), {sid: client}, closed after."""
    ens.wait_for_leader()
    cs = {m.sid: ens.client(m) for m in ens}
    yield cs
    for c in cs.values():
        ens.close_client(c)


def test_observers_say_they_observe(ens):
    leader = ens.wait_for_leader()
    modes = ens.modes()
    assert modes[leader.sid] == "leader"
    assert sorted(modes[m.sid] for m in ens.voters()) == ["follower", "follower", "leader"], modes
    assert [modes[m.sid] for m in ens.observers()] == ["observer"] * OBSERVERS, modes
    for m in ens:  # every member's conf lists the observers as such
        conf = m.four_letter("conf")
        for o in ens.observers():
            assert "server.%d=" % o.sid in conf and (":%d:observer" % o.eport) in conf, \
                "member %d conf does not list observer %d:\n%s" % (m.sid, o.sid, conf)
        for v in ens.voters():
            assert ":%d:participant" % v.eport in conf, "member %d conf:\n%s" % (m.sid, conf)


def test_leader_mntr_reports_the_observers(ens):
    """What Apache 3.8 and zkedge both print: the leader's zk_learners counts followers and
    observers, zk_synced_followers the voters only, zk_synced_observers the observers; each
    observer's zk_server_state is observer."""
    leader = ens.wait_for_leader()

    def counts():
        m = leader.mntr()
        return {k: m.get(k) for k in ("zk_server_state", "zk_learners", "zk_synced_followers",
                                      "zk_synced_observers")}
    want = {"zk_server_state": "leader", "zk_learners": str(VOTERS - 1 + OBSERVERS),
            "zk_synced_followers": str(VOTERS - 1), "zk_synced_observers": str(OBSERVERS)}
    got = wait_until(lambda: counts() == want and counts(), timeout=20, interval=0.2,
                     what="leader mntr %r" % want)
    print("leader mntr: %r" % got)
    for o in ens.observers():
        assert o.mntr().get("zk_server_state") == "observer", "observer %d mntr" % o.sid
    for v in ens.voters():
        if v is not leader:
            assert v.mntr().get("zk_server_state") == "follower"


def test_writes_through_voters_and_observers_are_read_on_every_observer(ens, per_member):
    base = unique("rw")
    leader = ens.wait_for_leader()
    per_member[leader.sid].create(base, b"root")
    sids = sorted(per_member)
    for sid in sids:  # every member, voter or observer, writes
        c = per_member[sid]
        c.create("%s/from-%d" % (base, sid), b"v%d" % sid)
        seq = [c.create("%s/from-%d/s-" % (base, sid), b"s", sequence=True) for _ in range(3)]
        assert len(set(seq)) == 3
        t = c.transaction()
        t.create("%s/from-%d/multi" % (base, sid), b"m")
        t.set_data("%s/from-%d" % (base, sid), b"v%d-multi" % sid)
        res = t.commit()
        assert res[0] == "%s/from-%d/multi" % (base, sid) and res[1].version == 1, res
    # watches on every observer, then each member changes the next one's node
    watches = {}
    for o in ens.observers():
        c = per_member[o.sid]
        bounded_sync(c, base)
        watches[o.sid] = (Collector(), Collector())
        c.get("%s/from-%d" % (base, sids[0]), watch=watches[o.sid][0])
        c.get_children(base, watch=watches[o.sid][1])
    for i, sid in enumerate(sids):
        other = sids[(i + 1) % len(sids)]
        per_member[sid].set("%s/from-%d" % (base, other), b"set-by-%d" % sid)
        per_member[sid].delete("%s/from-%d/multi" % (base, other))
    per_member[sids[-1]].create(base + "/last", b"")
    for o in ens.observers():
        data_w, child_w = watches[o.sid]
        assert data_w.wait(1, timeout=15), "data watch did not fire on observer %d" % o.sid
        assert child_w.wait(1, timeout=15), "child watch did not fire on observer %d" % o.sid
        assert data_w.items[0].type == "CHANGED" and child_w.items[0].type == "CHILD"
    for o in ens.observers():
        c = per_member[o.sid]
        bounded_sync(c, base)
        assert sorted(c.get_children(base)) == sorted(["from-%d" % s for s in sids] + ["last"]), \
            "observer %d" % o.sid
        for i, sid in enumerate(sids):
            setter = sids[(i - 1) % len(sids)]
            data, st = c.get("%s/from-%d" % (base, sid))
            assert data == b"set-by-%d" % setter and st.version == 2, \
                "observer %d reads %r (version %d) at from-%d" % (o.sid, data, st.version, sid)
            kids = c.get_children("%s/from-%d" % (base, sid))
            assert len(kids) == 3 and "multi" not in kids, "observer %d: %r" % (o.sid, kids)
    assert_same_tree(ens, base, members=list(ens))


def test_killed_observer_restarts_and_catches_up(ens):
    leader = ens.wait_for_leader()
    obs = ens[VOTERS + 1]
    base = unique("kill")
    c = ens.client(ens.voters()[0])
    write_batch(c, base, "before", 30)
    obs.kill()
    write_batch(c, base, "while-down", 60)
    c2 = ens.client(ens[VOTERS + 2])  # writes through another observer too
    write_batch(c2, base, "via-observer", 30)
    offset = obs.log_size()
    obs.start()
    assert ens.wait_for_leader() is leader
    assert obs.mode() == "observer"
    tree = assert_same_tree(ens, base, members=list(ens))
    assert "/while-down-59" in tree and "/while-down-58" not in tree and "/via-observer-0" in tree
    check_sync_mode(obs, obs.log_since(offset), "DIFF")
    oc = ens.client(obs)  # and it forwards writes again
    oc.create(base + "/via-restarted", b"ok")
    assert_same_tree(ens, base, members=list(ens), expect={"/via-restarted": b"ok"})


def test_wiped_observer_catches_up_by_snap(ens):
    leader = ens.wait_for_leader()
    obs = ens[VOTERS + 2]
    base = unique("snap")
    c = ens.client(ens.voters()[1])
    write_batch(c, base, "before", 60)
    obs.stop()
    obs.wipe()
    write_batch(c, base, "while-down", 30)
    offset = obs.log_size()
    obs.start()
    assert ens.wait_for_leader() is leader
    assert obs.mode() == "observer"
    tree = assert_same_tree(ens, base, members=list(ens))
    assert "/before-59" in tree and "/while-down-0" in tree
    check_sync_mode(obs, obs.log_since(offset), "SNAP")
    oc = ens.client(obs)
    oc.create(base + "/via-resynced", b"ok")
    assert_same_tree(ens, base, members=list(ens), expect={"/via-resynced": b"ok"})


# ---------------------------------------------------------------------------------------------
# a client never sees time go backwards when it moves to a lagging observer

class ZxidLog:
    """The zxids a kazoo client has seen (client.last_zxid after every operation) and the
    versions of a counter node it read: neither may ever go backwards."""

    def __init__(self, client, counter):
        self.client, self.counter = client, counter
        self.entries = []

    def read(self, phase, timeout=30.0):
        """Reads the counter (again after a connection loss: a move drops the connection)."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            try:
                data, st = get(self.client, self.counter, timeout=max(0.1, deadline - time.monotonic()))
                break
            except (ConnectionLoss, ConnectionClosedError):
                assert time.monotonic() < deadline, "no read of %s within %.0fs" % (self.counter, timeout)
                time.sleep(0.05)
        else:
            raise AssertionError("no read of %s in 1000 tries" % self.counter)
        zxid = self.client.last_zxid
        self.entries.append((phase, zxid, st.version, st.mzxid))
        zxids = [e[1] for e in self.entries]
        versions = [e[2] for e in self.entries]
        assert zxids == sorted(zxids), "the client's zxid went backwards: %r" % self.entries
        assert versions == sorted(versions), "the client read an older counter: %r" % self.entries
        assert zxid >= st.mzxid, "reply zxid 0x%x older than the data read (mzxid 0x%x)" % (zxid, st.mzxid)
        return st


def write_for(client, path, seconds, max_writes=300):
    """setData on path again and again for at least seconds (and at least 20 times), at most
    max_writes times; returns the last version written."""
    deadline = time.monotonic() + seconds
    n = 0
    st = None
    while n < max_writes and (n < 20 or time.monotonic() < deadline):
        st = client.set_async(path, b"%d" % n).get(timeout=15)
        n += 1
        time.sleep(0.01)
    return st.version


def check_accepted(member, r, last_zxid, counter, min_version, refused):
    """r: a raw session that saw last_zxid, accepted by member. Its first read must show the
    counter at min_version or later, with a reply zxid of last_zxid or later. False when the
    connection closed before the reply (recorded in refused)."""
    try:
        if r.expired:
            refused["expired"] += 1
            return False
        try:
            rep = r.get_data(counter)
        except (ConnectionError, OSError) as e:  # accepted, then closed (it lost its leader)
            refused["closed after accepting: %s" % type(e).__name__] += 1
            return False
        assert rep.err == 0, "getData on the accepted session: error %d" % rep.err
        d = Dec(rep.body)
        d.buf()
        st = d.stat()
        assert rep.zxid >= last_zxid, (
            "member %d accepted a client that saw zxid 0x%x and answered its read with zxid 0x%x (refusals before: %r)"
            % (member.sid, last_zxid, rep.zxid, dict(refused)))
        assert st.version >= min_version, "member %d served counter version %d < %d to a client that saw it" % (
            member.sid, st.version, min_version)
        try:
            r.close_session()
        except (ConnectionError, OSError):
            pass
        return True
    finally:
        r.close()


def queued_connect(member, last_zxid):
    """Connects a raw session that saw last_zxid to member in a thread (the ConnectRequest waits
    in the socket while member is stopped); join() the thread, then box holds "session" or
    "error"."""
    box = {}

    def run():
        try:
            box["session"] = RawSession(member.port, host=member.host, last_zxid=last_zxid, timeout_ms=10000)
        except Exception as e:  # noqa: BLE001 - reported
            box["error"] = e
    t = threading.Thread(target=run, name="queued-connect", daemon=True)
    t.start()
    return t, box


def probe_lagging(member, last_zxid, counter, min_version, refused=None, timeout=30.0):
    """Connects raw sessions that saw last_zxid to member until one is accepted: each is
    refused (closed without a ConnectResponse, or no answer) or, once accepted, reads the counter
    at min_version or later with a reply zxid of last_zxid or later. Returns the refusals."""
    deadline = time.monotonic() + timeout
    refused = refused if refused is not None else collections.Counter()
    for _ in range(2000):
        assert time.monotonic() < deadline, "member %d never accepted a client that saw 0x%x (%r)" % (
            member.sid, last_zxid, dict(refused))
        try:
            r = RawSession(member.port, host=member.host, last_zxid=last_zxid, timeout_ms=10000)
        except (ConnectionError, OSError) as e:  # TimeoutError is an OSError
            refused[type(e).__name__] += 1
            time.sleep(0.05)
            continue
        if check_accepted(member, r, last_zxid, counter, min_version, refused):
            return refused
    raise AssertionError("no session accepted by member %d" % member.sid)


def test_client_moving_to_a_lagging_observer_never_sees_an_older_zxid(ens):
    """Observer `lagging` stands still (SIGSTOP) for longer than syncLimit while writes go on;
    a kazoo client (through a TCP proxy that the test points at one observer or the other) and
    raw sessions that have read the newest write on the fresh observer connect to it, their
    ConnectRequests already waiting when it continues: each is refused or served only data at
    least as new as what it has seen; the kazoo client's zxids never go backwards."""
    leader = ens.wait_for_leader()
    fresh, lagging = ens[VOTERS + 3], ens[VOTERS + 4]
    writer = ens.client(leader)
    base = unique("lag")
    counter = base + "/counter"
    writer.create(base)
    writer.create(counter, b"start")
    proxy = TcpProxy(fresh.port, target_host=fresh.host)
    k = new_client(proxy.hosts, timeout=20.0)
    try:
        k.start(timeout=20)
        log = ZxidLog(k, counter)
        log.read("fresh")
        for rnd in range(2):
            refused = collections.Counter()
            lagging.pause()
            try:
                # writes go on for longer than syncLimit while the observer stands still
                newest = write_for(writer, counter, 3 * SYNC_LIMIT_S)
                bounded_sync(k, counter)
                st = log.read("fresh, round %d" % rnd)
                assert st.version == newest
                seen = k.last_zxid
                if rnd == 0:  # the kazoo client moves to the stopped observer and waits there
                    proxy.target = (lagging.host, lagging.port)
                    proxy.drop_all()
                    time.sleep(0.5)  # (its ConnectRequest waits in the socket)
                else:  # a raw session's ConnectRequest waits there
                    t, box = queued_connect(lagging, seen)
                    time.sleep(0.5)
            finally:
                lagging.resume()
            if rnd == 0:
                st = log.read("lagging, round %d" % rnd)
                assert st.version >= newest
                probe_lagging(lagging, seen, counter, newest, refused)
            else:
                t.join(timeout=15)
                assert not t.is_alive(), "the queued raw connect did not end"
                if "session" in box:
                    check_accepted(lagging, box["session"], seen, counter, newest, refused)
                else:
                    refused["queued: %s" % type(box["error"]).__name__] += 1
                probe_lagging(lagging, seen, counter, newest, refused)
                proxy.target = (lagging.host, lagging.port)  # then the kazoo client moves
                proxy.drop_all()
                st = log.read("lagging, round %d" % rnd)
                assert st.version >= newest
            print("round %d: raw sessions that saw 0x%x and were refused by the lagging observer: %r"
                  % (rnd, seen, dict(refused)))
            ens.wait_for_mode(lagging, "observer")
            # and back to the fresh one
            proxy.target = (fresh.host, fresh.port)
            proxy.drop_all()
            log.read("back on fresh, round %d" % rnd)
        print("zxids seen: %s" % ["%s 0x%x v%d" % (p, z, v) for p, z, v, _ in log.entries])
    finally:
        close_client(k)
        proxy.stop()
    ens.wait_for_leader()


# ---------------------------------------------------------------------------------------------
# observers never count for the quorum (last on this ensemble: it stops two voters)

@pytest.mark.parametrize("alone", ["leader", "follower"])
def test_observers_never_count_for_the_quorum(ens, alone):
    """Two of the three voters stopped (SIGSTOP): with the third (leader or follower) and four
    observers up, a majority of all seven processes, no write completes, through the voter or
    through an observer, and nobody goes on leading or observing; once the voters continue, the
    ensemble serves again and each failed write is on every member or on none."""
    leader = ens.wait_for_leader()
    followers = [m for m in ens.voters() if m is not leader]
    lone = leader if alone == "leader" else followers[0]
    stopped = [m for m in ens.voters() if m is not lone]
    obs = ens.observers()
    base = unique("quorum-" + alone)
    retry = dict(max_tries=-1, delay=0.1, backoff=1.5, max_delay=0.5)
    cv = ens.client(lone, connection_retry=retry)
    co = ens.client(obs[0], connection_retry=retry)
    cv.create(base, b"")
    bounded_sync(co, base)
    for m in stopped:
        m.pause()
    try:
        rv = cv.create_async(base + "/via-voter", b"minority")
        ro = co.create_async(base + "/via-observer", b"minority")
        for name, r in (("voter %d" % lone.sid, rv), ("observer %d" % obs[0].sid, ro)):
            try:
                got = r.get(timeout=8)
            except LOST + (cv.handler.timeout_exception,) as e:
                print("the write through %s ended with %r" % (name, e))
                got = None
            assert got is None, "a write through %s completed with 2 of 3 voters stopped" % name
        up = [lone] + obs

        def nobody_serves():
            modes = ens.modes(up)
            return all(v not in ("leader", "follower", "observer") for v in modes.values()) and modes
        wait_until(nobody_serves, timeout=30, interval=0.2,
                   what="the lone voter and the observers to stop serving without a quorum")
    finally:
        for m in stopped:
            if m.paused:
                m.resume()
    ens.wait_for_leader()
    write_until_ok(ens, base + "/after", b"after")
    views = {}
    for m in ens:
        c = ens.client(m)
        bounded_sync(c, base)
        views[m.sid] = tuple(c.exists(base + p) is not None for p in ("/via-voter", "/via-observer"))
        assert get(c, base + "/after")[0] == b"after"
        ens.close_client(c)
    print("the failed writes afterwards (via-voter, via-observer): %r" % views)
    assert len(set(views.values())) == 1, "a failed write is on some members only: %r" % views


# ---------------------------------------------------------------------------------------------
# The edge: 3 voters, observer 4 in the root namespace, observer 5 that can be cut off;
# local sessions and read-only mode on every member

class Cut:
    """Cuts observer `member` off from the quorum: its namespace's quorum link down when it has
    one, else SIGSTOP of every voter (then no write can go on during the cut)."""

    def __init__(self, ens, member):
        self.ens, self.member = ens, member
        self.by_netns = member.netns is not None
        self.active = False

    @property
    def writes_go_on(self):
        return self.by_netns

    def cut(self):
        if self.by_netns:
            self.member.netns.cut()
        else:
            for v in self.ens.voters():
                v.pause()
        self.active = True

    def heal(self):
        if not self.active:
            return
        self.active = False
        if self.by_netns:
            self.member.netns.heal()
        else:
            for v in self.ens.voters():
                if v.paused:
                    v.resume()


@pytest.fixture(scope="module")
def edge():
    netns = [VOTERS + 2] if netns_available() else []
    e = Ensemble(VOTERS, observers=2, extra_config=LOCAL_SESSIONS + ["maxSessionTimeout=60000"],
                 system_props=READ_ONLY, netns=netns)
    try:
        e.start()
        yield e
    finally:
        e.cleanup()


def session_counts(member):
    m = member.mntr()
    return int(m.get("zk_global_sessions", -1)), int(m.get("zk_local_sessions", -1))


def test_local_session_read_only_client_on_an_observer(edge):
    leader = edge.wait_for_leader()
    obs = edge[VOTERS + 1]
    base = unique("local-ro")
    w = edge.client(edge.voters()[0])
    w.create(base, b"root")
    write_batch(w, base, "n", 10)
    global0, _ = session_counts(leader)
    _, local0 = session_counts(obs)
    c = edge.client(obs, read_only=True)
    assert c.client_state == "CONNECTED", c.client_state  # a read-write connection: the observer has a leader
    assert obs.four_letter("isro") == "rw"
    assert get(c, base)[0] == b"root"
    assert sorted(c.get_children(base)) == sorted(w.get_children(base))
    w.set(base + "/n-0", b"changed")
    bounded_sync(c, base)  # sync works on a local session
    assert get(c, base + "/n-0")[0] == b"changed"
    c.create(base + "/persistent-from-local", b"p")  # a persistent node: no upgrade needed
    bounded_sync(w, base)
    assert w.get(base + "/persistent-from-local")[0] == b"p"
    wait_until(lambda: session_counts(obs)[1] >= local0 + 1, timeout=10, interval=0.1,
               what="observer %d to count a local session (zk_local_sessions, was %d)" % (obs.sid, local0))
    g, _ = session_counts(leader)
    assert g <= global0, "the leader counts %d global sessions, %d before a local session connected" % (g, global0)
    assert_same_tree(edge, base, members=list(edge))


def test_local_session_upgrades_for_an_ephemeral_that_vanishes_when_it_closes(edge):
    leader = edge.wait_for_leader()
    obs = edge[VOTERS + 1]
    base = unique("local-eph")
    w = edge.client(leader)
    w.create(base, b"")
    global0, _ = session_counts(leader)
    c = edge.client(obs, read_only=True)
    get(c, base)
    sid = c.client_id[0]
    c.create(base + "/eph", b"mine", ephemeral=True)  # upgrades the session to a global one
    assert c.client_id[0] == sid, "the session id changed on upgrade"
    for m in edge:
        mc = edge.client(m)
        bounded_sync(mc, base)
        st = mc.exists(base + "/eph")
        assert st is not None and st.ephemeralOwner == sid, "member %d: %r (owner should be 0x%x)" % (m.sid, st, sid)
        edge.close_client(mc)
    wait_until(lambda: session_counts(leader)[0] >= global0 + 1, timeout=10, interval=0.1,
               what="the leader to count the upgraded session (zk_global_sessions, was %d)" % global0)
    c.create(base + "/eph2", b"", ephemeral=True)  # the session stays usable after its upgrade
    assert c.client_id[0] == sid
    edge.close_client(c)  # closeSession
    for m in edge:
        mc = edge.client(m)

        def gone():
            bounded_sync(mc, base)
            return mc.get_children(base) == []
        wait_until(gone, timeout=15, interval=0.1, what="the ephemerals of the closed session gone on member %d" % m.sid)
        edge.close_client(mc)


def test_local_session_upgraded_for_an_ephemeral_expires_with_it(edge):
    obs = edge[VOTERS + 1]
    base = unique("local-exp")
    w = edge.client(edge.wait_for_leader())
    w.create(base, b"")
    r = RawSession(obs.port, host=obs.host, timeout_ms=1000)
    try:
        rep = r.create(base + "/eph", b"x", flags=FLAGS.ephemeral, acl=OPEN_ACL)
        assert rep.err == 0, "create ephemeral from a local session: error %d" % rep.err
        bounded_sync(w, base)
        st = w.exists(base + "/eph")
        assert st is not None and st.ephemeralOwner == r.session_id, (st, hex(r.session_id))
    finally:
        r.drop()  # no closeSession: the (now global) session must expire
    for m in edge:
        mc = edge.client(m)

        def gone():
            bounded_sync(mc, base)
            return mc.exists(base + "/eph") is None
        wait_until(gone, timeout=20, interval=0.2, what="the expired session's ephemeral gone on member %d" % m.sid)
        edge.close_client(mc)


class PacedWriter(threading.Thread):
    """A kazoo client on the voters that creates sequential nodes under its own parent, data = a
    unique id per write, 4 in flight, a short pause between batches, while it has made fewer
    than `limit` writes (the test raises it; finish() ends the thread); records which were
    acknowledged (uid -> path)."""

    PIPELINE = 4

    def __init__(self, ens, wid, parent, limit):
        super().__init__(name="paced-writer-%d" % wid, daemon=True)
        self.ens, self.wid, self.parent, self.limit = ens, wid, parent, limit
        self.acked = collections.OrderedDict()
        self.failed = []
        self.errors = collections.Counter()
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.crash = None
        self.n = 0

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def done(self):
        """Every write up to the limit made and answered (or failed)."""
        with self.lock:
            return self.n >= self.limit and len(self.acked) + len(self.failed) >= self.n

    def finish(self):
        self.stop_ev.set()

    def run(self):
        c = new_client(self.ens.hosts(self.ens.voters()), timeout=4.0)
        try:
            c.start(timeout=20)
            for _ in range(100000):
                if self.stop_ev.is_set():
                    break
                if self.n >= self.limit:
                    self.stop_ev.wait(0.05)
                    continue
                batch = []
                with self.lock:
                    for _ in range(min(self.PIPELINE, self.limit - self.n)):
                        uid = "w%d-%d" % (self.wid, self.n)
                        self.n += 1
                        batch.append((uid, c.create_async(self.parent + "/n-", uid.encode(), sequence=True)))
                for uid, r in batch:
                    try:
                        path = r.get(timeout=15)
                    except Exception as e:  # noqa: BLE001 - unacknowledged: may or may not be there
                        with self.lock:
                            self.failed.append(uid)
                            self.errors[type(e).__name__] += 1
                        continue
                    with self.lock:
                        self.acked[uid] = path
                self.stop_ev.wait(0.05)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.crash = e
        finally:
            close_client(c)


class Reader(threading.Thread):
    """Reads a node and a parent's children through one client again and again (each read
    bounded), recording (client state, result) per read."""

    def __init__(self, client, node, parent):
        super().__init__(name="reader", daemon=True)
        self.client, self.node, self.parent = client, node, parent
        self.results = []
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        for _ in range(100000):
            if self.stop_ev.is_set():
                return
            state = self.client.client_state
            try:
                data = self.client.get_async(self.node).get(timeout=2)[0]
                self.client.get_children_async(self.parent).get(timeout=2)
                res = ("ok", data)
            except Exception as e:  # noqa: BLE001 - recorded
                res = (type(e).__name__, None)
            with self.lock:
                self.results.append((state, res))
            self.stop_ev.wait(0.02)

    def mark(self):
        with self.lock:
            return len(self.results)

    def since(self, mark):
        with self.lock:
            return list(self.results[mark:])


def check_acked(views, writers):
    """views: {sid: {parent: {child: data}}}. Every acknowledged write is there once, at the path
    it was acknowledged with; each writer's writes are in the order it made them."""
    for sid, view in views.items():
        seen = collections.Counter()
        where = {}
        for p, kids in view.items():
            for k, data in kids.items():
                seen[data.decode()] += 1
                where[data.decode()] = p + "/" + k
        dup = [u for u, n in seen.items() if n > 1]
        assert not dup, "member %d holds writes more than once: %r" % (sid, dup[:10])
        for w in writers:
            missing = [u for u in w.acked if where.get(u) != w.acked[u]]
            assert not missing, "member %d lacks %d acknowledged writes of writer %d (e.g. %r -> %r, found at %r)" % (
                sid, len(missing), w.wid, missing[0], w.acked[missing[0]], where.get(missing[0]))
            # sequence numbers follow the order the writer made its writes in
            mine = sorted((int(u.split("-")[1]), int(where[u].rsplit("-", 1)[1])) for u in seen
                          if u.startswith("w%d-" % w.wid))
            seqs = [s for _, s in mine]
            assert seqs == sorted(seqs), "member %d: writer %d's writes out of order" % (sid, w.wid)


PRE_CUT_WRITES, CUT_WRITES = 30, 150  # per writer; well inside the leader's 500-txn DIFF window


def test_cut_off_observer_serves_reads_read_only_then_catches_up(edge):
    leader = edge.wait_for_leader()
    obs = edge[VOTERS + 2]
    cut = Cut(edge, obs)
    print("cutting observer %d off by %s" % (obs.sid, "its namespace's quorum link" if cut.by_netns
                                             else "SIGSTOP of the three voters (no network namespaces here)"))
    base = unique("cut")
    w = edge.client(leader)
    w.create(base, b"root")
    write_batch(w, base, "pre", 20)
    parents = ["%s/w%d" % (base, i) for i in range(2)]
    for p in parents:
        w.create(p)
    w.create(base + "/watched", b"0")
    w.create(base + "/watched-kids")
    edge.close_client(w)
    vc = edge.client(edge.voters()[0])

    # a session made global by its ephemeral, with watches, on the observer (raw: kazoo drops its
    # watches when it loses a connection, the Java client sets them again with setWatches)
    ws = RawSession(obs.port, host=obs.host, timeout_ms=30000)
    assert ws.create(base + "/ws-eph", b"", flags=FLAGS.ephemeral).err == 0
    assert ws.get_data(base + "/watched", watch=True).err == 0
    assert ws.get_children(base + "/watched-kids", watch=True).err == 0

    # a read-only client on the observer (a local session) and a reader thread on it
    states = Collector()
    ro = edge.client(obs, read_only=True)
    ro.add_listener(lambda s: states((time.monotonic(), s, ro.client_state)))
    assert get(ro, base + "/pre-0")[0] == b"set"
    reader = Reader(ro, base + "/pre-0", base)
    writers = [PacedWriter(edge, i, parents[i], limit=PRE_CUT_WRITES) for i in range(2)]
    threads = [reader] + writers
    try:
        for t in threads:
            t.start()
        wait_until(lambda: all(wr.done() or wr.crash for wr in writers), timeout=60, interval=0.05,
                   what="each writer's first %d writes" % PRE_CUT_WRITES)
        at_cut = [wr.acked_count() for wr in writers]
        cut.cut()
        t_cut = time.monotonic()
        try:
            if cut.writes_go_on:  # under load: the writers go on through the voters
                for wr in writers:
                    wr.limit = PRE_CUT_WRITES + CUT_WRITES
            # the observer finds itself without a leader and serves read-only
            wait_until(lambda: obs.four_letter("isro", timeout=2) == "ro", timeout=40, interval=0.2,
                       what="observer %d to answer isro with ro" % obs.sid)
            assert obs.mode() == "read-only", "srvr on the cut-off observer: %r" % obs.mode()
            wait_until(lambda: ro.client_state == "CONNECTED_RO", timeout=40, interval=0.1,
                       what="the read-only client to be connected read-only (states %r)" % states.snapshot())
            mark = reader.mark()
            # reads succeed: the tree as it was
            assert get(ro, base + "/pre-0")[0] == b"set"
            kids = ro.get_children_async(base).get(timeout=10)
            assert "pre-18" in kids and "pre-19" not in kids and "w0" in kids, sorted(kids)
            # what it holds of each writer's writes is a prefix of them, in order
            for p in parents:
                got = read_children_plain(ro, p)
                ns = [int(got[k].decode().split("-")[1]) for k in sorted(got)]
                assert ns == list(range(len(ns))), "the cut-off observer holds %s with gaps or out of order: %r" % (
                    p, ns[:40])
            # writes fail cleanly, with NOTREADONLY
            for name, op in (("create", lambda: ro.create_async(base + "/ro-write", b"x")),
                             ("setData", lambda: ro.set_async(base + "/pre-0", b"x")),
                             ("delete", lambda: ro.delete_async(base + "/pre-3")),
                             ("ephemeral create", lambda: ro.create_async(base + "/ro-eph", b"", ephemeral=True))):
                try:
                    got = op().get(timeout=10)
                except NotReadOnlyCallError:
                    continue
                except Exception as e:  # noqa: BLE001
                    raise AssertionError("a %s on the read-only observer failed with %r, not NotReadOnlyCallError"
                                         % (name, e)) from e
                raise AssertionError("a %s on the read-only observer succeeded: %r" % (name, got))
            # a client that connects now, read-only, gets a read-only session too
            fresh_ro = edge.client(obs, read_only=True)
            assert fresh_ro.client_state == "CONNECTED_RO"
            assert get(fresh_ro, base + "/pre-0")[0] == b"set"
            with pytest.raises(NotReadOnlyCallError):
                fresh_ro.create_async(base + "/ro-write-2", b"x").get(timeout=10)
            # one that does not accept a read-only server is refused
            with pytest.raises((ConnectionError, OSError)):
                RawSession(obs.port, host=obs.host, read_only=False).close()
            if cut.writes_go_on:
                wait_until(lambda: all(wr.done() or wr.crash for wr in writers), timeout=60, interval=0.1,
                           what="the writers' %d writes each during the cut" % CUT_WRITES)
                # changes the watches set before the cut are about
                vc.set(base + "/watched", b"1")
                vc.create(base + "/watched-kids/k", b"")
                # a read-only client that has seen these newer writes (on a voter) is refused by
                # the cut-off observer: it would see time go backwards there
                bounded_sync(vc, base)
                vc.get(base + "/watched")
                newest = vc.last_zxid
                refusal = None
                try:
                    r = RawSession(obs.port, host=obs.host, last_zxid=newest, read_only=True)
                except (ConnectionError, OSError) as e:
                    refusal = e
                else:
                    r.close()
                assert refusal is not None, (
                    "the cut-off observer accepted a read-only client that had seen zxid 0x%x" % newest)
            wait_until(lambda: reader.mark() >= mark + 5, timeout=20, interval=0.05,
                       what="the reader to read through the read-only client")
            during = reader.since(mark)
            assert ro.client_state == "CONNECTED_RO"
            assert obs.four_letter("isro", timeout=2) == "ro"
            assert time.monotonic() - t_cut > SYNC_LIMIT_S
            assert ws.events.empty(), "a watch fired on the cut-off observer: %r" % ws.next_event(0)
            offset = obs.log_size()
        finally:
            cut.heal()
        t_heal = time.monotonic()
        edge.wait_for_mode(obs, "observer", timeout=60)
        wait_until(lambda: obs.four_letter("isro", timeout=2) == "rw", timeout=20, interval=0.2,
                   what="observer %d to answer isro with rw" % obs.sid)
        edge.wait_for_leader()
        if not cut.writes_go_on:  # the voters were stopped: the load and the changes come after
            for wr in writers:
                wr.limit = PRE_CUT_WRITES + CUT_WRITES
            vc.set(base + "/watched", b"1")
            vc.create(base + "/watched-kids/k", b"")
        # the watches set before the cut fire once for the changes made during it, in the same
        # session (set again with setWatches when the connection was lost, as clients do)
        events = watches_after_cut(ws, base)
        assert sorted((e.type, e.path) for e in events) == [(3, base + "/watched"), (4, base + "/watched-kids")], \
            "watch events after the cut: %r" % events
        # the read-only client goes back to a read-write connection (kazoo looks for one)
        wait_until(lambda: ro.client_state == "CONNECTED", timeout=60, interval=0.1,
                   what="the read-only client to reconnect read-write (states %r)" % [
                       (round(t - t_heal, 1), s, cs) for t, s, cs in states.snapshot()])
        wait_until(lambda: all(wr.done() or wr.crash for wr in writers), timeout=60, interval=0.1,
                   what="the writers' last writes")
    finally:
        ws.close()
        for t in threads:
            t.finish() if isinstance(t, PacedWriter) else t.stop_ev.set()
        for t in threads:
            if t.is_alive() or t.ident is not None:
                t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a writer or reader thread hung"
    crashes = [(wr.wid, wr.crash) for wr in writers if wr.crash]
    assert not crashes, "writers stopped with %r" % crashes
    ok_ro = [r for st, r in during if st == "CONNECTED_RO" and r[0] == "ok"]
    print("reads while cut off: %d ok of %d (%r); writes acknowledged %r, failed %r; client states %r"
          % (len(ok_ro), len(during), dict(collections.Counter(r[0] for _, r in during)),
             [wr.acked_count() for wr in writers], [dict(wr.errors) for wr in writers],
             [s for _, s, _ in states.snapshot()]))
    assert ok_ro, "no read succeeded through the read-only client while the observer was cut off"
    assert all(r[1] == b"set" for r in ok_ro)

    # caught up: nothing lost, duplicated or reordered; the same tree as the voters
    views = {}
    for m in edge:
        c = edge.client(m)
        views[m.sid] = {p: read_children_data(c, p) for p in parents}
        edge.close_client(c)
    check_acked(views, writers)
    for sid, v in views.items():
        assert v == views[leader.sid], "member %d disagrees with the leader on the written nodes" % sid
    tree = assert_same_tree(edge, base, members=list(edge))
    assert "/ro-write" not in tree and "/ro-write-2" not in tree and "/ro-eph" not in tree
    assert tree["/pre-0"][0] == b"set" and "/pre-3" in tree
    total = sum(wr.acked_count() for wr in writers)
    print("acknowledged %d writes, %d of them after the cut" % (total, total - sum(at_cut)))
    assert total - sum(at_cut) >= CUT_WRITES  # most of the 2 x CUT_WRITES
    check_sync_mode(obs, obs.log_since(offset), "DIFF")
    # and it serves read-write clients again
    c = edge.client(obs)
    c.create(base + "/after", b"ok")
    assert_same_tree(edge, base, members=list(edge), expect={"/after": b"ok"})


def watches_after_cut(ws, base, timeout=40.0):
    """The watch events session ws gets for base/watched (data) and base/watched-kids (child)
    once its observer serves again: on its connection if it kept it, else on a new connection
    to the same session that sets the watches again (relative zxid = the last one it saw);
    waits for two, then a second more for any duplicate. Closes the session."""
    deadline = time.monotonic() + timeout
    conn = ws
    if ws.eof.is_set():
        for _ in range(400):
            assert time.monotonic() < deadline, "the session could not reconnect to its observer"
            try:
                conn = ws.reconnect()
                break
            except (ConnectionError, OSError):
                time.sleep(0.1)
        assert not conn.expired, "the global session 0x%x expired over the cut" % ws.session_id
        assert conn.session_id == ws.session_id
        rep = conn.set_watches(ws.last_zxid, data=[base + "/watched"], child=[base + "/watched-kids"])
        assert rep.err == 0, "setWatches: error %d" % rep.err
    try:
        events = []
        for _ in range(100):
            left = deadline - time.monotonic()
            if len(events) >= 2 or left <= 0:
                break
            e = conn.next_event(min(left, 1.0))
            if e is not None:
                events.append(e)
        events += conn.events_for(1.0)
        st = conn.exists(base + "/ws-eph")
        assert st.err == 0, "the ephemeral of the global session is gone after the cut"
        conn.close_session()
        return events
    finally:
        conn.close()
        ws.close()


def read_children_plain(client, path, timeout=15.0):
    """{child: data} without a sync (a read-only server refuses sync)."""
    kids = client.get_children_async(path).get(timeout=timeout)
    rs = [(k, client.get_async(path + "/" + k)) for k in kids]
    return {k: r.get(timeout=timeout)[0] for k, r in rs}

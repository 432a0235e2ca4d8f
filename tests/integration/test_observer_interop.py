"""Observers across implementations: a zkedge observer following an Apache ZooKeeper 3.8 quorum
(the headline use: light C observers at the edge of an existing ZooKeeper deployment) and an
Apache observer following a zkedge quorum.

  zkedge-observer  members 1-3 Apache voters, member 4 a zkedge observer
  apache-observer  members 1-3 zkedge voters, member 4 an Apache observer

In each: kazoo clients on the observer read what is written through every voter (and their
watches fire), and write through it (creates, sequentials, a multi, an ephemeral that vanishes
with its session); the observer, killed and restarted, catches up by DIFF; after the leader is
killed it follows the new one, and keeps forwarding writes. After every step all members serve
the same tree.

These tests need zkedge-server (ZKEDGE_SERVER, default <repo>/build/zkedge-server): the all-Apache
CI pass deselects them with -k "not interop". ZK_INTEROP_KINDS=apache (or zkedge) makes every
member that kind instead, to check the test itself."""
import os
import uuid

import pytest

from conftest import Collector, wait_until
from ensemble import KINDS, assert_same_tree, bounded_sync, learner_sync_modes, make_ensemble  # noqa: F401

CONFIGS = {
    "zkedge-observer": (["apache"] * 3, ["zkedge"]),
    "apache-observer": (["zkedge"] * 3, ["apache"]),
}


def interop_kinds(config):
    voters, observers = CONFIGS[config]
    force = os.environ.get("ZK_INTEROP_KINDS", "").strip().lower()
    if not force:
        return list(voters), list(observers)
    if force not in KINDS:
        raise pytest.UsageError("ZK_INTEROP_KINDS must be one of %s, not %r" % (KINDS, force))
    return [force] * len(voters), [force] * len(observers)




def voters_write_observer_reads(ens, obs, base, tag):
    """Every live voter writes (create, sequentials, a multi, setData of another's node, a
    delete); a client on the observer, its watches set first, sees all of it."""
    voters = [m for m in ens.voters() if m.alive()]
    oc = ens.client(obs)
    clients = {v.sid: ens.client(v) for v in voters}
    try:
        first = voters[0].sid
        clients[first].create("%s/%s" % (base, tag), b"")
        for sid, c in clients.items():
            c.create("%s/%s/v-%d" % (base, tag, sid), b"by-%d" % sid)
            c.create("%s/%s/v-%d/gone" % (base, tag, sid), b"")
        bounded_sync(oc, base)
        data_w, child_w = Collector(), Collector()
        assert oc.get("%s/%s/v-%d" % (base, tag, first), watch=data_w)[0] == b"by-%d" % first
        assert sorted(oc.get_children("%s/%s" % (base, tag), watch=child_w)) == sorted(
            "v-%d" % sid for sid in clients)
        sids = sorted(clients)
        for i, sid in enumerate(sids):
            c = clients[sid]
            other = sids[(i + 1) % len(sids)]
            seq = [c.create("%s/%s/v-%d/s-" % (base, tag, sid), b"", sequence=True) for _ in range(3)]
            assert len(set(seq)) == 3
            t = c.transaction()
            t.create("%s/%s/v-%d/multi" % (base, tag, sid), b"m")
            t.delete("%s/%s/v-%d/gone" % (base, tag, sid))
            assert t.commit()[0] == "%s/%s/v-%d/multi" % (base, tag, sid)
            c.set("%s/%s/v-%d" % (base, tag, other), b"set-by-%d" % sid)
        clients[sids[-1]].create("%s/%s/last" % (base, tag), b"")
        assert data_w.wait(1, timeout=15), "data watch on the observer did not fire"
        assert child_w.wait(1, timeout=15), "child watch on the observer did not fire"
        assert data_w.items[0].type == "CHANGED" and child_w.items[0].type == "CHILD"
        bounded_sync(oc, base)
        for i, sid in enumerate(sids):
            setter = sids[(i - 1) % len(sids)]
            data, st = oc.get("%s/%s/v-%d" % (base, tag, sid))
            assert data == b"set-by-%d" % setter and st.version == 1, (sid, data, st.version)
            kids = sorted(oc.get_children("%s/%s/v-%d" % (base, tag, sid)))
            assert len(kids) == 4 and "multi" in kids and "gone" not in kids, kids
        assert oc.exists("%s/%s/last" % (base, tag)) is not None
    finally:
        for c in [oc] + list(clients.values()):
            ens.close_client(c)


def observer_writes_voters_read(ens, obs, base, tag):
    """A client on the observer writes (create, sequentials, a multi, setData, an ephemeral);
    every live voter sees it; the ephemeral vanishes everywhere when the session closes."""
    oc = ens.client(obs)
    p = "%s/%s" % (base, tag)
    oc.create(p, b"from-observer")
    seq = [oc.create(p + "/s-", b"", sequence=True) for _ in range(5)]
    assert len(set(seq)) == 5
    t = oc.transaction()
    t.create(p + "/multi-a", b"a")
    t.create(p + "/multi-b", b"b")
    t.set_data(p, b"from-observer-multi")
    res = t.commit()
    assert res[:2] == [p + "/multi-a", p + "/multi-b"] and res[2].version == 1, res
    oc.create(p + "/eph", b"e", ephemeral=True)
    owner = oc.client_id[0]
    for v in [m for m in ens.voters() if m.alive()]:
        c = ens.client(v)
        try:
            bounded_sync(c, p)
            data, st = c.get(p)
            assert data == b"from-observer-multi" and st.version == 1
            assert sorted(c.get_children(p)) == sorted([s.rsplit("/", 1)[1] for s in seq] + ["multi-a", "multi-b", "eph"])
            assert c.exists(p + "/eph").ephemeralOwner == owner
        finally:
            ens.close_client(c)
    ens.close_client(oc)
    for m in [m for m in ens if m.alive()]:
        c = ens.client(m)
        try:
            def gone():
                bounded_sync(c, p)
                return c.exists(p + "/eph") is None
            wait_until(gone, timeout=15, interval=0.1, what="the observer session's ephemeral gone on member %d" % m.sid)
        finally:
            ens.close_client(c)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_interop_observer_follows_a_quorum_of_the_other_kind(make_ensemble, config):
    voters, observers = interop_kinds(config)
    ens = make_ensemble(3, kinds=voters, observers=1, observer_kinds=observers)
    obs = ens[4]
    leader = ens.wait_for_leader()
    assert obs.mode() == "observer"
    wait_until(lambda: leader.mntr().get("zk_synced_observers") == "1", timeout=20, interval=0.2,
               what="the %s leader to count the %s observer in zk_synced_observers" % (leader.kind, obs.kind))
    base = "/obs-interop-%s-%s" % (config, uuid.uuid4().hex[:8])
    c = ens.client(leader)
    c.create(base, b"")
    ens.close_client(c)

    voters_write_observer_reads(ens, obs, base, "fresh-v")
    observer_writes_voters_read(ens, obs, base, "fresh-o")
    assert_same_tree(ens, base, members=list(ens))

    # the observer, killed and restarted, catches up by DIFF
    obs.kill()
    c = ens.client(ens.voters()[0])
    for i in range(50):
        c.create("%s/while-observer-down-%d" % (base, i), b"%d" % i)
    ens.close_client(c)
    offset = obs.log_size()
    obs.start()
    assert ens.wait_for_leader() is leader
    assert obs.mode() == "observer"
    tree = assert_same_tree(ens, base, members=list(ens))
    assert "/while-observer-down-49" in tree
    modes = learner_sync_modes(obs, obs.log_since(offset))
    assert "DIFF" in modes, "the %s observer synced by %s after a restart, expected DIFF" % (
        obs.kind, sorted(modes) or "(no sync line in its log)")
    voters_write_observer_reads(ens, obs, base, "restarted-v")
    observer_writes_voters_read(ens, obs, base, "restarted-o")

    # the leader killed: the observer follows the new one
    leader.kill()
    new = ens.wait_for_leader()
    assert new is not leader and not new.observer
    ens.wait_for_mode(obs, "observer")
    voters_write_observer_reads(ens, obs, base, "new-leader-v")
    observer_writes_voters_read(ens, obs, base, "new-leader-o")
    assert_same_tree(ens, base, members=ens.alive())
    ens.restart(leader)
    ens.wait_for_leader()
    assert obs.mode() == "observer"
    tree = assert_same_tree(ens, base, members=list(ens))
    for tag in ("fresh-o", "restarted-o", "new-leader-o"):
        assert "/" + tag in tree and "/%s/eph" % tag not in tree

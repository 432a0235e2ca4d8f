"""Mixed ensembles: zkedge members and an Apache ZooKeeper 3.8 member in one quorum, the proof
that zkedge speaks ZooKeeper's election and ZAB bytes. Two zkedge members and one Apache member,
in both directions of leadership:

  apache-leader  myids 1, 2 zkedge, 3 Apache: on a fresh ensemble (every zxid 0) the highest
                 myid wins, so the Apache member leads and the zkedge members follow it;
  zkedge-leader  myid 1 Apache, 2 and 3 zkedge: a zkedge leader with an Apache follower.

Each member in turn, the leader first, is killed with SIGKILL while the other two go on taking
writes, then restarted: leadership moves between kinds along the way, and after every step all
members serve the same tree to kazoo clients (data, versions, zxids of a test subtree).

These tests need zkedge-server (ZKEDGE_SERVER, default <repo>/build/zkedge-server): the all-Apache
CI pass deselects them with -k "not interop". ZK_INTEROP_KINDS=apache (or zkedge) makes every
member that kind instead, to check the harness itself."""
import os
import uuid

import pytest

from conftest import wait_until
from ensemble import (KINDS, assert_same_tree, bounded_sync, make_ensemble,  # noqa: F401
                      write_until_ok)

CONFIGS = {
    "apache-leader": ["zkedge", "zkedge", "apache"],
    "zkedge-leader": ["apache", "zkedge", "zkedge"],
}


def interop_kinds(config):
    force = os.environ.get("ZK_INTEROP_KINDS", "").strip().lower()
    if not force:
        return list(CONFIGS[config])
    if force not in KINDS:
        raise pytest.UsageError("ZK_INTEROP_KINDS must be one of %s, not %r" % (KINDS, force))
    return [force] * len(CONFIGS[config])


def write_round(ens, base, tag):
    """Through a fresh client on every live member: a node with children (sequential, a multi),
    an ephemeral, and a setData of another member's node; then every member reads everything
    written (after a sync), and the ephemerals vanish everywhere once their sessions close."""
    live = ens.alive()
    clients = {m.sid: ens.client(m) for m in live}
    try:
        for sid, c in clients.items():
            p = "%s/%s-%d" % (base, tag, sid)
            c.create(p, b"by-%d" % sid)
            seq = [c.create(p + "/seq-", b"s", sequence=True) for _ in range(3)]
            assert len(set(seq)) == 3
            t = c.transaction()
            t.create(p + "/multi-a", b"a")
            t.create(p + "/multi-b", b"b")
            t.set_data(p, b"by-%d-multi" % sid)
            res = t.commit()
            assert res[:2] == [p + "/multi-a", p + "/multi-b"] and res[2].version == 1, res
            c.create("%s/eph-%s-%d" % (base, tag, sid), b"e", ephemeral=True)
        sids = sorted(clients)
        for i, sid in enumerate(sids):  # each member changes the node the next one created
            other = sids[(i + 1) % len(sids)]
            clients[sid].set("%s/%s-%d" % (base, tag, other), b"set-by-%d" % sid)
        for sid, c in clients.items():
            bounded_sync(c, base)
            for i, writer in enumerate(sids):
                setter = sids[(i - 1) % len(sids)]
                p = "%s/%s-%d" % (base, tag, writer)
                data, st = c.get(p)
                assert data == b"set-by-%d" % setter, "member %d reads %r at %s" % (sid, data, p)
                assert st.version == 2
                kids = sorted(c.get_children(p))
                assert kids[:2] == ["multi-a", "multi-b"] and len(kids) == 5, "member %d: %r" % (sid, kids)
                assert c.exists("%s/eph-%s-%d" % (base, tag, writer)) is not None
    finally:
        for c in clients.values():
            ens.close_client(c)
    for m in live:
        c = ens.client(m)
        try:
            def no_ephemerals():
                bounded_sync(c, base)
                return not [k for k in c.get_children(base) if k.startswith("eph-")]
            wait_until(no_ephemerals, timeout=15, interval=0.1,
                       what="ephemerals of closed sessions gone on member %d" % m.sid)
        finally:
            ens.close_client(c)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_interop_mixed_ensemble_kill_and_restart_each_member(make_ensemble, config):
    kinds = interop_kinds(config)
    ens = make_ensemble(3, kinds=kinds, leader=3)
    assert ens.wait_for_leader() is ens[3], "member 3 (%s) should lead a fresh ensemble" % kinds[2]
    base = "/interop-%s-%s" % (config, uuid.uuid4().hex[:8])
    write_until_ok(ens, base, b"interop")
    write_round(ens, base, "fresh")
    assert_same_tree(ens, base, members=list(ens))

    leader = ens.wait_for_leader()
    order = [leader] + ens.others(leader)  # the leader first, then each of the others
    for step, victim in enumerate(order):
        victim.kill()
        new = ens.wait_for_leader()
        assert new is not victim
        write_round(ens, base, "without-%d" % victim.sid)
        ens.restart(victim)
        ens.wait_for_leader()
        assert victim.mode() in ("leader", "follower")
        write_round(ens, base, "after-%d" % victim.sid)
        tree = assert_same_tree(ens, base, members=list(ens))
        for m in ens:
            assert "/after-%d-%d" % (victim.sid, m.sid) in tree
    leaders = ens.modes()
    assert sorted(leaders.values()) == ["follower", "follower", "leader"], leaders

"""Observer masters (observerMasterPort): followers serve observers, so the leader's work does not
grow with their number. 3 voters + 2 observers, each member's quorum ports on its own loopback
address (as on separate hosts: every follower listens on the same observerMasterPort), kinds from
ZK_TARGET like the other ensemble tests.

Checked: each observer learns from a follower, never from the leader (mntr zk_observer_master_id
on the observer, as Apache prints it); writes through observers and voters are read everywhere;
when an observer's master is killed, the observer moves to another voter that serves observers
and keeps serving reads and forwarding writes; the killed master rejoins; all members end with
the same tree."""
import uuid

from conftest import wait_until
from ensemble import assert_same_tree, bounded_sync, free_ports, make_ensemble  # noqa: F401




def master_of(member):
    v = member.mntr().get("zk_observer_master_id")
    return int(v) if v not in (None, "", "-1") else None


def test_observer_masters_serve_observers(make_ensemble):
    (om_port,) = free_ports(1)
    ens = make_ensemble(size=3, observers=2, distinct_addrs=True,
                        extra_config=["observerMasterPort=%d" % om_port])
    leader = ens.wait_for_leader()
    followers = [m for m in ens.voters() if m.sid != leader.sid]
    base = "/om-" + uuid.uuid4().hex[:8]

    masters = {}
    for obs in ens.observers():
        wait_until(lambda: master_of(obs) is not None, timeout=20, what="observer %d has a master" % obs.sid)
        masters[obs.sid] = master_of(obs)
        assert masters[obs.sid] in {f.sid for f in followers}, \
            "observer %d learns from %s, not from a follower %s" % (obs.sid, masters[obs.sid], [f.sid for f in followers])

    wc = ens.client(leader)
    wc.create(base, b"")
    for obs in ens.observers():
        oc = ens.client(obs)
        oc.create("%s/from-%d" % (base, obs.sid), b"x")
    for m in ens:
        c = ens.client(m)
        bounded_sync(c, base)
        assert sorted(c.get_children(base)) == sorted("from-%d" % o.sid for o in ens.observers())

    # Kill the master of the first observer: it moves to another voter serving observers.
    obs = ens.observers()[0]
    dead = ens[masters[obs.sid]]
    dead.kill()
    ens.wait_for_leader(exclude=[dead])
    wait_until(lambda: master_of(obs) not in (None, dead.sid), timeout=30,
               what="observer %d leaves its dead master %d" % (obs.sid, dead.sid))
    survivors = {f.sid for f in followers if f.sid != dead.sid}
    assert master_of(obs) in survivors, "observer %d moved to %s, not to the surviving follower %s" % (
        obs.sid, master_of(obs), survivors)
    oc = ens.client(obs)
    oc.create("%s/after-kill" % base, b"y")
    vc = ens.client(ens.leader())
    bounded_sync(vc, base)
    assert vc.exists("%s/after-kill" % base) is not None

    ens.restart(dead)
    ens.wait_for_leader()
    assert_same_tree(ens, base)

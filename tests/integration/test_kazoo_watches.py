"""Watches: one-shot data/exists/child watches through kazoo; persistent and persistent-recursive
watches (addWatch), removeWatches/checkWatches and setWatches/setWatches2 after a reconnect
through the raw protocol (kazoo 2.8 has no add_watch/remove_watches and does not re-register
watches on reconnect)."""
import time

from kazoo.protocol.states import EventType, KazooState

QUIET = 0.5  # how long "no further event" is watched for


def test_data_watch_fires_once_on_change(zk, make_client, base, zkx):
    other = make_client()
    p = base + "/d"
    zk.create(p, b"0")
    got = zkx.Collector()
    data, _ = zk.get(p, watch=got)
    assert data == b"0"
    other.set(p, b"1")
    assert got.wait(1, timeout=5)
    ev = got.items[0]
    assert ev.type == EventType.CHANGED and ev.path == p and ev.state == KazooState.CONNECTED
    other.set(p, b"2")  # one-shot: no second event without a new get
    time.sleep(QUIET)
    assert len(got.items) == 1


def test_data_watch_fires_on_delete(zk, base, zkx):
    p = base + "/d"
    zk.create(p, b"")
    got = zkx.Collector()
    zk.get(p, watch=got)
    zk.delete(p)
    assert got.wait(1, timeout=5)
    assert got.items[0].type == EventType.DELETED and got.items[0].path == p
    time.sleep(QUIET)
    assert len(got.items) == 1


def test_exists_watch_on_missing_node_fires_created(zk, make_client, base, zkx):
    other = make_client()
    p = base + "/later"
    got = zkx.Collector()
    assert zk.exists(p, watch=got) is None
    other.create(p, b"x")
    assert got.wait(1, timeout=5)
    assert got.items[0].type == EventType.CREATED and got.items[0].path == p
    other.set(p, b"y")
    time.sleep(QUIET)
    assert len(got.items) == 1


def test_exists_watch_on_existing_node(zk, base, zkx):
    p = base + "/e"
    zk.create(p, b"")
    changed = zkx.Collector()
    assert zk.exists(p, watch=changed) is not None
    zk.set(p, b"1")
    assert changed.wait(1, timeout=5)
    assert changed.items[0].type == EventType.CHANGED
    deleted = zkx.Collector()
    zk.exists(p, watch=deleted)
    zk.delete(p)
    assert deleted.wait(1, timeout=5)
    assert deleted.items[0].type == EventType.DELETED


def test_child_watch(zk, make_client, base, zkx):
    other = make_client()
    p = base + "/parent"
    zk.create(p, b"")
    got = zkx.Collector()
    assert zk.get_children(p, watch=got) == []
    other.set(p, b"data")  # the parent's data is not its children
    time.sleep(QUIET)
    assert len(got.items) == 0
    other.create(p + "/a", b"")
    assert got.wait(1, timeout=5)
    assert got.items[0].type == EventType.CHILD and got.items[0].path == p
    other.create(p + "/b", b"")  # one-shot
    time.sleep(QUIET)
    assert len(got.items) == 1

    again = zkx.Collector()
    assert sorted(zk.get_children(p, watch=again)) == ["a", "b"]
    other.set(p + "/a", b"x")  # a child's data change is not a child change
    other.create(p + "/a/grandchild", b"")  # nor is a grandchild
    time.sleep(QUIET)
    assert len(again.items) == 0
    other.delete(p + "/b")
    assert again.wait(1, timeout=5)
    assert again.items[0].type == EventType.CHILD


def test_child_watch_fires_deleted_when_parent_goes(zk, base, zkx):
    p = base + "/gone"
    zk.create(p, b"")
    got = zkx.Collector()
    zk.get_children(p, watch=got)
    zk.delete(p)
    assert got.wait(1, timeout=5)
    assert got.items[0].type == EventType.DELETED and got.items[0].path == p


def test_create_fires_exists_and_parent_child_watches(zk, make_client, base, zkx):
    other = make_client()
    p = base + "/n"
    ex, ch = zkx.Collector(), zkx.Collector()
    zk.exists(p, watch=ex)
    zk.get_children(base, watch=ch)
    other.create(p, b"")
    assert ex.wait(1, timeout=5) and ch.wait(1, timeout=5)
    assert ex.items[0].type == EventType.CREATED and ex.items[0].path == p
    assert ch.items[0].type == EventType.CHILD and ch.items[0].path == base


def test_delete_fires_data_child_and_parent_watches(zk, make_client, base, zkx):
    other = make_client()
    p = base + "/n"
    zk.create(p, b"")
    data, kids, parent = zkx.Collector(), zkx.Collector(), zkx.Collector()
    zk.get(p, watch=data)
    zk.get_children(p, watch=kids)
    zk.get_children(base, watch=parent)
    other.delete(p)
    assert data.wait(1, timeout=5) and kids.wait(1, timeout=5) and parent.wait(1, timeout=5)
    assert data.items[0].type == EventType.DELETED
    assert kids.items[0].type == EventType.DELETED
    assert parent.items[0].type == EventType.CHILD and parent.items[0].path == base


def test_watches_of_many_clients_all_fire(make_client, base, zkx):
    writer = make_client()
    p = base + "/fan"
    writer.create(p, b"")
    watchers = [make_client() for _ in range(5)]
    cols = [zkx.Collector() for _ in watchers]
    for w, c in zip(watchers, cols):
        w.get(p, watch=c)
    writer.set(p, b"go")
    for c in cols:
        assert c.wait(1, timeout=5)
        assert c.items[0].type == EventType.CHANGED


def test_ephemeral_expiry_on_close_fires_watches(zk, make_client, base, zkx):
    owner = make_client()
    p = owner.create(base + "/eph", b"", ephemeral=True)
    ex, ch = zkx.Collector(), zkx.Collector()
    zk.exists(p, watch=ex)
    zk.get_children(base, watch=ch)
    owner.stop()
    assert ex.wait(1, timeout=5) and ch.wait(1, timeout=5)
    assert ex.items[0].type == EventType.DELETED
    assert ch.items[0].type == EventType.CHILD


def test_transaction_fires_watches(zk, make_client, base, zkx):
    other = make_client()
    zk.create(base + "/a", b"")
    a, b = zkx.Collector(), zkx.Collector()
    zk.get(base + "/a", watch=a)
    zk.exists(base + "/b", watch=b)
    t = other.transaction()
    t.set_data(base + "/a", b"1")
    t.create(base + "/b", b"")
    assert all(r is not None and not isinstance(r, Exception) for r in t.commit())
    assert a.wait(1, timeout=5) and b.wait(1, timeout=5)
    assert a.items[0].type == EventType.CHANGED
    assert b.items[0].type == EventType.CREATED


def test_notification_precedes_later_read_reply(make_raw, zk, base, zkx):
    # A client sees the watch event before it sees the change that triggered it.
    p = base + "/order"
    zk.create(p, b"0")
    r = make_raw()
    assert r.get_data(p, watch=True).err == 0
    zk.set(p, b"1")
    reply = r.get_data(p)
    assert reply.err == 0
    d = zkx.Dec(reply.body)
    assert d.buf() == b"1"
    ev = r.next_event(timeout=0)  # already queued: it arrived before the reply
    assert ev is not None and ev.type == zkx.EVENT.data_changed and ev.path == p
    assert ev.zxid == -1  # notifications carry zxid -1 in the reply header


# --- persistent watches (addWatch, opcode 106) ----------------------------------------------

def test_persistent_watch(make_raw, zk, base, zkx):
    E = zkx.EVENT
    p = base + "/pw"
    zk.create(p, b"")
    r = make_raw()
    reply = r.add_watch(p, zkx.ADD_WATCH_MODE.persistent)
    assert reply.err == 0
    zk.set(p, b"1")
    zk.set(p, b"2")
    zk.create(p + "/kid", b"")
    zk.set(p + "/kid", b"x")  # not reported: the watch is on p only
    zk.create(p + "/kid/grand", b"")  # not reported
    zk.delete(p + "/kid/grand")
    zk.delete(p + "/kid")
    zk.delete(p)
    zk.create(p, b"")  # still watched: persistent watches survive the node's deletion
    evs = r.events_for(QUIET)
    assert [(e.type, e.path) for e in evs] == [
        (E.data_changed, p), (E.data_changed, p), (E.child_changed, p), (E.child_changed, p),
        (E.deleted, p), (E.created, p)]


def test_persistent_recursive_watch(make_raw, zk, base, zkx):
    E = zkx.EVENT
    p = base + "/rw"
    zk.create(p, b"")
    r = make_raw()
    assert r.add_watch(p, zkx.ADD_WATCH_MODE.persistent_recursive).err == 0
    zk.create(p + "/a", b"")
    zk.set(p + "/a", b"1")
    zk.create(p + "/a/b", b"")
    zk.set(p + "/a/b", b"2")
    zk.delete(p + "/a/b")
    zk.delete(p + "/a")
    zk.set(p, b"3")
    zk.create(base + "/rw-sibling", b"")  # outside the watched subtree
    evs = r.events_for(QUIET)
    # no NodeChildrenChanged events: recursive watches report the children themselves
    assert [(e.type, e.path) for e in evs] == [
        (E.created, p + "/a"), (E.data_changed, p + "/a"), (E.created, p + "/a/b"),
        (E.data_changed, p + "/a/b"), (E.deleted, p + "/a/b"), (E.deleted, p + "/a"),
        (E.data_changed, p)]


def test_persistent_watch_on_missing_node_and_ephemeral_expiry(make_raw, make_client, zk, base, zkx):
    E = zkx.EVENT
    p = base + "/later"
    r = make_raw()
    assert r.add_watch(p, zkx.ADD_WATCH_MODE.persistent_recursive).err == 0
    owner = make_client()
    owner.create(p, b"", ephemeral=True)
    owner.stop()
    evs = r.events_for(QUIET)
    assert [(e.type, e.path) for e in evs] == [(E.created, p), (E.deleted, p)]


def test_persistent_and_standard_watch_together(make_raw, zk, base, zkx):
    E = zkx.EVENT
    p = base + "/both"
    zk.create(p, b"")
    r = make_raw()
    assert r.get_data(p, watch=True).err == 0
    assert r.add_watch(p, zkx.ADD_WATCH_MODE.persistent).err == 0
    zk.set(p, b"1")
    zk.set(p, b"2")
    evs = r.events_for(QUIET)
    # one notification per change and connection, however many watches match it
    assert [(e.type, e.path) for e in evs] == [(E.data_changed, p), (E.data_changed, p)]


def test_remove_persistent_watch(make_raw, zk, base, zkx):
    W = zkx.WATCHER_TYPE
    p = base + "/rm"
    zk.create(p, b"")
    r = make_raw()
    assert r.add_watch(p, zkx.ADD_WATCH_MODE.persistent).err == 0
    assert r.check_watches(p, W.any).err == 0
    assert r.remove_watches(p, W.any).err == 0
    assert r.remove_watches(p, W.any).err == zkx.ERR.no_watcher
    assert r.check_watches(p, W.any).err == zkx.ERR.no_watcher
    zk.set(p, b"1")
    zk.create(p + "/k", b"")
    assert r.events_for(QUIET) == []


# --- removeWatches / checkWatches on standard watches -----------------------------------------

def test_remove_data_watch(make_raw, zk, base, zkx):
    W, E = zkx.WATCHER_TYPE, zkx.EVENT
    p = base + "/rd"
    zk.create(p, b"")
    r = make_raw()
    r.get_data(p, watch=True)
    r.get_children(p, watch=True)
    assert r.check_watches(p, W.data).err == 0
    assert r.remove_watches(p, W.data).err == 0
    assert r.check_watches(p, W.data).err == zkx.ERR.no_watcher
    assert r.remove_watches(p, W.data).err == zkx.ERR.no_watcher
    zk.set(p, b"1")  # the data watch is gone
    zk.create(p + "/k", b"")  # the child watch is still there
    evs = r.events_for(QUIET)
    assert [(e.type, e.path) for e in evs] == [(E.child_changed, p)]


def test_remove_child_watch_and_any(make_raw, zk, base, zkx):
    W, E = zkx.WATCHER_TYPE, zkx.EVENT
    p = base + "/rc"
    zk.create(p, b"")
    r = make_raw()
    assert r.remove_watches(p, W.children).err == zkx.ERR.no_watcher
    r.get_children(p, watch=True)
    r.get_data(p, watch=True)
    assert r.remove_watches(p, W.children).err == 0
    zk.create(p + "/k", b"")
    zk.set(p, b"1")
    assert [(e.type, e.path) for e in r.events_for(QUIET)] == [(E.data_changed, p)]
    r.get_children(p, watch=True)
    r.get_data(p, watch=True)
    assert r.remove_watches(p, W.any).err == 0
    assert r.remove_watches(p, W.any).err == zkx.ERR.no_watcher
    zk.set(p, b"2")
    zk.delete(p + "/k")
    assert r.events_for(QUIET) == []


def test_remove_exists_watch_on_missing_node(make_raw, zk, base, zkx):
    W = zkx.WATCHER_TYPE
    p = base + "/ghost"
    r = make_raw()
    assert r.exists(p, watch=True).err == zkx.ERR.no_node
    assert r.remove_watches(p, W.data).err == 0  # an exists watch is a data watch
    zk.create(p, b"")
    assert r.events_for(QUIET) == []


def test_remove_watch_of_other_session_is_no_watcher(make_raw, zk, base, zkx):
    W = zkx.WATCHER_TYPE
    p = base + "/mine"
    zk.create(p, b"")
    a, b = make_raw(), make_raw()
    a.get_data(p, watch=True)
    assert b.remove_watches(p, W.data).err == zkx.ERR.no_watcher
    zk.set(p, b"1")
    ev = a.next_event(timeout=5)
    assert ev is not None and ev.type == zkx.EVENT.data_changed


# --- setWatches after a reconnect ------------------------------------------------------------

def test_set_watches_after_reconnect_reports_missed_changes(make_raw, zk, base, zkx):
    """Watches set before a disconnect are re-sent with setWatches and the last zxid seen; the
    server fires at once those whose node changed meanwhile and keeps the others."""
    E = zkx.EVENT
    changed, deleted, created, kids, quiet = (base + "/changed", base + "/deleted", base + "/created",
                                              base + "/kids", base + "/quiet")
    for p in (changed, deleted, kids, quiet):
        zk.create(p, b"")
    r = make_raw()
    r.get_data(changed, watch=True)
    r.get_data(deleted, watch=True)
    r.exists(created, watch=True)
    r.get_children(kids, watch=True)
    r.get_data(quiet, watch=True)
    r.exists(base + "/still-missing", watch=True)
    last = r.last_zxid
    r.drop()  # the socket goes, the session stays

    zk.set(changed, b"1")
    zk.delete(deleted)
    zk.create(created, b"")
    zk.create(kids + "/k", b"")

    r2 = make_raw.track(r.reconnect())
    assert r2.session_id == r.session_id and r2.timeout > 0
    reply = r2.set_watches(last, data=[changed, deleted, quiet], exist=[created, base + "/still-missing"],
                           child=[kids])
    assert reply.err == 0 and reply.xid == zkx.XID.set_watches
    evs = r2.events_for(QUIET)
    assert sorted((e.type, e.path) for e in evs) == sorted([
        (E.data_changed, changed), (E.deleted, deleted), (E.created, created), (E.child_changed, kids)])
    # the unchanged ones were registered and fire on the next change
    zk.set(quiet, b"now")
    zk.create(base + "/still-missing", b"")
    evs = r2.events_for(QUIET)
    assert sorted((e.type, e.path) for e in evs) == sorted([
        (E.data_changed, quiet), (E.created, base + "/still-missing")])


def test_set_watches2_restores_persistent_watches(make_raw, zk, base, zkx):
    E = zkx.EVENT
    p = base + "/p"
    zk.create(p, b"")
    r = make_raw()
    r.add_watch(p, zkx.ADD_WATCH_MODE.persistent)
    r.add_watch(base, zkx.ADD_WATCH_MODE.persistent_recursive)
    last = r.last_zxid
    r.drop()
    r2 = make_raw.track(r.reconnect())
    assert r2.set_watches2(last, persistent=[p], recursive=[base]).err == 0
    assert r2.events_for(0.2) == []  # persistent watches report nothing missed
    zk.set(p, b"1")
    zk.create(p + "/k", b"")
    evs = r2.events_for(QUIET)
    # p is watched twice (its own persistent watch, base's recursive one): one event per change
    assert sorted((e.type, e.path) for e in evs) == sorted([
        (E.data_changed, p), (E.child_changed, p), (E.created, p + "/k")])

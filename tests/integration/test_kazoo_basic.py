"""Basic znode operations through kazoo: create/get/set/delete/exists/children, Stat fields,
every create mode (persistent, ephemeral, sequential, container, TTL), errors and path rules.
Containers, TTL nodes, getEphemerals and getAllChildrenNumber are not in kazoo 2.8: they go
through kazoo's connection with request classes from conftest (zkx.create_container, ...)."""
import threading
import time

import pytest
from kazoo.exceptions import (BadArgumentsError, BadVersionError, NoAuthError, NoChildrenForEphemeralsError,
                              NodeExistsError, NoNodeError, NotEmptyError)
from kazoo.security import make_digest_acl


def test_create_get_set_delete_roundtrip(zk, base):
    p = base + "/node"
    assert zk.create(p, b"hello") == p
    data, st = zk.get(p)
    assert data == b"hello"
    assert st.version == 0 and st.cversion == 0 and st.aversion == 0
    assert st.dataLength == 5 and st.numChildren == 0 and st.ephemeralOwner == 0
    assert st.czxid == st.mzxid == st.pzxid and st.czxid > 0
    assert st.ctime == st.mtime
    assert abs(st.ctime / 1000.0 - time.time()) < 120  # ms since the epoch

    st2 = zk.set(p, b"world!")
    assert st2.version == 1 and st2.dataLength == 6
    assert st2.czxid == st.czxid and st2.mzxid > st.mzxid
    assert st2.pzxid == st.pzxid  # data changes do not touch pzxid
    assert st2.ctime == st.ctime and st2.mtime >= st.mtime
    assert zk.get(p) == (b"world!", st2)
    assert zk.exists(p) == st2

    zk.delete(p)
    assert zk.exists(p) is None
    with pytest.raises(NoNodeError):
        zk.get(p)


def test_create_include_data_returns_the_stat(zk, base):
    path, st = zk.create(base + "/c2", b"abc", include_data=True)
    assert path == base + "/c2"
    assert st == zk.exists(path)
    assert st.dataLength == 3 and st.version == 0


def test_empty_and_large_values(zk, base):
    zk.create(base + "/empty")
    data, st = zk.get(base + "/empty")
    assert data == b"" and st.dataLength == 0
    big = bytes(range(256)) * 2000  # 512000 bytes, below jute.maxbuffer
    zk.create(base + "/big", big)
    data, st = zk.get(base + "/big")
    assert data == big and st.dataLength == len(big)
    st = zk.set(base + "/big", b"")
    assert st.dataLength == 0 and zk.get(base + "/big")[0] == b""


def test_unicode_names_and_binary_data(zk, base):
    p = base + "/n\u00e4me-\u65e5\u672c"
    zk.create(p, b"\x00\xff\x00")
    assert zk.get(p)[0] == b"\x00\xff\x00"
    assert zk.get_children(base) == ["n\u00e4me-\u65e5\u672c"]


def test_version_checks(zk, base):
    p = base + "/v"
    zk.create(p, b"0")
    with pytest.raises(BadVersionError):
        zk.set(p, b"x", version=1)
    assert zk.set(p, b"1", version=0).version == 1
    assert zk.set(p, b"2", version=1).version == 2
    assert zk.set(p, b"3", version=-1).version == 3  # -1 matches any version
    with pytest.raises(BadVersionError):
        zk.delete(p, version=2)
    assert zk.exists(p).version == 3
    zk.delete(p, version=3)
    assert zk.exists(p) is None


def test_error_codes(zk, base):
    zk.create(base + "/x", b"")
    with pytest.raises(NodeExistsError):
        zk.create(base + "/x", b"")
    with pytest.raises(NoNodeError):
        zk.create(base + "/missing/child", b"")
    with pytest.raises(NoNodeError):
        zk.delete(base + "/missing")
    with pytest.raises(NoNodeError):
        zk.set(base + "/missing", b"")
    with pytest.raises(NoNodeError):
        zk.get_children(base + "/missing")
    assert zk.exists(base + "/missing") is None
    zk.create(base + "/x/kid", b"")
    with pytest.raises(NotEmptyError):
        zk.delete(base + "/x")
    zk.create(base + "/eph", b"", ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(base + "/eph/kid", b"")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(base + "/eph/seq-", b"", sequence=True)


def test_error_checks_order_on_create(zk, base):
    # Apache checks, in order: the parent exists, the parent is not ephemeral, the node does
    # not exist; a missing parent wins over everything else.
    zk.create(base + "/eph", b"", ephemeral=True)
    with pytest.raises(NoNodeError):
        zk.create(base + "/nothere/eph/x", b"")
    with pytest.raises(NodeExistsError):
        zk.create(base + "/eph", b"", ephemeral=True)


def test_invalid_paths_bad_arguments(zk, base):
    # kazoo normalises "//" and trailing "/" itself and refuses "." and ".." components, but
    # forbidden characters reach the server, which answers BadArguments.
    for name in ["nul\x00x", "ctl\x01x", "del\x7f", "c1\x85", "surr\ue000", "spec\ufff0"]:
        with pytest.raises(BadArgumentsError):
            zk.create(base + "/" + name, b"")
    assert zk.get_children(base) == []


def test_children_and_stat_counts(zk, base):
    p = base + "/parent"
    st0 = zk.create(p, b"d", include_data=True)[1]
    created = []
    for name in ["b", "a", "c"]:
        created.append(zk.create(p + "/" + name, b"", include_data=True)[1])
    assert sorted(zk.get_children(p)) == ["a", "b", "c"]
    children, st = zk.get_children(p, include_data=True)
    assert sorted(children) == ["a", "b", "c"]
    assert st.numChildren == 3 and st.cversion == 3
    assert st.version == 0 and st.mzxid == st0.mzxid  # children do not change the parent's data
    assert st.pzxid == created[-1].czxid  # pzxid is the zxid of the last child change
    zk.set(p + "/a", b"changed")
    assert zk.exists(p).cversion == 3  # a child's data change is not a child change
    zk.delete(p + "/b")
    st2 = zk.exists(p)
    assert st2.numChildren == 2 and st2.cversion == 4 and st2.pzxid > st.pzxid
    assert sorted(zk.get_children(p)) == ["a", "c"]


def test_ensure_path_and_recursive_delete(zk, base):
    deep = base + "/a/b/c/d"
    assert zk.ensure_path(deep)
    assert zk.exists(deep) is not None
    assert zk.ensure_path(deep)  # already there: no error
    zk.create(base + "/a/b/x", b"")
    zk.create(base + "/a/b/c/y", b"")
    with pytest.raises(NotEmptyError):
        zk.delete(base + "/a")
    zk.delete(base + "/a", recursive=True)
    assert zk.exists(base + "/a") is None
    assert zk.get_children(base) == []


def test_create_makepath(zk, base):
    zk.create(base + "/m1/m2/leaf", b"v", makepath=True)
    assert zk.get(base + "/m1/m2/leaf")[0] == b"v"
    assert zk.get(base + "/m1")[0] == b""


def test_ephemeral_owner_and_visibility(zk, make_client, base):
    sid = zk.client_id[0]
    p = zk.create(base + "/eph", b"e", ephemeral=True)
    st = zk.exists(p)
    assert st.ephemeralOwner == sid
    other = make_client()
    assert other.exists(p).ephemeralOwner == sid
    assert other.get(p)[0] == b"e"
    # ephemeral nodes may be modified by anyone with the rights, and stay ephemeral
    other.set(p, b"f")
    assert zk.exists(p).ephemeralOwner == sid


def test_ephemeral_removed_when_owner_closes(zk, make_client, base, zkx):
    owner = make_client()
    p = owner.create(base + "/gone", b"", ephemeral=True)
    seq = owner.create(base + "/gone-seq-", b"", ephemeral=True, sequence=True)
    assert zk.exists(p).ephemeralOwner == owner.client_id[0]
    deleted = zkx.Collector()
    zk.exists(p, watch=deleted)
    owner.stop()
    assert deleted.wait(1, timeout=5), "no NodeDeleted for the ephemeral of a closed session"
    assert deleted.items[0].type == "DELETED" and deleted.items[0].path == p
    assert zk.exists(p) is None and zk.exists(seq) is None


def test_sequential_suffix_counts_child_creations(zk, base):
    # The suffix is the parent's count of child creations. Stat.cversion, as clients see it,
    # counts creations and deletions (Apache stores the creation count c and reports
    # 2 * c - numChildren), so after a delete the next suffix is below the visible cversion.
    p = base + "/seq"
    zk.create(p, b"")
    a = zk.create(p + "/n-", b"", sequence=True)
    b = zk.create(p + "/n-", b"", sequence=True)
    assert a == p + "/n-0000000000"
    assert b == p + "/n-0000000001"
    zk.delete(a)
    assert zk.exists(p).cversion == 3
    c = zk.create(p + "/n-", b"", sequence=True)
    assert c == p + "/n-0000000002"
    assert zk.exists(p).cversion == 4
    zk.create(p + "/plain", b"")  # any child create bumps the counter
    d = zk.create(p + "/other-", b"", sequence=True)
    assert d == p + "/other-0000000004"
    # a trailing slash: the name is only the counter
    e = zk.create(p + "/", b"", sequence=True)
    assert e == p + "/0000000005"
    st = zk.exists(p)
    assert st.numChildren == 5 and st.cversion == 7
    assert sorted(zk.get_children(p)) == sorted(x.rsplit("/", 1)[1] for x in [b, c, d, e, p + "/plain"])
    for name in zk.get_children(p):
        zk.delete(p + "/" + name)
    st = zk.exists(p)
    assert st.numChildren == 0 and st.cversion == 12  # 6 creations + 6 deletions
    assert zk.create(p + "/n-", b"", sequence=True) == p + "/n-0000000006"


def test_ephemeral_sequential(zk, make_client, base):
    owner = make_client()
    a = owner.create(base + "/es-", b"1", ephemeral=True, sequence=True)
    b = owner.create(base + "/es-", b"2", ephemeral=True, sequence=True)
    assert a == base + "/es-0000000000" and b == base + "/es-0000000001"
    assert zk.exists(a).ephemeralOwner == owner.client_id[0]
    owner.stop()
    assert zk.get_children(base) == []
    # deletions do not advance the sequence counter; they do show in cversion
    assert zk.exists(base).cversion == 4
    assert zk.create(base + "/es-", b"", sequence=True) == base + "/es-0000000002"


def test_sequential_names_are_consecutive(zk, base):
    # Sequence numbers come from the parent's cversion: many children get consecutive numbers.
    p = base + "/many"
    zk.create(p, b"")
    names = [zk.create(p + "/s-", b"", sequence=True) for _ in range(25)]
    assert names == [p + "/s-%010d" % i for i in range(25)]


def test_concurrent_sequential_creates_are_unique(make_client, base):
    clients = [make_client() for _ in range(4)]
    results = [[] for _ in clients]
    errors = []

    def worker(i):
        try:
            for _ in range(20):
                results[i].append(clients[i].create(base + "/q-", b"", sequence=True))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not errors
    every = [x for r in results for x in r]
    assert len(every) == 80 and len(set(every)) == 80
    assert sorted(every) == [base + "/q-%010d" % i for i in range(80)]
    for r in results:  # each client sees its own creates in order
        assert r == sorted(r)


def test_container_reaped_after_last_child_deleted(zk, base, zkx):
    c = base + "/container"
    path, st = zkx.create_container(zk, c, b"cdata")
    assert path == c
    assert st.ephemeralOwner == 0  # clients see 0 for container nodes
    assert zk.get(c)[0] == b"cdata"
    zk.create(c + "/kid", b"")
    time.sleep(1.2)  # more than two reaper intervals (500 ms): a container with a child stays
    assert zk.exists(c) is not None
    gone = zkx.Collector()
    zk.exists(c, watch=gone)
    zk.delete(c + "/kid")
    assert gone.wait(1, timeout=10), "empty container was not reaped"
    assert gone.items[0].type == "DELETED"
    assert zk.exists(c) is None


def test_container_never_used_is_kept(zk, base, zkx):
    c = base + "/unused"
    zkx.create_container(zk, c)
    time.sleep(1.5)  # three reaper intervals: a container that never had a child stays
    assert zk.exists(c) is not None
    zk.delete(c)  # containers can be deleted like any node


def test_container_children_can_be_containers(zk, base, zkx):
    outer = base + "/outer"
    zkx.create_container(zk, outer)
    zkx.create_container(zk, outer + "/inner")
    zk.create(outer + "/inner/leaf", b"")
    gone = zkx.Collector()
    zk.exists(outer, watch=gone)
    zk.delete(outer + "/inner/leaf")
    # inner is reaped first, which empties outer, which is reaped next
    assert gone.wait(1, timeout=15), "nested empty containers were not reaped"
    assert zk.exists(outer) is None


def test_ttl_node_reaped_after_ttl(zk, base, zkx):
    p = base + "/ttl"
    t0 = time.monotonic()
    path, st = zkx.create_ttl(zk, p, b"t", ttl=600)
    assert path == p
    assert st.ephemeralOwner == 0  # clients see 0 for TTL nodes
    assert zk.get(p)[0] == b"t"
    gone = zkx.Collector()
    zk.exists(p, watch=gone)
    assert gone.wait(1, timeout=10), "TTL node was not reaped"
    assert time.monotonic() - t0 >= 0.55, "TTL node reaped before its TTL"
    assert gone.items[0].type == "DELETED"
    assert zk.exists(p) is None


def test_ttl_node_with_children_is_kept_until_empty(zk, base, zkx):
    p = base + "/ttlp"
    zkx.create_ttl(zk, p, b"", ttl=300)
    zk.create(p + "/kid", b"")
    time.sleep(1.2)
    assert zk.exists(p) is not None
    gone = zkx.Collector()
    zk.exists(p, watch=gone)
    zk.delete(p + "/kid")
    assert gone.wait(1, timeout=10)
    assert zk.exists(p) is None


def test_ttl_node_set_refreshes_mtime(zk, base, zkx):
    # The TTL counts from the last modification (mtime).
    p = base + "/ttlr"
    zkx.create_ttl(zk, p, b"", ttl=1500)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        zk.set(p, b"touch")
        time.sleep(0.2)
    assert zk.exists(p) is not None
    gone = zkx.Collector()
    zk.exists(p, watch=gone)
    assert gone.wait(1, timeout=10)


def test_ttl_sequential(zk, base, zkx):
    path, st = zkx.create_ttl(zk, base + "/ts-", b"", ttl=60000, flags=zkx.FLAGS.persistent_sequential_with_ttl)
    assert path == base + "/ts-0000000000"
    assert zk.exists(path) == st


def test_ttl_errors(zk, base, zkx):
    F = zkx.FLAGS
    # a TTL create needs a TTL mode: every other mode is BadArguments
    for flags in (F.persistent, F.ephemeral, F.persistent_sequential, F.ephemeral_sequential, F.container, 7):
        with pytest.raises(BadArgumentsError):
            zkx.create_ttl(zk, base + "/bad%d" % flags, b"", ttl=1000, flags=flags)
    # the TTL must be in 1 .. 2^40 - 1 ms
    for ttl in (0, -1, 2 ** 40):
        with pytest.raises(BadArgumentsError):
            zkx.create_ttl(zk, base + "/badttl", b"", ttl=ttl)
    assert zkx.create_ttl(zk, base + "/maxttl", b"", ttl=2 ** 40 - 1)[0] == base + "/maxttl"
    assert zk.get_children(base) == ["maxttl"]
    # a TTL create still reports the ordinary create errors
    with pytest.raises(NodeExistsError):
        zkx.create_ttl(zk, base + "/maxttl", b"", ttl=1000)
    with pytest.raises(NoNodeError):
        zkx.create_ttl(zk, base + "/no/parent", b"", ttl=1000)


def test_get_ephemerals_and_all_children_number(zk, make_client, base, zkx):
    owner = make_client()
    owner.create(base + "/e1", b"", ephemeral=True)
    owner.create(base + "/sub/e2", b"", ephemeral=True, makepath=True)
    zk.create(base + "/mine", b"", ephemeral=True)
    assert sorted(zkx.get_ephemerals(owner, base)) == [base + "/e1", base + "/sub/e2"]
    assert zkx.get_ephemerals(owner, base + "/sub") == [base + "/sub/e2"]
    assert zkx.get_ephemerals(owner, base + "/nothing-here") == []
    assert zkx.get_ephemerals(zk, base) == [base + "/mine"]
    # getAllChildrenNumber counts every descendant, not the node itself
    assert zkx.all_children_number(zk, base) == 4
    assert zkx.all_children_number(zk, base + "/sub") == 1
    assert zkx.all_children_number(zk, base + "/e1") == 0
    with pytest.raises(NoNodeError):
        zkx.all_children_number(zk, base + "/missing")


def test_sync_and_read_your_writes_across_clients(zk, make_client, base):
    other = make_client()
    for i in range(20):
        zk.set(base, str(i).encode())
        assert other.sync(base) == base
        assert other.get(base)[0] == str(i).encode()


def test_root_and_zookeeper_node(zk):
    st = zk.exists("/")
    assert st is not None
    assert "zookeeper" in zk.get_children("/")
    assert "quota" in zk.get_children("/zookeeper")
    with pytest.raises(BadArgumentsError):
        zk.delete("/")


def test_data_survives_restart(fresh_server, make_client):
    zk = make_client(fresh_server)
    zk.create("/keep/a", b"alpha", makepath=True)
    zk.set("/keep/a", b"alpha2")
    zk.create("/keep/s-", b"", sequence=True)
    zk.delete("/keep/s-0000000001")
    zk.create("/keep/acl", b"", acl=[make_digest_acl("alice", "pw", all=True)])
    zk.create("/keep/eph", b"", ephemeral=True)
    zk.stop()  # closes the session: its ephemeral goes before the restart
    look = make_client(fresh_server)
    before = {p: look.exists(p) for p in ("/keep", "/keep/a", "/keep/acl")}
    look.stop()
    fresh_server.restart()
    zk2 = make_client(fresh_server)
    assert zk2.get("/keep/a")[0] == b"alpha2"
    for p, st in before.items():
        assert zk2.exists(p) == st, p
    assert zk2.exists("/keep/eph") is None
    assert sorted(zk2.get_children("/keep")) == ["a", "acl"]
    with pytest.raises(NoAuthError):
        zk2.get("/keep/acl")
    # the sequence counter is part of the parent's persisted state
    assert zk2.create("/keep/s-", b"", sequence=True) == "/keep/s-0000000004"
    # and new transactions continue after the old ones
    assert zk2.create("/keep/new", b"", include_data=True)[1].czxid > before["/keep"].pzxid

"""kazoo recipes used as applications use them, several clients at a time: Lock, ReadLock/WriteLock,
Semaphore, Election, Queue, LockingQueue, Barrier, DoubleBarrier, Counter, Party, ShallowParty,
TreeCache, DataWatch, ChildrenWatch."""
import threading
import time

import pytest
from kazoo.exceptions import ConnectionClosedError
from kazoo.recipe.cache import TreeCache, TreeEvent


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # kazoo 2.8 uses isSet()


def run_thread(target, *args):
    """Runs target in a daemon thread; an exception it raises is kept in thread.error."""
    def wrapper():
        try:
            target(*args)
        except BaseException as e:  # noqa: BLE001 - reported by join_all
            t.error = e

    t = threading.Thread(target=wrapper, daemon=True)
    t.error = None
    t.start()
    return t


def join_all(threads, timeout=20, allow=()):
    """Joins with one overall deadline; fails on a thread still running or one that raised
    (exceptions of the types in allow excepted)."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still running after %ss" % timeout
    for t in threads:
        if t.error is not None and not isinstance(t.error, allow):
            raise t.error


# --- locks ------------------------------------------------------------------------------------

def test_lock_two_clients_contend(make_client, base):
    a, b = make_client(), make_client()
    lock_a = a.Lock(base + "/lock", "client-a")
    lock_b = b.Lock(base + "/lock", "client-b")
    assert lock_a.acquire(timeout=5)
    assert lock_b.acquire(blocking=False) is False
    assert lock_a.contenders() == ["client-a"]

    got = threading.Event()
    released_at = []

    def contender():
        assert lock_b.acquire(timeout=15)
        got.set()

    t = run_thread(contender)
    assert not got.wait(0.7), "b got the lock while a held it"
    assert lock_b.contenders() == ["client-a", "client-b"]
    released_at.append(time.monotonic())
    lock_a.release()
    assert got.wait(5), "b did not get the lock after a released it"
    join_all([t])
    assert lock_a.acquire(blocking=False) is False
    lock_b.release()
    assert lock_a.acquire(timeout=5)
    lock_a.release()


def test_lock_passes_on_when_holder_session_ends(make_client, base):
    a, b = make_client(), make_client()
    assert a.Lock(base + "/lock", "a").acquire(timeout=5)
    lock_b = b.Lock(base + "/lock", "b")
    got = threading.Event()
    t = run_thread(lambda: lock_b.acquire(timeout=15) and got.set())
    assert not got.wait(0.5)
    a.stop()  # the holder's ephemeral lock node goes with its session
    assert got.wait(5)
    join_all([t])
    assert lock_b.contenders() == ["b"]
    lock_b.release()


def test_lock_mutual_exclusion_under_load(make_client, base):
    clients = [make_client() for _ in range(4)]
    inside = []
    overlap = []
    count = [0]
    guard = threading.Lock()

    def worker(c, name):
        lock = c.Lock(base + "/mutex", name)
        for _ in range(5):
            assert lock.acquire(timeout=20)
            try:
                with guard:
                    inside.append(name)
                    if len(inside) > 1:
                        overlap.append(list(inside))
                time.sleep(0.01)
                count[0] += 1
                with guard:
                    inside.remove(name)
            finally:
                lock.release()

    threads = [run_thread(worker, c, "w%d" % i) for i, c in enumerate(clients)]
    join_all(threads, timeout=60)
    assert overlap == []
    assert count[0] == 20


def test_read_write_lock(make_client, base):
    a, b, w = make_client(), make_client(), make_client()
    r1 = a.ReadLock(base + "/rw", "r1")
    r2 = b.ReadLock(base + "/rw", "r2")
    wl = w.WriteLock(base + "/rw", "w")
    assert r1.acquire(timeout=5)
    assert r2.acquire(timeout=5)  # readers share
    assert wl.acquire(blocking=False) is False
    got = threading.Event()
    t = run_thread(lambda: wl.acquire(timeout=15) and got.set())
    r1.release()
    assert not got.wait(0.5)  # r2 still reads
    r2.release()
    assert got.wait(5)
    join_all([t])
    assert r1.acquire(blocking=False) is False  # the writer excludes readers
    wl.release()
    assert r1.acquire(timeout=5)
    r1.release()


def test_semaphore(make_client, base):
    clients = [make_client() for _ in range(3)]
    sems = [c.Semaphore(base + "/sem", "holder%d" % i, max_leases=2) for i, c in enumerate(clients)]
    assert sems[0].acquire(timeout=5)
    assert sems[1].acquire(timeout=5)
    assert sems[2].acquire(blocking=False) is False
    assert sorted(sems[0].lease_holders()) == ["holder0", "holder1"]
    got = threading.Event()
    t = run_thread(lambda: sems[2].acquire(timeout=15) and got.set())
    assert not got.wait(0.5)
    sems[0].release()
    assert got.wait(5)
    join_all([t])
    assert sorted(sems[1].lease_holders()) == ["holder1", "holder2"]
    sems[1].release()
    sems[2].release()
    assert sems[0].lease_holders() == []


# --- election ---------------------------------------------------------------------------------

def test_election_with_failover(make_client, base):
    c1, c2 = make_client(), make_client()
    e1 = c1.Election(base + "/election", "candidate-1")
    e2 = c2.Election(base + "/election", "candidate-2")
    leaders = []
    became = {1: threading.Event(), 2: threading.Event()}
    stop = {1: threading.Event(), 2: threading.Event()}

    def lead(n):
        leaders.append(n)
        became[n].set()
        stop[n].wait(30)  # leads until told to stop

    t1 = run_thread(e1.run, lead, 1)
    assert became[1].wait(5), "first candidate did not become leader"
    t2 = run_thread(e2.run, lead, 2)
    wait_until_contenders = time.monotonic() + 5
    while len(e2.contenders()) < 2 and time.monotonic() < wait_until_contenders:
        time.sleep(0.05)
    assert e2.contenders() == ["candidate-1", "candidate-2"]
    assert not became[2].wait(0.5), "two leaders at once"

    c1.stop()  # the leader dies: its session and its election node go
    assert became[2].wait(5), "second candidate did not take over"
    assert leaders == [1, 2]
    assert e2.contenders() == ["candidate-2"]
    stop[1].set()
    stop[2].set()
    join_all([t2])
    # the dead leader's thread leaves its lock with a closed client
    join_all([t1], allow=(ConnectionClosedError,))


def test_election_cancel(make_client, base):
    c1, c2 = make_client(), make_client()
    e1 = c1.Election(base + "/el", "one")
    e2 = c2.Election(base + "/el", "two")
    release = threading.Event()
    led = threading.Event()
    t1 = run_thread(e1.run, lambda: (led.set(), release.wait(30)))
    assert led.wait(5)
    ran = threading.Event()
    t2 = run_thread(e2.run, ran.set)
    time.sleep(0.3)
    e2.cancel()  # gives up before winning
    join_all([t2], timeout=10)
    assert not ran.is_set()
    release.set()
    join_all([t1])
    assert e1.contenders() == []


# --- queues -----------------------------------------------------------------------------------

def test_queue_fifo_and_priority(make_client, base):
    producer, consumer = make_client(), make_client()
    q_in = producer.Queue(base + "/queue")
    q_out = consumer.Queue(base + "/queue")
    for i in range(5):
        q_in.put(("item-%d" % i).encode())
    q_in.put(b"urgent", priority=1)
    q_in.put(b"late", priority=999)
    assert len(q_out) == 7
    got = [q_out.get() for _ in range(7)]
    assert got == [b"urgent"] + [("item-%d" % i).encode() for i in range(5)] + [b"late"]
    assert q_out.get() is None
    assert len(q_in) == 0


def test_queue_many_consumers_each_item_once(make_client, base):
    producer = make_client()
    q = producer.Queue(base + "/q")
    items = [("v%03d" % i).encode() for i in range(60)]
    for it in items:
        q.put(it)
    consumers = [make_client() for _ in range(3)]
    got = [[] for _ in consumers]

    def consume(i):
        mine = consumers[i].Queue(base + "/q")
        while True:
            v = mine.get()
            if v is None:
                return
            got[i].append(v)

    join_all([run_thread(consume, i) for i in range(3)], timeout=60)
    every = [v for g in got for v in g]
    assert sorted(every) == items  # each item exactly once
    for g in got:
        assert g == sorted(g)  # each consumer sees queue order


def test_locking_queue(make_client, base):
    a, b = make_client(), make_client()
    qa = a.LockingQueue(base + "/lq")
    qb = b.LockingQueue(base + "/lq")
    qa.put(b"first")
    qa.put_all([b"second", b"third"])
    qa.put(b"vip", priority=0)
    assert len(qb) == 4
    assert qb.get(timeout=5) == b"vip"
    assert qb.holds_lock()
    assert qb.consume()
    assert qa.get(timeout=5) == b"first"
    assert qb.get(timeout=5) == b"second"  # a holds "first": b gets the next one
    assert qa.release()  # a gives "first" back without consuming it
    assert qb.consume()
    assert qb.get(timeout=5) == b"first"
    assert qb.consume()
    assert qa.get(timeout=5) == b"third"
    assert qa.consume()
    assert len(qa) == 0
    assert qb.get(timeout=0.5) is None

    got = []
    t = run_thread(lambda: got.append(qb.get(timeout=10)))
    time.sleep(0.3)
    qa.put(b"wake")  # a waiting consumer is woken by a child watch
    join_all([t])
    assert got == [b"wake"]
    assert qb.consume()


# --- barriers ---------------------------------------------------------------------------------

def test_barrier(make_client, base):
    owner = make_client()
    barrier = owner.Barrier(base + "/barrier")
    barrier.create()
    waiters = [make_client().Barrier(base + "/barrier") for _ in range(3)]
    assert waiters[0].wait(timeout=0.3) is False  # still up
    results = []
    threads = [run_thread(lambda w=w: results.append(w.wait(timeout=15))) for w in waiters]
    time.sleep(0.3)
    assert results == []
    barrier.remove()
    join_all(threads)
    assert results == [True, True, True]
    assert waiters[0].wait(timeout=1) is True  # no barrier: passes at once


def test_double_barrier(make_client, base):
    n = 3
    clients = [make_client() for _ in range(n)]
    barriers = [c.DoubleBarrier(base + "/dbl", n, identifier="p%d" % i) for i, c in enumerate(clients)]
    log = []
    guard = threading.Lock()
    entered = threading.Event()

    def participant(i, delay):
        time.sleep(delay)
        barriers[i].enter()
        with guard:
            log.append(("in", i))
        time.sleep(0.1 * (i + 1))
        barriers[i].leave()
        with guard:
            log.append(("out", i))
        entered.set()

    threads = [run_thread(participant, 0, 0.0), run_thread(participant, 1, 0.2)]
    time.sleep(0.8)
    assert log == []  # two of three: nobody enters
    threads.append(run_thread(participant, 2, 0.0))
    join_all(threads, timeout=30)
    kinds = [k for k, _ in log]
    assert kinds == ["in"] * 3 + ["out"] * 3  # all enter before anyone leaves
    assert sorted(i for _, i in log[:3]) == [0, 1, 2]
    assert clients[0].get_children(base + "/dbl") == []


# --- counter ----------------------------------------------------------------------------------

def test_counter_concurrent_increments(make_client, base):
    clients = [make_client() for _ in range(4)]
    per_thread = 15

    def bump(c):
        counter = c.Counter(base + "/counter")
        for _ in range(per_thread):
            counter += 1

    join_all([run_thread(bump, c) for c in clients], timeout=60)
    counter = clients[0].Counter(base + "/counter")
    assert counter.value == len(clients) * per_thread
    counter -= 10
    assert counter.pre_value == 60 and counter.post_value == 50
    assert clients[1].Counter(base + "/counter").value == 50
    assert clients[1].get(base + "/counter")[0] == b"50"
    f = clients[2].Counter(base + "/fcounter", default=0.5)
    f += 1.25
    assert f.value == 1.75


# --- parties ----------------------------------------------------------------------------------

def test_party_membership(make_client, base):
    a, b, watcher = make_client(), make_client(), make_client()
    pa = a.Party(base + "/party", "alpha")
    pb = b.Party(base + "/party", "beta")
    view = watcher.Party(base + "/party")
    assert len(view) == 0
    pa.join()
    pb.join()
    assert len(view) == 2 and sorted(view) == ["alpha", "beta"]
    pa.leave()
    assert list(view) == ["beta"]
    b.stop()  # members are ephemeral: a dead member leaves by itself
    assert len(view) == 0


def test_shallow_party(make_client, base):
    a, b = make_client(), make_client()
    pa = a.ShallowParty(base + "/sparty", "alpha")
    pb = b.ShallowParty(base + "/sparty", "beta")
    pa.join()
    pb.join()
    assert sorted(pa) == ["alpha", "beta"] and len(pb) == 2
    pb.leave()
    assert list(pa) == ["alpha"]


# --- caches and watchers ----------------------------------------------------------------------

def test_tree_cache(make_client, base, zkx):
    writer, reader = make_client(), make_client()
    root = base + "/tree"
    writer.create(root + "/a", b"A", makepath=True)
    writer.create(root + "/a/deep", b"D")
    cache = TreeCache(reader, root)
    events = zkx.Collector()
    cache.listen(events)
    cache.start()
    try:
        assert events.wait_for(lambda evs: any(e.event_type == TreeEvent.INITIALIZED for e in evs), timeout=10)
        assert cache.get_data(root + "/a").data == b"A"
        assert cache.get_data(root + "/a/deep").data == b"D"
        assert cache.get_children(root) == frozenset(["a"])

        def has(kind, path, data=None):
            return lambda evs: any(e.event_type == kind and e.event_data.path == path
                                   and (data is None or e.event_data.data == data) for e in evs)

        writer.create(root + "/b", b"B")
        assert events.wait_for(has(TreeEvent.NODE_ADDED, root + "/b", b"B"), timeout=5)
        writer.set(root + "/a", b"A2")
        assert events.wait_for(has(TreeEvent.NODE_UPDATED, root + "/a", b"A2"), timeout=5)
        writer.create(root + "/b/c", b"C")
        assert events.wait_for(has(TreeEvent.NODE_ADDED, root + "/b/c", b"C"), timeout=5)
        writer.delete(root + "/a", recursive=True)
        assert events.wait_for(has(TreeEvent.NODE_REMOVED, root + "/a/deep"), timeout=5)
        assert events.wait_for(has(TreeEvent.NODE_REMOVED, root + "/a"), timeout=5)
        assert cache.get_children(root) == frozenset(["b"])
        assert cache.get_data(root + "/a") is None
        assert cache.get_data(root + "/b/c").stat == writer.exists(root + "/b/c")
    finally:
        cache.close()


def test_data_watch(make_client, base):
    writer, reader = make_client(), make_client()
    p = base + "/dw"
    seen = []
    cond = threading.Condition()

    @reader.DataWatch(p)
    def watcher(data, stat):
        with cond:
            seen.append((data, stat.version if stat else None))
            cond.notify_all()

    def wait_len(n):
        with cond:
            return cond.wait_for(lambda: len(seen) >= n, timeout=5)

    assert wait_len(1) and seen[0] == (None, None)  # the node does not exist yet
    writer.create(p, b"v0")
    assert wait_len(2) and seen[1] == (b"v0", 0)
    writer.set(p, b"v1")
    assert wait_len(3) and seen[2] == (b"v1", 1)
    writer.delete(p)
    assert wait_len(4) and seen[3] == (None, None)
    writer.create(p, b"again")
    assert wait_len(5) and seen[4] == (b"again", 0)


def test_data_watch_stops_when_function_returns_false(make_client, base):
    writer, reader = make_client(), make_client()
    p = base + "/dws"
    writer.create(p, b"0")
    calls = []

    def once(data, stat):
        calls.append(data)
        return len(calls) < 2  # stop after the second call

    reader.DataWatch(p, once)
    writer.set(p, b"1")
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    writer.set(p, b"2")
    time.sleep(0.5)
    assert calls == [b"0", b"1"]


def test_children_watch(make_client, base):
    writer, reader = make_client(), make_client()
    p = base + "/cw"
    writer.create(p, b"")
    seen = []
    cond = threading.Condition()

    @reader.ChildrenWatch(p)
    def watcher(children):
        with cond:
            seen.append(sorted(children))
            cond.notify_all()

    def wait_for(expected):
        with cond:
            return cond.wait_for(lambda: seen and seen[-1] == expected, timeout=5)

    assert wait_for([])
    writer.create(p + "/x", b"")
    assert wait_for(["x"])
    writer.create(p + "/y", b"")
    assert wait_for(["x", "y"])
    writer.set(p + "/x", b"data")  # not a children change
    writer.delete(p + "/x")
    assert wait_for(["y"])
    assert ["x", "y"] in seen and all(s != ["x", "y", "z"] for s in seen)

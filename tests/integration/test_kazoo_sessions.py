"""Sessions: timeout negotiation, expiry (ephemerals deleted, watches fired, the connection closed,
the id refused afterwards), explicit close, resuming a session on a new connection (ephemerals
survive), and kazoo clients across connection drops and partitions (through a TCP proxy)."""
import time

import pytest
from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import EventType, KazooState


def raw_create(r, zkx, path, data=b"", flags=0):
    reply = r.create(path, data, flags=flags)
    assert reply.err == 0, reply
    return zkx.Dec(reply.body).s()


def test_negotiated_timeout_is_clamped(make_raw, zkx):
    # minSessionTimeout = 2 * tickTime = 400, maxSessionTimeout = 20 * tickTime = 4000
    assert make_raw(timeout_ms=100).timeout == zkx.MIN_SESSION_MS
    assert make_raw(timeout_ms=60000).timeout == zkx.MAX_SESSION_MS
    assert make_raw(timeout_ms=1234).timeout == 1234
    r = make_raw(timeout_ms=0)
    assert r.timeout == zkx.MIN_SESSION_MS and r.session_id != 0


def test_session_ids_and_passwords(make_raw, make_client):
    a, b = make_raw(), make_raw()
    assert a.session_id != 0 and b.session_id != 0 and a.session_id != b.session_id
    assert len(a.passwd) == 16 and a.passwd != b.passwd
    assert a.protocol_version == 0
    k = make_client()
    sid, pw = k.client_id
    assert sid not in (0, a.session_id, b.session_id) and len(pw) == 16


def test_pings_keep_a_short_session_alive(make_raw, zk, base, zkx):
    r = make_raw(timeout_ms=500)
    p = raw_create(r, zkx, base + "/alive", flags=zkx.FLAGS.ephemeral)
    time.sleep(2.0)  # four timeouts, kept alive by pings
    st = zk.exists(p)
    assert st is not None and st.ephemeralOwner == r.session_id
    assert not r.eof.is_set()
    assert r.exists(p).err == 0


def test_silent_session_expires(make_raw, zk, base, zkx):
    r = make_raw(timeout_ms=600)
    p = raw_create(r, zkx, base + "/eph", flags=zkx.FLAGS.ephemeral)
    seq = raw_create(r, zkx, base + "/eseq-", flags=zkx.FLAGS.ephemeral_sequential)
    assert zk.exists(p).ephemeralOwner == r.session_id
    gone, kids = zkx.Collector(), zkx.Collector()
    zk.exists(p, watch=gone)
    zk.get_children(base, watch=kids)
    t0 = time.monotonic()
    r.pinging.clear()  # stop heartbeats; the socket stays open
    assert gone.wait(1, timeout=10), "session was not expired"
    elapsed = time.monotonic() - t0
    assert 0.3 < elapsed < 6.0, elapsed
    assert gone.items[0].type == EventType.DELETED
    assert kids.wait(1, timeout=5) and kids.items[0].type == EventType.CHILD
    assert zk.exists(p) is None and zk.exists(seq) is None
    assert r.eof.wait(5), "the server did not close the expired session's connection"
    again = make_raw(session_id=r.session_id, passwd=r.passwd)
    assert again.timeout == 0  # expired: refused
    assert again.eof.wait(5)


def test_expired_session_watches_are_dropped(zk_server, make_raw, zk, base, zkx):
    p = base + "/w"
    zk.create(p, b"")
    r = make_raw(timeout_ms=500)
    r.get_data(p, watch=True)
    assert "0x%x" % r.session_id in zk_server.four_letter("wchc")
    r.pinging.clear()
    assert r.eof.wait(10)
    assert r.events.empty()
    assert "0x%x" % r.session_id not in zk_server.four_letter("wchc")


def test_close_session_deletes_ephemerals_and_refuses_the_id(make_raw, zk, base, zkx):
    r = make_raw()
    p = raw_create(r, zkx, base + "/eph", flags=zkx.FLAGS.ephemeral)
    sid, pw = r.session_id, r.passwd
    reply = r.close_session()
    assert reply.err == 0
    assert zk.exists(p) is None
    again = make_raw(session_id=sid, passwd=pw)
    assert again.timeout == 0 and again.session_id == 0
    assert again.eof.wait(5)


def test_resume_session_on_new_connection(make_raw, zk, base, zkx):
    r = make_raw(timeout_ms=4000)
    p = raw_create(r, zkx, base + "/eph", flags=zkx.FLAGS.ephemeral)
    r.drop()  # no closeSession: the session outlives its connection
    time.sleep(0.5)
    assert zk.exists(p).ephemeralOwner == r.session_id
    r2 = make_raw.track(r.reconnect())
    assert r2.session_id == r.session_id and r2.timeout == 4000 and r2.passwd == r.passwd
    assert r2.exists(p).err == 0
    assert zk.exists(p).ephemeralOwner == r.session_id
    r2.close_session()
    assert zk.exists(p) is None


def test_second_connection_takes_the_session_over(make_raw, zk, base, zkx):
    # Connecting with a live session's id and password moves the session to the new
    # connection; the server closes the older connection.
    r = make_raw()
    p = raw_create(r, zkx, base + "/eph", flags=zkx.FLAGS.ephemeral)
    r2 = make_raw.track(r.reconnect())
    assert r2.session_id == r.session_id and r2.timeout > 0
    assert r.eof.wait(5), "the older connection of the session was not closed"
    assert r2.exists(p).err == 0
    assert zk.exists(p).ephemeralOwner == r.session_id


def test_wrong_password_is_refused(make_raw, zk, base, zkx):
    r = make_raw()
    p = raw_create(r, zkx, base + "/eph", flags=zkx.FLAGS.ephemeral)
    bad = make_raw(session_id=r.session_id, passwd=bytes(16))
    assert bad.timeout == 0 and bad.session_id == 0 and bad.passwd == bytes(16)
    assert bad.eof.wait(5)
    # the session itself is untouched: its ephemeral stays and the right password resumes it
    assert zk.exists(p).ephemeralOwner == r.session_id
    r2 = make_raw.track(r.reconnect())
    assert r2.timeout > 0 and r2.exists(p).err == 0


def test_unknown_session_id_is_refused(make_raw):
    bogus = make_raw(session_id=0x7123456789AB, passwd=bytes(16))
    assert bogus.timeout == 0
    assert bogus.eof.wait(5)


def test_kazoo_resumes_a_session_by_client_id(make_raw, make_client, zk, base, zkx):
    r = make_raw()
    p = raw_create(r, zkx, base + "/eph", flags=zkx.FLAGS.ephemeral)
    r.drop()
    k = make_client(client_id=(r.session_id, r.passwd))
    assert k.client_id[0] == r.session_id
    assert k.exists(p).ephemeralOwner == r.session_id
    k.stop()  # closes the resumed session
    assert zk.exists(p) is None


def test_kazoo_connection_drop_keeps_session(make_proxy, make_client, zk, base, zkx):
    proxy = make_proxy()
    k = make_client(proxy)
    states = zkx.Collector()
    k.add_listener(states)
    sid = k.client_id[0]
    p = k.create(base + "/eph", b"", ephemeral=True)
    proxy.drop_all()
    assert states.wait_for(lambda s: KazooState.SUSPENDED in s and s[-1] == KazooState.CONNECTED, timeout=10), \
        states.snapshot()
    assert KazooState.LOST not in states.snapshot()
    assert k.client_id[0] == sid  # same session, re-established
    assert zk.exists(p).ephemeralOwner == sid
    assert k.get(p)[0] == b""
    k.set(p, b"after")
    assert zk.get(p)[0] == b"after"


def test_kazoo_short_outage_keeps_session(make_proxy, make_client, zk, base, zkx):
    # The connection breaks and the server is unreachable for a while, shorter than the
    # session timeout (4 s): kazoo reconnects into the same session.
    proxy = make_proxy()
    k = make_client(proxy, timeout=4.0)
    states = zkx.Collector()
    k.add_listener(states)
    sid = k.client_id[0]
    p = k.create(base + "/eph", b"", ephemeral=True)
    proxy.blackhole()  # new connections get nowhere
    proxy.drop_all()  # and the current one breaks
    assert states.wait_for(lambda s: KazooState.SUSPENDED in s, timeout=5), states.snapshot()
    time.sleep(0.6)
    assert zk.exists(p).ephemeralOwner == sid  # the server still holds the session
    proxy.restore()
    assert states.wait_for(lambda s: s[-1] == KazooState.CONNECTED, timeout=10), states.snapshot()
    assert KazooState.LOST not in states.snapshot()
    assert k.client_id[0] == sid
    assert zk.exists(p).ephemeralOwner == sid


def test_kazoo_partition_longer_than_timeout_expires_session(make_proxy, make_client, zk, base, zkx):
    proxy = make_proxy()
    k = make_client(proxy, timeout=0.8)
    states = zkx.Collector()
    k.add_listener(states)
    sid = k.client_id[0]
    p = k.create(base + "/eph", b"", ephemeral=True)
    gone = zkx.Collector()
    zk.exists(p, watch=gone)
    proxy.blackhole()
    assert gone.wait(1, timeout=10), "the server did not expire the partitioned session"
    assert zk.exists(p) is None
    proxy.restore()
    assert states.wait_for(lambda s: KazooState.LOST in s and s[-1] == KazooState.CONNECTED, timeout=15), \
        states.snapshot()
    assert k.client_id[0] != sid  # kazoo started a new session
    assert k.exists(p) is None
    k.create(p, b"new", ephemeral=True)
    assert zk.exists(p).ephemeralOwner == k.client_id[0]


def test_session_closed_through_another_connection(make_proxy, make_client, zk, base, zkx):
    # The classic way to expire a client in tests: a second client joins the session by id
    # and password, then closes it. The first client learns it on its next connection.
    proxy = make_proxy()
    a = make_client(proxy)
    states = zkx.Collector()
    a.add_listener(states)
    p = a.create(base + "/eph", b"", ephemeral=True)
    proxy.blackhole()  # keep a from taking the session back
    b = make_client(client_id=a.client_id)
    assert b.client_id[0] == a.client_id[0]
    assert b.exists(p) is not None
    b.stop()
    assert zk.exists(p) is None
    proxy.restore()
    assert states.wait_for(lambda s: KazooState.LOST in s and s[-1] == KazooState.CONNECTED, timeout=15), \
        states.snapshot()
    with pytest.raises(NoNodeError):
        a.get(p)


def test_many_sessions_and_their_ephemerals(make_client, zk, base):
    clients = [make_client() for _ in range(12)]
    for i, c in enumerate(clients):
        c.create("%s/e%02d" % (base, i), b"", ephemeral=True)
    assert len(zk.get_children(base)) == 12
    assert len({zk.exists("%s/e%02d" % (base, i)).ephemeralOwner for i in range(12)}) == 12
    for c in clients[:6]:
        c.stop()
    assert sorted(zk.get_children(base)) == ["e%02d" % i for i in range(6, 12)]
    for c in clients[6:]:
        c.stop()
    assert zk.get_children(base) == []

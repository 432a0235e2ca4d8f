"""Multi-op transactions (opcode 14) through kazoo's client.transaction(): results per op,
all-or-nothing failure with per-op error codes, check ops, one zxid for the whole transaction."""
from kazoo.exceptions import (BadArgumentsError, BadVersionError, NodeExistsError, NoNodeError,
                              NotEmptyError, RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import ZnodeStat


def test_successful_transaction_results(zk, base):
    zk.create(base + "/existing", b"old")
    t = zk.transaction()
    t.create(base + "/new", b"n")
    t.set_data(base + "/existing", b"changed", version=0)
    t.check(base + "/existing", 1)
    t.create(base + "/seq-", b"", sequence=True)
    t.delete(base + "/new")
    results = t.commit()
    assert len(results) == 5
    assert results[0] == base + "/new"
    assert isinstance(results[1], ZnodeStat) and results[1].version == 1 and results[1].dataLength == 7
    assert results[2] is True
    assert results[3] == base + "/seq-0000000002"  # the sequence counts the create before it
    assert results[4] is True
    assert zk.get(base + "/existing")[0] == b"changed"
    assert zk.exists(base + "/new") is None
    assert sorted(zk.get_children(base)) == ["existing", "seq-0000000002"]


def test_transaction_is_one_zxid(zk, base):
    t = zk.transaction()
    t.create(base + "/a", b"")
    t.create(base + "/a/b", b"")  # may build on an earlier op of the same transaction
    t.create(base + "/c", b"")
    assert t.commit() == [base + "/a", base + "/a/b", base + "/c"]
    sa, sb, sc = zk.exists(base + "/a"), zk.exists(base + "/a/b"), zk.exists(base + "/c")
    assert sa.czxid == sb.czxid == sc.czxid
    assert zk.exists(base).pzxid == sa.czxid
    assert sa.ctime == sc.ctime


def test_failed_transaction_applies_nothing(zk, base):
    zk.create(base + "/keep", b"keep")
    t = zk.transaction()
    t.create(base + "/x", b"")
    t.set_data(base + "/keep", b"overwritten")
    t.set_data(base + "/missing", b"")
    t.create(base + "/y", b"")
    t.delete(base + "/keep")
    results = t.commit()  # kazoo returns the per-op results, it does not raise
    # ops before the failing one report OK (RolledBackError, code 0), the failing one its
    # error, the ones after it RuntimeInconsistency (-2)
    assert [type(r) for r in results] == [RolledBackError, RolledBackError, NoNodeError,
                                          RuntimeInconsistency, RuntimeInconsistency]
    assert zk.exists(base + "/x") is None and zk.exists(base + "/y") is None
    assert zk.get(base + "/keep")[0] == b"keep"
    st = zk.exists(base)
    assert st.numChildren == 1 and st.cversion == 1


def test_check_op_failure(zk, base):
    zk.create(base + "/v", b"")
    zk.set(base + "/v", b"1")
    t = zk.transaction()
    t.check(base + "/v", 0)
    t.create(base + "/z", b"")
    assert [type(r) for r in t.commit()] == [BadVersionError, RuntimeInconsistency]
    t = zk.transaction()
    t.create(base + "/z", b"")
    t.check(base + "/missing", 0)
    assert [type(r) for r in t.commit()] == [RolledBackError, NoNodeError]
    assert zk.exists(base + "/z") is None
    t = zk.transaction()
    t.check(base + "/v", 1)
    t.check(base + "/v", -1)  # -1 matches any version
    t.create(base + "/z", b"")
    assert t.commit() == [True, True, base + "/z"]


def test_error_kinds_in_transactions(zk, base):
    zk.create(base + "/full", b"")
    zk.create(base + "/full/kid", b"")
    cases = [
        (lambda t: t.create(base + "/full", b""), NodeExistsError),
        (lambda t: t.delete(base + "/full"), NotEmptyError),
        (lambda t: t.delete(base + "/full/kid", version=5), BadVersionError),
        (lambda t: t.set_data(base + "/full", b"", version=9), BadVersionError),
        (lambda t: t.create(base + "/nope/kid", b""), NoNodeError),
        (lambda t: t.create(base + "/bad\x01name", b""), BadArgumentsError),
    ]
    for add, exc in cases:
        t = zk.transaction()
        t.create(base + "/marker", b"")
        add(t)
        results = t.commit()
        assert [type(r) for r in results] == [RolledBackError, exc], (exc, results)
        assert zk.exists(base + "/marker") is None


def test_later_op_sees_earlier_op_of_same_transaction(zk, base):
    t = zk.transaction()
    t.create(base + "/n", b"1")
    t.set_data(base + "/n", b"2", version=0)
    t.check(base + "/n", 1)
    t.delete(base + "/n", version=1)
    t.create(base + "/n", b"3")
    results = t.commit()
    assert results[0] == base + "/n" and results[4] == base + "/n"
    assert results[1].version == 1
    assert zk.get(base + "/n")[0] == b"3"
    assert zk.exists(base + "/n").version == 0


def test_conflicting_ops_inside_transaction_fail(zk, base):
    t = zk.transaction()
    t.create(base + "/dup", b"")
    t.create(base + "/dup", b"")
    assert [type(r) for r in t.commit()] == [RolledBackError, NodeExistsError]
    assert zk.exists(base + "/dup") is None


def test_ephemeral_in_transaction(zk, make_client, base):
    owner = make_client()
    t = owner.transaction()
    t.create(base + "/eph", b"", ephemeral=True)
    t.create(base + "/eseq-", b"", ephemeral=True, sequence=True)
    results = t.commit()
    assert results == [base + "/eph", base + "/eseq-0000000001"]
    sid = owner.client_id[0]
    assert zk.exists(base + "/eph").ephemeralOwner == sid
    assert zk.exists(results[1]).ephemeralOwner == sid
    owner.stop()
    assert zk.get_children(base) == []


def test_empty_transaction(zk):
    assert zk.transaction().commit() == []


def test_transaction_context_manager(zk, base):
    with zk.transaction() as t:
        t.create(base + "/cm", b"v")
    assert zk.get(base + "/cm")[0] == b"v"


def test_large_transaction(zk, base):
    t = zk.transaction()
    for i in range(200):
        t.create("%s/n%03d" % (base, i), b"x" * 100)
    results = t.commit()
    assert results == ["%s/n%03d" % (base, i) for i in range(200)]
    assert zk.exists(base).numChildren == 200
    t = zk.transaction()
    for i in range(200):
        t.delete("%s/n%03d" % (base, i))
    assert t.commit() == [True] * 200
    assert zk.get_children(base) == []

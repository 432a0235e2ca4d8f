"""ACLs and authentication: digest ACLs and add_auth, per-permission checks, getACL masking,
setACL versions, the "auth" scheme, invalid ACLs, the super digest, world read-only and ip ACLs."""
import pytest
from kazoo.exceptions import (AuthFailedError, BadVersionError, InvalidACLError, NoAuthError,
                              NoNodeError)
from kazoo.protocol.states import KazooState
from kazoo.security import (ACL, ANYONE_ID_UNSAFE, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, Permissions,
                            make_acl, make_digest_acl, make_digest_acl_credential)

ALICE = make_digest_acl("alice", "alice-pw", all=True)
BOB = make_digest_acl("bob", "bob-pw", all=True)


def authed(make_client, *creds):
    c = make_client()
    for user, pw in creds:
        c.add_auth("digest", "%s:%s" % (user, pw))
    return c


def test_digest_credential_format():
    # user:base64(sha1("user:password")), as the server computes it for add_auth
    assert make_digest_acl_credential("super", "secret").startswith("super:")
    assert ALICE.id.scheme == "digest" and ALICE.id.id == make_digest_acl_credential("alice", "alice-pw")


def test_digest_acl_requires_auth(zk, make_client, base):
    p = base + "/secret"
    zk.create(p, b"hidden", acl=[ALICE])
    with pytest.raises(NoAuthError):
        zk.get(p)
    with pytest.raises(NoAuthError):
        zk.set(p, b"x")
    with pytest.raises(NoAuthError):
        zk.get_children(p)
    with pytest.raises(NoAuthError):
        zk.create(p + "/kid", b"")
    with pytest.raises(NoAuthError):
        zk.set_acls(p, OPEN_ACL_UNSAFE)
    assert zk.exists(p) is not None  # exists needs no permission
    wrong = authed(make_client, ("alice", "not-the-password"))
    with pytest.raises(NoAuthError):
        wrong.get(p)
    alice = authed(make_client, ("alice", "alice-pw"))
    assert alice.get(p)[0] == b"hidden"
    alice.set(p, b"seen")
    alice.create(p + "/kid", b"")
    assert alice.get_children(p) == ["kid"]
    # authentication is per session: add_auth on one client does not help another
    with pytest.raises(NoAuthError):
        zk.get(p)


def test_add_auth_on_a_live_session(zk, base):
    p = base + "/later"
    zk.create(p, b"v", acl=[ALICE])
    with pytest.raises(NoAuthError):
        zk.get(p)
    zk.add_auth("digest", "alice:alice-pw")
    assert zk.get(p)[0] == b"v"


def test_each_permission_bit(zk, make_client, base):
    P = Permissions
    other = make_client()

    zk.create(base + "/r", b"r", acl=[ACL(P.READ, ANYONE_ID_UNSAFE)])
    assert other.get(base + "/r")[0] == b"r"
    assert other.get_children(base + "/r") == []
    with pytest.raises(NoAuthError):
        other.set(base + "/r", b"x")

    zk.create(base + "/w", b"w", acl=[ACL(P.WRITE, ANYONE_ID_UNSAFE)])
    assert other.set(base + "/w", b"x").version == 1
    with pytest.raises(NoAuthError):
        other.get(base + "/w")
    with pytest.raises(NoAuthError):
        other.get_children(base + "/w")

    zk.create(base + "/c", b"", acl=[ACL(P.CREATE, ANYONE_ID_UNSAFE)])
    other.create(base + "/c/kid", b"")
    with pytest.raises(NoAuthError):
        other.delete(base + "/c/kid")  # DELETE on the parent is needed

    zk.create(base + "/d", b"", acl=[ACL(P.DELETE | P.READ, ANYONE_ID_UNSAFE)])
    with pytest.raises(NoAuthError):
        other.create(base + "/d/kid", b"")

    zk.create(base + "/a", b"", acl=[ACL(P.ADMIN, ANYONE_ID_UNSAFE)])
    other.set_acls(base + "/a", [ACL(P.ALL, ANYONE_ID_UNSAFE)])
    assert other.get(base + "/a")[0] == b""


def test_delete_checks_the_parent_not_the_node(zk, base):
    P = Permissions
    zk.create(base + "/locked", b"", acl=[ACL(0, ANYONE_ID_UNSAFE)])
    zk.delete(base + "/locked")  # base grants DELETE: the node's own ACL does not matter
    assert zk.exists(base + "/locked") is None
    zk.create(base + "/nodel", b"", acl=[ACL(P.ALL & ~P.DELETE, ANYONE_ID_UNSAFE)])
    zk.create(base + "/nodel/kid", b"")
    with pytest.raises(NoAuthError):
        zk.delete(base + "/nodel/kid")
    with pytest.raises(NoAuthError):
        zk.delete(base + "/nodel", recursive=True)


def test_get_acls_and_masking(zk, make_client, base):
    p = base + "/m"
    zk.create(p, b"", acl=[ALICE, ACL(Permissions.READ, ANYONE_ID_UNSAFE)])
    # READ without ADMIN: digest ids come back as "user:x"
    acls, st = zk.get_acls(p)
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [
        (Permissions.ALL, "digest", "alice:x"), (Permissions.READ, "world", "anyone")]
    assert st == zk.exists(p)
    alice = authed(make_client, ("alice", "alice-pw"))
    acls, _ = alice.get_acls(p)  # with ADMIN: the stored digest
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [
        (Permissions.ALL, "digest", ALICE.id.id), (Permissions.READ, "world", "anyone")]
    # neither READ nor ADMIN: no ACL at all
    zk.create(base + "/w", b"", acl=[ALICE, ACL(Permissions.WRITE, ANYONE_ID_UNSAFE)])
    with pytest.raises(NoAuthError):
        zk.get_acls(base + "/w")
    # ADMIN alone is enough, and unmasked
    zk.create(base + "/adm", b"", acl=[ALICE, ACL(Permissions.ADMIN, ANYONE_ID_UNSAFE)])
    acls, _ = zk.get_acls(base + "/adm")
    assert acls[0].id.id == ALICE.id.id
    with pytest.raises(NoNodeError):
        zk.get_acls(base + "/missing")


def test_set_acls_with_version(zk, base):
    p = base + "/v"
    zk.create(p, b"")
    st = zk.set_acls(p, READ_ACL_UNSAFE + [ACL(Permissions.ADMIN, ANYONE_ID_UNSAFE)], version=0)
    assert st.aversion == 1 and st.version == 0 and st.cversion == 0
    with pytest.raises(BadVersionError):
        zk.set_acls(p, OPEN_ACL_UNSAFE, version=0)
    st = zk.set_acls(p, OPEN_ACL_UNSAFE, version=1)
    assert st.aversion == 2
    st = zk.set_acls(p, OPEN_ACL_UNSAFE)  # -1: any version
    assert st.aversion == 3
    acls, st2 = zk.get_acls(p)
    assert list(acls) == OPEN_ACL_UNSAFE and st2.aversion == 3
    assert zk.exists(p).mzxid == st2.mzxid  # an ACL change is not a data change
    with pytest.raises(NoNodeError):
        zk.set_acls(base + "/missing", OPEN_ACL_UNSAFE)


def test_duplicate_acl_entries_are_merged(zk, base):
    p = base + "/dup"
    zk.create(p, b"", acl=[ACL(Permissions.ALL, ANYONE_ID_UNSAFE), ACL(Permissions.ALL, ANYONE_ID_UNSAFE)])
    assert list(zk.get_acls(p)[0]) == OPEN_ACL_UNSAFE


def test_auth_scheme(zk, make_client, base):
    # "auth" without any authenticated identity is invalid
    with pytest.raises(InvalidACLError):
        zk.create(base + "/a", b"", acl=[ACL(Permissions.ALL, Id("auth", ""))])
    assert zk.exists(base + "/a") is None
    # with identities it expands to all of them (its id is ignored)
    c = authed(make_client, ("alice", "alice-pw"))
    c.create(base + "/a", b"", acl=[ACL(Permissions.ALL, Id("auth", "ignored"))])
    assert [(a.id.scheme, a.id.id) for a in c.get_acls(base + "/a")[0]] == [("digest", ALICE.id.id)]
    c.add_auth("digest", "bob:bob-pw")
    c.create(base + "/b", b"", acl=[ACL(Permissions.READ, ANYONE_ID_UNSAFE),
                                    ACL(Permissions.ALL, Id("auth", ""))])
    acls = c.get_acls(base + "/b")[0]
    assert acls[0] == ACL(Permissions.READ, ANYONE_ID_UNSAFE)
    assert sorted((a.perms, a.id.scheme, a.id.id) for a in acls[1:]) == sorted([
        (Permissions.ALL, "digest", ALICE.id.id), (Permissions.ALL, "digest", BOB.id.id)])
    # set_acls with "auth" follows the same rule
    with pytest.raises(InvalidACLError):
        zk.set_acls(base, [ACL(Permissions.ALL, Id("auth", ""))])


def test_invalid_acls(zk, base):
    bad = [
        [ACL(Permissions.ALL, Id("nosuchscheme", "x"))],
        [ACL(Permissions.ALL, Id("world", "someone"))],
        [ACL(Permissions.ALL, Id("ip", "300.1.1.1"))],
        [ACL(Permissions.ALL, Id("ip", "127.0.0.1/33"))],
        [ACL(Permissions.ALL, Id("digest", "no-colon"))],
        [ACL(Permissions.ALL, Id("digest", "a:b:c"))],
        [ACL(Permissions.ALL, ANYONE_ID_UNSAFE), ACL(Permissions.ALL, Id("super", "x"))],
    ]
    for acl in bad:
        with pytest.raises(InvalidACLError):
            zk.create(base + "/x", b"", acl=acl)
        with pytest.raises(InvalidACLError):
            zk.set_acls(base, acl)
    with pytest.raises(InvalidACLError):
        zk.set_acls(base, [])
    assert zk.get_children(base) == []
    assert list(zk.get_acls(base)[0]) == OPEN_ACL_UNSAFE


def test_super_digest_bypasses_acls(zk, make_client, base, zkx):
    p = base + "/alice-only"
    zk.create(p, b"a", acl=[ALICE])
    root = authed(make_client, (zkx.SUPER_USER, zkx.SUPER_PASSWORD))
    assert root.get(p)[0] == b"a"
    root.set(p, b"b")
    root.create(p + "/kid", b"")
    assert root.get_children(p) == ["kid"]
    assert root.get_acls(p)[0][0].id.id == ALICE.id.id  # unmasked
    root.delete(p + "/kid")
    nobody = base + "/nobody"
    zk.create(nobody, b"n", acl=[ACL(0, ANYONE_ID_UNSAFE)])
    assert root.get(nobody)[0] == b"n"
    root.set_acls(nobody, OPEN_ACL_UNSAFE)
    assert zk.get(nobody)[0] == b"n"
    # a wrong super password is just another digest identity
    fake = authed(make_client, (zkx.SUPER_USER, "wrong"))
    with pytest.raises(NoAuthError):
        fake.get(p)


def test_world_read_only(zk, make_client, base):
    p = base + "/ro"
    zk.create(p, b"public", acl=READ_ACL_UNSAFE)
    other = make_client()
    assert other.get(p)[0] == b"public"
    assert other.get_children(p) == []
    assert list(other.get_acls(p)[0]) == READ_ACL_UNSAFE
    for op in (lambda: other.set(p, b"x"), lambda: other.create(p + "/k", b""),
               lambda: other.set_acls(p, OPEN_ACL_UNSAFE)):
        with pytest.raises(NoAuthError):
            op()
    other.delete(p)  # base is open: deleting the node itself is allowed
    assert zk.exists(p) is None


def test_ip_acls(zk, make_client, base):
    other = make_client()
    zk.create(base + "/lo", b"lo", acl=[make_acl("ip", "127.0.0.1", all=True)])
    assert other.get(base + "/lo")[0] == b"lo"
    other.set(base + "/lo", b"ok")
    zk.create(base + "/net", b"net", acl=[make_acl("ip", "127.0.0.0/8", read=True)])
    assert other.get(base + "/net")[0] == b"net"
    with pytest.raises(NoAuthError):
        other.set(base + "/net", b"x")
    zk.create(base + "/far", b"far", acl=[make_acl("ip", "10.1.2.3", all=True)])
    with pytest.raises(NoAuthError):
        other.get(base + "/far")
    zk.create(base + "/farnet", b"", acl=[make_acl("ip", "192.168.0.0/16", all=True)])
    with pytest.raises(NoAuthError):
        other.get(base + "/farnet")
    # ip ids are shown as given
    assert [(a.id.scheme, a.id.id) for a in zk.get_acls(base + "/net")[0]] == [("ip", "127.0.0.0/8")]


def test_acl_checked_in_transactions(zk, make_client, base):
    zk.create(base + "/ro", b"", acl=READ_ACL_UNSAFE)
    other = make_client()
    t = other.transaction()
    t.create(base + "/ok", b"")
    t.set_data(base + "/ro", b"x")
    results = t.commit()
    assert [type(r) for r in results][1] is NoAuthError
    assert zk.exists(base + "/ok") is None


def test_unknown_auth_scheme_fails_the_session(make_client, zkx):
    c = make_client()
    states = zkx.Collector()
    c.add_listener(states)
    with pytest.raises(AuthFailedError):
        c.add_auth("nosuchscheme", "whatever")
    assert states.wait_for(lambda s: KazooState.LOST in s, timeout=5), states.snapshot()

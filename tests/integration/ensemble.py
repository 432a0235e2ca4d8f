"""Replicated-ensemble harness for the quorum tests: N voting members on 127.0.0.1, each one a
zkedge-server or an Apache ZooKeeper 3.8 process (chosen per member), with free client, quorum
and election ports, a data dir of its own in a mktemp folder and its own log file.

A member is an ensemble member exactly as Apache decides it: zoo.cfg has server.N lines and
dataDir/myid holds N. Each member's zoo.cfg: tickTime=200, initLimit=10, syncLimit=5, dataDir,
clientPort (bound to 127.0.0.1), 4lw.commands.whitelist=*, admin.enableServer=false and
server.N=127.0.0.1:quorumPort:electionPort for every member; Apache members are started like the
single-server fixture in conftest.py (java -cp over the Debian jars, QuorumPeerMain, log4j to
the member's log file).

Environment (as conftest.py): ZK_TARGET=zkedge|apache gives the default kind of every member;
ZKEDGE_SERVER is the zkedge-server binary (default <repo>/build/zkedge-server);
ZKEDGE_KEEP_ENSEMBLE=1 keeps the members' folders (printed) instead of removing them.

Use:
    def test_x(make_ensemble):
        ens = make_ensemble(3)                  # started; a leader is elected and all follow
        leader = ens.wait_for_leader()
        zk = ens.client(leader)                 # started KazooClient on that member only
        leader.kill()                           # kill -9 (also stop, pause/resume, restart, wipe)

Test modules import the fixtures they use: `from ensemble import make_ensemble  # noqa: F401`.
When a test fails, the tail of every member's log is added to its report (through the
failure_report() hook in conftest.py).
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
from kazoo.exceptions import NodeExistsError

from conftest import (MAX_SESSION_MS, TARGET, TICK_MS, ZkServer, close_client, four_letter,
                      free_port, new_client)

INIT_LIMIT = 10
SYNC_LIMIT = 5
KINDS = ("zkedge", "apache")
MODE_RE = re.compile(r"^Mode:\s*(\w+)", re.M)
NOISE_RE = re.compile(r"Processing (srvr|ruok) command")
SETPRIV = "/usr/bin/setpriv"  # util-linux


def default_kinds(size):
    """The kind of every member when a test does not choose: ZK_TARGET's."""
    return [TARGET] * size


def free_ports(count, taken=()):
    """count distinct free TCP ports on 127.0.0.1 (bounded number of tries)."""
    ports = []
    seen = set(taken)
    for _ in range(count * 50):
        if len(ports) == count:
            break
        p = free_port()
        if p not in seen:
            seen.add(p)
            ports.append(p)
    assert len(ports) == count, "could not find %d distinct free ports" % count
    return ports


class Member(ZkServer):
    """One ensemble member. Lifecycle: start(), stop() (SIGTERM), kill() (SIGKILL), pause()
    (SIGSTOP), resume() (SIGCONT), restart() (same data and ports), wipe() (empties dataDir but
    keeps myid; only while stopped). mode() asks `srvr` for leader|follower|standalone (None while
    the member is down, paused or not serving)."""

    def __init__(self, ensemble, sid, kind, ports):
        if kind not in KINDS:
            raise ValueError("member kind must be one of %s, not %r" % (KINDS, kind))
        super().__init__(target=kind)  # its own mkdtemp folder, log file and zoo.cfg path
        self.ensemble = ensemble
        self.sid = sid
        self.kind = kind
        self.port, self.qport, self.eport = ports
        self.paused = False

    # -- configuration
    def write_config(self):
        lines = [
            "tickTime=%d" % TICK_MS,
            "initLimit=%d" % INIT_LIMIT,
            "syncLimit=%d" % SYNC_LIMIT,
            "dataDir=%s" % self.datadir,
            "clientPort=%d" % self.port,
            "clientPortAddress=127.0.0.1",
            "maxClientCnxns=0",
            "4lw.commands.whitelist=*",
            "admin.enableServer=false",
        ]
        if self.kind == "zkedge" and os.environ.get("ZKEDGE_IO_THREADS"):
            lines.append("zkedge.ioThreads=%d" % int(os.environ["ZKEDGE_IO_THREADS"]))
        extra = list(self.ensemble.extra_config) + list(self.extra_config)
        keys = {e.split("=", 1)[0].strip() for e in extra}
        lines = [l for l in lines if l.split("=", 1)[0] not in keys]
        lines += extra
        lines += self.ensemble.server_lines()
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def write_myid(self):
        os.makedirs(self.datadir, exist_ok=True)
        with open(os.path.join(self.datadir, "myid"), "w") as f:
            f.write("%d\n" % self.sid)

    # -- lifecycle
    def start(self, timeout=None, wait=True):
        """Starts the process and (wait=True) waits until its client port answers a four-letter
        word; it does not wait for the election (Ensemble.wait_for_leader does)."""
        assert self.proc is None, "member %d already running" % self.sid
        self.write_myid()
        self.write_config()
        cmd = self.command()
        if os.access(SETPRIV, os.X_OK):
            # the member dies with the test run even when pytest itself is killed before its
            # teardown (the signal follows the thread that started it: start members from the
            # test's own thread)
            cmd = [SETPRIV, "--pdeathsig", "KILL", "--"] + cmd
        self._logf = open(self.log_path, "ab")
        self._logf.write(("\n=== start #%d of member %d (%s): %s\n"
                          % (self.starts + 1, self.sid, self.kind, " ".join(cmd))).encode())
        self._logf.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=subprocess.STDOUT, cwd=self.tmpdir)
        self.starts += 1
        self.paused = False
        if wait:
            self.wait_listening(timeout or self.start_deadline())
        return self

    def wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise AssertionError("member %d (%s) exited with code %s while starting\n--- log tail (%s) ---\n%s"
                                     % (self.sid, self.kind, code, self.log_path, self.log_tail()))
            try:
                last = four_letter(self.port, "ruok", timeout=1.0)
                return
            except OSError as e:
                last = repr(e)
            if time.monotonic() >= deadline:
                raise AssertionError("member %d (%s): client port %d not answering within %.0fs (%s)\n"
                                     "--- log tail (%s) ---\n%s" % (self.sid, self.kind, self.port, timeout,
                                                                     last, self.log_path, self.log_tail()))
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM):
        p = self.proc
        if p is not None and self.paused and p.poll() is None:
            try:
                p.send_signal(sig)
                p.send_signal(signal.SIGCONT)  # a stopped process only acts on SIGTERM when continued
            except OSError:
                pass
        self.paused = False
        super().stop(sig)

    def pause(self):
        """SIGSTOP: the process keeps its sockets (the kernel still accepts connections) but
        does nothing, as a member behind a partition."""
        assert self.running(), "member %d not running" % self.sid
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        assert self.proc is not None and self.paused, "member %d not paused" % self.sid
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def restart(self, timeout=None):
        self.stop()
        return self.start(timeout)

    def wipe(self):
        """Removes everything in dataDir but myid (the member must be down)."""
        assert not self.running(), "wipe member %d only while it is down" % self.sid
        if os.path.isdir(self.datadir):
            for name in os.listdir(self.datadir):
                if name == "myid":
                    continue
                p = os.path.join(self.datadir, name)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p)
                else:
                    os.unlink(p)
        self.write_myid()

    # -- state
    def alive(self):
        """Running and not paused: can be asked things."""
        return self.running() and not self.paused

    def mode(self, timeout=2.0):
        if not self.alive():
            return None
        try:
            out = four_letter(self.port, "srvr", timeout=timeout)
        except OSError:  # TimeoutError is an OSError too
            return None
        m = MODE_RE.search(out)
        return m.group(1) if m else None

    def log_tail(self, lines=60):
        """The last lines of the log, less Apache's line per four-letter word (the harness
        polls `srvr`)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 512 * 1024))
                data = f.read().decode(errors="replace")
        except OSError as e:
            return "(no log: %s)" % e
        kept = [l for l in data.splitlines() if not NOISE_RE.search(l)]
        return "\n".join(kept[-lines:])

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_since(self, offset):
        """The log from byte offset on (use log_size() before an action, then this after it)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def __repr__(self):
        return "Member(%d, %s, client %d, quorum %d, election %d)" % (
            self.sid, self.kind, self.port, self.qport, self.eport)


class Ensemble:
    """N members with myids 1..N; kinds[i] is the kind of member i+1."""

    def __init__(self, size=3, kinds=None, extra_config=()):
        kinds = list(kinds) if kinds is not None else default_kinds(size)
        assert len(kinds) == size, "kinds %r for %d members" % (kinds, size)
        self.extra_config = list(extra_config)
        self.clients = []
        ports = free_ports(3 * size)
        self.members = {}
        for i, kind in enumerate(kinds):
            sid = i + 1
            self.members[sid] = Member(self, sid, kind, ports[3 * i:3 * i + 3])

    # -- access
    def __getitem__(self, sid):
        return self.members[sid]

    def __iter__(self):
        return iter(self.members.values())

    def __len__(self):
        return len(self.members)

    def server_lines(self):
        return ["server.%d=127.0.0.1:%d:%d" % (m.sid, m.qport, m.eport) for m in self]

    def alive(self):
        return [m for m in self if m.alive()]

    def others(self, *members):
        ids = {self._member(m).sid for m in members}
        return [m for m in self if m.sid not in ids]

    def _member(self, m):
        return m if isinstance(m, Member) else self.members[m]

    def hosts(self, members=None, first=None):
        """Connection string of the given members (default all); first goes first (use it
        with randomize_hosts=False to prefer one member but fail over to the others)."""
        ms = [self._member(m) for m in members] if members is not None else list(self)
        if first is not None:
            first = self._member(first)
            ms = [first] + [m for m in ms if m is not first]
        return ",".join(m.hosts for m in ms)

    @property
    def quorum(self):
        return len(self.members) // 2 + 1

    # -- lifecycle
    def start(self, leader=None, timeout=None):
        """Starts every member and waits until one leads and all others follow. With leader=sid
        (a fresh ensemble, every zxid 0, so the highest myid among the first quorum wins) that
        member and the lowest others up to a quorum start first, the rest join afterwards, and
        the elected member must be leader."""
        timeout = timeout or self.election_deadline()
        if leader is None:
            self._launch(list(self))
            self.wait_for_leader(timeout=timeout)
            return self
        lead = self._member(leader)
        assert all(lead.sid > m.sid for m in self if m is not lead), \
            "leader=%d on a fresh ensemble needs the highest myid" % lead.sid
        first = [lead] + [m for m in self if m is not lead][:self.quorum - 1]
        self._launch(first)
        got = self.wait_for_leader(timeout=timeout, members=first)
        assert got is lead, "expected member %d to be elected, got %r" % (lead.sid, got)
        self._launch([m for m in self if m not in first])
        self.wait_for_leader(timeout=timeout)
        return self

    def _launch(self, members):
        """Starts the processes together (a member may open its client port only once it has
        a quorum), then waits for each to answer on its client port."""
        for m in members:
            m.start(wait=False)
        for m in members:
            m.wait_listening(m.start_deadline())

    def election_deadline(self):
        base = 40.0 if any(m.kind == "apache" for m in self) else 20.0
        return base * (2 if os.environ.get("ZKEDGE_SANITIZED") else 1)

    def restart(self, member, wait=True, timeout=None):
        """Restarts one member with its data (kill -9 first if running) and waits until it
        follows (or leads) again."""
        m = self._member(member)
        if m.running():
            m.kill()
        m.start()
        if wait:
            self.wait_for_leader(timeout=timeout or self.election_deadline())
        return m

    # -- roles
    def modes(self, members=None):
        ms = [self._member(m) for m in members] if members is not None else list(self)
        return {m.sid: m.mode() for m in ms}

    def leader(self):
        """The member that says it leads (one-shot, None if none or several)."""
        leaders = [m for m in self.alive() if m.mode() == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_for_leader(self, timeout=None, members=None, exclude=()):
        """Waits until exactly one of the members (default: every member started and not since
        stopped, killed or paused; less exclude) says `Mode: leader` and all the others say
        `Mode: follower`; returns the leader. A member among them that has exited fails at
        once. Bounded: AssertionError with every member's mode and log tail after timeout."""
        timeout = timeout or self.election_deadline()
        deadline = time.monotonic() + timeout
        excluded = {self._member(m).sid for m in exclude}
        last = {}
        while True:
            if members is not None:
                ms = [self._member(m) for m in members]
            else:  # every member the test has started and not stopped, killed or paused
                ms = [m for m in self if m.proc is not None and not m.paused]
            ms = [m for m in ms if m.sid not in excluded]
            for m in ms:
                if not m.alive():
                    raise AssertionError("member %d is not running (exit code %s)\n%s"
                                         % (m.sid, m.proc.returncode if m.proc else None, self.failure_report()))
            last = {m.sid: m.mode() for m in ms}
            leaders = [m for m in ms if last[m.sid] == "leader"]
            if ms and len(leaders) == 1 and all(v in ("leader", "follower") for v in last.values()):
                return leaders[0]
            if time.monotonic() >= deadline:
                raise AssertionError("no settled leader within %.0fs: modes %r\n%s"
                                     % (timeout, last, self.failure_report()))
            time.sleep(0.1)

    # -- clients
    def client(self, member=None, members=None, start=True, prefer=None, **kw):
        """A KazooClient, stopped and closed by cleanup(). member: connect to that member only;
        members: to those (default all); prefer: list that member first and do not shuffle
        (the client moves on to the next one when it loses its member)."""
        if member is not None:
            hosts = self._member(member).hosts
        else:
            hosts = self.hosts(members, first=prefer)
            if prefer is not None:
                kw.setdefault("randomize_hosts", False)
        kw.setdefault("timeout", MAX_SESSION_MS / 1000.0)
        c = new_client(hosts, **kw)
        self.clients.append(c)
        if start:
            c.start(timeout=20)
        return c

    def close_client(self, c):
        close_client(c)
        if c in self.clients:
            self.clients.remove(c)

    # -- failure output and teardown
    def failure_report(self, lines=40):
        out = []
        for m in self:
            state = "running" if m.running() else "down"
            if m.paused:
                state = "paused"
            out.append("--- member %d (%s, %s, client %d) log tail: %s ---\n%s"
                       % (m.sid, m.kind, state, m.port, m.log_path, m.log_tail(lines)))
        if not os.environ.get("ZKEDGE_KEEP_ENSEMBLE"):
            out.append("(the members' folders are removed after the test; ZKEDGE_KEEP_ENSEMBLE=1 keeps them)")
        return "\n".join(out)

    def cleanup(self):
        for c in list(self.clients):
            close_client(c)
        self.clients = []
        for m in self:
            try:
                m.kill()  # data is thrown away: no need to wait for a graceful stop
            finally:
                if os.environ.get("ZKEDGE_KEEP_ENSEMBLE"):
                    print("kept member %d folder: %s" % (m.sid, m.tmpdir))
                else:
                    shutil.rmtree(m.tmpdir, ignore_errors=True)


class EnsembleFactory:
    """make_ensemble(size=3, kinds=None, extra_config=(), start=True, leader=None) -> Ensemble;
    every ensemble made is torn down after the test."""

    def __init__(self):
        self.made = []

    def __call__(self, size=3, kinds=None, extra_config=(), start=True, leader=None, timeout=None):
        ens = Ensemble(size=size, kinds=kinds, extra_config=extra_config)
        self.made.append(ens)
        if start:
            ens.start(leader=leader, timeout=timeout)
        return ens

    def failure_report(self):
        return "\n".join(e.failure_report() for e in self.made)

    def cleanup(self):
        for e in reversed(self.made):
            e.cleanup()
        self.made = []


@pytest.fixture
def make_ensemble():
    f = EnsembleFactory()
    try:
        yield f
    finally:
        f.cleanup()


# ---------------------------------------------------------------------------------------------
# Reading a subtree for comparisons between members

def bounded_sync(client, path="/", timeout=15.0):
    """client.sync(path), bounded in time."""
    return client.sync_async(path).get(timeout=timeout)


def read_tree(client, path, timeout=30.0):
    """{relative path: (data, version, cversion, aversion, czxid, mzxid, pzxid, ephemeralOwner,
    numChildren)} of path and everything under it, read after a sync (async, pipelined)."""
    bounded_sync(client, path)
    deadline = time.monotonic() + timeout
    out = {}
    level = [path]
    while level:
        assert time.monotonic() < deadline, "reading the tree under %s took more than %.0fs" % (path, timeout)
        gets = [(p, client.get_async(p), client.get_children_async(p)) for p in level]
        nxt = []
        for p, g, ch in gets:
            data, st = g.get(timeout=timeout)
            kids = ch.get(timeout=timeout)
            rel = p[len(path):] or "/"
            out[rel] = (data, st.version, st.cversion, st.aversion, st.czxid, st.mzxid, st.pzxid,
                        st.ephemeralOwner, st.numChildren)
            nxt += [(p.rstrip("/") + "/" + k) for k in sorted(kids)]
        level = nxt
    return out


def read_children_data(client, path, timeout=30.0):
    """{child name: data} of path's children, after a sync (async, pipelined)."""
    bounded_sync(client, path)
    kids = client.get_children_async(path).get(timeout=timeout)
    out = {}
    for i in range(0, len(kids), 500):
        batch = [(k, client.get_async(path + "/" + k)) for k in kids[i:i + 500]]
        for k, r in batch:
            out[k] = r.get(timeout=timeout)[0]
    return out


def write_until_ok(ens, path, data=b"", members=None, timeout=30.0):
    """Creates path through a fresh client on the given members (default all), retrying until
    it succeeds or the deadline passes; NodeExists after a lost reply counts as success.
    Returns the number of tries."""
    deadline = time.monotonic() + timeout
    tries = 0
    last = None
    while time.monotonic() < deadline and tries < 200:
        tries += 1
        c = new_client(ens.hosts(members), timeout=4.0,
                       connection_retry=dict(max_tries=3, delay=0.1, max_delay=0.5))
        try:
            c.start(timeout=max(1.0, min(5.0, deadline - time.monotonic())))
            c.create_async(path, data).get(timeout=5)
            return tries
        except NodeExistsError:
            return tries
        except Exception as e:  # noqa: BLE001 - no leader yet: try again
            last = e
        finally:
            close_client(c)
        time.sleep(0.2)
    raise AssertionError("no write succeeded within %.0fs (%d tries, last error %r)\n%s"
                         % (timeout, tries, last, ens.failure_report()))


def assert_same_tree(ens, path, members=None, expect=None):
    """read_tree(path) after a sync on each member (default every live one) is the same on all;
    returns it. expect: {relative path: data} that must be in it."""
    ms = members if members is not None else ens.alive()
    trees = {}
    for m in ms:
        c = ens.client(m)
        try:
            trees[m.sid] = read_tree(c, path)
        finally:
            ens.close_client(c)
    ref_sid = ms[0].sid
    ref = trees[ref_sid]
    for sid, t in trees.items():
        if t != ref:
            only_ref = sorted(set(ref) - set(t))[:10]
            only_t = sorted(set(t) - set(ref))[:10]
            differ = sorted(k for k in set(ref) & set(t) if ref[k] != t[k])[:10]
            raise AssertionError("member %d and member %d serve different trees under %s: only on %d %r, "
                                 "only on %d %r, different %r" % (ref_sid, sid, path, ref_sid, only_ref, sid,
                                                                 only_t, [(k, ref[k], t[k]) for k in differ]))
    for rel, data in (expect or {}).items():
        assert rel in ref, "%s%s missing on every member" % (path, rel)
        assert ref[rel][0] == data, "%s%s: %r, expected %r" % (path, rel, ref[rel][0], data)
    return ref


def write_batch(c, base, tag, n):
    """n txns of three kinds under base: creates, then sets and deletes of some of them."""
    c.ensure_path(base)
    rs = [c.create_async("%s/%s-%d" % (base, tag, i), b"%d" % i) for i in range(n)]
    for r in rs:
        r.get(timeout=20)
    rs = [c.set_async("%s/%s-%d" % (base, tag, i), b"set") for i in range(0, n, 3)]
    rs += [c.delete_async("%s/%s-%d" % (base, tag, i)) for i in range(1, n, 3)]
    for r in rs:
        r.get(timeout=20)

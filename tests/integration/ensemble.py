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
ZKEDGE_KEEP_ENSEMBLE=1 keeps the members' folders (printed) instead of removing them;
ZK_TEST_NO_NETNS=1 makes netns_available() say no.

Use:
    def test_x(make_ensemble):
        ens = make_ensemble(3)                  # started; a leader is elected and all follow
        leader = ens.wait_for_leader()
        zk = ens.client(leader)                 # started KazooClient on that member only
        leader.kill()                           # kill -9 (also stop, pause/resume, restart, wipe)

Test modules import the fixtures they use: `from ensemble import make_ensemble  # noqa: F401`.
When a test fails, the tail of every member's log is added to its report (through the
failure_report() hook in conftest.py).

Observers: Ensemble(3, observers=4) (or make_ensemble(3, observers=4, observer_kinds=[...])) adds
members 4..7 that follow without voting: `:observer` after their server.N line in every member's
zoo.cfg and `peerType=observer` in their own. size counts the voters only; the quorum is a
majority of the voters; wait_for_leader() expects `Mode: observer` from observers.

More settings, per ensemble or per member (member_options={sid: dict(...)} with the same keys, or
the Member attributes of the same names before it starts):
  extra_config   zoo.cfg lines, both kinds ("localSessionsEnabled=true")
  java_props     Java system properties of Apache members ("readonlymode.enabled=true" becomes
                 -Dreadonlymode.enabled=true on the java command line); zkedge members ignore them
  system_props   settings ZooKeeper takes as Java system properties: -Dkey=value for Apache
                 members, a zoo.cfg line for zkedge members (which take them there)

Network namespaces (root only; netns_available() tells): netns=[sid, ...] puts those observers
each in a network namespace of its own, reached over two veth pairs made for it: one carries
its client port (the member's host is its address there), the other its quorum and election
traffic, which member.netns.cut() / heal() take down and bring back (a partition between the
observer and the quorum that leaves its clients connected). Members in the root namespace then
listen for quorum traffic on all addresses (quorumListenOnAllIPs=true) and see the observer at
its namespace address; it sees them at the root end of its quorum link. Everything is removed
by cleanup().
"""
import ipaddress
import os
import random
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
from kazoo.exceptions import NodeExistsError

from conftest import (MAX_SESSION_MS, TARGET, TICK_MS, ZK_MAIN, ZkServer, close_client,
                      four_letter, free_port, new_client)

INIT_LIMIT = 10
SYNC_LIMIT = 5
KINDS = ("zkedge", "apache")
MODE_RE = re.compile(r"^Mode:\s*([\w-]+)", re.M)  # leader|follower|observer|standalone|read-only
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


def _ip_binary():
    for p in (shutil.which("ip"), "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"):
        if p and os.access(p, os.X_OK):
            return p
    return None


def _ip(*args, check=True):
    """Runs `ip ARGS` (bounded); returns the CompletedProcess."""
    ip = _ip_binary()
    if ip is None:
        raise OSError("no `ip` command (iproute2)")
    r = subprocess.run([ip] + [str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=20)
    if check and r.returncode != 0:
        raise OSError("ip %s: exit %d: %s" % (" ".join(map(str, args)), r.returncode, r.stderr.strip()))
    return r


_NETNS_OK = None


def netns_available():
    """True when this process may make network namespaces and veth pairs (root with iproute2):
    tried once per run with a namespace of its own, removed at once. ZK_TEST_NO_NETNS=1 says
    False (to run the tests' fallback without namespaces)."""
    global _NETNS_OK
    if os.environ.get("ZK_TEST_NO_NETNS"):
        return False
    if _NETNS_OK is None:
        name = "zkit-probe-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
        try:
            _ip("netns", "add", name)
            try:
                _ip("-n", name, "link", "set", "lo", "up")
                _NETNS_OK = True
            finally:
                _ip("netns", "del", name, check=False)
        except (OSError, subprocess.SubprocessError):
            _NETNS_OK = False
    return _NETNS_OK


def _addresses_in_use():
    r = _ip("-4", "-o", "addr", "show", check=False)
    nets = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            try:
                nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
            except ValueError:
                pass
    r = _ip("-4", "route", "show", "table", "all", check=False)
    for line in r.stdout.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast", "unicast"):
            word = line.split()[1] if len(line.split()) > 1 else ""
        if word == "default" or not word:
            continue
        try:
            nets.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            pass
    return nets


class NetNs:
    """A network namespace for one member, with two veth pairs to the root namespace in a /29
    of 10.0.0.0/8 that no local address or route overlaps:
      client link  root end .1, namespace end .2 (client_addr: the member's client port)
      quorum link  root end .5 (root_addr: how the member sees root members),
                   namespace end .6 (quorum_addr: how every member sees it)
    cut() sets the root end of the quorum link down (nothing passes, either way); heal() sets it
    up again. remove() deletes the namespace and both links (its processes must be gone)."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.name = "zkit-%d-%s" % (os.getpid(), self.tag)
        self.cr, self.cn = "zk%scr" % self.tag, "zk%scn" % self.tag
        self.qr, self.qn = "zk%sqr" % self.tag, "zk%sqn" % self.tag
        self.is_cut = False
        taken = _addresses_in_use()
        net = None
        for _ in range(200):
            cand = ipaddress.ip_network("10.%d.%d.%d/29" % (random.randint(100, 254), random.randint(0, 255),
                                                            8 * random.randint(0, 31)))
            if not any(cand.overlaps(t) for t in taken if t.prefixlen > 0):
                net = cand
                break
        assert net is not None, "no free /29 in 10.0.0.0/8 for a test namespace"
        base = int(net.network_address)
        addr = lambda i: str(ipaddress.ip_address(base + i))  # noqa: E731
        self.client_root, self.client_addr = addr(1), addr(2)
        self.root_addr, self.quorum_addr = addr(5), addr(6)
        self._made = False
        try:
            _ip("netns", "add", self.name)
            self._made = True
            _ip("-n", self.name, "link", "set", "lo", "up")
            for r_end, n_end, r_addr, n_addr in ((self.cr, self.cn, self.client_root, self.client_addr),
                                                 (self.qr, self.qn, self.root_addr, self.quorum_addr)):
                _ip("link", "add", r_end, "type", "veth", "peer", "name", n_end)
                _ip("link", "set", n_end, "netns", self.name)
                _ip("addr", "add", r_addr + "/30", "dev", r_end)
                _ip("-n", self.name, "addr", "add", n_addr + "/30", "dev", n_end)
                _ip("link", "set", r_end, "up")
                _ip("-n", self.name, "link", "set", n_end, "up")
        except Exception:
            self.remove()
            raise

    def prefix(self):
        """The command prefix that runs a program in the namespace."""
        return [_ip_binary(), "netns", "exec", self.name]

    def cut(self):
        _ip("link", "set", self.qr, "down")
        self.is_cut = True

    def heal(self):
        _ip("link", "set", self.qr, "up")
        self.is_cut = False

    def remove(self):
        if self._made:
            _ip("netns", "del", self.name, check=False)
            self._made = False
        for dev in (self.cr, self.qr):  # gone with the namespace unless a process still holds it
            if _ip("link", "show", dev, check=False).returncode == 0:
                _ip("link", "del", dev, check=False)

    def __repr__(self):
        return "NetNs(%s, client %s, quorum %s, root end %s%s)" % (
            self.name, self.client_addr, self.quorum_addr, self.root_addr, ", cut" if self.is_cut else "")


def _thread_states(pid):
    """The state letter of every thread of process pid (from /proc), None without /proc."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    states = []
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            pass  # the thread has gone
    return states


class Member(ZkServer):
    """One ensemble member. Lifecycle: start(), stop() (SIGTERM), kill() (SIGKILL), pause()
    (SIGSTOP), resume() (SIGCONT), restart() (same data and ports), wipe() (empties dataDir but
    keeps myid; only while stopped). mode() asks `srvr` for leader|follower|observer|standalone|
    read-only (None while the member is down, paused or not serving). observer: a non-voting
    member. extra_config / java_props / system_props: this member's own settings (see the module
    doc), added to the ensemble's."""

    def __init__(self, ensemble, sid, kind, ports, observer=False):
        if kind not in KINDS:
            raise ValueError("member kind must be one of %s, not %r" % (KINDS, kind))
        super().__init__(target=kind)  # its own mkdtemp folder, log file and zoo.cfg path
        self.ensemble = ensemble
        self.sid = sid
        self.kind = kind
        self.observer = bool(observer)
        self.port, self.qport, self.eport = ports
        self.paused = False
        self.java_props = []
        self.system_props = []
        self.netns = None  # a NetNs when the member runs in a network namespace of its own

    @property
    def role(self):
        return "observer" if self.observer else "participant"

    def serving_modes(self):
        """The srvr modes of this member while it serves in a settled ensemble."""
        return ("observer",) if self.observer else ("leader", "follower")

    def place_in_netns(self, ns):
        """Runs this member in network namespace ns (a NetNs; before its first start)."""
        assert self.proc is None, "place member %d in a namespace before starting it" % self.sid
        self.netns = ns
        self.host = ns.client_addr

    def _settings(self, name):
        return list(getattr(self.ensemble, name)) + list(getattr(self, name))

    # -- configuration
    def write_config(self):
        lines = [
            "tickTime=%d" % TICK_MS,
            "initLimit=%d" % INIT_LIMIT,
            "syncLimit=%d" % SYNC_LIMIT,
            "dataDir=%s" % self.datadir,
            "clientPort=%d" % self.port,
            "clientPortAddress=%s" % self.host,
            "maxClientCnxns=0",
            "4lw.commands.whitelist=*",
            "admin.enableServer=false",
        ]
        if self.observer:
            lines.append("peerType=observer")
        if self.netns is None and any(m.netns is not None for m in self.ensemble):
            lines.append("quorumListenOnAllIPs=true")  # reached at the root end of a namespace's link too
        if self.kind == "zkedge" and os.environ.get("ZKEDGE_IO_THREADS"):
            lines.append("zkedge.ioThreads=%d" % int(os.environ["ZKEDGE_IO_THREADS"]))
        extra = self._settings("extra_config")
        if self.kind == "zkedge":  # zkedge takes ZooKeeper's system properties in zoo.cfg
            extra += self._settings("system_props")
        keys = {e.split("=", 1)[0].strip() for e in extra}
        lines = [l for l in lines if l.split("=", 1)[0] not in keys]
        lines += extra
        lines += self.ensemble.server_lines(viewer=self)
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        cmd = super().command()
        if self.kind == "apache":
            props = ["-D" + p for p in self._settings("java_props") + self._settings("system_props")]
            i = cmd.index(ZK_MAIN)
            cmd = cmd[:i] + props + cmd[i:]
        if self.netns is not None:
            cmd = self.netns.prefix() + cmd
        return cmd

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
                last = four_letter(self.port, "ruok", host=self.host, timeout=1.0)
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

    def pause(self, timeout=10.0):
        """SIGSTOP: the process keeps its sockets (the kernel still accepts connections) but
        does nothing, as a member behind a partition. Returns once every thread of it is
        stopped: the stop reaches a multi-threaded process's threads only when one of them has
        taken the signal, and until then (on a busy machine, a while) the others go on working."""
        assert self.running(), "member %d not running" % self.sid
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            states = _thread_states(self.proc.pid)
            if states is None or all(st in "TtZX" for st in states):
                return
            assert time.monotonic() < deadline, "member %d: threads not stopped %.0fs after SIGSTOP: %r" % (
                self.sid, timeout, states)
            time.sleep(0.002)

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
            out = four_letter(self.port, "srvr", host=self.host, timeout=timeout)
        except OSError:  # TimeoutError is an OSError too
            return None
        m = MODE_RE.search(out)
        return m.group(1) if m else None

    def four_letter(self, cmd, timeout=5.0):
        return four_letter(self.port, cmd, host=self.host, timeout=timeout)

    def mntr(self):
        """mntr as {key: value}."""
        out = {}
        for line in self.four_letter("mntr").splitlines():
            parts = line.split("\t", 1)
            if len(parts) == 2:
                out[parts[0].strip()] = parts[1].strip()
        return out

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
        return "Member(%d, %s%s, client %s, quorum %d, election %d%s)" % (
            self.sid, self.kind, ", observer" if self.observer else "", self.hosts, self.qport, self.eport,
            ", %r" % self.netns if self.netns is not None else "")


class Ensemble:
    """size voting members with myids 1..size (kinds[i] is the kind of member i+1), then
    `observers` observers with myids size+1.. (observer_kinds, default ZK_TARGET's kind).
    extra_config / java_props / system_props apply to every member, member_options={sid:
    dict(extra_config=..., java_props=..., system_props=...)} to one; netns=[sid, ...] runs
    those observers in network namespaces of their own (see the module doc)."""

    def __init__(self, size=3, kinds=None, extra_config=(), observers=0, observer_kinds=None,
                 java_props=(), system_props=(), member_options=None, netns=(), distinct_addrs=False):
        kinds = list(kinds) if kinds is not None else default_kinds(size)
        assert len(kinds) == size, "kinds %r for %d members" % (kinds, size)
        okinds = list(observer_kinds) if observer_kinds is not None else default_kinds(observers)
        assert len(okinds) == observers, "observer_kinds %r for %d observers" % (okinds, observers)
        self.extra_config = list(extra_config)
        # Each member's quorum and election ports on its own loopback address (127.0.1.<sid>), as
        # on separate hosts: observer masters all listen on one observerMasterPort.
        self.distinct_addrs = bool(distinct_addrs)
        self.java_props = list(java_props)
        self.system_props = list(system_props)
        self.clients = []
        total = size + observers
        ports = free_ports(3 * total)
        self.members = {}
        for i, kind in enumerate(kinds + okinds):
            sid = i + 1
            self.members[sid] = Member(self, sid, kind, ports[3 * i:3 * i + 3], observer=i >= size)
        for sid, opts in (member_options or {}).items():
            m = self.members[sid]
            for key, value in opts.items():
                assert key in ("extra_config", "java_props", "system_props"), "unknown member option %r" % key
                getattr(m, key).extend(value)
        self.namespaces = []
        try:
            for sid in netns:
                m = self.members[sid]
                assert m.observer, "only observers run in a namespace (member %d votes)" % sid
                ns = NetNs()
                self.namespaces.append(ns)
                m.place_in_netns(ns)
        except Exception:
            self.cleanup()
            raise

    # -- access
    def __getitem__(self, sid):
        return self.members[sid]

    def __iter__(self):
        return iter(self.members.values())

    def __len__(self):
        return len(self.members)

    def voters(self):
        return [m for m in self if not m.observer]

    def observers(self):
        return [m for m in self if m.observer]

    def address_of(self, member, viewer=None):
        """The address viewer (default: a member in the root namespace) reaches member's quorum
        and election ports at."""
        m = self._member(member)
        if m.netns is not None:
            return m.netns.quorum_addr
        if viewer is not None and viewer.netns is not None:
            return viewer.netns.root_addr
        if self.distinct_addrs:
            return "127.0.1.%d" % m.sid
        return "127.0.0.1"

    def server_lines(self, viewer=None):
        """server.N lines as viewer (a Member, default one in the root namespace) writes them."""
        return ["server.%d=%s:%d:%d%s" % (m.sid, self.address_of(m, viewer), m.qport, m.eport,
                                          ":observer" if m.observer else "") for m in self]

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
        """A majority of the voters (observers do not count)."""
        return len(self.voters()) // 2 + 1

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
        assert not lead.observer, "leader=%d is an observer" % lead.sid
        assert all(lead.sid > m.sid for m in self.voters() if m is not lead), \
            "leader=%d on a fresh ensemble needs the highest myid among the voters" % lead.sid
        first = [lead] + [m for m in self.voters() if m is not lead][:self.quorum - 1]
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
        follows (or leads, or observes) again."""
        m = self._member(member)
        if m.running():
            m.kill()
        m.start()
        if wait:
            self.wait_for_leader(timeout=timeout or self.election_deadline())
        return m

    # -- roles
    def wait_for_mode(self, member, modes, timeout=None):
        """Waits until member's srvr says one of modes (a string or a tuple); returns it."""
        m = self._member(member)
        want = (modes,) if isinstance(modes, str) else tuple(modes)
        timeout = timeout or self.election_deadline()
        deadline = time.monotonic() + timeout
        while True:
            got = m.mode()
            if got in want:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError("member %d: mode %r, not %s, after %.0fs\n%s"
                                     % (m.sid, got, "|".join(want), timeout, self.failure_report()))
            time.sleep(0.1)

    def modes(self, members=None):
        ms = [self._member(m) for m in members] if members is not None else list(self)
        return {m.sid: m.mode() for m in ms}

    def leader(self):
        """The member that says it leads (one-shot, None if none or several)."""
        leaders = [m for m in self.alive() if m.mode() == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def wait_for_leader(self, timeout=None, members=None, exclude=()):
        """Waits until exactly one of the members (default: every member started and not since
        stopped, killed or paused; less exclude) says `Mode: leader`, all the other voters
        among them say `Mode: follower` and the observers `Mode: observer`; returns the leader
        (when the members are observers only: the one voter that says it leads). A member among
        them that has exited fails at once. Bounded: AssertionError with every member's mode
        and log tail after timeout."""
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
            settled = all(last[m.sid] in m.serving_modes() for m in ms)
            if ms and settled and any(not m.observer for m in ms):
                leaders = [m for m in ms if last[m.sid] == "leader"]
                if len(leaders) == 1:
                    return leaders[0]
            elif ms and settled:
                lead = self.leader()
                if lead is not None:
                    return lead
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
            out.append("--- member %d (%s%s, %s, client %s) log tail: %s ---\n%s"
                       % (m.sid, m.kind, ", observer" if m.observer else "", state, m.hosts, m.log_path,
                          m.log_tail(lines)))
        if not os.environ.get("ZKEDGE_KEEP_ENSEMBLE"):
            out.append("(the members' folders are removed after the test; ZKEDGE_KEEP_ENSEMBLE=1 keeps them)")
        return "\n".join(out)

    def cleanup(self):
        for c in list(self.clients):
            close_client(c)
        self.clients = []
        try:
            for m in self:
                try:
                    m.kill()  # data is thrown away: no need to wait for a graceful stop
                finally:
                    if os.environ.get("ZKEDGE_KEEP_ENSEMBLE"):
                        print("kept member %d folder: %s" % (m.sid, m.tmpdir))
                    else:
                        shutil.rmtree(m.tmpdir, ignore_errors=True)
        finally:
            for ns in getattr(self, "namespaces", ()):
                ns.remove()  # after its member is gone
            self.namespaces = []


class EnsembleFactory:
    """make_ensemble(size=3, kinds=None, extra_config=(), start=True, leader=None, timeout=None,
    **more Ensemble arguments: observers, observer_kinds, java_props, system_props,
    member_options, netns) -> Ensemble; every ensemble made is torn down after the test."""

    def __init__(self):
        self.made = []

    def __call__(self, size=3, kinds=None, extra_config=(), start=True, leader=None, timeout=None, **more):
        ens = Ensemble(size=size, kinds=kinds, extra_config=extra_config, **more)
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


# ---------------------------------------------------------------------------------------------
# How a learner (follower or observer) was synchronised, from its log

SYNC_MARKS = {
    "apache": {"DIFF": "Getting a diff from the leader", "SNAP": "Getting a snapshot from leader",
               "TRUNC": "Truncating log to get in sync with the leader"},
    "zkedge": {"DIFF": "sync=DIFF", "SNAP": "sync=SNAP", "TRUNC": "sync=TRUNC"},
}


def learner_sync_modes(member, text):
    """The sync modes (DIFF / SNAP / TRUNC) that a member's log text says it was synced by."""
    return {mode for mode, mark in SYNC_MARKS[member.kind].items() if mark in text}

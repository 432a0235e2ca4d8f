"""Integration-test harness: starts the server under test (zkedge-server, or Apache ZooKeeper 3.8
with ZK_TARGET=apache) on a free 127.0.0.1 port with a fresh data dir, and gives tests kazoo
clients, a raw client-protocol session for the opcodes kazoo 2.8 does not speak (containers,
TTL nodes, addWatch, removeWatches, setWatches, getEphemerals, getAllChildrenNumber) and a TCP
proxy that can cut or black-hole client connections.

Environment:
  ZK_TARGET         zkedge (default) | apache
  ZKEDGE_SERVER     path of zkedge-server (default <repo>/build/zkedge-server)
  ZKEDGE_SANITIZED  set when the binary is built with sanitizers: longer start-up deadline

Fixtures:
  zk_server     module scope; one server shared by the tests of a module (use unique paths)
  fresh_server  function scope; a server of its own, for tests that need a pristine tree
  make_client   factory of started KazooClients, stopped and closed after the test
  zk            a started KazooClient on zk_server
  base          a unique, existing persistent path for the test (on zk_server, created by zk)
  make_raw      factory of RawSession objects (raw protocol), closed after the test
  make_proxy    factory of TcpProxy objects in front of a server, stopped after the test
  zkx           the extras namespace: opcodes, flags, kazoo request classes for extra opcodes
"""
import base64
import hashlib
import os
import queue
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import ZnodeStat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TARGET = os.environ.get("ZK_TARGET", "zkedge").strip().lower()
SANITIZED = bool(os.environ.get("ZKEDGE_SANITIZED"))

TICK_MS = 200
MIN_SESSION_MS = 2 * TICK_MS
MAX_SESSION_MS = 20 * TICK_MS

SUPER_USER = "super"
SUPER_PASSWORD = "secret"
SUPER_DIGEST = "%s:%s" % (
    SUPER_USER,
    base64.b64encode(hashlib.sha1(("%s:%s" % (SUPER_USER, SUPER_PASSWORD)).encode()).digest()).decode(),
)

JAVA = "/usr/bin/java"
ZK_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

if TARGET not in ("zkedge", "apache"):
    raise pytest.UsageError("ZK_TARGET must be 'zkedge' or 'apache', not %r" % TARGET)


# ---------------------------------------------------------------------------------------------
# Small utilities

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def four_letter(port, cmd, host="127.0.0.1", timeout=5.0):
    """Sends a four-letter word and returns the whole answer (the server closes after it)."""
    deadline = time.monotonic() + timeout
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(cmd.encode())
        out = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("4lw %r: no EOF within %.1fs (got %r)" % (cmd, timeout, out[:200]))
            s.settimeout(left)
            c = s.recv(65536)
            if not c:
                break
            out += c
        return out.decode(errors="replace")
    finally:
        s.close()


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until truthy (returned) or the deadline passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last value %r)" % (timeout, what, last))
        time.sleep(interval)


def apache_classpath():
    """zookeeper.jar pulls its dependencies in through its manifest; add a log4j binding so the
    server log is readable (written to the test's tmp dir, never the terminal)."""
    parts = ["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar"]
    for jar in ("/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"):
        if os.path.exists(jar):
            parts.append(jar)
    return ":".join(parts)


# ---------------------------------------------------------------------------------------------
# The server under test

class ZkServer:
    """One server process: start() / stop() / restart() / cleanup(). hosts is "127.0.0.1:port"."""

    def __init__(self, target=TARGET):
        self.target = target
        self.tmpdir = tempfile.mkdtemp(prefix="zkit-%s-" % target)
        self.datadir = os.path.join(self.tmpdir, "data")
        self.cfg_path = os.path.join(self.tmpdir, "zoo.cfg")
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self.port = free_port()
        self.host = "127.0.0.1"
        self.proc = None
        self._logf = None
        self.starts = 0
        self.extra_config = []  # more zoo.cfg lines, e.g. "maxClientCnxns=5"

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    # -- configuration and command line
    def write_config(self):
        lines = [
            "tickTime=%d" % TICK_MS,
            "dataDir=%s" % self.datadir,
            "clientPort=%d" % self.port,
            "clientPortAddress=127.0.0.1",
            "maxClientCnxns=0",
            "4lw.commands.whitelist=*",
            "extendedTypesEnabled=true",
            "zookeeper.extendedTypesEnabled=true",
            "znode.container.checkIntervalMs=500",
            "admin.enableServer=false",
            "zookeeper.DigestAuthenticationProvider.superDigest=%s" % SUPER_DIGEST,
        ]
        if self.target == "zkedge" and os.environ.get("ZKEDGE_IO_THREADS"):
            lines.append("zkedge.ioThreads=%d" % int(os.environ["ZKEDGE_IO_THREADS"]))
        lines = [l for l in lines if l.split("=", 1)[0] not in {e.split("=", 1)[0] for e in self.extra_config}]
        lines += self.extra_config
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        if self.target == "apache":
            return [
                JAVA,
                "-cp", apache_classpath(),
                "-Dzookeeper.extendedTypesEnabled=true",
                "-Dznode.container.checkIntervalMs=500",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.DigestAuthenticationProvider.superDigest=%s" % SUPER_DIGEST,
                "-Dzookeeper.4lw.commands.whitelist=*",
                "-Dzookeeper.log.dir=%s" % self.tmpdir,
                "-Dzookeeper.root.logger=INFO,CONSOLE",
                "-Dzookeeper.jmx.log4j.disable=true",
                "-Xmx256m",
                ZK_MAIN,
                self.cfg_path,
            ]
        binary = os.environ.get("ZKEDGE_SERVER") or str(REPO / "build" / "zkedge-server")
        if not os.access(binary, os.X_OK):
            pytest.fail("zkedge-server not found or not executable at %s (set ZKEDGE_SERVER, or "
                        "ZK_TARGET=apache to test Apache ZooKeeper)" % binary, pytrace=False)
        return [binary, self.cfg_path]

    def start_deadline(self):
        if self.target == "apache":
            return 30.0
        return 30.0 if SANITIZED else 10.0

    # -- lifecycle
    def start(self):
        assert self.proc is None, "server already running"
        os.makedirs(self.datadir, exist_ok=True)
        self.write_config()
        self._logf = open(self.log_path, "ab")
        self._logf.write(("\n=== start #%d: %s\n" % (self.starts + 1, " ".join(self.command()))).encode())
        self._logf.flush()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=subprocess.STDOUT, cwd=self.tmpdir)
        self.starts += 1
        self.wait_ready(self.start_deadline())
        return self

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        answer = None
        while True:
            if self.proc.poll() is not None:
                self._fail_start("server exited with code %s before it was ready" % self.proc.returncode)
            try:
                answer = four_letter(self.port, "ruok", timeout=1.0)
                if answer == "imok":
                    break
            except OSError as e:
                answer = repr(e)
            if time.monotonic() >= deadline:
                self._fail_start("no 'imok' to ruok within %.0fs (last answer %r)" % (timeout, answer))
            time.sleep(0.1)
        left = max(1.0, deadline - time.monotonic())
        zk = KazooClient(hosts=self.hosts, timeout=MAX_SESSION_MS / 1000.0)
        try:
            zk.start(timeout=left)
            zk.exists("/")
        except Exception as e:  # noqa: BLE001 - any failure here means the server is not usable
            self._fail_start("ruok answered but a kazoo client could not connect: %r" % (e,))
        finally:
            try:
                zk.stop()
            finally:
                zk.close()

    def _fail_start(self, why):
        self.stop()
        pytest.fail("%s server on %s: %s\n--- log tail (%s) ---\n%s"
                    % (self.target, self.hosts, why, self.log_path, self.log_tail()), pytrace=False)

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()[-64 * 1024:]
            return "\n".join(data.decode(errors="replace").splitlines()[-lines:])
        except OSError as e:
            return "(no log: %s)" % e

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Stops only the process this object started: signal, wait, then SIGKILL if needed."""
        p, self.proc = self.proc, None
        if p is not None:
            if p.poll() is None:
                try:
                    p.send_signal(sig)
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        if self._logf is not None:
            self._logf.close()
            self._logf = None

    def kill(self):
        """Hard stop (SIGKILL): what a crash looks like to clients."""
        self.stop(sig=signal.SIGKILL)

    def restart(self):
        """Stops and starts again with the same data dir and port."""
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- conveniences
    def four_letter(self, cmd, timeout=5.0):
        return four_letter(self.port, cmd, timeout=timeout)

    def __repr__(self):
        return "ZkServer(%s, %s)" % (self.target, self.hosts)


@pytest.fixture(scope="module")
def zk_server():
    srv = ZkServer()
    try:
        srv.start()
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture
def fresh_server():
    srv = ZkServer()
    try:
        srv.start()
        yield srv
    finally:
        srv.cleanup()


# ---------------------------------------------------------------------------------------------
# Kazoo clients

def new_client(hosts, timeout=MAX_SESSION_MS / 1000.0, **kw):
    """A KazooClient with a quick reconnect policy (not started)."""
    kw.setdefault("connection_retry", dict(max_tries=-1, delay=0.05, backoff=1.5, max_delay=0.5))
    # client.retry(): recipes lean on it under contention (a Queue consumer retries when
    # another one took the item), so many quick tries, bounded by count and deadline
    kw.setdefault("command_retry", dict(max_tries=200, delay=0.01, backoff=1.3, max_delay=0.2, deadline=30))
    return KazooClient(hosts=hosts, timeout=timeout, **kw)


def close_client(c):
    try:
        c.stop()
    except Exception:  # noqa: BLE001 - teardown must go on
        pass
    try:
        c.close()
    except Exception:  # noqa: BLE001
        pass


@pytest.fixture
def make_client(request):
    """make_client(server=None, start=True, **KazooClient kwargs) -> KazooClient.
    server may be a ZkServer, a TcpProxy or a "host:port" string; default zk_server."""
    made = []

    def make(server=None, start=True, **kw):
        if server is None:
            server = request.getfixturevalue("zk_server")
        hosts = server if isinstance(server, str) else server.hosts
        c = new_client(hosts, **kw)
        made.append(c)
        if start:
            c.start(timeout=15)
        return c

    yield make
    for c in reversed(made):
        close_client(c)


@pytest.fixture
def zk(make_client):
    return make_client()


@pytest.fixture
def base(zk, request):
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "_")
    path = "/it-%s-%s" % (name[:60], uuid.uuid4().hex[:8])
    zk.create(path, b"")
    return path


# ---------------------------------------------------------------------------------------------
# Raw client protocol (jute)

OP = SimpleNamespace(
    notification=0, create=1, delete=2, exists=3, getData=4, setData=5, getACL=6, setACL=7,
    getChildren=8, sync=9, ping=11, getChildren2=12, check=13, multi=14, create2=15,
    reconfig=16, checkWatches=17, removeWatches=18, createContainer=19, deleteContainer=20,
    createTTL=21, multiRead=22, auth=100, setWatches=101, sasl=102, getEphemerals=103,
    getAllChildrenNumber=104, setWatches2=105, addWatch=106, whoAmI=107, createSession=-10,
    closeSession=-11, error=-1,
)
XID = SimpleNamespace(notification=-1, ping=-2, auth=-4, set_watches=-8)
FLAGS = SimpleNamespace(persistent=0, ephemeral=1, persistent_sequential=2, ephemeral_sequential=3,
                        container=4, persistent_with_ttl=5, persistent_sequential_with_ttl=6)
EVENT = SimpleNamespace(none=-1, created=1, deleted=2, data_changed=3, child_changed=4,
                        data_watch_removed=5, child_watch_removed=6, persistent_watch_removed=7)
WATCHER_TYPE = SimpleNamespace(children=1, data=2, any=3)
ADD_WATCH_MODE = SimpleNamespace(persistent=0, persistent_recursive=1)
ERR = SimpleNamespace(ok=0, system=-1, runtime_inconsistency=-2, data_inconsistency=-3,
                      connection_loss=-4, marshalling=-5, unimplemented=-6, operation_timeout=-7,
                      bad_arguments=-8, api=-100, no_node=-101, no_auth=-102, bad_version=-103,
                      no_children_for_ephemerals=-108, node_exists=-110, not_empty=-111,
                      session_expired=-112, invalid_callback=-113, invalid_acl=-114,
                      auth_failed=-115, session_moved=-118, not_read_only=-119,
                      ephemeral_on_local_session=-120, no_watcher=-121)

_stat = struct.Struct("!qqqqiiiqiiq")
OPEN_ACL = [(31, "world", "anyone")]


class Enc:
    """jute encoders (big-endian)."""
    @staticmethod
    def i(v):
        return struct.pack("!i", v)

    @staticmethod
    def q(v):
        return struct.pack("!q", v)

    @staticmethod
    def b(v):
        return b"\x01" if v else b"\x00"

    @staticmethod
    def buf(v):
        return struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v

    @staticmethod
    def s(v):
        if v is None:
            return struct.pack("!i", -1)
        e = v.encode()
        return struct.pack("!i", len(e)) + e

    @staticmethod
    def vs(items):
        return struct.pack("!i", len(items)) + b"".join(Enc.s(x) for x in items)

    @staticmethod
    def acls(acls):
        return struct.pack("!i", len(acls)) + b"".join(
            struct.pack("!i", p) + Enc.s(sc) + Enc.s(i) for p, sc, i in acls)


class Dec:
    """A cursor over a jute payload."""
    def __init__(self, data, off=0):
        self.d, self.o = data, off

    def i(self):
        (v,) = struct.unpack_from("!i", self.d, self.o)
        self.o += 4
        return v

    def q(self):
        (v,) = struct.unpack_from("!q", self.d, self.o)
        self.o += 8
        return v

    def b(self):
        v = self.d[self.o] != 0
        self.o += 1
        return v

    def buf(self):
        n = self.i()
        if n < 0:
            return None
        v = self.d[self.o:self.o + n]
        self.o += n
        return v

    def s(self):
        v = self.buf()
        return None if v is None else v.decode()

    def vs(self):
        n = self.i()
        return [] if n < 0 else [self.s() for _ in range(n)]

    def stat(self):
        v = ZnodeStat._make(_stat.unpack_from(self.d, self.o))
        self.o += _stat.size
        return v

    def rest(self):
        return self.d[self.o:]


Reply = namedtuple("Reply", "xid zxid err body")
Event = namedtuple("Event", "type state path zxid")


class RawSession:
    """One ZooKeeper session over one socket, speaking the client protocol directly.
    A reader thread collects replies and watch notifications and sends pings while
    self.pinging is set (clear it to let the session expire)."""

    def __init__(self, port, timeout_ms=MAX_SESSION_MS, session_id=0, passwd=b"\0" * 16,
                 last_zxid=0, host="127.0.0.1", read_only=False):
        self.host, self.port = host, port
        self.requested_timeout = timeout_ms
        self.last_zxid = last_zxid
        self.events = queue.Queue()
        self.replies = queue.Queue()
        self.eof = threading.Event()
        self.pinging = threading.Event()
        self.pinging.set()
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._xid = 0
        self._last_send = time.monotonic()
        self.sock = socket.create_connection((host, port), timeout=5.0)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = (Enc.i(0) + Enc.q(last_zxid) + Enc.i(timeout_ms) + Enc.q(session_id) + Enc.buf(passwd)
                + Enc.b(read_only))
        self._send_frame(body)
        resp = self._read_frame_blocking(5.0)
        if resp is None:
            self.sock.close()
            raise ConnectionError("server closed the connection instead of answering ConnectRequest")
        d = Dec(resp)
        self.protocol_version = d.i()
        self.timeout = d.i()
        self.session_id = d.q()
        self.passwd = d.buf()
        self.expired = self.timeout <= 0
        self._thread = threading.Thread(target=self._loop, name="raw-zk-%x" % self.session_id, daemon=True)
        self._thread.start()

    # -- framing
    def _send_frame(self, payload):
        with self._send_lock:
            self.sock.sendall(struct.pack("!i", len(payload)) + payload)
            self._last_send = time.monotonic()

    def _read_frame_blocking(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        need = 4
        n = None
        while True:
            while len(buf) < need:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no frame within %.1fs" % timeout)
                self.sock.settimeout(left)
                c = self.sock.recv(need - len(buf))
                if not c:
                    return None
                buf += c
            if n is None:
                (n,) = struct.unpack("!i", buf)
                need = 4 + n
                continue
            return buf[4:]

    def _loop(self):
        try:
            self._pump()
        finally:
            self.eof.set()  # also when a frame could not be parsed

    def _pump(self):
        buf = b""
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                c = self.sock.recv(65536)
                if not c:
                    return
                buf += c
            except socket.timeout:
                pass
            except OSError:
                return
            while len(buf) >= 4:
                (n,) = struct.unpack_from("!i", buf)
                if len(buf) < 4 + n:
                    break
                frame, buf = buf[4:4 + n], buf[4 + n:]
                self._dispatch(frame)
            if (self.pinging.is_set() and self.timeout > 0
                    and time.monotonic() - self._last_send > self.timeout / 3000.0):
                try:
                    self._send_frame(Enc.i(XID.ping) + Enc.i(OP.ping))
                except OSError:
                    return

    def _dispatch(self, frame):
        d = Dec(frame)
        xid, zxid, err = d.i(), d.q(), d.i()
        if xid == XID.notification:
            self.events.put(Event(d.i(), d.i(), d.s(), zxid))
        elif xid == XID.ping:
            pass
        else:
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            self.replies.put(Reply(xid, zxid, err, d.rest()))

    # -- requests
    def request(self, op, body=b"", xid=None, timeout=5.0):
        """Sends one request and returns its Reply (xid, zxid, err, body)."""
        if xid is None:
            self._xid += 1
            xid = self._xid
        self._send_frame(Enc.i(xid) + Enc.i(op) + body)
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self.replies.get(timeout=0.05)
                break
            except queue.Empty:
                if self.eof.is_set() and self.replies.empty():
                    raise ConnectionError("connection closed before the reply to op %d (xid %d)" % (op, xid)) \
                        from None
                if time.monotonic() >= deadline:
                    raise TimeoutError("no reply to op %d (xid %d) within %.1fs" % (op, xid, timeout)) from None
        assert r.xid == xid, "reply xid %d does not match request xid %d" % (r.xid, xid)
        return r

    def create(self, path, data=b"", flags=0, acl=OPEN_ACL, op=OP.create2, ttl=None):
        body = Enc.s(path) + Enc.buf(data) + Enc.acls(acl) + Enc.i(flags)
        if ttl is not None:
            body += Enc.q(ttl)
        return self.request(op, body)

    def delete(self, path, version=-1):
        return self.request(OP.delete, Enc.s(path) + Enc.i(version))

    def set_data(self, path, data, version=-1):
        return self.request(OP.setData, Enc.s(path) + Enc.buf(data) + Enc.i(version))

    def get_data(self, path, watch=False):
        return self.request(OP.getData, Enc.s(path) + Enc.b(watch))

    def exists(self, path, watch=False):
        return self.request(OP.exists, Enc.s(path) + Enc.b(watch))

    def get_children(self, path, watch=False):
        return self.request(OP.getChildren, Enc.s(path) + Enc.b(watch))

    def add_watch(self, path, mode):
        return self.request(OP.addWatch, Enc.s(path) + Enc.i(mode))

    def remove_watches(self, path, wtype):
        return self.request(OP.removeWatches, Enc.s(path) + Enc.i(wtype))

    def check_watches(self, path, wtype):
        return self.request(OP.checkWatches, Enc.s(path) + Enc.i(wtype))

    def set_watches(self, relative_zxid, data=(), exist=(), child=()):
        body = Enc.q(relative_zxid) + Enc.vs(list(data)) + Enc.vs(list(exist)) + Enc.vs(list(child))
        return self.request(OP.setWatches, body, xid=XID.set_watches)

    def set_watches2(self, relative_zxid, data=(), exist=(), child=(), persistent=(), recursive=()):
        body = (Enc.q(relative_zxid) + Enc.vs(list(data)) + Enc.vs(list(exist)) + Enc.vs(list(child))
                + Enc.vs(list(persistent)) + Enc.vs(list(recursive)))
        return self.request(OP.setWatches2, body, xid=XID.set_watches)

    def get_ephemerals(self, prefix):
        return self.request(OP.getEphemerals, Enc.s(prefix))

    def all_children_number(self, path):
        return self.request(OP.getAllChildrenNumber, Enc.s(path))

    def close_session(self, timeout=5.0):
        r = self.request(OP.closeSession, timeout=timeout)
        self.close()
        return r

    # -- notifications
    def next_event(self, timeout=5.0):
        """The next watch notification, or None when none arrives within timeout."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def events_for(self, duration):
        """Every notification that arrives within duration seconds."""
        out = []
        deadline = time.monotonic() + duration
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            e = self.next_event(left)
            if e is not None:
                out.append(e)

    # -- connection
    def drop(self):
        """Closes the socket without closeSession: the session lives on until it expires."""
        self.close()

    def close(self):
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def reconnect(self, timeout_ms=None):
        """A new connection resuming this session (same id and password, our last zxid)."""
        return RawSession(self.port, timeout_ms=timeout_ms or self.requested_timeout,
                          session_id=self.session_id, passwd=self.passwd, last_zxid=self.last_zxid,
                          host=self.host)


@pytest.fixture
def make_raw(request):
    """make_raw(server=None, **RawSession kwargs) -> connected RawSession."""
    made = []

    def make(server=None, **kw):
        if server is None:
            server = request.getfixturevalue("zk_server")
        r = RawSession(server.port, **kw)
        made.append(r)
        return r

    def track(r):
        made.append(r)
        return r

    make.track = track
    yield make
    for r in made:
        r.close()


# ---------------------------------------------------------------------------------------------
# Kazoo request classes for opcodes kazoo 2.8 does not expose (sent with client._call)

def _create_body(path, data, acl, flags):
    b = bytearray()
    b += Enc.s(path) + Enc.buf(data)
    b += struct.pack("!i", len(acl))
    for a in acl:
        b += struct.pack("!i", a.perms) + Enc.s(a.id.scheme) + Enc.s(a.id.id)
    b += struct.pack("!i", flags)
    return b


class CreateContainerRequest(namedtuple("CreateContainerRequest", "path data acl flags")):
    type = OP.createContainer

    def serialize(self):
        return _create_body(self.path, self.data, self.acl, self.flags)

    @classmethod
    def deserialize(cls, data, offset):
        d = Dec(data, offset)
        return d.s(), d.stat()


class CreateTTLRequest(namedtuple("CreateTTLRequest", "path data acl flags ttl")):
    type = OP.createTTL

    def serialize(self):
        return _create_body(self.path, self.data, self.acl, self.flags) + Enc.q(self.ttl)

    @classmethod
    def deserialize(cls, data, offset):
        d = Dec(data, offset)
        return d.s(), d.stat()


class GetEphemeralsRequest(namedtuple("GetEphemeralsRequest", "path")):
    type = OP.getEphemerals

    def serialize(self):
        return Enc.s(self.path)

    @classmethod
    def deserialize(cls, data, offset):
        return Dec(data, offset).vs()


class GetAllChildrenNumberRequest(namedtuple("GetAllChildrenNumberRequest", "path")):
    type = OP.getAllChildrenNumber

    def serialize(self):
        return Enc.s(self.path)

    @classmethod
    def deserialize(cls, data, offset):
        return Dec(data, offset).i()


def kazoo_call(client, req, timeout=10.0):
    """Sends a custom request through a kazoo client; returns its result or raises the
    KazooException matching the server's error code."""
    res = client.handler.async_result()
    client._call(req, res)
    return res.get(timeout=timeout)


def create_container(client, path, value=b"", acl=None):
    from kazoo.security import OPEN_ACL_UNSAFE
    return kazoo_call(client, CreateContainerRequest(path, value, acl or OPEN_ACL_UNSAFE, FLAGS.container))


def create_ttl(client, path, value=b"", ttl=1000, flags=FLAGS.persistent_with_ttl, acl=None):
    from kazoo.security import OPEN_ACL_UNSAFE
    return kazoo_call(client, CreateTTLRequest(path, value, acl or OPEN_ACL_UNSAFE, flags, ttl))


def get_ephemerals(client, prefix="/"):
    return kazoo_call(client, GetEphemeralsRequest(prefix))


def all_children_number(client, path):
    return kazoo_call(client, GetAllChildrenNumberRequest(path))


# ---------------------------------------------------------------------------------------------
# TCP proxy: cut connections or black-hole them (a partition) to test reconnects and expiry

class TcpProxy:
    """Listens on 127.0.0.1:<port> and forwards each connection to the server.
    blackhole(): stop moving bytes (connections stay open, nothing gets through either way).
    restore(): close every connection opened so far and forward again.
    drop_all(): close every current connection (clients see a reset and reconnect)."""

    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.hosts = "127.0.0.1:%d" % self.port
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.pairs = {}  # socket -> peer socket
        self.forwarding = True
        self.accepted = 0
        self._cmds = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _close_pair(self, s):
        peer = self.pairs.pop(s, None)
        for x in (s, peer):
            if x is None:
                continue
            self.pairs.pop(x, None)
            try:
                self.sel.unregister(x)
            except (KeyError, ValueError):
                pass
            try:
                x.close()
            except OSError:
                pass

    def _close_all(self):
        for s in list(self.pairs):
            self._close_pair(s)

    def _loop(self):
        while not self._stop.is_set():
            while True:
                try:
                    cmd, done = self._cmds.get_nowait()
                except queue.Empty:
                    break
                if cmd == "drop":
                    self._close_all()
                elif cmd == "blackhole":
                    self.forwarding = False
                elif cmd == "restore":
                    self._close_all()
                    self.forwarding = True
                done.set()
            for key, _ in self.sel.select(timeout=0.05):
                s = key.fileobj
                if s is self.lsock:
                    try:
                        c, _ = self.lsock.accept()
                    except OSError:
                        continue
                    self.accepted += 1
                    try:
                        up = socket.create_connection(self.target, timeout=2.0)
                    except OSError:
                        c.close()
                        continue
                    for x in (c, up):
                        x.settimeout(5.0)
                        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.pairs[c], self.pairs[up] = up, c
                    self.sel.register(c, selectors.EVENT_READ, None)
                    self.sel.register(up, selectors.EVENT_READ, None)
                    continue
                if s not in self.pairs or not self.forwarding:
                    continue
                try:
                    data = s.recv(65536)
                    if not data:
                        raise OSError("eof")
                    self.pairs[s].sendall(data)
                except OSError:
                    self._close_pair(s)
            if not self.forwarding:
                time.sleep(0.02)  # readable sockets are left unread: do not spin
        self._close_all()
        try:
            self.sel.unregister(self.lsock)
        except (KeyError, ValueError):
            pass
        self.lsock.close()

    def _command(self, cmd):
        done = threading.Event()
        self._cmds.put((cmd, done))
        assert done.wait(5), "proxy did not process %r" % cmd

    def drop_all(self):
        self._command("drop")

    def blackhole(self):
        self._command("blackhole")

    def restore(self):
        self._command("restore")

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def make_proxy(request):
    made = []

    def make(server=None):
        if server is None:
            server = request.getfixturevalue("zk_server")
        p = TcpProxy(server.port)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


# ---------------------------------------------------------------------------------------------
# Collecting callbacks from other threads (watches, listeners, recipes)

class Collector:
    """A thread-safe list with bounded waits: use it as a callback (it records its argument,
    or the tuple of its arguments) and wait for a number of items."""

    def __init__(self):
        self.items = []
        self._cond = threading.Condition()

    def __call__(self, *args):
        with self._cond:
            self.items.append(args[0] if len(args) == 1 else args)
            self._cond.notify_all()

    def wait(self, count=1, timeout=5.0):
        """True once at least count items arrived, False after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_for(self, predicate, timeout=5.0):
        """True once predicate(items) holds, False after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self.items)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def snapshot(self):
        with self._cond:
            return list(self.items)

    def __len__(self):
        with self._cond:
            return len(self.items)

    def __bool__(self):  # kazoo registers a watch only when the callback is truthy
        return True


# ---------------------------------------------------------------------------------------------
# The extras namespace handed to tests

@pytest.fixture(scope="session")
def zkx():
    return SimpleNamespace(
        TARGET=TARGET, TICK_MS=TICK_MS, MIN_SESSION_MS=MIN_SESSION_MS, MAX_SESSION_MS=MAX_SESSION_MS,
        SUPER_USER=SUPER_USER, SUPER_PASSWORD=SUPER_PASSWORD, SUPER_DIGEST=SUPER_DIGEST,
        OP=OP, XID=XID, FLAGS=FLAGS, EVENT=EVENT, WATCHER_TYPE=WATCHER_TYPE, ADD_WATCH_MODE=ADD_WATCH_MODE,
        ERR=ERR, OPEN_ACL=OPEN_ACL, Enc=Enc, Dec=Dec,
        kazoo_call=kazoo_call, create_container=create_container, create_ttl=create_ttl,
        get_ephemerals=get_ephemerals, all_children_number=all_children_number,
        four_letter=four_letter, wait_until=wait_until, Collector=Collector,
        new_client=new_client, close_client=close_client,
    )


# ---------------------------------------------------------------------------------------------
# Failure output from fixtures

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """When a test fails, every fixture value of it that has a failure_report() method (e.g. the
    ensemble of the quorum tests: the tail of each member's log) adds a section to the report."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for name, value in list((getattr(item, "funcargs", None) or {}).items()):
        fn = getattr(value, "failure_report", None)
        if not callable(fn):
            continue
        try:
            text = fn()
        except Exception as e:  # noqa: BLE001 - the report must not fail
            text = "(could not collect: %r)" % (e,)
        if text:
            rep.sections.append(("%s: failure report" % name, text))

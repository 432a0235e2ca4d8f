"""Apache's zkCli.sh against the server under test, compared with a reference Apache ZooKeeper
3.8 started here (independent of ZK_TARGET).

The same script runs against both; the outputs are normalised (zxids, times, session ids, JVM and
connection noise) and must be equal. With ZK_TARGET=apache this compares Apache with Apache,
which proves the normalisation. A few outcomes are also asserted directly.

zkCli.sh (3.8.0) reads commands from stdin when JLine is not on the classpath (Debian's zkEnv.sh
puts only zookeeper.jar there), one per line, carrying on after failed commands; -waitforconnection
makes it wait for the session before the first command. "Created ..." and error messages go to
stderr, data and stats to stdout; both are captured through one pipe so their order is kept.
To split the output per command, each command is preceded by a marker command, `ls` of a path that
cannot exist, whose answer is "Node does not exist: <marker path>"."""
import difflib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
JAVA = "/usr/bin/java"
APACHE_CLASSPATH = ":".join(
    ["/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar"]
    # a log4j binding, when installed, makes the reference server's log (in its tmp dir) readable
    + [j for j in ("/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar") if os.path.exists(j)])
APACHE_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
CLI_TIMEOUT = 90  # one zkCli run (a JVM start is ~0.5 s here)


@pytest.fixture(autouse=True)
def require_zkcli():
    # Missing tools fail the test: a skipped comparison would pass for nothing.
    if not (os.access(ZKCLI, os.X_OK) and os.access(JAVA, os.X_OK)):
        pytest.fail("zkCli.sh or java is not installed (Debian packages zookeeper, zookeeper-bin)",
                    pytrace=False)


# ---------------------------------------------------------------------------------------------
# The reference server: always Apache ZooKeeper

def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _ruok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"ruok")
            s.shutdown(socket.SHUT_WR)
            s.settimeout(1.0)
            out = b""
            while True:
                c = s.recv(64)
                if not c:
                    return out.decode(errors="replace")
                out += c
    except OSError:
        return ""


class ApacheServer:
    target = "apache"

    def __init__(self):
        self.tmpdir = tempfile.mkdtemp(prefix="zkcli-apache-")
        self.port = _free_port()
        self.hosts = "127.0.0.1:%d" % self.port
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self.proc = None
        self._log = None

    def start(self, deadline=30.0):
        datadir = os.path.join(self.tmpdir, "data")
        os.makedirs(datadir)
        cfg = os.path.join(self.tmpdir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write("tickTime=200\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                    "4lw.commands.whitelist=*\nadmin.enableServer=false\n" % (datadir, self.port))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [JAVA, "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=*",
             "-Dzookeeper.log.dir=%s" % self.tmpdir, "-Dzookeeper.root.logger=INFO,CONSOLE",
             "-Xmx256m", "-cp", APACHE_CLASSPATH, APACHE_MAIN, cfg],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmpdir)
        end = time.monotonic() + deadline
        while _ruok(self.port) != "imok":
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                with open(self.log_path, "rb") as f:
                    tail = f.read()[-4000:].decode(errors="replace")
                pytest.fail("reference Apache ZooKeeper did not answer ruok on %s\n%s" % (self.hosts, tail),
                            pytrace=False)
            time.sleep(0.1)
        return self

    def stop(self):
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


@pytest.fixture(scope="module")
def apache_zk():
    srv = ApacheServer()
    try:
        yield srv.start()
    finally:
        srv.cleanup()


# ---------------------------------------------------------------------------------------------
# Running zkCli.sh and normalising its output

def _cli_env():
    env = dict(os.environ)
    # No SLF4J binding is on zkCli's classpath (it logs nothing); should one appear, keep its
    # logging at ERROR. The JIT flags only shorten start-up.
    env["CLIENT_JVMFLAGS"] = "-Dzookeeper.root.logger=ERROR,CONSOLE -XX:TieredStopAtLevel=1 -Xshare:auto"
    env.pop("JVMFLAGS", None)
    env["ZOO_LOG4J_PROP"] = "ERROR,CONSOLE"
    return env


def run_cli(hosts, args=(), stdin_text=None):
    """Runs zkCli.sh; returns (exit code, stdout and stderr merged in order)."""
    cmd = [ZKCLI, "-waitforconnection", "-timeout", "10000", "-server", hosts] + list(args)
    tmp = tempfile.mkdtemp(prefix="zkcli-run-")
    try:
        p = subprocess.run(cmd, input=(stdin_text or "").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=CLI_TIMEOUT, env=_cli_env(), cwd=tmp)
    except subprocess.TimeoutExpired as e:
        pytest.fail("zkCli.sh %s timed out after %ds; output so far:\n%s"
                    % (" ".join(args) or "(stdin script)", CLI_TIMEOUT,
                       (e.stdout or b"").decode(errors="replace")[-4000:]), pytrace=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return p.returncode, p.stdout.decode(errors="replace")


NOISE = [
    re.compile(r"^SLF4J: "),
    re.compile(r"^log4j:"),
    re.compile(r"^Connecting to "),
    re.compile(r"^Welcome to ZooKeeper!$"),
    re.compile(r"^JLine support is "),
    re.compile(r"^WATCHER::$"),
    re.compile(r"^WatchedEvent "),
    re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d"),  # a log line, should a binding appear
    re.compile(r"^(OpenJDK|Java HotSpot).*(Warning|warning)"),  # JVM warnings
    re.compile(r"^Picked up (_JAVA_OPTIONS|JAVA_TOOL_OPTIONS)"),
]
PROMPT = re.compile(r"^\[zk: [^\]]*\] ?")  # interactive prompt, if JLine is ever on the classpath
ZXID_LINE = re.compile(r"^(cZxid|mZxid|pZxid) = 0x[0-9a-fA-F]+$")
TIME_LINE = re.compile(r"^(ctime|mtime) = .+$")
OWNER_LINE = re.compile(r"^ephemeralOwner = (0x[0-9a-fA-F]+)$")
LIST_LINE = re.compile(r"^\[(.*)\]$")


def clean_lines(text):
    out = []
    for line in text.splitlines():
        line = PROMPT.sub("", line.rstrip())
        if not line.strip() or any(n.search(line) for n in NOISE):
            continue
        out.append(line)
    return out


def normalise(lines, sort_lines=False):
    out = []
    for line in lines:
        m = ZXID_LINE.match(line)
        if m:
            line = "%s = <zxid>" % m.group(1)
        m = TIME_LINE.match(line)
        if m:
            line = "%s = <time>" % m.group(1)
        m = OWNER_LINE.match(line)
        if m and int(m.group(1), 16) != 0:
            line = "ephemeralOwner = <session>"
        m = LIST_LINE.match(line)
        if m and m.group(1):
            line = "[%s]" % ", ".join(sorted(m.group(1).split(", ")))
        out.append(line)
    return sorted(out) if sort_lines else out


def run_script(hosts, commands, mark_root):
    """Runs commands in one zkCli session. Returns (exit code, [(command, raw lines)], raw text)."""
    script = []
    for i, c in enumerate(commands):
        script.append("ls %s/%d" % (mark_root, i))
        script.append(c)
    script.append("ls %s/end" % mark_root)
    script.append("quit")
    rc, text = run_cli(hosts, stdin_text="\n".join(script) + "\n")
    marker = re.compile(r"^Node does not exist: %s/(\d+|end)$" % re.escape(mark_root))
    blocks, current, seen = {}, None, []
    for line in clean_lines(text):
        m = marker.match(line)
        if m:
            current = m.group(1)
            seen.append(current)
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    expected = [str(i) for i in range(len(commands))] + ["end"]
    if seen != expected:
        pytest.fail("zkCli output on %s is missing markers (saw %s)\n--- output ---\n%s"
                    % (hosts, seen, text[-6000:]), pytrace=False)
    return rc, [(c, blocks[str(i)]) for i, c in enumerate(commands)], text


def comparable(results):
    return [(c, normalise(lines, sort_lines=c.startswith("ls -R"))) for c, lines in results]


def render(results):
    out = []
    for c, lines in results:
        out.append("> " + c)
        out.extend("  " + line for line in lines)
    return out


def assert_same(target, reference, what):
    if target != reference:
        diff = "\n".join(difflib.unified_diff(render(reference), render(target), "apache-reference",
                                              "server-under-test", lineterm="", n=2))
        pytest.fail("%s: zkCli output differs from Apache's (after normalisation)\n%s" % (what, diff),
                    pytrace=False)


def block(results, command):
    for c, lines in results:
        if c == command:
            return lines
    raise KeyError(command)


def stat_fields(lines):
    return {m.group(1): m.group(2) for m in (re.match(r"^(\w+) = (.*)$", x) for x in lines) if m}


# ---------------------------------------------------------------------------------------------
# Tests

def test_zkcli_script_matches_apache(zk_server, apache_zk):
    uid = uuid.uuid4().hex[:10]
    r = "/zkcli-%s" % uid
    commands = [
        "create %s rootdata" % r,
        "create %s/a hello" % r,
        "create %s/a" % r,                        # exists
        "create %s/missing/x" % r,                # no parent
        "create %s/nodata" % r,                   # null data
        "get %s/nodata" % r,
        "create %s/empty ''" % r,
        "get -s %s/empty" % r,
        "create -e %s/eph ephemeral" % r,
        "create %s/eph/kid" % r,                  # no children for ephemerals
        "create -s %s/a/seq- s1" % r,
        "create -s %s/a/seq- s2" % r,
        "create -e -s %s/a/eseq- e" % r,
        "create %s/zz" % r,
        "create %s/b" % r,
        "create %s/ab" % r,
        "ls %s" % r,
        "ls %s/a" % r,
        "ls -s %s/a" % r,
        "get %s/a" % r,
        "get -s %s/a" % r,
        "set %s/a world" % r,
        "get -s %s/a" % r,
        "set -v 0 %s/a stale" % r,                # bad version
        "set -s -v 1 %s/a again" % r,
        "stat %s/a" % r,
        "stat %s/eph" % r,
        "stat %s/nope" % r,
        "get %s/nope" % r,
        "ls %s/nope" % r,
        "set %s/nope x" % r,
        "delete %s/a" % r,                        # not empty
        "delete -v 5 %s/a/seq-0000000000" % r,    # bad version
        "delete %s/a/seq-0000000000" % r,
        "delete %s/a/seq-0000000000" % r,         # already gone
        "ls -R %s" % r,
        "ls -s %s/a" % r,
        "deleteall %s/a" % r,
        "ls -s %s" % r,
        "delete %s/eph" % r,
        "stat %s" % r,
        "deleteall %s" % r,
        "ls %s" % r,
        "stat %s" % r,
    ]
    mark = "/zkcli-mark-%s" % uid
    ref_rc, ref, ref_text = run_script(apache_zk.hosts, commands, mark)
    tgt_rc, tgt, tgt_text = run_script(zk_server.hosts, commands, mark)

    # The reference itself behaves as expected (guards the normaliser and the marker scheme).
    assert block(ref, "get -s %s/a" % r)[0] == "hello"
    assert_same(comparable(tgt), comparable(ref), "stdin script against %s" % zk_server.target)
    assert tgt_rc == ref_rc, "zkCli exit code %d, Apache's %d" % (tgt_rc, ref_rc)

    # Concrete outcomes on the server under test.
    assert block(tgt, "create %s rootdata" % r) == ["Created %s" % r]
    assert block(tgt, "create %s/a" % r) == ["Node already exists: %s/a" % r]
    assert block(tgt, "create %s/missing/x" % r) == ["Node does not exist: %s/missing/x" % r]
    assert block(tgt, "get %s/nodata" % r) == ["null"]
    assert block(tgt, "create -s %s/a/seq- s2" % r) == ["Created %s/a/seq-0000000001" % r]
    assert block(tgt, "create -e -s %s/a/eseq- e" % r) == ["Created %s/a/eseq-0000000002" % r]
    assert block(tgt, "ls %s" % r) == ["[a, ab, b, empty, eph, nodata, zz]"]
    ls_s = block(tgt, "ls -s %s/a" % r)
    assert ls_s[0] == "[eseq-0000000002, seq-0000000000, seq-0000000001]"
    st = stat_fields(ls_s[1:])
    assert (st["numChildren"], st["cversion"], st["dataLength"]) == ("3", "3", "5")
    gets = [lines for c, lines in tgt if c == "get -s %s/a" % r]  # before and after the set
    assert len(gets) == 2
    assert gets[0][0] == "hello" and stat_fields(gets[0][1:])["dataVersion"] == "0"
    st = stat_fields(gets[1][1:])
    assert gets[1][0] == "world" and st["dataVersion"] == "1" and st["dataLength"] == "5"
    assert st["mZxid"] != st["cZxid"] and st["ephemeralOwner"] == "0x0" and st["numChildren"] == "3"
    assert block(tgt, "set -v 0 %s/a stale" % r) == ["version No is not valid : %s/a" % r]
    assert stat_fields(block(tgt, "set -s -v 1 %s/a again" % r))["dataVersion"] == "2"
    eph = stat_fields(block(tgt, "stat %s/eph" % r))
    assert int(eph["ephemeralOwner"], 16) != 0 and eph["dataLength"] == "9"
    assert block(tgt, "stat %s/nope" % r) == ["Node does not exist: %s/nope" % r]
    assert block(tgt, "delete %s/a" % r) == ["Node not empty: %s/a" % r]
    second_ls_s = [lines for c, lines in tgt if c == "ls -s %s/a" % r][1]  # after one delete
    assert second_ls_s[0] == "[eseq-0000000002, seq-0000000001]"
    assert stat_fields(second_ls_s[1:])["numChildren"] == "2"
    assert stat_fields(second_ls_s[1:])["cversion"] == "4"
    root_stats = [lines for c, lines in tgt if c == "stat %s" % r]  # before and after deleteall
    st = stat_fields(root_stats[0])
    assert st["numChildren"] == "5" and st["dataLength"] == "8" and st["cversion"] == "9"
    assert root_stats[1] == ["Node does not exist: %s" % r]
    assert [lines for c, lines in tgt if c == "ls %s" % r][1] == ["Node does not exist: %s" % r]
    assert sorted(block(tgt, "ls -R %s" % r)) == sorted(
        [r] + ["%s/%s" % (r, x) for x in ("a", "ab", "b", "empty", "eph", "nodata", "zz")]
        + ["%s/a/eseq-0000000002" % r, "%s/a/seq-0000000001" % r])


def test_zkcli_one_shot_commands_match_apache(zk_server, apache_zk):
    """`zkCli.sh -server host:port cmd args` runs one command per JVM."""
    r = "/zkcli1-%s" % uuid.uuid4().hex[:10]
    steps = [
        ["create", r, "one"],
        ["create", "-s", r + "/s-", "x"],
        ["set", r, "two"],
        ["get", "-s", r],
        ["ls", "-s", r],
        ["stat", r + "/nope"],
        ["deleteall", r],
        ["ls", r],
    ]
    results = {}
    codes = {}
    for name, srv in (("apache", apache_zk), ("target", zk_server)):
        results[name], codes[name] = [], []
        for args in steps:
            rc, text = run_cli(srv.hosts, args)
            results[name].append((" ".join(args), clean_lines(text)))
            codes[name].append(rc)
    assert_same(comparable(results["target"]), comparable(results["apache"]),
                "one-shot commands against %s" % zk_server.target)
    assert codes["target"] == codes["apache"]
    tgt = results["target"]
    assert tgt[0][1] == ["Created %s" % r]
    assert tgt[1][1] == ["Created %s/s-0000000000" % r]
    got = stat_fields(tgt[3][1][1:])
    assert tgt[3][1][0] == "two" and got["dataVersion"] == "1" and got["numChildren"] == "1"
    assert tgt[4][1][0] == "[s-0000000000]"
    assert tgt[7][1] == ["Node does not exist: %s" % r]

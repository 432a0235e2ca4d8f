"""Runs c_client_test (tests/integration/c_client_test.c, built by CMake; nothing is built here)
against the server under test: Apache's own C client (libzookeeper_mt) exercising the sync and
async APIs, watches, multi, ACLs and sessions. Its last line is "N passed, M failed".

The binary: $C_CLIENT_TEST, else <repo>/build/tests/integration/c_client_test."""
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_BINARY = REPO / "build" / "tests" / "integration" / "c_client_test"
RUN_TIMEOUT = 180  # the program bounds every wait at 10 s and aborts itself after 240 s
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


def c_client_binary():
    explicit = os.environ.get("C_CLIENT_TEST")
    path = Path(explicit) if explicit else DEFAULT_BINARY
    if os.access(path, os.X_OK):
        return path
    # A missing binary fails the test: a skipped test would pass for nothing.
    pytest.fail("c_client_test not found or not executable at %s (install libzookeeper-mt-dev, build "
                "the project with CMake, or set C_CLIENT_TEST)" % path, pytrace=False)


def test_c_client(zk_server):
    binary = c_client_binary()
    try:
        proc = subprocess.run([str(binary), zk_server.hosts], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=RUN_TIMEOUT, cwd=str(binary.parent))
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        pytest.fail("c_client_test did not finish within %ds against %s\n--- output ---\n%s"
                    % (RUN_TIMEOUT, zk_server.target, out[-20000:]), pytrace=False)
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    failures = [line for line in out.splitlines() if line.startswith("not ok")]
    report = "\n".join(failures) or "(no failed checks listed)"
    detail = ("c_client_test against %s (%s) exited %d\n--- failed checks ---\n%s\n"
              "--- stdout tail ---\n%s\n--- stderr tail ---\n%s"
              % (zk_server.target, zk_server.hosts, proc.returncode, report,
                 "\n".join(out.splitlines()[-15:]), "\n".join(err.splitlines()[-30:])))
    summaries = SUMMARY.findall(out)
    assert summaries, "no 'N passed, M failed' line\n" + detail
    passed, failed = (int(x) for x in summaries[-1])
    assert out.rstrip().splitlines()[-1] == "%d passed, %d failed" % (passed, failed), detail
    assert failed == 0 and not failures, detail
    assert passed > 0, detail
    assert proc.returncode == 0, detail

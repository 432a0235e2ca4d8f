"""Operator limits as ZooKeeper enforces them: maxClientCnxns per client address, and the
four-letter-word whitelist. Each test starts its own server with its own zoo.cfg."""
import socket

import pytest
from kazoo.client import KazooClient

from conftest import ZkServer
from zkraw import Raw, four_letter


@pytest.fixture
def limited_server():
    srv = ZkServer()
    srv.extra_config = ["maxClientCnxns=5", "4lw.commands.whitelist=ruok,stat"]
    if srv.target == "apache":
        srv.extra_config.append("zookeeper.4lw.commands.whitelist=ruok,stat")
    try:
        srv.start()
        yield srv
    finally:
        srv.cleanup()


def test_max_client_cnxns_per_address(limited_server):
    raws = []
    try:
        for _ in range(5):
            r = Raw(limited_server.port)
            r.handshake()
            raws.append(r)
        # The sixth connection from 127.0.0.1 is closed without an answer (Apache may close it
        # before the connect call even returns).
        try:
            extra = Raw(limited_server.port)
            try:
                extra.send(b"\x00\x00\x00\x2d" + b"\x00" * 45)
            except OSError:
                pass
            assert extra.closed_by_server()
            extra.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        # The five keep working.
        for i, r in enumerate(raws):
            r.request(i + 1, 11)  # ping
            assert r.reply()[2] == 0
    finally:
        for r in raws:
            r.close()
    # Once they are gone, new connections are accepted again.
    zk = KazooClient(hosts=limited_server.hosts)
    zk.start(timeout=15)
    zk.stop()
    zk.close()


def test_fourlw_whitelist(limited_server):
    assert four_letter(limited_server.port, "ruok") == "imok"
    assert four_letter(limited_server.port, "stat").startswith("Zookeeper version: ")
    # srvr is always allowed (zkServer.sh status uses it)
    assert "Mode: standalone" in four_letter(limited_server.port, "srvr")
    assert four_letter(limited_server.port, "mntr") == "mntr is not executed because it is not in the whitelist.\n"
    assert four_letter(limited_server.port, "conf") == "conf is not executed because it is not in the whitelist.\n"

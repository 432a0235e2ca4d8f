"""Four-letter words: the same shapes as Apache ZooKeeper 3.8 (checked against both targets)."""
import re

from kazoo.client import KazooClient

from zkraw import four_letter


def test_ruok(zk_server):
    assert four_letter(zk_server.port, "ruok") == "imok"


def test_srvr_lines(zk_server):
    out = four_letter(zk_server.port, "srvr")
    lines = out.split("\n")
    assert lines[0].startswith("Zookeeper version: 3.8")
    assert re.fullmatch(r"Latency min/avg/max: \d+/\d+\.\d+/\d+", lines[1])
    assert re.fullmatch(r"Received: \d+", lines[2])
    assert re.fullmatch(r"Sent: \d+", lines[3])
    assert re.fullmatch(r"Connections: \d+", lines[4])
    assert re.fullmatch(r"Outstanding: \d+", lines[5])
    assert re.fullmatch(r"Zxid: 0x[0-9a-f]+", lines[6])
    assert lines[7] == "Mode: standalone"
    assert re.fullmatch(r"Node count: \d+", lines[8])


def test_stat_lists_clients(zk_server):
    zk = KazooClient(hosts=zk_server.hosts)
    zk.start(timeout=15)
    out = four_letter(zk_server.port, "stat")
    assert out.split("\n")[1] == "Clients:"
    assert re.search(r"^ /127\.0\.0\.1:\d+\[\d\]\(queued=\d+,recved=\d+,sent=\d+\)$", out, re.M)
    assert "Mode: standalone" in out
    zk.stop()


def test_mntr_keys(zk_server):
    out = four_letter(zk_server.port, "mntr")
    kv = dict(line.split("\t", 1) for line in out.strip("\n").split("\n"))
    for key in ["zk_version", "zk_server_state", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
                "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections",
                "zk_outstanding_requests", "zk_znode_count", "zk_watch_count", "zk_ephemerals_count",
                "zk_approximate_data_size", "zk_global_sessions"]:
        assert key in kv, key
    assert kv["zk_server_state"] == "standalone"


def test_conf(zk_server):
    out = four_letter(zk_server.port, "conf")
    kv = dict(line.split("=", 1) for line in out.strip("\n").split("\n") if "=" in line)
    assert kv["clientPort"] == str(zk_server.port)
    assert kv["tickTime"] == "200"
    assert kv["minSessionTimeout"] == "400"
    assert kv["maxSessionTimeout"] == "4000"
    assert kv["dataDir"].endswith("/version-2")


def test_wchs_wchc_wchp(zk_server):
    zk = KazooClient(hosts=zk_server.hosts)
    zk.start(timeout=15)
    zk.ensure_path("/fourlw-w")
    zk.get("/fourlw-w", watch=lambda e: None)
    sid = "0x%x" % zk.client_id[0]
    assert re.match(r"\d+ connections watching \d+ paths\nTotal watches:\d+\n", four_letter(zk_server.port, "wchs"))
    wchc = four_letter(zk_server.port, "wchc")
    assert sid + "\n\t/fourlw-w\n" in wchc
    wchp = four_letter(zk_server.port, "wchp")
    assert "/fourlw-w\n\t" + sid + "\n" in wchp
    zk.stop()


def test_cons_dirs_isro_envi(zk_server):
    zk = KazooClient(hosts=zk_server.hosts)
    zk.start(timeout=15)
    cons = four_letter(zk_server.port, "cons")
    assert re.search(r"sid=0x%x,lop=\w+,est=\d+,to=\d+" % zk.client_id[0], cons)
    assert re.fullmatch(r"datadir_size: \d+\nlogdir_size: \d+\n", four_letter(zk_server.port, "dirs"))
    assert four_letter(zk_server.port, "isro") == "rw"
    assert four_letter(zk_server.port, "envi").startswith("Environment:\n")
    assert four_letter(zk_server.port, "crst") == "Connection stats reset.\n"
    assert four_letter(zk_server.port, "srst") == "Server stats reset.\n"
    assert "SessionTracker dump:" in four_letter(zk_server.port, "dump")
    zk.stop()

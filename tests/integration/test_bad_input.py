"""Hostile input on the client port: each case closes (or answers) only the offending connection,
the server keeps running and an unrelated session does not notice. Checked against both targets."""
import os
import socket
import struct
import time

from kazoo.client import KazooClient

from zkraw import Raw, connect_request, frame, four_letter, ustring


def healthy(zk_server):
    return four_letter(zk_server.port, "ruok") == "imok"


def bystander(zk_server):
    zk = KazooClient(hosts=zk_server.hosts, timeout=10)
    zk.start(timeout=15)
    return zk


def check_bystander(zk, path):
    # The bystander's session survived and still works.
    zk.set(path, b"still-here")
    assert zk.get(path)[0] == b"still-here"


def test_frame_over_maxbuffer_closes_connection(zk_server):
    zk = bystander(zk_server)
    zk.ensure_path("/bad-input-1")
    r = Raw(zk_server.port)
    r.handshake()
    r.send(struct.pack(">i", 0xfffff + 1) + b"x" * 64)
    assert r.closed_by_server()
    assert healthy(zk_server)
    check_bystander(zk, "/bad-input-1")
    zk.stop()


def test_negative_length_closes_connection(zk_server):
    r = Raw(zk_server.port)
    r.handshake()
    r.send(struct.pack(">i", -5) + b"abcd")
    assert r.closed_by_server()
    assert healthy(zk_server)


def test_garbage_before_handshake_closes(zk_server):
    r = Raw(zk_server.port)
    r.send(os.urandom(3) + b"\xff" + os.urandom(60))
    assert r.closed_by_server(timeout=12)
    assert healthy(zk_server)


def test_truncated_connect_request_closes(zk_server):
    r = Raw(zk_server.port)
    req = connect_request()
    r.send(frame(req[:10]))
    assert r.closed_by_server()
    assert healthy(zk_server)


def test_request_before_handshake_is_not_a_session(zk_server):
    # A create frame sent as the first frame is parsed as a ConnectRequest and rejected.
    r = Raw(zk_server.port)
    body = struct.pack(">ii", 1, 1) + ustring("/x") + ustring(b"") + struct.pack(">i", 0) + struct.pack(">i", 0)
    r.send(frame(body))
    assert r.closed_by_server()
    assert healthy(zk_server)


def test_unknown_opcode_gets_unimplemented_then_close(zk_server):
    r = Raw(zk_server.port)
    r.handshake()
    r.request(7, 55, b"")
    xid, zxid, err, body = r.reply()
    assert (xid, err) == (7, -6)
    assert body == b""
    assert r.closed_by_server()
    assert healthy(zk_server)


def test_truncated_request_body_marshalling_error_or_close(zk_server):
    # getData whose path length claims more bytes than the frame has.
    r = Raw(zk_server.port)
    r.handshake()
    r.request(3, 4, struct.pack(">i", 100) + b"/short")
    rep = r.reply()
    if rep is not None:
        assert rep[0] == 3 and rep[2] != 0
    assert healthy(zk_server)


def test_client_that_stops_reading_does_not_hurt_others(zk_server):
    zk = bystander(zk_server)
    zk.ensure_path("/bad-input-slow")
    zk.set("/bad-input-slow", b"x" * 100000)
    r = Raw(zk_server.port)
    r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    r.handshake()
    # Pipeline many large reads and never read the replies.
    req = frame(struct.pack(">ii", 9, 4) + ustring("/bad-input-slow") + b"\x00")
    sent = 0
    deadline = time.monotonic() + 10
    r.sock.setblocking(False)
    while sent < 2000 and time.monotonic() < deadline:
        try:
            r.sock.send(req)
            sent += 1
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    check_bystander(zk, "/bad-input-slow")
    assert healthy(zk_server)
    r.close()
    zk.stop()


def test_many_bad_connections_then_normal_service(zk_server):
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", zk_server.port), timeout=5)
        s.sendall(struct.pack(">i", -1 - i))
        s.close()
    zk = bystander(zk_server)
    zk.ensure_path("/bad-input-after")
    check_bystander(zk, "/bad-input-after")
    zk.stop()

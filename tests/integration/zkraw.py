"""A raw ZooKeeper client-protocol speaker for tests that need exact bytes: hostile input,
opcodes kazoo does not expose, and reply headers. Frames are 4-byte big-endian length + payload."""
import socket
import struct
import time


def connect_request(timeout_ms=30000, session_id=0, passwd=b"\0" * 16, last_zxid=0, readonly=True):
    body = struct.pack(">iqiq", 0, last_zxid, timeout_ms, session_id) + struct.pack(">i", len(passwd)) + passwd
    if readonly is not None:
        body += b"\x01" if readonly else b"\x00"
    return body


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def ustring(s):
    if s is None:
        return struct.pack(">i", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">i", len(b)) + b


OPEN_ACL = struct.pack(">i", 1) + struct.pack(">i", 31) + ustring("world") + ustring("anyone")


class Raw:
    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def recv_frame(self, timeout=5.0):
        """Returns the next frame payload, or None if the server closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">i", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    p = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return p
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame within %.1fs" % timeout)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def closed_by_server(self, timeout=5.0):
        """True when the server closes the connection (EOF/reset) within the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def handshake(self, timeout_ms=30000):
        self.send(frame(connect_request(timeout_ms)))
        resp = self.recv_frame()
        assert resp is not None, "server closed instead of answering the ConnectRequest"
        proto, to, sid, pwlen = struct.unpack(">iiqi", resp[:20])
        self.session_id, self.timeout, self.passwd = sid, to, resp[20:20 + pwlen]
        return resp

    def request(self, xid, op, body=b""):
        self.send(frame(struct.pack(">ii", xid, op) + body))

    def reply(self, timeout=5.0):
        """Next non-notification reply as (xid, zxid, err, body)."""
        while True:
            p = self.recv_frame(timeout)
            if p is None:
                return None
            xid, zxid, err = struct.unpack(">iqi", p[:16])
            if xid != -1:
                return xid, zxid, err, p[16:]


def four_letter(port, cmd, host="127.0.0.1", timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(cmd.encode())
        out = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
        return out.decode()
    finally:
        s.close()

"""The HTTP edge (server/serve.c): accept under descriptor exhaustion."""

import json
import os
import resource
import socket
import time

import pytest

from conftest import ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD, Server



@pytest.fixture(scope="module")
def edge_db(pg):
    url = pg.createdb("t_http_edge")
    s = Server(url, pg.root, name="edge-migrate")
    s.migrate()
    s.create_admin(ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD)
    return url


def start(pg, url, name, env=None, preexec_fn=None):
    s = Server(url, pg.root, extra_env=env, skip_migrate=True, name=name, preexec_fn=preexec_fn)
    return s.start()


def connect(server, timeout=5):
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_all(s, limit=10.0):
    """Everything the server sends until it closes (or `limit` seconds pass)."""
    data, end = b"", time.monotonic() + limit
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            return data, True
        data += chunk
    return data, False


def exchange(server, payload, half_close=True, limit=5.0):
    s = connect(server)
    try:
        s.sendall(payload)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return read_all(s, limit)
    finally:
        s.close()


def replies(data):
    """[(status, headers, body)] of the replies in `data`, in order."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        n = int(headers.get("content-length", "0"))
        out.append((int(lines[0].split()[1]), headers, rest[:n]))
        data = rest[n:]
    return out


def one_problem(data, status, slug):
    got = replies(data)
    assert len(got) == 1, data
    code, headers, body = got[0]
    assert code == status, data
    assert headers["content-type"] == "application/problem+json; charset=utf-8", data
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    assert headers.get("x-request-id")
    p = json.loads(body)
    assert p["status"] == status and p["type"] == "/problems/" + slug and p["title"] and p["detail"]
    return headers, p


def healthz(server):
    data, _ = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    return data


def log_text(server):
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---- 2. Descriptor exhaustion ----

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_accept_backs_off_when_descriptors_run_out(pg, edge_db):
    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    server = start(pg, edge_db, "fdlimit", None, low_fd_limit)
    socks = []
    try:
        for _ in range(200):
            socks.append(connect(server))
        time.sleep(0.5)
        size0, cpu0 = os.path.getsize(server.log_path), cpu_seconds(server.proc.pid)
        time.sleep(3)
        grown = os.path.getsize(server.log_path) - size0
        cpu = cpu_seconds(server.proc.pid) - cpu0
        assert server.alive()
        assert cpu < 0.5, f"{cpu:.2f} s of CPU in 3 s while out of descriptors"
        assert grown < 4096, f"log grew {grown} bytes in 3 s"
        assert "Too many open files" in log_text(server) or "descriptors" in log_text(server)
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 5
        ok = b""
        while time.monotonic() < deadline and not ok.startswith(b"HTTP/1.1 200"):
            try:
                ok = healthz(server)
            except OSError:
                time.sleep(0.2)
        assert ok.startswith(b"HTTP/1.1 200"), ok
    finally:
        for s in socks:
            s.close()
        server.stop()

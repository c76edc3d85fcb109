"""The HTTP edge (server/conn.c, server/serve.c, server/http.c): the request deadline, the
connection cap, accept under descriptor exhaustion, and requests evhttp would read too leniently
(framing headers, Host, Authorization, percent-encoding, TLS on the plain port, half-closed
pipelines)."""

import json
import os
import resource
import socket
import ssl
import time
import uuid

import pytest

from conftest import ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD, Server

TIMEOUT = 2  # OVERLEG_REQUEST_TIMEOUT of the edge server, seconds


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


@pytest.fixture(scope="module")
def edge(pg, edge_db):
    s = start(pg, edge_db, "edge", {"OVERLEG_REQUEST_TIMEOUT": str(TIMEOUT)})
    yield s
    s.stop()


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


# ---- 1. The request deadline ----

def test_slow_head_gets_408_at_the_deadline(edge):
    """One header line every half second never lets evhttp's idle timeout fire; the deadline for
    the whole head does."""
    s = connect(edge)
    t0 = time.monotonic()
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        data, closed = b"", False
        while time.monotonic() - t0 < TIMEOUT + 4 and not closed:
            try:
                s.sendall(b"X-Slow: a\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            s.settimeout(0.5)
            try:
                chunk = s.recv(65536)
                data += chunk
                closed = not chunk
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    assert data, f"no reply after {elapsed:.1f} s"
    headers, _ = one_problem(data, 408, "request-timeout")
    assert headers["connection"] == "close"
    assert TIMEOUT - 0.5 <= elapsed <= TIMEOUT + 2.5, elapsed


def test_slow_body_gets_408_at_the_deadline(edge):
    s = connect(edge)
    t0 = time.monotonic()
    try:
        s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{")
        data = b""
        for _ in range(4 * (TIMEOUT + 3)):
            try:
                s.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            s.settimeout(0.25)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    one_problem(data, 408, "request-timeout")
    assert time.monotonic() - t0 <= TIMEOUT + 3


def test_idle_connection_closed_silently_at_the_deadline(edge):
    s = connect(edge)
    try:
        data, closed = read_all(s, TIMEOUT + 3)
    finally:
        s.close()
    assert closed and data == b""


def test_keepalive_requests_each_get_the_whole_deadline(edge):
    """The deadline starts again with every request: a connection busy for longer than one
    deadline is not cut while each request is quick."""
    s = connect(edge)
    try:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < TIMEOUT * 1.5:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            s.settimeout(5)
            data = s.recv(65536)
            assert data.startswith(b"HTTP/1.1 200"), data
            n += 1
            time.sleep(0.2)
        # a request started late in an idle spell has its own deadline from its first byte
        time.sleep(TIMEOUT * 0.6)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        time.sleep(TIMEOUT * 0.6)
        s.sendall(b"\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        s.close()
    assert n >= 3


def test_connection_cap_answers_503_then_recovers(pg, edge_db):
    cap = 3
    server = start(pg, edge_db, "capped", {"OVERLEG_MAX_CONNECTIONS": str(cap),
                                           "OVERLEG_REQUEST_TIMEOUT": "20"})
    held = []
    try:
        for _ in range(cap):
            held.append(connect(server))
        time.sleep(0.3)
        data, closed = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        headers, p = one_problem(data, 503, "unavailable")
        assert headers["connection"] == "close" and closed
        # the held connections are served as usual
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert held[0].recv(65536).startswith(b"HTTP/1.1 200")
        for s in held:
            s.close()
        held = []
        time.sleep(0.3)
        assert healthz(server).startswith(b"HTTP/1.1 200")
    finally:
        for s in held:
            s.close()
        server.stop()


# ---- 2. Descriptor exhaustion ----

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_accept_backs_off_when_descriptors_run_out(pg, edge_db):
    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    server = start(pg, edge_db, "fdlimit", {"OVERLEG_REQUEST_TIMEOUT": "30"}, low_fd_limit)
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


# ---- 3. What evhttp reads too leniently ----

@pytest.mark.parametrize("payload", [
    b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: +2\r\n\r\n{}",
], ids=["different", "repeated", "with-chunked", "signed"])
def test_ambiguous_body_length_400(edge, payload):
    data, closed = exchange(edge, payload)
    headers, p = one_problem(data, 400, "bad-request")
    assert headers["connection"] == "close" and closed


@pytest.mark.parametrize("payload", [
    b"GET /healthz HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
], ids=["missing", "twice"])
def test_http11_needs_exactly_one_host_400(edge, payload):
    _, p = one_problem(exchange(edge, payload)[0], 400, "bad-request")
    assert "Host" in p["detail"]


def test_http10_without_host_is_fine(edge):
    data, _ = exchange(edge, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.0 200") or data.startswith(b"HTTP/1.1 200"), data


def test_two_authorization_headers_400(edge):
    payload = (b"GET /v1/me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ovl_" + b"A" * 43 +
               b"\r\nAuthorization: Bearer ovl_" + b"B" * 43 + b"\r\n\r\n")
    _, p = one_problem(exchange(edge, payload)[0], 400, "bad-request")
    assert "Authorization" in p["detail"]


@pytest.mark.parametrize("length", [str(10 ** 20), str(2 ** 63), str(2 ** 63 - 1)])
def test_absurd_content_length_413_at_once(edge, length):
    payload = (b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + length.encode() + b"\r\n\r\n{}")
    t0 = time.monotonic()
    data, _ = exchange(edge, payload, half_close=False, limit=TIMEOUT - 0.5)
    one_problem(data, 413, "payload-too-large")
    assert time.monotonic() - t0 < TIMEOUT - 0.5


def test_expect_continue_with_too_large_body_413_at_once(edge):
    payload = (b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               b"Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n")
    data, _ = exchange(edge, payload, half_close=False, limit=TIMEOUT - 0.5)
    one_problem(data, 413, "payload-too-large")


def test_expect_continue_with_small_body_still_works(edge):
    s = connect(edge)
    try:
        s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(b"{}")
        data, _ = read_all(s)
    finally:
        s.close()
    one_problem(data, 422, "validation")


def client_hello():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


def test_tls_on_the_plain_port_is_closed_and_logged_once(edge):
    hello = client_hello()
    assert hello[:1] == b"\x16"
    before = log_text(edge).count("TLS")
    for _ in range(20):
        t0 = time.monotonic()
        data, closed = exchange(edge, hello, half_close=False, limit=1.5)
        assert closed and data == b"", data[:100]
        assert time.monotonic() - t0 < 1.5
    assert log_text(edge).count("TLS") - before == 1
    assert healthz(edge).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("query", ["q=%zz", "q=%5", "q=abc%", "q=%G0", "q%zz=x"])
def test_malformed_percent_encoding_in_query_400(edge, query):
    data, _ = exchange(edge, f"GET /v1/organisations?{query} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    _, p = one_problem(data, 400, "bad-query")


def test_wellformed_percent_encoding_passes(edge):
    data, _ = exchange(edge, b"GET /v1/organisations?q=%41b%20c HTTP/1.1\r\nHost: t\r\n\r\n")
    one_problem(data, 401, "unauthorized")


def test_pipelined_burst_then_half_close_answers_every_request(edge):
    """Requests that wait for the database too: evhttp used to read the end of the stream while
    the first reply was out and drop the rest."""
    paths = [b"/healthz", b"/readyz", b"/v1/me"] * 3
    rid = uuid.uuid4().hex
    burst = b"".join(b"GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ovl_%s\r\n"
                     b"X-Request-Id: %s-%d\r\n\r\n" % (p, b"A" * 43, rid.encode(), i)
                     for i, p in enumerate(paths))
    data, closed = exchange(edge, burst)
    got = replies(data)
    assert [r[0] for r in got] == [200, 200, 401] * 3, data
    assert [r[1]["x-request-id"] for r in got] == [f"{rid}-{i}" for i in range(len(paths))]
    assert closed

#!/usr/bin/env python3
"""Hold N idle keep-alive connections open to overlegd and report its resident memory.

    keepalive.py PORT PID [N]

Opens N TCP connections to 127.0.0.1:PORT, sends one `GET /healthz` (HTTP/1.1, keep-alive)
on each, reads every response, checks after a pause that the server kept all of them open,
then reads VmRSS / VmHWM and the number of open descriptors of process PID. Prints one line
of JSON. Loopback only; the whole run is bounded by a 40 s alarm (overlegd closes idle
connections after 30 s, so the measurement must happen well before that).
"""
import json
import os
import resource
import select
import signal
import socket
import sys
import time


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])  # kB for Vm*, a count for Threads
    try:
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        out["fds"] = None
    return out


def read_response(sock, deadline):
    """Reads one HTTP response (Content-Length framing); returns (status, keep_alive_header)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    need = int(headers.get("content-length", "0"))
    while len(body) < need:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the end of the body")
        body += chunk
    return status, headers.get("connection", "")


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    signal.alarm(40)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    before = proc_status(pid)
    req = (f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
           "Connection: keep-alive\r\n\r\n").encode()
    socks = []
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    for s in socks:
        s.sendall(req)
    deadline = time.monotonic() + 20
    statuses = {}
    closing = 0
    for s in socks:
        st, conn_hdr = read_response(s, deadline)
        statuses[st] = statuses.get(st, 0) + 1
        if conn_hdr.lower() == "close":
            closing += 1
    opened_s = time.monotonic() - t0

    # Let the server settle, then check none of the connections was closed by the server:
    # a closed socket polls readable and recv() returns b"".
    time.sleep(2)
    closed = 0
    p = select.poll()  # not select(): that is limited to FD_SETSIZE (1024) descriptors
    for s in socks:
        p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
    fdmap = {s.fileno(): s for s in socks}
    readable = [fdmap[fd] for fd, _ in p.poll(0)]
    for s in readable:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed += 1
    during = proc_status(pid)
    for s in socks:
        s.close()
    print(json.dumps({
        "connections": n,
        "statuses": {str(k): v for k, v in statuses.items()},
        "connection_close_headers": closing,
        "closed_by_server": closed,
        "open_seconds": round(opened_s, 3),
        "rss_kb_before": before.get("VmRSS"),
        "rss_kb": during.get("VmRSS"),
        "hwm_kb": during.get("VmHWM"),
        "fds_before": before.get("fds"),
        "fds": during.get("fds"),
    }))


if __name__ == "__main__":
    main()

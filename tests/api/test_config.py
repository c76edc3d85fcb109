"""The command line: --version, configuration validation at start, create-admin (migrate:
test_migrations.py)."""

import json
import subprocess
import time
import uuid

import pytest

from conftest import BIN, Api, Server, assert_json, clean_env, data_key, free_port, sql_count, uid


def base_env(pg, dbname="t_main"):
    return clean_env({
        "DATABASE_URL": pg.url(dbname),
        "OVERLEG_LISTEN": f"127.0.0.1:{free_port()}",
        "OVERLEG_DATA_KEY": data_key(pg.url(dbname)),
        "OVERLEG_THREADS": "2",
        "OVERLEG_DB_POOL": "2",
        "OVERLEG_JOBS_INTERVAL": "0",
        "OVERLEG_LOG_LEVEL": "warn",
    })


def run_serve_expect_exit(env, timeout=5):
    p = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail(f"serve did not exit within {timeout} s; stderr:\n{err}")
    return p.returncode, out, err


def test_version():
    p = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=5)
    assert p.returncode == 0, p.stderr
    out = p.stdout.strip()
    assert out and len(out.splitlines()) == 1
    assert any(ch.isdigit() for ch in out), out


@pytest.mark.parametrize("var,value", [
    ("OVERLEG_DATA_KEY", None),
    ("OVERLEG_DATA_KEY", "a" * 63),
    ("OVERLEG_DATA_KEY", "a" * 65),
    ("OVERLEG_DATA_KEY", "g" * 64),
    ("OVERLEG_THREADS", "abc"),
    ("OVERLEG_THREADS", "0"),
    ("OVERLEG_THREADS", "-1"),
    ("OVERLEG_DB_POOL", "many"),
    ("OVERLEG_JOBS_INTERVAL", "soon"),
    ("OVERLEG_REQUEST_TIMEOUT", "0"),
    ("OVERLEG_REQUEST_TIMEOUT", "301"),
    ("OVERLEG_MAX_CONNECTIONS", "lots"),
    ("OVERLEG_MAX_CONNECTIONS", "0"),
    ("OVERLEG_LISTEN", "nonsense"),
    ("OVERLEG_LISTEN", "127.0.0.1:99999"),
    ("OVERLEG_LOG_LEVEL", "loud"),
    ("OVERLEG_TEST_CRASH", "later"),
    ("OVERLEG_TEST_CRASH", "after-commit"),  # without OVERLEG_TEST_CLOCK=1
    ("DATABASE_URL", None),
])
def test_invalid_config_exits(pg, var, value):
    env = base_env(pg)
    if value is None:
        env.pop(var, None)
    else:
        env[var] = value
    t = time.monotonic()
    rc, out, err = run_serve_expect_exit(env)
    assert rc != 0
    assert time.monotonic() - t < 5
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert var in lines[0], lines[0]
    if var == "OVERLEG_DATA_KEY" and value:
        assert value not in err  # never echo the secret


def test_data_key_not_echoed_on_other_errors(pg):
    env = base_env(pg)
    env["OVERLEG_THREADS"] = "abc"
    rc, out, err = run_serve_expect_exit(env)
    assert env["OVERLEG_DATA_KEY"] not in err + out


def test_unknown_subcommand_fails(pg):
    p = subprocess.run([BIN, "frobnicate"], env=base_env(pg), capture_output=True, text=True, timeout=5)
    assert p.returncode != 0


def test_create_admin_from_stdin(pg, api):
    env = base_env(pg)
    email = f"stdin-admin-{uuid.uuid4().hex}@test.example"
    password = "stdin password é " + uid()
    p = subprocess.run([BIN, "create-admin", "--email", email, "--name", "Stdin Admin"], env=env,
                       input=password + "\n", capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert password not in p.stdout + p.stderr
    body = assert_json(api.login_resp(email, password))
    assert body["user"]["role"] == "admin" and body["user"]["name"] == "Stdin Admin"


def test_create_admin_env_password(pg, api):
    env = base_env(pg)
    email = f"env-admin-{uuid.uuid4().hex}@test.example"
    env["OVERLEG_ADMIN_PASSWORD"] = "env-password-" + uid()
    p = subprocess.run([BIN, "create-admin", "--email", email, "--name", "Env Admin"], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert_json(api.login_resp(email, env["OVERLEG_ADMIN_PASSWORD"]))


@pytest.mark.parametrize("password", ["short", "a" * 11, "é" * 11, ""])
def test_create_admin_short_password_fails(pg, password):
    env = base_env(pg)
    email = f"short-admin-{uuid.uuid4().hex}@test.example"
    p = subprocess.run([BIN, "create-admin", "--email", email, "--name", "Short Admin"], env=env,
                       input=password + "\n", capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    conn = pg.connect("t_main")
    try:
        assert sql_count(conn, "SELECT count(*) FROM users WHERE lower(email) = %s", email) == 0
    finally:
        conn.close()


def test_create_admin_duplicate_email_fails(pg):
    env = base_env(pg)
    p = subprocess.run([BIN, "create-admin", "--email", "admin@test.example", "--name", "Again"], env=env,
                       input="another-long-password\n", capture_output=True, text=True, timeout=30)
    assert p.returncode != 0


def test_create_admin_missing_args_fails(pg):
    p = subprocess.run([BIN, "create-admin", "--email", f"x-{uid()}@test.example"], env=base_env(pg),
                       input="a-long-enough-password\n", capture_output=True, text=True, timeout=30)
    assert p.returncode != 0


def test_sigterm_exits_cleanly(pg, server):  # server: t_main exists and is migrated
    s = Server(pg.url("t_main"), pg.root, name="sigterm")
    s.start()
    Api(s.base).get("/healthz")
    s.stop()  # asserts exit within 10 s and status 0


def test_sigterm_right_after_start_exits(pg, server):
    """SIGTERM while worker threads may not have entered their loops yet (a stop request they
    once missed, hanging the process). Signal at the first log line, several times."""
    for i in range(20):
        s = Server(pg.url("t_main"), pg.root, name=f"early-term-{i}", skip_migrate=True,
                   extra_env={"OVERLEG_LOG_LEVEL": "info"})
        s._log = open(s.log_path, "ab")
        s.proc = subprocess.Popen([BIN, "serve"], env=s.env, stdout=s._log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while "listening on" not in s.log_tail() and time.monotonic() < deadline:
            assert s.proc.poll() is None, s.log_tail()
        s.stop()  # asserts exit within 10 s and status 0


@pytest.mark.parametrize("email", ["not-an-email", "two@@test.example", ""])
def test_create_admin_bad_email_fails(pg, email):
    p = subprocess.run([BIN, "create-admin", "--email", email, "--name", "Bad Email"], env=base_env(pg),
                       input="a-long-enough-password\n", capture_output=True, text=True, timeout=30)
    assert p.returncode != 0


def test_tls_serves_https_and_refusals_as_problem_json(pg, server, tmp_path):
    """OVERLEG_TLS_CERT/KEY: the server speaks HTTPS only; evhttp's own refusals are problem+json
    there too (server/errpage.c watches the TLS connection's plaintext)."""
    import socket
    import ssl

    import requests

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    s = Server(pg.url("t_main"), pg.root, name="tls", skip_migrate=True,
               extra_env={"OVERLEG_TLS_CERT": str(cert), "OVERLEG_TLS_KEY": str(key)})
    s.base = f"https://127.0.0.1:{s.port}"
    s._log = open(s.log_path, "ab")
    s.proc = subprocess.Popen([BIN, "serve"], env=s.env, stdout=s._log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    try:
        deadline, r = time.monotonic() + 10, None
        while time.monotonic() < deadline:
            try:
                r = requests.get(s.base + "/healthz", verify=str(cert), timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.05)
        assert r is not None and r.status_code == 200, s.log_tail()
        assert r.json() == {"status": "ok"}
        # plain HTTP on the TLS port gets no HTTP answer
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{s.port}/healthz", timeout=2).raise_for_status()
        # an unparsable request line inside TLS: problem+json, not evhttp's HTML
        ctx = ssl.create_default_context(cafile=str(cert))
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"NONSENSE\r\n\r\n")
                data = b""
                try:
                    while chunk := tls.recv(65536):
                        data += chunk
                except (ssl.SSLError, ConnectionResetError):
                    pass
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), data
        assert b"Content-Type: application/problem+json; charset=utf-8" in head and b"HTML" not in data, data
        assert json.loads(body)["type"] == "/problems/bad-request"  # one reply, then the close
    finally:
        s.stop()

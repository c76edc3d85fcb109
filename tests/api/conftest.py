"""Black-box API test infrastructure for overlegd.

Everything here is real: a throw-away PostgreSQL cluster started with scripts/pg.sh, real overlegd
processes started from build/overlegd, and HTTP over real sockets. No mocks.

Run:  /usr/bin/python3 -m pytest tests/api -q
Env:  OVERLEG_BIN  path of the server binary (default <repo>/build/overlegd)
"""

import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
PG_SH = REPO / "scripts" / "pg.sh"
BIN = os.environ.get("OVERLEG_BIN") or str(REPO / "build" / "overlegd")

ADMIN_EMAIL = "admin@test.example"
ADMIN_NAME = "Test Admin"
ADMIN_PASSWORD = "admin-pw-" + secrets.token_hex(8)

HTTP_TIMEOUT = 10

# Every Server started by the suite, so a failing test can show the tail of each log.
_LIVE_SERVERS = []


# --------------------------------------------------------------------------------------------
# Environment helpers
# --------------------------------------------------------------------------------------------

def clean_env(extra=None):
    """The process environment without anything that could configure overlegd or libpq."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("OVERLEG_") or k == "DATABASE_URL" or k.startswith("PG"))}
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_key(database_url=None):
    """A random data key, or with `database_url` the one key of that database: every server on a
    database must open what the others sealed (and one with another key refuses to start)."""
    if database_url is None:
        return secrets.token_hex(32)
    return hashlib.sha256(f"overleg-test-key:{database_url}".encode()).hexdigest()


def utcnow():
    return datetime.now(timezone.utc)


def parse_ts(s):
    """RFC 3339 in UTC -> aware datetime. Requires the trailing Z (API.md §2)."""
    assert isinstance(s, str), s
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", s), f"not RFC 3339 UTC: {s!r}"
    base, _, frac = s[:-1].partition(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    if frac:
        dt += timedelta(microseconds=int((frac + "000000")[:6]))
    return dt


def fmt_ts(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def uid():
    return uuid.uuid4().hex[:12]


def run_pg(*args, check=True):
    env = clean_env({"OVERLEG_PG_FAST": "1"})
    p = subprocess.run(["bash", str(PG_SH), *args], env=env, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"pg.sh {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout.strip()


# --------------------------------------------------------------------------------------------
# PostgreSQL cluster
# --------------------------------------------------------------------------------------------

# scripts/pg.sh's roles: the cluster's superuser (tests reach behind the server's back with it),
# the schema's owner (`overlegd migrate`) and the application role (`overlegd serve`).
SUPERUSER, OWNER, APP = "overleg", "overleg_owner", "overleg_app"


def as_role(url, role):
    """A URL of our cluster (as pg.url makes them) for another role."""
    return re.sub(r"^postgresql://[^@/]*@", f"postgresql://{role}@", url)


class Pg:
    def __init__(self, root):
        self.root = root
        self.datadir = os.path.join(root, "data")
        self.sockdir = os.path.join(root, "sock")

    def start(self):
        run_pg("start", self.datadir, self.sockdir)

    def stop(self):
        run_pg("stop", self.datadir)

    def url(self, dbname="overleg", role=SUPERUSER):
        return run_pg("url", self.sockdir, dbname, role)

    def createdb(self, dbname):
        run_pg("createdb", self.sockdir, dbname)
        return self.url(dbname)

    def connect(self, dbname, autocommit=True, role=SUPERUSER):
        conn = psycopg2.connect(self.url(dbname, role))
        conn.autocommit = autocommit
        return conn


@pytest.fixture(scope="session")
def pg():
    if not PG_SH.exists():
        pytest.fail(f"{PG_SH} not found")
    root = tempfile.mkdtemp(prefix="ovl-", dir="/tmp")
    os.chmod(root, 0o755)
    cluster = Pg(root)
    cluster.start()
    try:
        yield cluster
    finally:
        for s in list(_LIVE_SERVERS):
            s.kill()
        try:
            cluster.stop()
        finally:
            if os.environ.get("OVERLEG_KEEP_TMP") != "1":
                shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# overlegd processes
# --------------------------------------------------------------------------------------------

class Server:
    """One overlegd process. `Server(url, logdir).start()`; `stop()` asserts a clean SIGTERM exit."""

    def __init__(self, database_url, logdir, extra_env=None, skip_migrate=False, name="overlegd",
                 preexec_fn=None):
        self.database_url = database_url
        self.preexec_fn = preexec_fn  # e.g. to lower a resource limit of the server process
        self.port = free_port()
        self.key = data_key(database_url)
        self.skip_migrate = skip_migrate
        self.log_path = os.path.join(logdir, f"{name}-{self.port}.log")
        # Least privilege as in production: migrate as the owner, serve as the application role.
        self.env = clean_env({
            "DATABASE_URL": as_role(database_url, APP),
            "OVERLEG_MIGRATE_DATABASE_URL": as_role(database_url, OWNER),
            "OVERLEG_LISTEN": f"127.0.0.1:{self.port}",
            "OVERLEG_DATA_KEY": self.key,
            "OVERLEG_THREADS": "2",
            "OVERLEG_DB_POOL": "4",
            "OVERLEG_JOBS_INTERVAL": "0",
            "OVERLEG_TEST_CLOCK": "1",
            "OVERLEG_LOG_LEVEL": "warn",
        })
        for k, v in (extra_env or {}).items():
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = v
        self.proc = None
        self.base = f"http://127.0.0.1:{self.port}"

    def run_cmd(self, *args, input=None, extra_env=None, timeout=60):
        env = dict(self.env)
        for k, v in (extra_env or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return subprocess.run([BIN, *args], env=env, input=input, capture_output=True, text=True,
                              timeout=timeout)

    def migrate(self):
        p = self.run_cmd("migrate")
        assert p.returncode == 0, f"migrate failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"

    def create_admin(self, email, name, password):
        p = self.run_cmd("create-admin", "--email", email, "--name", name,
                         extra_env={"OVERLEG_ADMIN_PASSWORD": password})
        assert p.returncode == 0, f"create-admin failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"

    def start(self, timeout=15):
        if not os.path.exists(BIN):
            pytest.fail(f"server binary {BIN} not found (build it with make)")
        if not self.skip_migrate:
            self.migrate()
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=self.preexec_fn)
        _LIVE_SERVERS.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"overlegd exited with {self.proc.returncode} during start:\n{self.log_tail()}")
            try:
                r = requests.get(self.base + "/healthz", timeout=0.5)
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"overlegd did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    raise AssertionError(f"overlegd did not exit within 10 s of SIGTERM:\n{self.log_tail()}")
                assert rc == 0, f"overlegd exited with {rc} after SIGTERM:\n{self.log_tail()}"
            else:
                raise AssertionError(f"overlegd had already exited ({self.proc.returncode}):\n{self.log_tail()}")
        finally:
            self._forget()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def _forget(self):
        if self in _LIVE_SERVERS:
            _LIVE_SERVERS.remove(self)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in _LIVE_SERVERS:
            rep.sections.append((f"overlegd log tail ({s.log_path})", s.log_tail()))


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------

class Api:
    def __init__(self, base):
        self.base = base
        self.s = requests.Session()

    def request(self, method, path, token=None, headers=None, timeout=HTTP_TIMEOUT, **kw):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.s.request(method, self.base + path, headers=h, timeout=timeout, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login_resp(self, email, password):
        return self.post("/v1/auth/login", json={"email": email, "password": password})

    def login(self, email, password):
        r = self.login_resp(email, password)
        assert r.status_code == 200, f"login {email}: {r.status_code} {r.text}"
        return r.json()["token"]

    def list_all(self, path, token, params=None, limit=100, max_pages=1000):
        """Follow next_cursor until null; returns all items."""
        items, cursor = [], None
        for _ in range(max_pages):
            p = dict(params or {})
            p["limit"] = limit
            if cursor:
                p["cursor"] = cursor
            r = self.get(path, token=token, params=p)
            assert r.status_code == 200, f"GET {path} {p}: {r.status_code} {r.text}"
            body = r.json()
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError("too many pages")


def assert_common_headers(resp):
    h = resp.headers
    assert h.get("X-Request-Id"), f"no X-Request-Id on {resp.request.method} {resp.url}"
    assert h.get("Cache-Control") == "no-store", f"Cache-Control {h.get('Cache-Control')!r} on {resp.url}"
    assert h.get("X-Content-Type-Options") == "nosniff", f"X-Content-Type-Options on {resp.url}"


def assert_json(resp, status=200):
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").lower().startswith("application/json"), \
        resp.headers.get("Content-Type")
    assert_common_headers(resp)
    return resp.json() if resp.content else None


def assert_problem(resp, status, type_suffix=None):
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    ct = resp.headers.get("Content-Type", "")
    assert ct.lower().startswith("application/problem+json"), f"Content-Type {ct!r}: {resp.text[:300]}"
    body = resp.json()
    assert isinstance(body, dict), body
    for k in ("type", "title", "status", "detail"):
        assert k in body, f"problem body lacks {k}: {body}"
    assert body["status"] == status, body
    if type_suffix is not None:
        assert body["type"].endswith(type_suffix), f"type {body['type']!r}, expected …{type_suffix}"
    assert_common_headers(resp)
    return body


def error_fields(body):
    return {e.get("field") for e in body.get("errors") or []}


# --------------------------------------------------------------------------------------------
# Session fixtures: the shared server, admin, factories
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def main_db_name():
    return "t_main"


def migrated_server(pg, db_name, name):
    """A new database `db_name`, migrated, with the admin, and a started server on it."""
    s = Server(pg.createdb(db_name), pg.root, name=name)
    s.migrate()
    s.create_admin(ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD)
    s.skip_migrate = True
    s.start()
    return s


@pytest.fixture(scope="session")
def server(pg, main_db_name):
    s = migrated_server(pg, main_db_name, "main")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def api(server):
    return Api(server.base)


@pytest.fixture(scope="session")
def admin_token(api):
    return api.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def admin_user(api, admin_token):
    return assert_json(api.get("/v1/me", token=admin_token))


@pytest.fixture
def db(pg, server, main_db_name):
    conn = pg.connect(main_db_name)
    yield conn
    try:
        conn.close()
    except Exception:
        pass


def sql_count(conn, query, *params):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def valid_password():
    return "pw-" + uuid.uuid4().hex  # 35 characters


COMPATIBLE_KIND = {
    "gp": "general_practice",
    "poh": "general_practice",
    "billing": "general_practice",
    "consultant": "mental_health_provider",
    "coordinator": "municipality",
    "admin": "other",
}


class ClockedSession:
    """Signs users in on a server whose test clock a module moves. Tokens live 12 h of application
    time and the scheduler deletes expired sessions, so after every clock move each user signs in
    again (`tok`). `now` is the application clock as last set (None: never set)."""

    def __init__(self, server):
        self.server = server
        self.api = Api(server.base)
        self.now = None
        self._tokens = {}

    def at(self, dt):
        """Sets the application clock; every token is signed for again afterwards."""
        tok = self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        r = self.api.put("/v1/admin/clock", token=tok, json={"now": fmt_ts(dt)})
        assert r.status_code == 200, f"PUT /v1/admin/clock: {r.status_code} {r.text}"
        got = parse_ts(r.json()["now"])
        assert abs((got - dt).total_seconds()) < 5, (got, dt)
        self.now = dt
        self._tokens = {}

    def real_time(self):
        """Back to real time."""
        tok = self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        r = self.api.delete("/v1/admin/clock", token=tok)
        assert r.status_code == 200, f"DELETE /v1/admin/clock: {r.status_code} {r.text}"
        self.now = parse_ts(r.json()["now"])
        self._tokens = {}

    def tok(self, user=None):
        """A token valid at the current application time; None: the admin."""
        k = "admin" if user is None else user["id"]
        if k not in self._tokens:
            self._tokens[k] = (self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD) if user is None
                               else self.api.login(user["email"], user["password"]))
        return self._tokens[k]


class Factory:
    def __init__(self, api, admin_token):
        self.api = api
        self.admin_token = admin_token
        self._orgs = {}

    def make_org(self, kind="general_practice", region=None, name=None, agb_code=None):
        body = {"name": name or f"Org {kind} {uid()}", "kind": kind, "region": region or "test-region"}
        if agb_code is not None:
            body["agb_code"] = agb_code
        r = self.api.post("/v1/organisations", token=self.admin_token, json=body)
        assert r.status_code == 201, f"make_org: {r.status_code} {r.text}"
        return r.json()

    def org_for(self, role):
        kind = COMPATIBLE_KIND[role]
        if kind not in self._orgs:
            self._orgs[kind] = self.make_org(kind)
        return self._orgs[kind]

    def make_user(self, role, org_id=None, login=True, name=None):
        if org_id is None:
            org_id = self.org_for(role)["id"]
        email = f"u-{uuid.uuid4().hex}@test.example"
        password = valid_password()
        body = {"email": email, "name": name or f"User {role} {uid()}", "role": role,
                "organisation_id": org_id, "password": password}
        r = self.api.post("/v1/users", token=self.admin_token, json=body)
        assert r.status_code == 201, f"make_user: {r.status_code} {r.text}"
        u = r.json()
        out = {"id": u["id"], "email": email, "password": password, "user": u, "token": None}
        if login:
            out["token"] = self.api.login(email, password)
        return out


@pytest.fixture(scope="session")
def factory(api, admin_token):
    return Factory(api, admin_token)


def reset_clock(api):
    """Return the server to real time, with a fresh admin token (old ones may have expired)."""
    tok = api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    r = api.delete("/v1/admin/clock", token=tok)
    assert r.status_code == 200, f"DELETE /v1/admin/clock: {r.status_code} {r.text}"


@pytest.fixture
def clock(api, admin_token):
    """Set the application clock; always reset to real time at teardown."""
    def set_clock(dt):
        r = api.put("/v1/admin/clock", token=admin_token, json={"now": fmt_ts(dt)})
        assert r.status_code == 200, f"PUT /v1/admin/clock: {r.status_code} {r.text}"
        return r.json()
    yield set_clock
    reset_clock(api)


def audit_entries(api, token, **params):
    return api.list_all("/v1/audit", token, params=params)


# --------------------------------------------------------------------------------------------
# Shapes, bodies and counts that several test files share
# --------------------------------------------------------------------------------------------

KINDS = ["general_practice", "mental_health_provider", "municipality", "insurer", "social_team", "other"]
ORG_FIELDS = {"id", "name", "kind", "region", "agb_code", "created_at"}
USER_FIELDS = {"id", "email", "name", "role", "organisation_id", "agb_code", "big_number", "active",
               "created_at"}


def count_orgs(db, name=None):
    if name is None:
        return sql_count(db, "SELECT count(*) FROM organisations")
    return sql_count(db, "SELECT count(*) FROM organisations WHERE name = %s", name)


def count_users(db, email=None):
    if email is None:
        return sql_count(db, "SELECT count(*) FROM users")
    return sql_count(db, "SELECT count(*) FROM users WHERE lower(email) = lower(%s)", email)


def user_body(role, org_id, **over):
    b = {"email": f"new-{uuid.uuid4().hex}@test.example", "name": f"Nieuwe {role} {uid()}", "role": role,
         "organisation_id": org_id, "password": valid_password()}
    b.update(over)
    return b

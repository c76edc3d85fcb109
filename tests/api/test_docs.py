"""The documentation stands alone and agrees with the contract.

Plain checks over files in the repository; no server, no database:

- every operation (method and path) of docs/openapi.json is named in docs/api.md, every endpoint
  docs/api.md names outside its "Not built yet" section is in docs/openapi.json, and the endpoints
  listed as not built are not (when one is built, it moves up in docs/api.md);
- the routing table of server/router.c and docs/openapi.json hold the same operations;
- README.md and docs/*.md never point outside the repository (no `../shared/...`, which a clone
  does not have), and every relative link in them, with its #anchor, leads to something that exists.
"""

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
API_MD = REPO / "docs" / "api.md"
OPENAPI = REPO / "docs" / "openapi.json"
ROUTER = REPO / "server" / "router.c"
MARKDOWN = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# "POST /v1/consultations/{id}/accept" in running text or in `code`; the query string is not
# part of the path.
ENDPOINT = re.compile(r"\b(" + "|".join(METHODS) + r") (/[A-Za-z0-9_./{}:-]*)")
NOT_BUILT = "Not built yet"

def rel(path):
    return path.relative_to(REPO).as_posix()


def norm(path):
    """A path pattern without parameter names or types: /v1/users/{id:uuid} -> /v1/users/{}."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip(".,;:"))


def openapi_operations():
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {(m.upper(), path) for path, item in doc["paths"].items() for m in item
            if m.upper() in METHODS}


def api_md_parts():
    """docs/api.md split into (built, not built): the "Not built yet" section runs from its
    heading to the next heading of the same or a higher level."""
    text = API_MD.read_text(encoding="utf-8")
    m = re.search(r"^(#+) " + re.escape(NOT_BUILT) + r"\s*$", text, re.M)
    assert m, f"docs/api.md has no '{NOT_BUILT}' section"
    end = re.compile(r"^#{1,%d} " % len(m.group(1)), re.M).search(text, m.end())
    stop = end.start() if end else len(text)
    return text[:m.start()] + text[stop:], text[m.end():stop]


def endpoints(text):
    return {(m.group(1), norm(m.group(2))) for m in ENDPOINT.finditer(text)}


def fmt(ops):
    return "\n".join(f"  {m} {p}" for m, p in sorted(ops, key=lambda o: (o[1], o[0])))


# --------------------------------------------------------------------------------------------
# docs/api.md and docs/openapi.json
# --------------------------------------------------------------------------------------------

def test_every_openapi_operation_is_named_in_api_md():
    built, _ = api_md_parts()
    missing = {(m, p) for m, p in openapi_operations() if f"{m} {p}" not in built}
    assert not missing, (
        "docs/api.md does not name these operations of docs/openapi.json "
        f"(outside '{NOT_BUILT}'):\n{fmt(missing)}")


def test_api_md_names_only_built_endpoints_outside_not_built_yet():
    built, _ = api_md_parts()
    known = {(m, norm(p)) for m, p in openapi_operations()}
    unknown = endpoints(built) - known
    assert not unknown, (
        "docs/api.md names endpoints docs/openapi.json does not have; describe them in the "
        f"operation, or move them to '{NOT_BUILT}':\n{fmt(unknown)}")


def test_not_built_yet_lists_only_endpoints_that_do_not_exist():
    _, not_built = api_md_parts()
    listed = endpoints(not_built)
    assert listed, f"docs/api.md's '{NOT_BUILT}' section names no endpoint"
    built = listed & {(m, norm(p)) for m, p in openapi_operations()}
    assert not built, (
        f"these are in docs/openapi.json now; move them out of '{NOT_BUILT}' in docs/api.md:\n"
        f"{fmt(built)}")


def test_router_and_openapi_hold_the_same_operations():
    source = ROUTER.read_text(encoding="utf-8")
    start = source.index("routes[]")
    rows = re.findall(r'\{\s*"(' + "|".join(METHODS) + r')",\s*"(/[^"]*)"', source[start:])
    assert len(rows) >= 30, "cannot read the routing table of server/router.c"
    routes = {(m, norm(p)) for m, p in rows}
    documented = {(m, norm(p)) for m, p in openapi_operations()}
    assert routes - documented == set(), (
        f"routes missing from docs/openapi.json:\n{fmt(routes - documented)}")
    assert documented - routes == set(), (
        f"operations of docs/openapi.json without a route:\n{fmt(documented - routes)}")


# --------------------------------------------------------------------------------------------
# README.md and docs/*.md stand alone
# --------------------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]*)\"", re.I)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def prose(text):
    """The text without fenced code blocks and code spans, where nothing is a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text):
    body = prose(text)
    found = INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body) + HTML_LINK.findall(body)
    return [t for t in found if t and not EXTERNAL.match(t)]


def github_slug(heading):
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed,
    spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen = {}
    out = set(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text, re.I))
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M):
        slug = github_slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


@pytest.mark.parametrize("path", MARKDOWN, ids=rel)
def test_no_reference_to_shared(path):
    lines = [f"  {rel(path)}:{i}: {line.strip()}"
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "../shared" in line]
    assert not lines, ("a clone of the repository has no ../shared; point to the project's own "
                       "docs (docs/api.md, docs/product.md) instead:\n" + "\n".join(lines))


@pytest.mark.parametrize("path", MARKDOWN, ids=rel)
def test_relative_links_lead_to_files_in_the_repository(path):
    broken = []
    for target in links(path.read_text(encoding="utf-8")):
        file_part, _, anchor = target.partition("#")
        file_part = unquote(file_part)
        if not file_part:
            dest = path
        elif file_part.startswith("/"):
            dest = REPO / file_part.lstrip("/")
        else:
            dest = path.parent / file_part
        dest = Path(*dest.parts).resolve()
        if REPO != dest and REPO not in dest.parents:
            broken.append(f"{target}: outside the repository")
        elif not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and unquote(anchor).lower() not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {rel(dest)}")
    assert not broken, f"broken links in {rel(path)}:\n" + "\n".join(f"  {b}" for b in broken)


def test_the_link_checks_see_links():
    """The link pattern finds what the docs use, and skips code."""
    sample = ("See [the API](docs/api.md#not-built-yet), ![x](a.png), <a href=\"b.md\">b</a>,\n"
              "[ref]: c.md\n`[not](d.md)` and [web](https://example.org).\n"
              "```\n[neither](e.md)\n```\n")
    assert links(sample) == ["docs/api.md#not-built-yet", "a.png", "c.md", "b.md"]
    assert github_slug("Vocabularies and the consultant directory (API.md §6–§7)") == \
        "vocabularies-and-the-consultant-directory-apimd-67"
    assert github_slug("`routes[]` in server/router.c") == "routes-in-serverrouterc"

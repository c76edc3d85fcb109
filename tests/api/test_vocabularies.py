"""Vocabularies (API.md §6): GET /v1/vocabularies."""

import pytest

from conftest import assert_json, assert_problem
from directory_helpers import NON_ADMIN_OTHER, VOCAB, VOCAB_EXTRA


# ---- GET /v1/vocabularies ----

def test_vocabularies(api, admin_token):
    v = assert_json(api.get("/v1/vocabularies", token=admin_token))
    assert set(VOCAB) <= set(v), sorted(v)
    for key, codes in VOCAB.items():
        items = v[key]
        assert isinstance(items, list) and items, key
        for it in items:
            assert set(it) == {"code", "label"}, (key, it)
            assert isinstance(it["code"], str) and it["code"], (key, it)
            assert isinstance(it["label"], str) and it["label"].strip(), (key, it)
            assert "_" not in it["label"], f"label looks like a code: {key} {it}"
        got = [it["code"] for it in items]
        assert len(got) == len(set(got)), f"duplicate codes in {key}: {got}"
        for c in codes + VOCAB_EXTRA[key]:
            assert c in got, f"{key}: code {c!r} missing from {got}"
        # conventions.md: fixed order, the API.md order first, then the extra codes
        assert got[:len(codes)] == codes, (key, got)


def test_vocabulary_labels_are_dutch(api, admin_token):
    v = assert_json(api.get("/v1/vocabularies", token=admin_token))
    labels = {key: {it["code"]: it["label"] for it in v[key]} for key in VOCAB}
    assert "verslaving" in labels["expertise"]["verslaving"].lower()
    assert "autisme" in labels["expertise"]["autisme"].lower()
    assert "jeugd" in labels["target_groups"]["jeugd"].lower()
    assert "psychiater" in labels["disciplines"]["psychiater"].lower()
    # a Dutch label, not the English code
    assert labels["modes"]["phone"].lower() != "phone"
    assert labels["modes"]["on_location"].lower() not in ("on location", "on_location")


def test_vocabularies_stable(api, admin_token):
    a = assert_json(api.get("/v1/vocabularies", token=admin_token))
    b = assert_json(api.get("/v1/vocabularies", token=admin_token))
    assert a == b


@pytest.mark.parametrize("role", NON_ADMIN_OTHER + ["consultant"])
def test_vocabularies_any_role(api, factory, role):
    u = factory.make_user(role)
    v = assert_json(api.get("/v1/vocabularies", token=u["token"]))
    assert "psychiater" in [it["code"] for it in v["disciplines"]]


def test_vocabularies_401(api):
    assert_problem(api.get("/v1/vocabularies"), 401, "/problems/unauthorized")
    assert_problem(api.get("/v1/vocabularies", token="ovl_" + "A" * 43), 401, "/problems/unauthorized")


def test_vocabularies_unknown_query_param_400(api, admin_token):
    assert_problem(api.get("/v1/vocabularies", token=admin_token, params={"foo": "1"}), 400, "/problems/bad-query")

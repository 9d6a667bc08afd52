"""API infrastructure: JSON errors for every failure, uniform pagination, reference endpoints,
the OpenAPI document (validated) and the self-hosted docs page."""
from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from repository.api.pagination import PageRequest, page_request
from repository.errors import ValidationError
from repository.services import audit
from tests.api.helpers import bearer, token_for


def test_unknown_paths_and_methods_are_json(client: Any, world: dict[str, Any]) -> None:
    for method, path, status in [("get", "/api/v1/nothing", 404), ("delete", "/api/v1/vocabularies", 405),
                                 ("get", "/api/v1/materials/abc", 404), ("put", "/api/v1/schools", 405),
                                 ("get", "/api/v1/materials/9223372036854775808", 404),
                                 ("post", "/api/v1/materials/0/files", 404)]:
        response = getattr(client, method)(path)
        assert response.status_code == status
        assert response.is_json and response.get_json()["error"]["code"] == status
        assert response.get_json()["error"]["message"]


def test_no_credentials_is_401_not_a_redirect(client: Any, world: dict[str, Any]) -> None:
    for path in ("/api/v1/schools", "/api/v1/units", "/api/v1/audit", "/api/v1/materials/1"):
        response = client.get(path)
        assert response.status_code == 401 and response.is_json, path


@pytest.mark.parametrize("args", [{"page": "0"}, {"page": "x"}, {"per_page": "101"}, {"per_page": "-1"},
                                  {"page": "1e3"}])
def test_page_parameters_out_of_range_are_422(args: dict[str, str], app: Any) -> None:
    with pytest.raises(ValidationError):
        page_request(args)


def test_page_defaults() -> None:
    assert page_request({}) == PageRequest(1, 20)
    assert page_request({"page": "3", "per_page": "100"}).offset == 200


def test_schools_are_paged_and_scoped(client: Any, world: dict[str, Any]) -> None:
    admin = token_for(world["dept_admin"])
    first = client.get("/api/v1/schools?per_page=2", headers=bearer(admin)).get_json()
    assert first["total"] == 3 and first["page"] == 1 and first["per_page"] == 2 and len(first["items"]) == 2
    second = client.get("/api/v1/schools?per_page=2&page=2", headers=bearer(admin)).get_json()
    codes = {s["code"] for s in first["items"] + second["items"]}
    assert codes == {"THCS01", "THCS02", "THPT01"}
    teacher = client.get("/api/v1/schools", headers=bearer(token_for(world["teacher"]))).get_json()
    assert [s["code"] for s in teacher["items"]] == ["THCS01"]
    one = client.get("/api/v1/schools/THCS01", headers=bearer(admin)).get_json()
    assert one["unit"]["code"] == "14329" and "6" in one["grades"] and one["type"] == "THCS"
    assert client.get("/api/v1/schools/NOPE", headers=bearer(admin)).status_code == 404
    by_unit = client.get("/api/v1/schools?unit=14464", headers=bearer(admin)).get_json()
    assert [s["code"] for s in by_unit["items"]] == ["THCS02"]
    bad = client.get("/api/v1/schools?per_page=500", headers=bearer(admin))
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["per_page"]


def test_units_and_vocabularies(client: Any, world: dict[str, Any]) -> None:
    raw = token_for(world["teacher"])
    units = client.get("/api/v1/units?kind=ward", headers=bearer(raw)).get_json()
    assert [u["code"] for u in units["items"]] == ["14329"]
    assert client.get("/api/v1/units/14464", headers=bearer(raw)).get_json()["kind"] == "commune"
    assert client.get("/api/v1/units/0000", headers=bearer(raw)).status_code == 404
    vocab = client.get("/api/v1/vocabularies").get_json()
    assert {"TOAN"} <= {s["code"] for s in vocab["subjects"]}
    assert {"6", "12"} <= {g["code"] for g in vocab["grades"]}
    assert {"code": "published"} in vocab["material_statuses"] and vocab["licences"] and vocab["material_types"]


def test_audit_log_for_admins_only(client: Any, world: dict[str, Any]) -> None:
    admin = token_for(world["dept_admin"])
    body = client.get("/api/v1/audit?action=token.created&per_page=1", headers=bearer(admin)).get_json()
    assert body["total"] == 1 and body["items"][0]["action"] == "token.created"
    everything = client.get("/api/v1/audit", headers=bearer(admin)).get_json()
    assert everything["total"] == len(audit.list_events(world["dept_admin"], limit=1000))
    assert client.get("/api/v1/audit", headers=bearer(token_for(world["school_admin"]))).status_code == 403


def test_the_openapi_document_is_valid_and_covers_every_route(app: Any, client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    documented = {(path, method) for path, item in document["paths"].items() for method in item if method != "parameters"}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[\w(), =]+:)?(\w+)>", r"{\1}", rule.rule)[len("/api/v1"):]
            routed |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed and routed <= documented, routed - documented
    assert documented <= routed | {("/materials", "get")}, documented - routed  # the search endpoint


def test_the_docs_page_uses_only_this_host(client: Any) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("<!doctype", "")
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        fetched = client.get(asset)
        assert fetched.status_code == 200 and fetched.data, asset
    csp = page.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'self'" in csp and "unsafe-eval" not in csp
    assert client.get("/api/docs/assets/index.html").status_code == 404
    assert client.get("/api/docs/assets/..%2F..%2Fswagger_ui_bundle%2F__init__.py").status_code == 404

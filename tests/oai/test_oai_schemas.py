"""Every OAI-PMH response validates against the protocol's XML schemas (tests/oai/schemas/, origins
in the README there): each verb, both metadata formats record by record (the envelope's strict
wildcard in <metadata> demands it), deleted records, every page of a resumed list, and the error
responses (also validated in test_oai.py's error table, by GET and by POST). An argument the schema
could not echo is a badArgument. oai_dc is checked against the official oai_dc.xsd; lom against the
project's own LOM profile, because the IEEE binding is not available here (see the README)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from lxml import etree

from repository.models import Material
from tests.oai.schema_check import assert_valid, schema_errors

NS = {"oai": "http://www.openarchives.org/OAI/2.0/", "lom": "http://ltsc.ieee.org/xsd/LOM",
      "dc": "http://purl.org/dc/elements/1.1/"}


def _id(material: Material) -> str:
    return f"oai:kho.ninhbinh.edu.vn:{material.id}"


def _pages(client: Any, params: dict[str, str]) -> Iterator[etree._Element]:
    """Every response of a request and of the requests resuming it, each checked against the schemas."""
    while True:
        response = client.get("/oai", query_string=params)
        assert response.status_code == 200
        assert_valid(response.data)
        root = etree.fromstring(response.data)
        yield root
        token = root.find(".//oai:resumptionToken", NS)
        if token is None or not token.text:
            return
        params = {"verb": params["verb"], "resumptionToken": token.text}


# (request, key of the material named by `identifier` or None, records/headers expected in all pages,
#  metadata elements expected: XPath -> count)
VERB_CASES = [
    ({"verb": "Identify"}, None, 0, {"oai:Identify/oai:adminEmail": 1}),
    ({"verb": "ListMetadataFormats"}, None, 0, {".//oai:metadataFormat": 2}),
    ({"verb": "ListMetadataFormats"}, "pub1", 0, {".//oai:metadataFormat": 2}),
    ({"verb": "ListSets"}, None, 0, {"oai:ListSets/oai:set[oai:setSpec='level:THPT']": 1}),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc"}, "pub1", 1, {".//dc:title": 1}),
    ({"verb": "GetRecord", "metadataPrefix": "lom"}, "literature", 1, {".//lom:classification": 3}),
    ({"verb": "GetRecord", "metadataPrefix": "lom"}, "taken_down", 1, {".//oai:header[@status='deleted']": 1}),
    ({"verb": "ListIdentifiers", "metadataPrefix": "lom"}, None, 9, {}),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "level:THPT"}, None, 1, {}),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "2026-03-03T08:00:00Z",
      "until": "2026-03-05T08:00:00Z"}, None, 3, {}),
    # Nine records over three pages; the taken-down one is a header without metadata.
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc"}, None, 9, {".//oai_dc:dc": 8}),
    ({"verb": "ListRecords", "metadataPrefix": "lom"}, None, 9, {".//lom:lom": 8}),
    ({"verb": "ListRecords", "metadataPrefix": "lom", "set": "subject:NGU_VAN"}, None, 1, {".//lom:lom": 1}),
]


@pytest.mark.parametrize("params, named, items, expected", VERB_CASES,
                         ids=[" ".join(f"{k}={v}" for k, v in case[0].items()) + (f" {case[1]}" if case[1] else "")
                              for case in VERB_CASES])
def test_every_verb_answers_schema_valid_xml(app: Any, catalogue: dict[str, Material], params: dict[str, str],
                                             named: str | None, items: int, expected: dict[str, int]) -> None:
    if named:
        params = {**params, "identifier": _id(catalogue[named])}
    pages = list(_pages(app.test_client(), params))
    assert all(page.find("oai:error", NS) is None for page in pages)
    # What was validated is what the case means: its records, over every page.
    found = sum(len(page.findall(".//oai:header", NS)) for page in pages)
    assert found == items
    namespaces = {**NS, "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/"}
    for path, count in expected.items():
        assert sum(len(page.xpath(path, namespaces=namespaces)) for page in pages) == count, path


@pytest.mark.parametrize("mail_from", ["kho-hoc-lieu@ninhbinh.edu.vn",
                                       "Sở GDĐT Ninh Bình <kho-hoc-lieu@ninhbinh.edu.vn>"])
def test_identify_names_the_address_of_mail_from(app_with: Any, world: dict[str, Any], mail_from: str) -> None:
    response = app_with(MAIL_FROM=mail_from).test_client().get("/oai?verb=Identify")
    assert_valid(response.data)
    assert etree.fromstring(response.data).findtext(".//oai:adminEmail", namespaces=NS) == "kho-hoc-lieu@ninhbinh.edu.vn"


@pytest.mark.parametrize("params", [
    {"verb": "ListRecords", "metadataPrefix": "marc 21"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "môn học"},
    {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "subject:"},
    {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "%%%<>"},
    {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:kho.ninhbinh.edu.vn:1 2"},
    {"verb": "ListMetadataFormats", "identifier": "\x01"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "\x01"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "2026-03-01\x00"},
    {"verb": "ListRecords", "resumptionToken": "\x1b[0m"},
    {"verb": "Identify", "\x02": "1"},
], ids=repr)
def test_an_argument_the_schema_cannot_echo_is_a_bad_argument(app: Any, catalogue: dict[str, Material],
                                                               params: dict[str, str]) -> None:
    """The protocol echoes the arguments of most errors in <request>; a value of an illegal syntax
    (or with characters XML cannot hold) is refused as badArgument, which echoes nothing."""
    for method in ("get", "post"):
        client = app.test_client()
        response = client.get("/oai", query_string=params) if method == "get" else client.post("/oai", data=params)
        assert response.status_code == 200, (method, response.data)
        assert_valid(response.data)
        root = etree.fromstring(response.data)
        assert root.find("oai:error", NS).get("code") == "badArgument"
        assert dict(root.find("oai:request", NS).attrib) == {}


def _record(app: Any, material: Material, prefix: str) -> bytes:
    response = app.test_client().get("/oai", query_string={"verb": "GetRecord", "metadataPrefix": prefix,
                                                            "identifier": _id(material)})
    assert_valid(response.data)
    return response.data


@pytest.mark.parametrize("prefix, old, new, complaint", [
    ("oai_dc", b"dc:title>", b"dc:tieude>", "tieude"),  # not a Dublin Core element
    ("oai_dc", b"<dc:title>", b"<dc:title xml:lang=\"vi-\">", "lang"),  # not a language tag
    ("oai_dc", b"<datestamp>2026-03-02T08:00:00Z", b"<datestamp>2026-03-02T08:00:00+07:00", "datestamp"),
    ("lom", b"<value>school</value>", b"<value>trung hoc</value>", "value"),  # not in the LOMv1.0 vocabulary
    ("lom", b"<size>1001</size>", b"<size>1 KB</size>", "size"),
    ("lom", b"<general>", b"<lifeCycle/><general>", "lifeCycle"),  # a category this profile does not declare
])
def test_the_schemas_refuse_what_the_formats_forbid(app: Any, catalogue: dict[str, Material], prefix: str,
                                                   old: bytes, new: bytes, complaint: str) -> None:
    """The checks above can fail: the same record, altered in one place, is refused with a reason."""
    body = _record(app, catalogue["pub1"], prefix)
    assert old in body
    errors = schema_errors(body.replace(old, new))
    assert errors and complaint in errors[0], errors

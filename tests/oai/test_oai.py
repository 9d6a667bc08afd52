"""OAI-PMH 2.0 harvested end to end over HTTP by a real harvester (Sickle) from the app served by
a real HTTP server thread: the six verbs, both formats, sets, date ranges, several pages through
resumption tokens, deleted records, every error code (each error response valid against the
OAI-PMH schema), and the anonymous-access switch. The catalogue is in conftest.py."""
from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from sickle import Sickle, oaiexceptions

from repository.models import Material
from tests.oai.schema_check import assert_valid

OAI = "{http://www.openarchives.org/OAI/2.0/}"
LOM = "{http://ltsc.ieee.org/xsd/LOM}"


def _id(material: Material) -> str:
    return f"oai:kho.ninhbinh.edu.vn:{material.id}"


def test_identify(base_url: str, catalogue: dict[str, Material]) -> None:
    identify = Sickle(base_url).Identify()
    assert identify.protocolVersion == "2.0" and identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ" and identify.baseURL.endswith("/oai")
    assert identify.earliestDatestamp == "2026-03-02T08:00:00Z"


def test_a_multi_page_harvest_of_records(base_url: str, catalogue: dict[str, Material]) -> None:
    harvested = list(Sickle(base_url).ListRecords(metadataPrefix="oai_dc"))
    identifiers = [r.header.identifier for r in harvested]
    exposed = [m for k, m in catalogue.items() if k not in ("draft", "approved")]
    assert identifiers == [_id(m) for m in sorted(exposed, key=lambda m: m.id)]  # 9 records over 3 pages
    deleted = [r for r in harvested if r.header.deleted]
    assert [r.header.identifier for r in deleted] == [_id(catalogue["taken_down"])]
    assert deleted[0].xml.find(f"{OAI}metadata") is None
    first = next(r for r in harvested if r.header.identifier == _id(catalogue["pub1"]))
    assert first.metadata["title"] == ["Bài 1. Phương trình bậc hai"]
    assert "Toán" in first.metadata["subject"] and "Lớp 9" in first.metadata["subject"]
    assert first.metadata["creator"] == ["Trường THCS Hoa Lư"] and first.metadata["format"] == ["application/pdf"]
    assert first.metadata["rights"][0].startswith("Ghi công 4.0")
    assert first.header.datestamp == "2026-03-02T08:00:00Z"
    assert {"subject:TOAN", "grade:9", "level:THCS"} <= set(first.header.setSpecs)


def test_resumption_tokens_carry_the_list_size_and_cursor(base_url: str, catalogue: dict[str, Material]) -> None:
    first = requests.get(base_url, params={"verb": "ListIdentifiers", "metadataPrefix": "lom"}, timeout=10)
    token = ElementTree.fromstring(first.content).find(f".//{OAI}resumptionToken")
    assert (token.get("completeListSize"), token.get("cursor")) == ("9", "0") and token.text
    pages = 1
    while token is not None and token.text:
        page = requests.get(base_url, params={"verb": "ListIdentifiers", "resumptionToken": token.text}, timeout=10)
        token = ElementTree.fromstring(page.content).find(f".//{OAI}resumptionToken")
        pages += 1
    assert pages == 3 and token.get("cursor") == "6" and token.text is None


def test_lom_carries_the_educational_fields(base_url: str, catalogue: dict[str, Material]) -> None:
    record = Sickle(base_url).GetRecord(identifier=_id(catalogue["literature"]), metadataPrefix="lom")
    lom = record.xml.find(f".//{LOM}lom")
    text = ElementTree.tostring(lom, encoding="unicode")
    assert lom.find(f"{LOM}educational/{LOM}learningResourceType/{LOM}value").text == "BAI_GIANG_DIEN_TU"
    taxa = [t.text for t in lom.iter(f"{LOM}id")]
    assert taxa == ["NGU_VAN", "THPT", "10", "THPT", "11"]
    assert lom.find(f"{LOM}rights/{LOM}copyrightAndOtherRestrictions/{LOM}value").text == "yes"
    assert "creativecommons.org/licenses/by/4.0" in text and "Lớp 10" in text
    assert lom.find(f"{LOM}general/{LOM}title/{LOM}string").text == "Bài 8. Phương trình bậc hai"


def test_sets_and_date_ranges(base_url: str, catalogue: dict[str, Material]) -> None:
    sickle = Sickle(base_url)
    specs = {s.setSpec for s in sickle.ListSets()}
    assert {"subject", "subject:TOAN", "grade:10", "level:THPT"} <= specs
    literature = [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", set="level:THPT")]
    assert literature == [_id(catalogue["literature"])]
    assert [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc", set="grade:11")] == literature
    maths = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="subject:TOAN"))
    assert len(maths) == 8  # seven published and the taken-down one
    ranged = [h.identifier for h in sickle.ListIdentifiers(**{"metadataPrefix": "oai_dc", "from": "2026-03-03",
                                                               "until": "2026-03-05"})]
    assert ranged == [_id(catalogue[k]) for k in ("pub2", "pub3", "pub4")]
    precise = [h.identifier for h in sickle.ListIdentifiers(**{"metadataPrefix": "oai_dc",
                                                                "from": "2026-03-03T08:00:00Z",
                                                                "until": "2026-03-03T08:00:00Z"})]
    assert precise == [_id(catalogue["pub2"])]


def test_unpublished_materials_do_not_exist(base_url: str, catalogue: dict[str, Material]) -> None:
    sickle = Sickle(base_url)
    for key in ("draft", "approved"):
        with pytest.raises(oaiexceptions.IdDoesNotExist):
            sickle.GetRecord(identifier=_id(catalogue[key]), metadataPrefix="oai_dc")
    deleted = sickle.GetRecord(identifier=_id(catalogue["taken_down"]), metadataPrefix="oai_dc")
    assert deleted.header.deleted
    formats = [f.metadataPrefix for f in sickle.ListMetadataFormats(identifier=_id(catalogue["pub1"]))]
    assert formats == ["oai_dc", "lom"]


def _error(base_url: str, method: str = "get", **params: Any) -> tuple[str, dict[str, str]]:
    if method == "get":
        response = requests.get(base_url, params=params, timeout=10)
    else:
        response = requests.post(base_url, data=params, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml")
    assert_valid(response.content)
    root = ElementTree.fromstring(response.content)
    error = root.find(f"{OAI}error")
    assert error is not None, response.text
    return error.get("code"), dict(root.find(f"{OAI}request").attrib)


ERROR_CASES = [
    ({}, "badVerb"),
    ({"verb": "Harvest"}, "badVerb"),
    ({"verb": ["Identify", "Identify"]}, "badVerb"),
    ({"verb": "Identify", "set": "x"}, "badArgument"),
    ({"verb": "ListRecords"}, "badArgument"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "lom"]}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-13-45"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-03-01", "until": "2026-03-01T00:00:00Z"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-03-05", "until": "2026-03-01"},
     "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"}, "badArgument"),
    ({"verb": "ListRecords", "resumptionToken": "forged"}, "badResumptionToken"),
    ({"verb": "ListSets", "resumptionToken": "anything"}, "badResumptionToken"),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "metadataPrefix": "mods", "identifier": "oai:kho.ninhbinh.edu.vn:1"},
     "cannotDisseminateFormat"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:kho.ninhbinh.edu.vn:999999"},
     "idDoesNotExist"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:elsewhere:1"}, "idDoesNotExist"),
    ({"verb": "ListMetadataFormats", "identifier": "nonsense"}, "idDoesNotExist"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2030-01-01"}, "noRecordsMatch"),
    ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "subject:KHONG_CO"}, "noRecordsMatch"),
]


def test_every_error_code(base_url: str, catalogue: dict[str, Material]) -> None:
    """One case per condition of the protocol's error table, by GET and by POST."""
    for params, code in ERROR_CASES:
        for method in ("get", "post"):
            found, request_attributes = _error(base_url, method, **params)
            assert found == code, (method, params)
            if code in ("badVerb", "badArgument"):
                assert request_attributes == {}  # the protocol forbids echoing arguments then


def test_a_token_of_one_verb_does_not_resume_another(base_url: str, catalogue: dict[str, Material]) -> None:
    first = requests.get(base_url, params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}, timeout=10)
    token = ElementTree.fromstring(first.content).find(f".//{OAI}resumptionToken").text
    assert _error(base_url, verb="ListIdentifiers", resumptionToken=token)[0] == "badResumptionToken"


def test_an_empty_repository_has_no_records(base_url: str, world: dict[str, Any]) -> None:
    with pytest.raises(oaiexceptions.NoRecordsMatch):
        list(Sickle(base_url).ListRecords(metadataPrefix="oai_dc"))
    assert Sickle(base_url).Identify().earliestDatestamp == "1970-01-01T00:00:00Z"


def test_oai_follows_the_anonymous_access_switch(app_with: Any, world: dict[str, Any]) -> None:
    closed = app_with(ANONYMOUS_ACCESS=False).test_client()
    response = closed.get("/oai?verb=Identify")
    assert response.status_code == 403 and "ANONYMOUS_ACCESS" in response.get_data(as_text=True)

"""OAI-PMH responses checked against the XML schemas vendored in tests/oai/schemas/ (their origin
is in the README there): OAI-PMH.xsd for the envelope, oai_dc.xsd with simpledc20021212.xsd and
xml.xsd for Dublin Core, and the project's own LOM profile (the IEEE binding is not available
here). Every schema location, the official URLs included, resolves to a local file; the parsers
may not use the network, so a location missing from LOCAL fails loudly instead of downloading."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# Official location -> the vendored copy.
LOCAL = {
    "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd": SCHEMAS / "OAI-PMH.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd": SCHEMAS / "oai_dc.xsd",
    "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": SCHEMAS / "simpledc20021212.xsd",
    "http://www.w3.org/2001/03/xml.xsd": SCHEMAS / "xml.xsd",
}


class _Vendored(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        found = LOCAL.get(system_url)
        return self.resolve_filename(str(found), context) if found else None


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Vendored())
    return parser


@lru_cache(maxsize=1)
def response_schema() -> etree.XMLSchema:
    """The schema set of an OAI-PMH response of this repository (built once per test run)."""
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "oai-response.xsd"), _parser()))


def schema_errors(body: bytes) -> list[str]:
    """Every schema violation in a response body, as 'line N: message'; empty when valid."""
    schema = response_schema()
    if schema.validate(etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False))):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def assert_valid(body: bytes) -> None:
    errors = schema_errors(body)
    assert not errors, "OAI-PMH response violates its schemas:\n" + "\n".join(errors) + "\n" + body.decode()

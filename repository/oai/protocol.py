"""OAI-PMH 2.0 requests: argument rules of the six verbs, the error codes the protocol requires,
selective harvesting by set and datestamp, and stateless resumption tokens.

A resumption token is signed (SECRET_KEY) and holds the harvest's verb, format, set and range,
the last id sent and the cursor: any server of the deployment can continue it, a tampered or
foreign token is badResumptionToken, and paging by id never skips or repeats a record that stays
in the result while the harvest runs.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr
from typing import Callable, Optional
from lxml.etree import Element, SubElement, _Element

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from repository.models import Material
from repository.oai import records
from repository.oai.metadata import FORMATS, WRITERS
from repository.services import exchange

OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_LIST_ARGS = {"metadataPrefix", "from", "until", "set"}
# verb -> (required arguments, optional arguments); resumptionToken is handled on its own.
VERBS: dict[str, tuple[set[str], set[str]]] = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
_RESUMABLE = {"ListIdentifiers", "ListRecords", "ListSets"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# The forms OAI-PMH.xsd gives these arguments: a response echoes them, so a value of another form
# is a badArgument ("illegal syntax"), never echoed into an invalid response.
_NAME = r"[A-Za-z0-9\-_.!~*'()]+"
_SYNTAX = {
    "metadataPrefix": re.compile(_NAME),
    "set": re.compile(rf"{_NAME}(:{_NAME})*"),
    "identifier": re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"),  # URI characters
}
# Characters XML 1.0 cannot carry (control characters, NUL): no argument may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class OaiError(Exception):
    """An OAI-PMH error condition (sent with HTTP 200, as the protocol says)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _e(parent: _Element, tag: str, text: Optional[str] = None, **attributes: str) -> _Element:
    element = SubElement(parent, f"{{{OAI}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def datestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def repository_id() -> str:
    return exchange.repository_namespace()


def identifier(material: Material) -> str:
    return exchange.stable_identifier(material.id)


def _material_for(identifier_arg: str) -> Material:
    prefix = f"oai:{repository_id()}:"
    number = identifier_arg[len(prefix):] if identifier_arg.startswith(prefix) else ""
    found = records.one(int(number)) if number.isdigit() and len(number) < 12 else None
    if found is None:
        raise OaiError("idDoesNotExist", f"No item has the identifier {identifier_arg!r} in this repository.")
    return found


# --- arguments -------------------------------------------------------------------------------------

def _check_arguments(args: MultiDict) -> str:
    verbs = args.getlist("verb")
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OaiError("badVerb", "The verb argument is missing, repeated or not an OAI-PMH verb.")
    verb = verbs[0]
    repeated = sorted(key for key in args if len(args.getlist(key)) > 1)
    if repeated:
        raise OaiError("badArgument", f"Repeated argument: {', '.join(repeated)}.")
    _check_syntax(args)
    required, optional = VERBS[verb]
    given = set(args) - {"verb"}
    if "resumptionToken" in given and verb in _RESUMABLE:
        if given != {"resumptionToken"}:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument.")
        return verb
    illegal = sorted(given - required - optional)
    if illegal:
        raise OaiError("badArgument", f"Illegal argument for {verb}: {', '.join(illegal)}.")
    missing = sorted(required - given)
    if missing:
        raise OaiError("badArgument", f"Missing argument for {verb}: {', '.join(missing)}.")
    return verb


def _check_syntax(args: MultiDict) -> None:
    """Every argument holds only characters XML can carry, and those the schema types are of their form."""
    if any(_NOT_XML.search(key) or _NOT_XML.search(value) for key, value in args.items(multi=True)):
        raise OaiError("badArgument", "An argument holds characters that are not allowed.")
    for name, form in _SYNTAX.items():
        if name in args and not form.fullmatch(args[name]):
            raise OaiError("badArgument", f"The {name} argument has an illegal syntax.")


def _moment(name: str, value: str) -> tuple[datetime, timedelta]:
    """A datestamp argument and the width of its granularity (a day or a second)."""
    try:
        if _DAY.match(value):
            return datetime.strptime(value, "%Y-%m-%d"), timedelta(days=1)
        if _SECOND.match(value):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"), timedelta(seconds=1)
    except ValueError:
        pass
    raise OaiError("badArgument", f"{name} is not a date of the form YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.")


def _harvest_query(args: MultiDict) -> records.Query:
    since = until = None
    if "from" in args:
        since = _moment("from", args["from"])
    if "until" in args:
        until = _moment("until", args["until"])
    if since and until:
        if since[1] != until[1]:
            raise OaiError("badArgument", "from and until must have the same granularity.")
        if since[0] > until[0]:
            raise OaiError("badArgument", "from is later than until.")
    set_spec = args.get("set")
    if set_spec is not None and not records.known_set(set_spec):
        raise OaiError("noRecordsMatch", f"No set {set_spec!r} in this repository.")
    return records.Query(set_spec, since[0] if since else None, until[0] + until[1] if until else None)


def _format(prefix: str) -> str:
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"The metadata format {prefix!r} is not supported.")
    return prefix


# --- resumption tokens -----------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="oai-resumption")


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


def _encode(verb: str, prefix: str, query: records.Query, after_id: int, cursor: int) -> str:
    return _serializer().dumps([verb, prefix, query.set_spec, _iso(query.since), _iso(query.until_before),
                                after_id, cursor])


def _decode(verb: str, token: str) -> tuple[str, records.Query, int, int]:
    try:
        made_for, prefix, set_spec, since, until, after_id, cursor = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise OaiError("badResumptionToken", "The resumption token is invalid.") from None
    if made_for != verb:
        raise OaiError("badResumptionToken", "The resumption token belongs to another verb.")
    moment = (lambda v: datetime.fromisoformat(v) if v else None)  # noqa: E731
    return prefix, records.Query(set_spec, moment(since), moment(until)), int(after_id), int(cursor)


# --- verbs -----------------------------------------------------------------------------------------

def _identify(out: _Element, args: MultiDict) -> None:
    config = current_app.config
    body = _e(out, "Identify")
    _e(body, "repositoryName", f"{config['DEPARTMENT_NAME']} — Kho học liệu số")
    _e(body, "baseURL", url_for("oai.endpoint", _external=True))
    _e(body, "protocolVersion", "2.0")
    # The address alone: MAIL_FROM may carry a display name ("Sở GDĐT <kho@...>"), emailType may not.
    _e(body, "adminEmail", parseaddr(config["MAIL_FROM"])[1] or config["MAIL_FROM"])
    earliest = records.earliest()
    _e(body, "earliestDatestamp", datestamp(earliest) if earliest else "1970-01-01T00:00:00Z")
    _e(body, "deletedRecord", "persistent")
    _e(body, "granularity", "YYYY-MM-DDThh:mm:ssZ")


def _list_metadata_formats(out: _Element, args: MultiDict) -> None:
    if "identifier" in args:
        _material_for(args["identifier"])
    body = _e(out, "ListMetadataFormats")
    for prefix, (schema, namespace) in FORMATS.items():
        entry = _e(body, "metadataFormat")
        _e(entry, "metadataPrefix", prefix)
        _e(entry, "schema", schema)
        _e(entry, "metadataNamespace", namespace)


def _list_sets(out: _Element, args: MultiDict) -> None:
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "ListSets answers in one response; there is no token to resume.")
    body = _e(out, "ListSets")
    for spec, name in records.all_sets():
        entry = _e(body, "set")
        _e(entry, "setSpec", spec)
        _e(entry, "setName", name)


def _header(parent: _Element, material: Material) -> None:
    deleted = material.status == records.DELETED
    header = _e(parent, "header", **({"status": "deleted"} if deleted else {}))
    _e(header, "identifier", identifier(material))
    _e(header, "datestamp", datestamp(material.updated_at))
    for spec in records.set_specs(material):
        _e(header, "setSpec", spec)


def _record(parent: _Element, material: Material, prefix: str) -> None:
    record = _e(parent, "record")
    _header(record, material)
    if material.status != records.DELETED:
        WRITERS[prefix](_e(record, "metadata"), material)


def _get_record(out: _Element, args: MultiDict) -> None:
    prefix = _format(args["metadataPrefix"])
    _record(_e(out, "GetRecord"), _material_for(args["identifier"]), prefix)


def _list(out: _Element, args: MultiDict, verb: str, write: Callable[[_Element, Material, str], None]) -> None:
    if "resumptionToken" in args:
        prefix, query, after_id, cursor = _decode(verb, args["resumptionToken"])
    else:
        prefix, query, after_id, cursor = _format(args["metadataPrefix"]), _harvest_query(args), 0, 0
    size = current_app.config["OAI_PAGE_SIZE"]
    found = records.page(query, after_id, size)
    if not found:  # (also when a resumed harvest's remaining records left the result meanwhile)
        raise OaiError("noRecordsMatch", "No record matches the arguments.")
    body = _e(out, verb)
    for material in found:
        write(body, material, prefix)
    total = records.count(query)
    sent = cursor + len(found)
    if cursor or sent < total:
        token = _encode(verb, prefix, query, found[-1].id, sent) if sent < total else ""
        _e(body, "resumptionToken", token, completeListSize=str(total), cursor=str(cursor))


def _list_identifiers(out: _Element, args: MultiDict) -> None:
    _list(out, args, "ListIdentifiers", lambda parent, material, _prefix: _header(parent, material))


def _list_records(out: _Element, args: MultiDict) -> None:
    _list(out, args, "ListRecords", _record)


_HANDLERS: dict[str, Callable[[_Element, MultiDict], None]] = {
    "Identify": _identify, "ListMetadataFormats": _list_metadata_formats, "ListSets": _list_sets,
    "GetRecord": _get_record, "ListIdentifiers": _list_identifiers, "ListRecords": _list_records,
}


def respond(args: MultiDict) -> _Element:
    """The whole OAI-PMH response document for the request arguments."""
    root = Element(f"{{{OAI}}}OAI-PMH", {f"{{{XSI}}}schemaLocation": f"{OAI} {OAI}OAI-PMH.xsd"},
                   nsmap={None: OAI, "xsi": XSI})
    _e(root, "responseDate", datestamp(datetime.now(timezone.utc)))
    request_element = _e(root, "request", url_for("oai.endpoint", _external=True))
    try:
        verb = _check_arguments(args)
    except OaiError as error:  # the request element carries no attributes after these two errors
        _e(root, "error", error.message, code=error.code)
        return root
    for key in args:
        request_element.set(key, args[key])
    try:
        _HANDLERS[verb](root, args)
    except OaiError as error:
        for child in list(root)[2:]:
            root.remove(child)
        if error.code == "badArgument":
            request_element.attrib.clear()  # the arguments are not echoed when they are wrong
        _e(root, "error", error.message, code=error.code)
    return root

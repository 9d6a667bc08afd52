"""OAI-PMH 2.0 at /oai: how other repositories and the sector's systems harvest the catalogue.

Only published materials (and taken-down ones, as deleted records) are exposed; the endpoint is
public, so it follows the ANONYMOUS_ACCESS switch: off means /oai answers 403 with the reason.
GET and POST are both allowed, as the protocol requires; it changes nothing, so it needs no CSRF
token. Requests count against the per-address rate limit.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address

from repository.extensions import csrf, limiter

bp = Blueprint("oai", __name__)
csrf.exempt(bp)
limiter.shared_limit(lambda: current_app.config["API_IP_RATE_LIMIT"], scope="oai-ip", key_func=get_remote_address)(bp)

from lxml.etree import tostring  # noqa: E402

from repository.oai import protocol  # noqa: E402

_OFF = ("OAI-PMH không được bật: kho chỉ cho người đã đăng nhập truy cập (ANONYMOUS_ACCESS=false).\n"
        "OAI-PMH is switched off: this repository is not open to anonymous access.\n")


@bp.route("/oai", methods=["GET", "POST"])
def endpoint() -> Any:
    if not current_app.config["ANONYMOUS_ACCESS"]:
        return current_app.response_class(_OFF, status=403, mimetype="text/plain")
    args = request.form if request.method == "POST" else request.args
    body = tostring(protocol.respond(args), encoding="UTF-8", xml_declaration=True)
    return current_app.response_class(body, mimetype="text/xml")

"""GET /api/v1/materials: search, filter, facet and page the materials the caller may see.

Same parameters and the same service as the /search page; `highlights` maps a field name to an
HTML fragment in which only <mark> is markup.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user

from repository.api import bp
from repository.api.serialize import material_json
from repository.services import search


def _item(hit: search.Hit) -> dict[str, Any]:
    body = material_json(hit.material)
    body["highlights"] = {name: str(fragment) for name, fragment in hit.highlights.items()}
    return body


@bp.get("/materials")
def search_materials() -> Any:
    page = search.search(current_user, search.parse(request.args))
    facets = {name: page.facets.get(name, {}) for name in ("subject", "grade", "type", "series", "level", "school")}
    return jsonify({"total": page.total, "page": page.query.page, "per_page": page.query.per_page,
                    "items": [_item(hit) for hit in page.hits], "facets": facets})

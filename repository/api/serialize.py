"""The JSON shapes of the API's resources. One function per resource, used by every endpoint
(the search endpoint too), so that scripts can rely on one shape."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from flask import url_for

from repository import curriculum
from repository.models import AdminUnit, AuditEvent, Material, MaterialFile, MaterialStatus, School


def timestamp(value: Optional[datetime]) -> Optional[str]:
    """Stored timestamps are naive UTC: ISO 8601 with a Z."""
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def _thumbnail_url(material: Material) -> Optional[str]:
    for stored in material.current_files:
        if stored.thumbnail_key:
            return url_for("materials.thumbnail", material_id=material.id, file_id=stored.id, _external=True)
    return None


def material_json(material: Material, *, detail: bool = False) -> dict[str, Any]:
    """A material: the list fields, and with `detail` also its current files and the rest."""
    body: dict[str, Any] = {
        "id": material.id,
        "title": material.title,
        "description": material.description,
        "subject": material.subject,
        "grades": list(material.grades or []),
        "type": material.material_type,
        "series": material.series,
        "school": {"code": material.school.code, "name": material.school.name},
        "status": material.status,
        "url": url_for("materials.show", material_id=material.id, _external=True),
        "thumbnail_url": _thumbnail_url(material),
        "created_at": timestamp(material.created_at),
    }
    if detail:
        body.update(topic=material.topic, licence=material.licence, language=material.language,
                    updated_at=timestamp(material.updated_at),
                    files=[file_json(f) for f in material.current_files])
    return body


def file_json(stored: MaterialFile) -> dict[str, Any]:
    return {
        "id": stored.id,
        "version": stored.version,
        "name": stored.original_name,
        "size": stored.size,
        "mime_type": stored.mime_type,
        "kind": stored.kind,
        "sha256": stored.sha256,
        "state": stored.state,
        "created_at": timestamp(stored.created_at),
        "download_url": url_for("materials.download", material_id=stored.material_id, file_id=stored.id,
                                _external=True),
    }


def _unit_ref(unit: Optional[AdminUnit]) -> Optional[dict[str, str]]:
    return {"code": unit.code, "name": unit.name} if unit else None


def unit_json(unit: AdminUnit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "active": unit.active}


def school_json(school: School, grades: list[str]) -> dict[str, Any]:
    return {
        "code": school.code,
        "name": school.name,
        "type": school.school_type,
        "grades": grades,
        "unit": _unit_ref(school.unit),
        "reports_to": _unit_ref(school.reports_to),
        "active": school.active,
        "successor": school.successor.code if school.successor else None,
    }


def audit_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": timestamp(event.at), "actor_id": event.actor_id, "action": event.action,
            "target_type": event.target_type, "target_id": event.target_id, "details": event.details}


def vocabularies_json() -> dict[str, Any]:
    """The curriculum codes the API's filters and fields take (from data/)."""
    return {
        "subjects": [{"code": s.code, "name": s.name} for s in curriculum.subjects()],
        "preschool_domains": [{"code": c, "name": n} for c, n in curriculum.preschool_domains().items()],
        "grades": [{"code": g.code, "name": g.name, "level": g.level} for g in curriculum.grades()],
        "levels": [{"code": lv.code, "name": lv.name, "grades": list(lv.grades)} for lv in curriculum.levels()],
        "school_types": [{"code": t.code, "name": t.name, "levels": list(t.levels)} for t in curriculum.school_types()],
        "series": [{"code": s.code, "name": s.name} for s in curriculum.textbook_series()],
        "material_types": [{"code": c, "name": n} for c, n in curriculum.material_types().items()],
        "licences": [{"code": lic.code, "name": lic.name, "open": lic.open, "url": lic.url}
                     for lic in curriculum.licences()],
        "material_statuses": [{"code": s.value} for s in MaterialStatus],
    }

"""Put materials straight into the database for search tests (the upload path has its own tests)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from repository.extensions import db
from repository.models import Material, utcnow


def add_material(owner: Any, title: str, *, status: str = "published", subject: str = "TOAN",
                 grades: tuple[str, ...] = ("9",), description: str = "", material_type: str = "BAI_GIANG_DIEN_TU",
                 series: str | None = "KNTT", licence: str = "CC_BY_4", topic: str | None = None,
                 age_days: int = 0, downloads: int = 0, commit: bool = True) -> Material:
    material = Material(title=title, description=description, subject=subject, grades=list(grades),
                        material_type=material_type, series=series, licence=licence, topic=topic,
                        school_id=owner.school_id, owner_id=owner.id, status=status,
                        download_count=downloads, created_at=utcnow() - timedelta(days=age_days))
    db.session.add(material)
    if commit:
        db.session.commit()
    return material

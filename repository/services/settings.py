"""Run-time policy settings kept in the database and edited by the department admin.

Rules: every setting is declared once (key, default, checker); a value in force is the newest
row for its key, so each change keeps its history (who, when). Reading needs no permission (the
services apply the settings to everyone); changing them is `settings.edit`. Other features declare
their own settings with `declare` at import time and reuse the same table and page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from repository.errors import ValidationError
from repository.extensions import db
from repository.models import Setting
from repository.permissions import require
from repository.services import audit, guarded, unguarded

Checker = Callable[[Any], Any]  # returns the clean value or raises ValueError


@dataclass(frozen=True)
class Declared:
    key: str
    default: Any
    check: Checker
    label: Any
    kind: str  # how the settings page shows it: int, bool, choice, lines


_DECLARED: dict[str, Declared] = {}


@unguarded("declares a setting at import time; no data is touched")
def declare(key: str, default: Any, check: Checker, label: Any, kind: str) -> None:
    """Make `key` a known setting with its default and checker (idempotent per key)."""
    _DECLARED[key] = Declared(key, default, check, label, kind)


@unguarded("policy settings are applied to every user; reading them reveals nothing private")
def declared() -> list[Declared]:
    return list(_DECLARED.values())


@unguarded("policy settings are applied to every user; reading them reveals nothing private")
def get(key: str) -> Any:
    """The value in force: the newest stored row, or the declared default."""
    spec = _DECLARED[key]  # KeyError: an undeclared setting is a programming error
    value = db.session.scalar(select(Setting.value).where(Setting.key == key).order_by(Setting.id.desc()).limit(1))
    return spec.default if value is None else value


@unguarded("policy settings are applied to every user; reading them reveals nothing private")
def current() -> dict[str, Any]:
    """Every declared setting's value in force, in one query."""
    newest = select(func.max(Setting.id)).group_by(Setting.key)
    stored = {row.key: row.value for row in db.session.scalars(select(Setting).where(Setting.id.in_(newest)))}
    return {key: stored.get(key, spec.default) for key, spec in _DECLARED.items()}


@guarded("settings.edit")
def editable(actor: Any) -> list[tuple[Declared, Any]]:
    """Each declared setting with its value in force, for the settings page."""
    require(actor, "settings.edit")
    values = current()
    return [(spec, values[spec.key]) for spec in _DECLARED.values()]


@guarded("settings.edit")
def recent_changes(actor: Any, limit: int = 20) -> list[Setting]:
    """The newest changes of any setting, for the history shown under the settings form."""
    require(actor, "settings.edit")
    return list(db.session.scalars(select(Setting).order_by(Setting.id.desc()).limit(limit)))


@guarded("settings.edit")
def history(actor: Any, key: str) -> list[Setting]:
    require(actor, "settings.edit")
    return list(db.session.scalars(select(Setting).where(Setting.key == key).order_by(Setting.id.desc())))


@guarded("settings.edit")
def update(actor: Any, values: dict[str, Any]) -> list[str]:
    """Check every given value, then store those that differ from the value in force, or none."""
    require(actor, "settings.edit")
    unknown = [key for key in values if key not in _DECLARED]
    if unknown:
        raise ValidationError(_l("Thiết lập không tồn tại: %(keys)s", keys=", ".join(unknown)))
    clean, errors = {}, {}
    for key, raw in values.items():
        try:
            clean[key] = _DECLARED[key].check(raw)
        except (ValueError, TypeError):
            errors[key] = [_l("Giá trị không hợp lệ.")]
    if errors:
        raise ValidationError(_l("Giá trị không hợp lệ."), field_errors=errors)
    in_force = current()
    changed = [key for key, value in clean.items() if in_force[key] != value]
    for key in changed:
        db.session.add(Setting(key=key, value=clean[key], actor_id=getattr(actor, "id", None)))
        audit.record(actor, "settings.changed", None, key=key, old=in_force[key], new=clean[key])
    db.session.commit()
    return changed


# Checkers shared by the declarations.
@unguarded("a pure value checker")
def int_between(low: int, high: int) -> Checker:
    def check(raw: Any) -> int:
        value = int(str(raw).strip())
        if not low <= value <= high:
            raise ValueError(raw)
        return value
    return check


@unguarded("a pure value checker")
def boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "on", "yes", "y"):
        return True
    if text in ("0", "false", "off", "no", "n", ""):
        return False
    raise ValueError(raw)


@unguarded("a pure value checker")
def lines(raw: Any) -> list[str]:
    """A list of short texts: a list, or one item per line."""
    items = raw if isinstance(raw, list) else str(raw).splitlines()
    clean = [str(item).strip()[:200] for item in items if str(item).strip()]
    if len(clean) > 30:
        raise ValueError(raw)
    return clean

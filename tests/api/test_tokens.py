"""Personal access tokens: the account page, the command line, and bearer authentication with
its refusals (forged, expired, revoked, read-only, disabled owner), CSRF and sessions."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from repository.errors import PermissionDenied, ValidationError
from repository.extensions import db
from repository.models import ApiToken, AuditEvent, Material, User
from repository.permissions import SystemActor
from repository.services import tokens, users
from tests.api.helpers import TEACHER, bearer, material_form, pdf_bytes, token_for
from tests.helpers import csrf_token, sign_in


def test_a_token_is_stored_hashed_and_shown_once(world: dict[str, Any]) -> None:
    token, raw = tokens.create_token(world["teacher"], world["teacher"], "Phần mềm trường")
    assert raw.startswith("khl_") and len(raw) > 40
    row = db.session.get(ApiToken, token.id)
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {row.token_hash, row.prefix} and raw.startswith(row.prefix)
    assert tokens.authenticate(raw).user_id == world["teacher"].id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "token.created"))
    assert raw not in str(event.details)


def test_nobody_makes_a_token_for_someone_else(world: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        tokens.create_token(world["dept_admin"], world["teacher"], "x")
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_an_expiry_in_the_past_is_refused(world: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        tokens.create_token(world["teacher"], world["teacher"], "x", expires_on=date.today() - timedelta(days=2))


def test_the_account_page_creates_lists_and_revokes(app_with: Any, world: dict[str, Any]) -> None:
    app = app_with(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": TEACHER, "password": "Bai-Giang#2025", "csrf_token": csrf_token(page)})
    page = client.get("/account/tokens")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    created = client.post("/account/tokens", data={"name": "Sổ điểm", "read_only": "y",
                                                   "csrf_token": csrf_token(page.get_data(as_text=True))})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "Sổ điểm" in html
    raw = html.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith("khl_")
    row = db.session.scalar(select(ApiToken))
    assert row.read_only and row.name == "Sổ điểm" and row.user_id == world["teacher"].id
    assert raw not in client.get("/account/tokens").get_data(as_text=True)  # shown once only
    assert client.get("/api/v1/materials/999", headers=bearer(raw)).status_code == 404
    listing = client.get("/account/tokens").get_data(as_text=True)
    revoked = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(listing)})
    assert revoked.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).revoked_at is not None
    assert client.get("/api/v1/materials/999", headers=bearer(raw)).status_code == 401


def test_one_cannot_revoke_another_persons_token(client: Any, world: dict[str, Any]) -> None:
    theirs, _raw = tokens.create_token(world["teacher2"], world["teacher2"], "x")
    sign_in(client, TEACHER)
    assert client.post(f"/account/tokens/{theirs.id}/revoke").status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, theirs.id).revoked_at is None


def test_the_profile_links_to_the_tokens_page(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, TEACHER)
    assert "/account/tokens" in client.get("/account/").get_data(as_text=True)


@pytest.mark.parametrize("header", ["Bearer khl_forged-token-that-was-never-issued", "Bearer ", "Bearer nonsense",
                                    "bearer khl_" + "x" * 300])
def test_forged_tokens_get_401_json(client: Any, world: dict[str, Any], header: str) -> None:
    response = client.get("/api/v1/schools", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_and_revoked_tokens_are_refused(client: Any, world: dict[str, Any]) -> None:
    expired = token_for(world["teacher"], expires_on=date.today() + timedelta(days=1))
    row = db.session.scalar(select(ApiToken))
    assert client.get("/api/v1/schools", headers=bearer(expired)).status_code == 200
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/schools", headers=bearer(expired)).status_code == 401
    revoked = token_for(world["teacher"])
    newest = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    tokens.revoke_token(world["teacher"], newest.id)
    assert client.get("/api/v1/schools", headers=bearer(revoked)).status_code == 401


def test_a_disabled_owner_s_token_stops_working(client: Any, world: dict[str, Any]) -> None:
    raw = token_for(world["teacher"])
    assert client.get("/api/v1/schools", headers=bearer(raw)).status_code == 200
    users.set_disabled(SystemActor(), world["teacher"], True)
    assert client.get("/api/v1/schools", headers=bearer(raw)).status_code == 401


def test_a_token_carries_its_owner_s_permissions(client: Any, world: dict[str, Any]) -> None:
    teacher, admin = token_for(world["teacher"]), token_for(world["dept_admin"])
    assert client.get("/api/v1/audit", headers=bearer(teacher)).status_code == 403
    assert client.get("/api/v1/audit", headers=bearer(admin)).status_code == 200
    assert client.get("/api/v1/schools/THCS02", headers=bearer(teacher)).status_code == 403


def test_a_read_only_token_cannot_write_and_nothing_changes(client: Any, world: dict[str, Any], tmp_path: Any) -> None:
    raw = token_for(world["teacher"], read_only=True)
    response = client.post("/api/v1/materials", data=material_form(pdf_bytes(tmp_path)), headers=bearer(raw))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == 403
    assert db.session.scalar(select(func.count()).select_from(Material)) == 0
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200


def test_token_writes_need_no_csrf_but_cookie_writes_do(app_with: Any, world: dict[str, Any], tmp_path: Any) -> None:
    app = app_with(WTF_CSRF_ENABLED=True)
    raw = token_for(world["teacher"])
    client = app.test_client()
    created = client.post("/api/v1/materials", data=material_form(pdf_bytes(tmp_path)), headers=bearer(raw))
    assert created.status_code == 201, created.get_json()
    material_id = created.get_json()["id"]
    # The same person signed in with a cookie: a write without the CSRF token is refused.
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    browser.post("/login", data={"email": TEACHER, "password": "Bai-Giang#2025", "csrf_token": csrf_token(page)})
    refused = browser.patch(f"/api/v1/materials/{material_id}", json={"title": "Đổi tên"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == 400
    form = browser.get("/account/tokens").get_data(as_text=True)
    allowed = browser.patch(f"/api/v1/materials/{material_id}", json={"title": "Đổi tên"},
                            headers={"X-CSRFToken": csrf_token(form)})
    assert allowed.status_code == 200 and allowed.get_json()["title"] == "Đổi tên"


def test_a_token_request_writes_no_session_cookie(client: Any, world: dict[str, Any]) -> None:
    raw = token_for(world["teacher"])
    response = client.get("/api/v1/units", headers=bearer(raw))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert db.session.scalar(select(ApiToken)).last_used_at is not None


def test_a_token_works_although_the_password_has_expired(client: Any, world: dict[str, Any]) -> None:
    """The forced password change is for interactive sessions; it must not redirect a script."""
    world["teacher"].must_change_password = True
    db.session.commit()
    raw = token_for(world["teacher"])
    assert client.get("/api/v1/units", headers=bearer(raw)).status_code == 200


def _cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner(mix_stderr=False).invoke(args=list(args)) if _supports_mix() else \
        app.test_cli_runner().invoke(args=list(args))


def _supports_mix() -> bool:
    import inspect

    from click.testing import CliRunner

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def test_the_command_line_prints_only_the_token(app: Any, world: dict[str, Any]) -> None:
    result = _cli(app, "tokens", "create", TEACHER, "--name", "Đồng bộ", "--read-only", "--expires",
                  (date.today() + timedelta(days=30)).isoformat())
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert raw.startswith("khl_") and "\n" not in raw
    row = db.session.scalar(select(ApiToken))
    assert row.read_only and row.expires_at is not None and row.name == "Đồng bộ"
    assert tokens.authenticate(raw).user_id == world["teacher"].id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "token.created"))
    assert event.details.get("via") == "cli"


def test_the_command_line_refuses_an_unknown_account(app: Any, world: dict[str, Any]) -> None:
    result = _cli(app, "tokens", "create", "khong-co@ai.vn", "--name", "x")
    assert result.exit_code == 1 and result.stdout == ""
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) > 0


def test_the_account_page_refuses_a_past_expiry_with_its_reason(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, TEACHER)
    past = (date.today() - timedelta(days=3)).isoformat()
    response = client.post("/account/tokens", data={"name": "Cũ", "expires_on": past})
    assert response.status_code == 422
    assert "Ngày hết hạn phải là hôm nay" in response.get_data(as_text=True)
    assert 'id="new-token"' not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0

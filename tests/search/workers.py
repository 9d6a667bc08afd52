"""A separate process that creates and publishes materials (for the concurrency test)."""
from __future__ import annotations


def create_and_publish(url: str, index_dir: str, owner_id: int, label: str, count: int) -> None:
    from repository.extensions import db
    from repository.models import User
    from tests.helpers import make_app
    from tests.search.materials import add_material

    app = make_app(url, SEARCH_INDEX_DIR=index_dir)
    with app.app_context():
        owner = db.session.get(User, owner_id)
        for i in range(count):
            material = add_material(owner, f"Tiến trình {label} bài {i}", status="draft")
            if i % 2 == 0:
                material.status = "published"
                db.session.commit()
        db.session.remove()
        db.engine.dispose()

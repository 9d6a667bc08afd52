"""Application factory: configuration, extensions, blueprints, security headers and CLI commands."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from flask import Flask
from flask_bootstrap import Bootstrap5

from repository import web
from repository.cli import register_cli
from repository.config import PROJECT_DIR, build_config
from repository.extensions import babel, csrf, db, limiter, login_manager, migrate
from repository.reports import facts as report_facts
from repository.uploads import UploadRequest
import search
from storage import create_storage


def create_app(config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the app: embedded defaults -> environment variables -> `config` overrides."""
    instance = Path(os.environ.get("INSTANCE_PATH", PROJECT_DIR / "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(PROJECT_DIR / "templates"),
        static_folder=str(PROJECT_DIR / "static"),
    )
    app.config.update(build_config(instance, config))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_DIR / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale,
                   default_translation_directories=str(PROJECT_DIR / "repository" / "translations"))
    login_manager.init_app(app)
    app.extensions["storage"] = create_storage(app.config)
    search.init_app(app)
    report_facts.install()
    app.request_class = UploadRequest
    Bootstrap5(app)
    web.init_web(app)
    register_cli(app)
    return app

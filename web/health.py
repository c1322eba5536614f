"""The health page (every part of the platform) and the bare liveness probe ``/healthz``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from controlplane.health import check_all
from controlplane.models import Role
from web.auth import login_required, public
from web.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> Any:
    """Liveness only: the panel process answers. No details for anonymous callers."""
    return jsonify({"status": "ok"})


@bp.get("/health")
@login_required(Role.ADMIN, Role.SUPERVISOR)
def health() -> Any:
    checks = check_all(services().settings, redis_role="web")
    ok = all(c.ok for c in checks)
    return render_template("health.html", checks=checks, ok=ok)

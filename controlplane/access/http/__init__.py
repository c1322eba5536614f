"""The access room's blueprints (registered by :func:`web.create_app`)."""

from controlplane.access.http import audit_log, policy, totp

BLUEPRINTS = (policy.bp, audit_log.bp, totp.bp)

"""The access room's blueprints (registered by :func:`web.create_app`)."""

from controlplane.access.http import policy

BLUEPRINTS = (policy.bp,)

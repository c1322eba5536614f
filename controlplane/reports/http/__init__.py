"""The reports room's panel pages (``/reports``) and API (``/api/v1/reports``)."""

from controlplane.reports.http import api, pages

BLUEPRINTS = (pages.bp, api.bp)

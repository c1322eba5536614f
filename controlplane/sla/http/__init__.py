"""The SLA room's panel pages and API: the current period, incidents, maintenance windows."""

from controlplane.sla.http import contract, incidents, maintenance, pages

BLUEPRINTS = (pages.bp, incidents.bp, maintenance.bp, contract.bp)

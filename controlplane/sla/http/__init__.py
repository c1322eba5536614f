"""The SLA room's panel pages and API: the current period, incidents, maintenance windows,
the probes' status."""

from controlplane.sla.http import contract, incidents, maintenance, pages, status

BLUEPRINTS = (pages.bp, incidents.bp, maintenance.bp, status.bp, contract.bp)

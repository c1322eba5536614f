"""The SLA room's panel pages (read-only for now: the current period and the incidents)."""

from controlplane.sla.http import pages

BLUEPRINTS = (pages.bp,)

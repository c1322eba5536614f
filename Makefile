# The two commands (README): `make up` starts everything, `make test` runs the whole suite.
.PHONY: up down test unit integration lint bootstrap status

# Modules held to strict typing (pyproject.toml [tool.mypy.overrides] lists the same).
STRICT = controlplane/calls/machine.py controlplane/engine/events.py controlplane/engine/commands.py controlplane/dialer/records.py controlplane/dialer/selection.py controlplane/dialer/retry.py controlplane/dialer/callerid.py controlplane/dialer/dispositions.py controlplane/calls/campaign_machine.py controlplane/dialer/live.py controlplane/acd/queue_machine.py \
	controlplane/procs/policy.py controlplane/procs/status.py \
	controlplane/security/bans.py controlplane/security/sip_events.py controlplane/security/sip_acl.py \
	controlplane/security/destinations.py controlplane/security/outbound_policy.py \
	controlplane/security/command_rules.py controlplane/security/redis_acl.py \
	controlplane/calls/recording_tail.py

bootstrap:
	bash scripts/bootstrap.sh

up: bootstrap
	.venv/bin/centrala up

down:
	.venv/bin/centrala down

status:
	.venv/bin/centrala status

# The integration tier runs on two workers, each with a whole platform and lab of its own
# (slots 0 and 1, see tests/conftest.py); a failure in one tier still lets the other run.
test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy $(STRICT)
	.venv/bin/pytest -q -n 2 --dist loadfile tests/integration; it=$$?; \
	.venv/bin/pytest -q tests/unit; unit=$$?; \
	echo "integration tier: exit $$it, unit tier: exit $$unit"; [ $$it = 0 ] && [ $$unit = 0 ]

unit: bootstrap
	.venv/bin/pytest -q tests/unit

integration: bootstrap
	.venv/bin/pytest -q -n 2 --dist loadfile tests/integration

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy $(STRICT) controlplane/engine

# The two commands (README): `make up` starts everything, `make test` runs the whole suite.
.PHONY: up down test unit integration lint imports bootstrap status messages

# Strict typing covers the pure modules, listed once as pyproject.toml's "pure" import contract
# (scripts/purity.py derives mypy's list from it); lint-imports checks the import contracts.
TYPECHECK = .venv/bin/python scripts/purity.py
IMPORTS = PYTHONPATH=. .venv/bin/lint-imports --no-cache

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
# The unit tier runs on two workers too, a file's tests together (each worker has its own
# Redis and databases: the fixtures in tests/conftest.py are per session, so per worker).
# The integration tier's failures are printed again at the end (CI shows only the output's tail).
test: bootstrap
	.venv/bin/ruff check .
	$(IMPORTS)
	$(TYPECHECK)
	mkdir -p var; { .venv/bin/pytest -q -rfE -n 2 --dist loadfile tests/integration; \
	  echo $$? > var/integration.rc; } 2>&1 | tee var/integration.log; it=$$(cat var/integration.rc); \
	.venv/bin/pytest -q -rfE -n 2 --dist loadfile tests/unit; unit=$$?; \
	echo "integration tier: exit $$it, unit tier: exit $$unit"; \
	grep -E '^(FAILED|ERROR) ' var/integration.log | sed 's/^/integration: /'; \
	[ $$it = 0 ] && [ $$unit = 0 ]

imports: bootstrap
	$(IMPORTS)

unit: bootstrap
	.venv/bin/pytest -q -n 2 --dist loadfile tests/unit

integration: bootstrap
	.venv/bin/pytest -q -n 2 --dist loadfile tests/integration

messages:  # new panel texts into web/translations/*/messages.po (then translate them)
	.venv/bin/pybabel extract -F babel.cfg --no-location --sort-output -o var/messages.pot .
	.venv/bin/pybabel update -i var/messages.pot -d web/translations --no-fuzzy-matching

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(IMPORTS)
	$(TYPECHECK)
	.venv/bin/mypy controlplane/engine

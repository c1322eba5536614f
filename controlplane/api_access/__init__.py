"""API access: personal API tokens (scoped, hashed at rest) and monthly request quotas.

Rooms (DESIGN.md): :mod:`.scopes` (pure: what a scope allows), :mod:`.tokens` (pure:
secrets and their hashes), :mod:`.store` (SQL), :mod:`.quota` (the Redis counters),
:mod:`.schemas`, :mod:`.exceptions`, :mod:`.http` (the "API tokens" page, ``/api/v1/tokens``
and the bearer hook every ``/api/v1`` request passes).
"""

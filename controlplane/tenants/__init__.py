"""Tenants and their people's accounts: onboarding by e-mail, password reset, the operator.

Theory of operation. ``centrala tenant create`` (or the platform operator's page) creates
a tenant and its first administrator *without* a password, plus a single-use link row
(:class:`~controlplane.models.user_tokens.UserToken`, purpose ``activation``) and, in the
same transaction, the outbox row of its mail job: the mail cannot be lost between commit
and queue. The job (:mod:`controlplane.jobs.mail`) draws the link's secret, keeps only
its hash, and mails the link. Opening the link shows a password form; a good password
activates the account and logs in. "Forgot password?" works the same with purpose
``reset`` (1 h), ends every session of the user, and never says whether an address
exists. The platform operator (``Role.OPERATOR``, a user of the reserved tenant
:data:`~controlplane.tenants.store.OPERATOR_DOMAIN`) lists, creates, edits and
deactivates tenants; a tenant's administrator edits its own name, language and zone.

Rooms (DESIGN.md): :mod:`.tokens` (pure: secrets, hashes, lifetimes), :mod:`.store` (SQL),
:mod:`.service` (onboarding steps shared by the CLI and the panel), :mod:`.mails` (the
mail texts, Polish and English), :mod:`.schemas`, :mod:`.exceptions`, :mod:`.http`
(pages and ``/api/v1/tenants``), :mod:`.cli` (``centrala tenant|operator create``).
"""

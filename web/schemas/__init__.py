"""Request schemas of the pages web keeps (account, outbound policy, SIP bans), one module
per area, and :mod:`.common`, the types every domain's ``http/schemas.py`` builds on.

Every model is named and frozen; bodies forbid unknown fields and take JSON types
strictly (a string is never a number, a number never a string), parameters are
text read leniently (``?page=2``). :mod:`web.validation` applies them; the next
step generates the OpenAPI description from the same classes.
"""

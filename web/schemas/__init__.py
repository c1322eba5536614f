"""Request schemas of the panel and its JSON API, one module per area.

Every model is named and frozen; bodies forbid unknown fields and take JSON types
strictly (a string is never a number, a number never a string), parameters are
text read leniently (``?page=2``). :mod:`web.validation` applies them; the next
step generates the OpenAPI description from the same classes.
"""

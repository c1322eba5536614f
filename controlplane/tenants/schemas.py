"""One schema per resource of this room, used by the CLI, the pages and ``/api/v1``.

* :class:`TenantCreate` -- ``centrala tenant create``, the operator's form and
  ``POST /api/v1/tenants`` read the same fields with the same rules.
* :class:`TenantUpdate` -- the operator's edit (every field optional: a partial update).
* :class:`TenantSettings` -- what a tenant's own administrator may change.
* :class:`PasswordSet`, :class:`ResetRequest` -- the link pages' forms.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# The same building blocks as web.schemas.common (Body/Form/Query), declared here because
# the CLI imports this module without the panel: importing ``web`` would start the app
# package, which imports this room's http, which imports this module (a cycle).
MAX_INT = 2**31 - 1
_LINE_BAD = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _line(value: str) -> str:
    if _LINE_BAD.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


ONE_LINE = AfterValidator(_line)


class Body(BaseModel):
    """A JSON body: unknown fields refused, JSON types taken strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def given(self) -> dict[str, Any]:
        """Only the fields the client sent (a partial update changes only those)."""
        return self.model_dump(exclude_unset=True, by_alias=False)


class Form(BaseModel):
    """A posted form: text fields, unknown ones refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Query(BaseModel):
    """Query parameters: text converted leniently; an empty value means "not given"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

LOCALES = ("pl", "en")
MAX_LICENCES = 100_000
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")
_EMAIL = re.compile(r"[^@\s\x00-\x1f]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}")


def _domain(value: str) -> str:
    value = value.strip().lower()
    if not _DOMAIN.fullmatch(value):
        raise ValueError("must be a domain name such as firma.pl")
    return value


def _email(value: str) -> str:
    local, _, domain = value.strip().rpartition("@")
    value = f"{local}@{domain.lower()}"
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an e-mail address such as jan@firma.pl")
    return value


def _zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError("must be a time zone such as Europe/Warsaw")
    return value


Domain = Annotated[str, Field(max_length=253), AfterValidator(_domain)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Name = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
Locale = Annotated[str, Field(pattern="^(pl|en)$")]
Zone = Annotated[str, Field(max_length=64), AfterValidator(_zone)]
Licences = Annotated[int, Field(ge=1, le=MAX_LICENCES)]
Secret = Annotated[str, Field(max_length=1024)]


class TenantCreate(Body):
    """A new tenant and the address its first administrator's activation link goes to."""

    domain: Domain
    admin_email: Email
    licences: Licences
    name: Name | None = None  # default: the domain
    locale: Locale = "pl"
    time_zone: Zone = "Europe/Warsaw"


class TenantCreateForm(Form):
    """The operator's form: the same fields as text (checked again by :class:`TenantCreate`)."""

    domain: str = ""
    admin_email: str = ""
    licences: str = ""
    name: str = ""
    locale: str = "pl"
    time_zone: str = "Europe/Warsaw"


class PartialBody(Body):
    """A partial update: a field left out keeps its value; ``null`` is refused (every
    field here is required on the tenant, so null could only mean a bad request)."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null (leave the field out to keep its value)")
        return value


class TenantUpdate(PartialBody):
    name: Name | None = None
    licences: Licences | None = None
    locale: Locale | None = None
    time_zone: Zone | None = None
    active: bool | None = None


class TenantEditForm(Form):
    name: str = ""
    licences: str = ""
    locale: str = ""
    time_zone: str = ""


class TenantSettings(PartialBody):
    name: Name | None = None
    locale: Locale | None = None
    time_zone: Zone | None = None


class TenantSettingsForm(Form):
    name: str = ""
    locale: str = ""
    time_zone: str = ""


class TenantsQuery(Query):
    """``GET /api/v1/tenants``: paging and a text filter on domain or name."""

    q: Annotated[str, Field(max_length=100), ONE_LINE] | None = None
    active: bool | None = None
    offset: Annotated[int, Field(ge=0, le=MAX_INT)] = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class PasswordSet(Form):
    password: Secret = ""
    confirm: Secret = ""


class ResetRequest(Form):
    """"Forgot password?": a login (``jan@firma.pl``) or the account's e-mail."""

    address: Annotated[str, Field(max_length=400)] = ""


class InviteForm(Form):
    """The users page: a new user is invited by e-mail (no password chosen by the admin)."""

    email: str = ""
    role: str = ""
    display_name: str = ""


class UserCreate(Body):
    email: Email
    role: Annotated[str, Field(pattern="^(admin|supervisor|agent)$")]
    display_name: Annotated[str, Field(max_length=200), ONE_LINE] = ""
    login: Annotated[str, Field(min_length=1, max_length=100,
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] | None = None

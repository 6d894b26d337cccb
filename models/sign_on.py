"""Which rules decide signing in with the school's own accounts (OpenID Connect: Microsoft
Entra ID, Google Workspace): where the provider may be, what its verified ID token must say
about the person, whether it says a second factor was used, and which role its groups give.

Pure: the token's signature, issuer, audience, expiry and nonce are checked by the client
library before any of these rules sees its claims (safeshare/web/school_sign_in.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field

from models.kernel.roles import Role
from models.kernel.values import Frozen
from models.web_address import https_problem

#: The roles a provider's groups may give, highest first: someone in the DSL's group and the
#: senior leaders' is the DSL.
GROUP_ROLES = (Role.DSL, Role.DEPUTY_DSL, Role.SLT)

#: The `amr` values that say a second factor was used (RFC 8176): Entra ID says "mfa"; other
#: providers name the factor: a one-time code, a hardware or software key.
DEFAULT_MFA_AMR = ("mfa", "otp", "hwk", "swk")
#: The `acr` values that say so: the OpenID PAPE multi-factor policy; a provider's own values
#: (an Entra ID authentication context, a Keycloak level) are added in the settings.
DEFAULT_MFA_ACR = ("http://schemas.openid.net/pape/policies/2007/06/multi-factor",)


class MultiFactorValues(Frozen):
    """Which `amr` and `acr` values of an ID token count as a second factor used."""

    amr: tuple[str, ...] = DEFAULT_MFA_AMR
    acr: tuple[str, ...] = DEFAULT_MFA_ACR


class GroupRoles(Frozen):
    """Which of the provider's groups (ids or names, as its `groups` claim carries them) give
    the DSL, deputy DSL and senior leader roles."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    dsl: tuple[str, ...] = ()
    deputy_dsl: tuple[str, ...] = Field(default=(), alias="deputy-dsl")
    slt: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.dsl or self.deputy_dsl or self.slt)

    def groups_of(self, role: Role) -> tuple[str, ...]:
        return {Role.DSL: self.dsl, Role.DEPUTY_DSL: self.deputy_dsl, Role.SLT: self.slt}[role]


class SchoolAccount(Frozen):
    """What a verified ID token says of the person who signed in (nothing kept: read, matched
    and dropped)."""

    subject: str
    email: str | None = None
    #: None when the provider does not send it (Entra ID does not)
    email_verified: bool | None = None
    #: None when the token has no `groups` claim; Entra ID sends `_claim_names` instead when
    #: someone is in more groups than fit in a token ("overage")
    groups: tuple[str, ...] | None = None
    groups_overage: bool = False
    amr: tuple[str, ...] = ()
    acr: str | None = None


class Refusal(StrEnum):
    """Why a school account's sign-in is refused (the page says what to do about each)."""

    NO_EMAIL = "no-email"
    EMAIL_NOT_VERIFIED = "email-unverified"
    NOT_IN_ROSTER = "not-in-roster"
    EMAIL_SHARED = "email-shared"
    INACTIVE = "inactive"
    TOO_MANY_GROUPS = "too-many-groups"


def issuer_problem(issuer: str) -> str | None:
    """What is wrong with a provider's issuer address, or None: https, unless on this machine
    (a provider the tests start)."""
    wrong = https_problem(
        "SAFESHARE_OIDC_ISSUER", issuer, "the provider's answers say who is signing in"
    )
    if wrong is None and (urlsplit(issuer).query or urlsplit(issuer).fragment):
        return f"SAFESHARE_OIDC_ISSUER {issuer!r} must have no query or fragment"
    return wrong


def same_issuer(configured: str, discovered: object) -> bool:
    """Whether the issuer the provider's discovery document names is the one configured (OpenID
    Connect Discovery: identical; a trailing slash aside)."""
    return isinstance(discovered, str) and discovered.rstrip("/") == configured.rstrip("/")


def account_from_claims(claims: Mapping[str, object]) -> SchoolAccount:
    """The facts of a verified ID token's claims that the rules below use."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    groups = claims.get("groups")
    amr = claims.get("amr")
    acr = claims.get("acr")
    names = claims.get("_claim_names")
    return SchoolAccount(
        subject=str(claims.get("sub", "")),
        email=email.strip() if isinstance(email, str) and email.strip() else None,
        # some providers send "true"/"false" as strings
        email_verified=(
            verified
            if isinstance(verified, bool)
            else (str(verified).lower() == "true" if verified is not None else None)
        ),
        groups=tuple(str(g) for g in groups) if isinstance(groups, list) else None,
        groups_overage=isinstance(names, Mapping) and "groups" in names,
        amr=tuple(str(a) for a in amr) if isinstance(amr, list) else (),
        acr=str(acr) if acr is not None else None,
    )


def account_refusal(account: SchoolAccount, *, roles_from_groups: bool) -> Refusal | None:
    """Refused before the roster is read: no email to match, one the provider says it has not
    verified, or (roles taken from groups) groups that did not fit in the token: refused
    rather than guessed."""
    if roles_from_groups and account.groups_overage:
        return Refusal.TOO_MANY_GROUPS
    if account.email is None:
        return Refusal.NO_EMAIL
    if account.email_verified is False:
        return Refusal.EMAIL_NOT_VERIFIED
    return None


def same_email(a: str | None, b: str | None) -> bool:
    """Whether two addresses are the same mailbox to the roster (case does not matter)."""
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def used_multi_factor(account: SchoolAccount, values: MultiFactorValues) -> bool:
    """Whether the provider says the person gave a second factor at this sign-in."""
    return bool(set(account.amr) & set(values.amr)) or (
        account.acr is not None and account.acr in values.acr
    )


def role_from_groups(current: Role, groups: Sequence[str] | None, mapping: GroupRoles) -> Role:
    """The role the provider's groups give: the highest of the DSL's, deputies' and senior
    leaders' groups the person is in, else staff. An administrator's role is set in safeshare
    alone (it reads no case content, and no group makes it). No `groups` claim is no groups
    (Entra ID leaves it out for someone in none)."""
    if current is Role.ADMIN:
        return current
    if groups is None:
        groups = ()
    held = set(groups)
    for role in GROUP_ROLES:
        if held & set(mapping.groups_of(role)):
            return role
    return Role.STAFF

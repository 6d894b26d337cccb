"""The rules of signing in with a school account: where the provider may be, which claims say a
second factor was used, which role the groups give, what a token must say of the person; and
the settings, which refuse a half-given or insecure provider."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from foundations.settings import Settings
from models.kernel.roles import Role
from models.sign_on import (
    GroupRoles,
    MultiFactorValues,
    Refusal,
    account_from_claims,
    account_refusal,
    issuer_problem,
    role_from_groups,
    used_multi_factor,
)

PAPE_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


@pytest.mark.parametrize(
    ("issuer", "fine"),
    [
        ("https://login.microsoftonline.com/0000-tenant/v2.0", True),
        ("https://accounts.google.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9000/realms/school", True),
        ("http://[::1]:9000", True),
        ("http://login.microsoftonline.com/0000-tenant/v2.0", False),
        ("http://10.0.0.5", False),
        ("ftp://accounts.google.com", False),
        ("accounts.google.com", False),
        ("https://accounts.google.com?x=1", False),
    ],
)
def test_the_issuer_is_https_unless_on_this_machine(issuer: str, fine: bool) -> None:
    assert (issuer_problem(issuer) is None) is fine


@pytest.mark.parametrize(
    ("amr", "acr", "mfa"),
    [
        (["pwd", "mfa"], None, True),  # Entra ID
        (["pwd", "otp"], None, True),
        (["hwk"], None, True),
        (["swk", "pwd"], None, True),
        (["pwd"], None, False),
        ([], None, False),
        (["pwd"], PAPE_MFA, True),
        (["pwd"], "1", False),
        (["MFA"], None, False),  # values are case-sensitive (RFC 8176)
    ],
)
def test_which_claims_say_a_second_factor_was_used(
    amr: list[str], acr: str | None, mfa: bool
) -> None:
    claims = {"sub": "s", "email": "a@b.example", "amr": amr, "acr": acr}
    assert used_multi_factor(account_from_claims(claims), MultiFactorValues()) is mfa


def test_the_settings_name_what_counts_as_a_second_factor() -> None:
    claims = account_from_claims({"sub": "s", "amr": ["pwd", "mfa"], "acr": "c2"})
    own = MultiFactorValues(amr=("fido",), acr=("c2",))
    assert used_multi_factor(claims, own)
    assert not used_multi_factor(claims, MultiFactorValues(amr=("fido",), acr=()))


GROUPS = GroupRoles.model_validate({"dsl": ["g-dsl"], "deputy-dsl": ["g-dep"], "slt": ["g-slt"]})


@pytest.mark.parametrize(
    ("current", "groups", "role"),
    [
        (Role.STAFF, ["g-dsl"], Role.DSL),
        (Role.STAFF, ["g-slt", "g-dsl"], Role.DSL),  # the highest
        (Role.STAFF, ["g-slt", "g-dep"], Role.DEPUTY_DSL),
        (Role.SLT, ["x", "g-slt"], Role.SLT),
        (Role.DSL, ["x"], Role.STAFF),
        (Role.DSL, None, Role.STAFF),  # no groups claim: in no group
        (Role.ADMIN, ["g-dsl"], Role.ADMIN),  # never set from groups
        (Role.ADMIN, [], Role.ADMIN),
        (Role.STAFF, ["G-DSL"], Role.STAFF),  # ids as the provider gives them
    ],
)
def test_the_role_the_groups_give(current: Role, groups: list[str] | None, role: Role) -> None:
    assert role_from_groups(current, groups, GROUPS) is role


def test_what_a_token_must_say_of_the_person() -> None:
    def refusal(groups_from: bool = False, **claims: object) -> Refusal | None:
        facts = account_from_claims({"sub": "s", **claims})
        return account_refusal(facts, roles_from_groups=groups_from)

    assert refusal(email="a@b.example") is None
    assert refusal(email="a@b.example", email_verified=True) is None
    assert refusal(email="a@b.example", email_verified="true") is None
    assert refusal(email="a@b.example", email_verified=False) is Refusal.EMAIL_NOT_VERIFIED
    assert refusal(email="a@b.example", email_verified="false") is Refusal.EMAIL_NOT_VERIFIED
    assert refusal() is Refusal.NO_EMAIL
    assert refusal(email="  ") is Refusal.NO_EMAIL
    overage = {"email": "a@b.example", "_claim_names": {"groups": "src1"}}
    assert refusal(True, **overage) is Refusal.TOO_MANY_GROUPS
    assert refusal(False, **overage) is None  # groups not used: nothing missing


def test_the_settings_refuse_a_half_given_or_insecure_provider() -> None:
    whole = {
        "oidc_issuer": "https://login.microsoftonline.com/0000-tenant/v2.0",
        "oidc_client_id": "app-id",
        "oidc_client_secret": "a-secret-value",
    }
    settings = Settings(**whole)
    assert settings.sign_on_enabled and settings.oidc_groups is None
    assert not Settings().sign_on_enabled
    for wrong, says in (
        ({"oidc_issuer": "http://login.microsoftonline.com/t/v2.0"}, "must be https"),
        ({"oidc_client_id": None}, "SAFESHARE_OIDC_CLIENT_ID"),
        ({"oidc_client_secret": "  "}, "is empty"),
        ({"oidc_scopes": "email profile"}, "must include openid"),
        ({"oidc_groups": {}}, "names no group"),
        ({"oidc_groups": {"dsl": ["g"], "head": ["h"]}}, "head"),
    ):
        with pytest.raises(ValidationError, match=says):
            Settings(**(whole | wrong))
    with pytest.raises(ValidationError, match="SAFESHARE_OIDC_ISSUER is not"):
        Settings(oidc_client_id="app-id")

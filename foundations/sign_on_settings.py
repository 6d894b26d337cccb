"""The settings of signing in with the school's own accounts (OpenID Connect), part of every
process's Settings (foundations/settings.py), read from the same SAFESHARE_ variables. All off
by default: without an issuer the front door signs in with passwords alone."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.sign_on import GroupRoles, MultiFactorValues, issuer_problem


class SignOnSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFESHARE_", extra="ignore")

    oidc_issuer: str | None = Field(
        default=None,
        description="The school's OpenID provider (its issuer: Entra ID "
        "https://login.microsoftonline.com/<tenant id>/v2.0, Google https://accounts.google.com);"
        " https unless on this machine. Unset: passwords only.",
    )
    oidc_client_id: str | None = Field(default=None, description="safeshare's client id there.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="safeshare's client secret there."
    )
    oidc_scopes: str = Field(
        default="openid email profile", description="The scopes asked of the provider."
    )
    oidc_groups: GroupRoles | None = Field(
        default=None,
        description="Which provider groups give the DSL, deputy and senior leader roles, as JSON "
        '{"dsl": [...], "deputy-dsl": [...], "slt": [...]}: set, each sign-in sets the role '
        "from the person's groups; unset, roles stay as set in safeshare.",
    )
    oidc_mfa_values: MultiFactorValues = Field(
        default_factory=MultiFactorValues,
        description='Which ID token values say a second factor was used, as JSON {"amr": '
        '[...], "acr": [...]}; then safeshare asks for no code of its own.',
    )

    @property
    def sign_on_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @model_validator(mode="after")
    def _whole_and_over_tls(self) -> SignOnSettings:
        if self.oidc_issuer is None:
            if self.oidc_client_id or self.oidc_client_secret or self.oidc_groups:
                raise ValueError(
                    "SAFESHARE_OIDC_CLIENT_ID, _CLIENT_SECRET or _GROUPS is set but "
                    "SAFESHARE_OIDC_ISSUER is not: set the provider's issuer too"
                )
            return self
        problem = issuer_problem(self.oidc_issuer)
        if problem:
            raise ValueError(problem)
        if not self.oidc_client_id or self.oidc_client_secret is None:
            raise ValueError(
                "SAFESHARE_OIDC_ISSUER is set: set SAFESHARE_OIDC_CLIENT_ID and "
                "SAFESHARE_OIDC_CLIENT_SECRET too (the application registered at the provider)"
            )
        if not self.oidc_client_secret.get_secret_value().strip():
            raise ValueError("SAFESHARE_OIDC_CLIENT_SECRET is empty")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("SAFESHARE_OIDC_SCOPES must include openid")
        if self.oidc_groups is not None and self.oidc_groups.is_empty():
            raise ValueError(
                "SAFESHARE_OIDC_GROUPS names no group: every sign-in would make its person "
                "plain staff (leave it unset to keep roles as set in safeshare)"
            )
        return self

from __future__ import annotations

from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.accounts import services
from apps.accounts.models import ApiToken, User


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`, checked against the stored hash (python manage.py issue_api_token USERNAME)."""

    keyword = "Token"

    def authenticate(self, request: HttpRequest) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        kind, _, key = header.partition(" ")
        if kind != self.keyword:
            return None
        token = services.api_token(key.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API token")
        return token.user, token

    def authenticate_header(self, request: HttpRequest) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}

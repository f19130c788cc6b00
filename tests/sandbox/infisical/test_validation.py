"""Validation failures render as zod issue lists, the way the service's 422s read."""

from __future__ import annotations

import pytest

from converge_sandbox.infisical.errors import InfisicalApiError
from converge_sandbox.infisical.routes_auth import UniversalAuthPatch
from converge_sandbox.infisical.routes_secrets import SecretCreate
from converge_sandbox.infisical.validation import parse_model
from tests.sandbox.infisical.helpers import Api


def _issues(model: type, data: dict[str, object]) -> list[dict[str, object]]:
    with pytest.raises(InfisicalApiError) as failure:
        parse_model(model, data)
    assert (failure.value.status, failure.value.error) == (422, "ValidationFailure")
    assert isinstance(failure.value.message, list)
    return failure.value.message


def test_bounds_render_as_too_small_and_too_big() -> None:
    issues = _issues(UniversalAuthPatch, {"accessTokenTTL": -1, "lockoutThreshold": 99})
    assert [(i["code"], i["path"], i["message"]) for i in issues] == [
        ("too_small", ["accessTokenTTL"], "Number must be greater than or equal to 0"),
        ("too_big", ["lockoutThreshold"], "Number must be less than or equal to 30"),
    ]


def test_no_coercion_of_strings_to_numbers() -> None:
    issues = _issues(UniversalAuthPatch, {"accessTokenMaxTTL": "5"})
    assert issues == [{"code": "invalid_type", "expected": "number", "received": "string",
                       "path": ["accessTokenMaxTTL"],
                       "message": "Expected number, received string"}]


def test_enum_value_lists_the_options() -> None:
    issues = _issues(SecretCreate, {"environment": "prod", "secretValue": "x", "type": "odd"})
    assert issues[0]["code"] == "invalid_enum_value"
    assert issues[0]["options"] == ["shared", "personal"]


def test_optional_field_of_the_wrong_type_is_invalid_type_at_the_field() -> None:
    issues = _issues(UniversalAuthPatch, {"accessTokenTrustedIps": 5})
    assert issues == [{"code": "invalid_type", "expected": "array", "received": "number",
                       "path": ["accessTokenTrustedIps"],
                       "message": "Expected array, received number"}]


def test_malformed_json_body_is_400(api: Api) -> None:
    response = api.post("/api/v1/identities", content=b"{not json",
                        token=api.token)
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"


def test_body_that_is_not_an_object_is_422(api: Api) -> None:
    response = api.post("/api/v1/auth/universal-auth/login", json=["a"])
    assert response.status_code == 422
    assert response.json()["message"][0]["expected"] == "object"

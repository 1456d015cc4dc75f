"""The body of ``PUT /api/v1/integrations/{id}/credentials``, one variant per registered provider.

Issue #14: the OpenAPI document must describe what the server does. A generic body (any
``instance_url``, any ``auth_mode``, any ``values``) was documented as valid and then answered 422
whenever it was not a valid configuration of the integration's provider. Here the body is an
``anyOf`` of one variant per provider, generated from the provider's ``config_model``: field types,
bounds, enums, the URL shape and declared patterns. Every field is optional (the PUT is a partial
update: what is left out keeps its stored value), so ``{}`` matches every variant and ``anyOf``
(not ``oneOf``) is the honest combinator; ``provider`` optionally names the variant meant.

The server validates the body with exactly these models, so the document and the server agree in
both directions (schema-invalid → 422, schema-valid → never 422):

- matches no variant → 422 ``validation-failed``, naming the fields (judged against the
  integration's own provider's variant);
- matches another provider's variant only → 409 ``provider-mismatch`` (valid on its own, but it
  conflicts with the target resource: the integration is of another provider);
- valid, but together with the stored values the configuration is still incomplete or
  inconsistent → 409 ``incomplete-configuration`` (``service.save_credentials``);
- the address is well formed but the operator's address policy refuses where it points (a
  metadata/link-local address, or a private one when private hosts are disallowed, judged on
  what the name resolves to now) → 403 ``address-refused``: DNS is no part of a request schema.

``http://`` refused by default *is* stated by the schema: the URL pattern is built from the
operator's ``allow_insecure_provider_urls``, so the document shows which schemes this server takes.

The UI form and the CLI build ``CredentialsIn`` and call the service directly: they keep the
lenient paths (a scheme-less or console URL normalised, strings coerced to numbers).
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from rmmbridge.errors import ProviderMismatch, ValidationFailed
from rmmbridge.kit.text import NO_NUL
from rmmbridge.providers.base import Provider
from rmmbridge.providers.registry import ProviderRegistry
from rmmbridge.state import AppState

from .schemas import CredentialsIn

PATH = "/api/v1/integrations/{integration_id}/credentials"
ROW_FIELDS = ("instance_url", "auth_mode")  # top-level in the body, columns of the row

# The URL shape every provider's normaliser accepts (``kit.urls.parse_base_url``): an optional
# scheme (https:// is assumed), a DNS name whose last label starts with a letter (so no name is
# read as a numeric IPv4 form such as "127.1" or "0x7f.1"), a dotted-quad IPv4 or a bracketed
# IPv6 literal, an optional port 1-65535, path, query and fragment (pasted browser URLs; the
# providers keep what they need). The host's *policy* (metadata, private) is not in the pattern.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LAST_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_H16 = r"[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    (
        rf"(?:{_H16}:){{7}}{_H16}",
        rf"(?:{_H16}:){{1,7}}:",
        rf"(?:{_H16}:){{1,6}}:{_H16}",
        rf"(?:{_H16}:){{1,5}}(?::{_H16}){{1,2}}",
        rf"(?:{_H16}:){{1,4}}(?::{_H16}){{1,3}}",
        rf"(?:{_H16}:){{1,3}}(?::{_H16}){{1,4}}",
        rf"(?:{_H16}:){{1,2}}(?::{_H16}){{1,5}}",
        rf"{_H16}:(?::{_H16}){{1,6}}",
        rf":(?:(?::{_H16}){{1,7}}|:)",
    )
)
_HOST = rf"(?:(?:{_LABEL}\.)*{_LAST_LABEL}|{_OCTET}(?:\.{_OCTET}){{3}}|\[(?:{_IPV6})\])"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]"
URL_MAX_LENGTH = 500


def url_pattern(allow_insecure: bool) -> str:
    scheme = "https?" if allow_insecure else "https"
    return rf"^(?:{scheme}://)?{_HOST}(?::{_PORT})?(?:/{_CHARS}*)?(?:\?[?/A-Za-z0-9._~!$&'()*+,;=:@%-]*)?(?:#{_CHARS}*)?$"


def _error_message(error: Any) -> str:
    if error.get("type") == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == NO_NUL:
        return "NUL characters (U+0000) are not allowed"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _url_reason(cls: type[Provider], value: str, allow_insecure: bool) -> str:
    """Why the URL does not fit: the provider's own words when its normaliser refuses it too."""
    try:
        cls.config_model.model_validate(
            {"instance_url": value}, context={"allow_insecure_provider_urls": allow_insecure}
        )
    except ValidationError as exc:
        for error in exc.errors():
            if tuple(error["loc"]) == ("instance_url",):
                return _error_message(error)
    scheme = "http:// or https://" if allow_insecure else "https://"
    return (
        f"expected {scheme} (or no scheme), a host name or IP address, an optional port and path; "
        "see the pattern in the API document"
    )


def _explained_url(cls: type[Provider], allow_insecure: bool) -> WrapValidator:
    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if isinstance(value, str) and all(e["type"] == "string_pattern_mismatch" for e in exc.errors()):
                raise PydanticCustomError(
                    "url_invalid", "{reason}", {"reason": _url_reason(cls, value, allow_insecure)}
                ) from None
            raise

    return WrapValidator(validate)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """``(T, nullable)`` for ``T`` and ``T | None``."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        return annotation, True
    return annotation, False


def _integral(value: Any) -> Any:
    """JSON Schema's ``integer`` includes ``87.0`` (a number without fraction); strings do not pass."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _value_type(info: FieldInfo) -> Any | None:
    """The request type of one ``values`` entry, or ``None`` when the body cannot set it."""
    base, _ = _base_type(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    declared = extra.get("pattern")  # a provider may declare the shape its validator enforces
    meta = list(info.metadata)
    if base is SecretStr or base is str:
        # "" and null mean "keep the stored value" (service.save_credentials), so "" is valid too.
        pattern = f"^$|{declared}" if declared else NO_NUL
        constrained = Annotated[str, Field(strict=True, pattern=pattern), *meta]
        if base is SecretStr:
            constrained = Annotated[constrained, Field(json_schema_extra={"writeOnly": True})]
        return constrained | None
    if base is bool:
        return Annotated[bool, Field(strict=True)] | None
    if base is int:
        return Annotated[int, Field(strict=True), *meta, BeforeValidator(_integral)] | None
    if base is float:
        return Annotated[float, Field(strict=True, allow_inf_nan=False), *meta] | None
    if typing.get_origin(base) is Literal:
        return base | None
    return None  # lists and maps are settings (PATCH /integrations/{id}), not credentials


def _variant(cls: type[Provider], allow_insecure: bool) -> type[BaseModel]:
    model = cls.config_model
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in ROW_FIELDS:
            continue
        kind = _value_type(info)
        if kind is not None:
            values[name] = (kind, Field(default=None, description=info.description))
    values_model = create_model(  # type: ignore[call-overload]
        f"CredentialValues_{cls.key}",
        __config__=ConfigDict(extra="forbid", title=f"{cls.display_name} credential values"),
        **values,
    )
    fields: dict[str, Any] = {
        "provider": (
            Literal[cls.key] | None,  # type: ignore[valid-type]
            Field(default=None, description="Optional: the provider this body is for."),
        ),
    }
    if "instance_url" in model.model_fields:
        url = Annotated[
            str,
            Field(strict=True, max_length=URL_MAX_LENGTH, pattern=url_pattern(allow_insecure)),
            _explained_url(cls, allow_insecure),
        ]
        described = model.model_fields["instance_url"].description
        fields["instance_url"] = (url | None, Field(default=None, description=described))
    if "auth_mode" in model.model_fields:
        fields["auth_mode"] = (
            Literal[tuple(cls.auth_modes)] | None,  # type: ignore[valid-type]
            Field(default=None, description="Switching mode forgets the other mode's secrets not given here."),
        )
    fields["values"] = (
        values_model,
        Field(default_factory=values_model, description="Settings and secrets; left out or null: keep stored."),
    )
    return create_model(  # type: ignore[no-any-return, call-overload]
        f"Credentials_{cls.key}",
        __config__=ConfigDict(extra="forbid", title=f"{cls.display_name} credentials"),
        **fields,
    )


@functools.lru_cache(maxsize=64)
def variants(registry: ProviderRegistry, allow_insecure: bool) -> dict[str, type[BaseModel]]:
    return {cls.key: _variant(cls, allow_insecure) for cls in registry}


def body_schema(registry: ProviderRegistry, allow_insecure: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(request body schema, component schemas it references)`` for the OpenAPI document."""
    models = tuple(variants(registry, allow_insecure).values())
    adapter: TypeAdapter[Any] = TypeAdapter(Union[models] if len(models) > 1 else models[0])  # type: ignore[valid-type]  # noqa: UP007
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    if "$ref" not in schema and "anyOf" not in schema:  # one provider: the model itself, by reference
        name = models[0].__name__
        components[name] = schema
        schema = {"$ref": f"#/components/schemas/{name}"}
    return schema, components


def _failures(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": _error_message(e), "type": e["type"]}
        for e in exc.errors()
    ]


def parse_body(state: AppState, provider: str, body: Any) -> CredentialsIn:
    """The body as ``CredentialsIn`` for ``provider``'s integration; 422 or 409 as documented."""
    allow_insecure = state.settings.allow_insecure_provider_urls
    known = variants(state.registry, allow_insecure)
    own = known[state.registry.get(provider).key]
    try:
        parsed = own.model_validate(body)
    except ValidationError as exc:
        errors = _failures(exc)
        fits = [key for key, model in known.items() if key != provider and _accepts(model, body)]
        if fits:
            names = ", ".join(state.registry.get(k).display_name for k in fits)
            raise ProviderMismatch(
                f"this is a valid {names} configuration, but the integration is "
                f"{state.registry.get(provider).display_name}: "
                + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                errors=errors,
            ) from None
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors) from None
    # Validated by a stricter model than CredentialsIn's (floats included): constructed as is.
    return CredentialsIn.model_construct(
        instance_url=getattr(parsed, "instance_url", None),
        auth_mode=getattr(parsed, "auth_mode", None),
        values=parsed.values.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
    )


def _accepts(model: type[BaseModel], body: Any) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


def install_document(app: Any) -> None:
    """Publish the per-provider body in the app's OpenAPI document (the registry is per app)."""
    base = app.openapi
    done = False

    def openapi() -> dict[str, Any]:
        nonlocal done
        document: dict[str, Any] = base()
        if not done:
            state: AppState = app.state.rmm
            body, components = body_schema(state.registry, state.settings.allow_insecure_provider_urls)
            operation = document.get("paths", {}).get(PATH, {}).get("put")
            if operation is not None:
                content = operation.setdefault("requestBody", {"required": True}).setdefault("content", {})
                content["application/json"] = {"schema": body}
                document.setdefault("components", {}).setdefault("schemas", {}).update(components)
            done = True
        return document

    app.openapi = openapi

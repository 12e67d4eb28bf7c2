"""Domain errors raised by the data layer; the API maps each to an HTTP problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict


class AgentfoldError(Exception):
    """Base of every error agentfold raises on purpose."""

    code = "error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return self.message


class NotFound(AgentfoldError):
    """The addressed resource does not exist in the given scope."""

    code = "not_found"


class Conflict(AgentfoldError):
    """The write collides with an existing row (duplicate key or unique value)."""

    code = "conflict"


class RunFinished(Conflict):
    """The run has already finished (or was failed by the stuck-run sweep)."""

    code = "run_finished"


class InsufficientCredits(Conflict):
    """A principal with no credit grant at all cannot consume (nothing can hold debt)."""

    code = "insufficient_credits"


class InvalidReference(AgentfoldError):
    """The write names a parent or related resource that does not exist."""

    code = "invalid_reference"

    def __init__(self, message: str, **context: Any) -> None:
        # ``errors`` names the failing fields when known (entries as ``ValidationFailed``
        # has them); taken from the context, not a parameter, so that callers passing a
        # context mapping through keep type-checking.
        errors: Sequence[FieldError] = context.pop("errors", ())
        super().__init__(message, **context)
        self.errors: list[FieldError] = list(errors)


class FieldError(TypedDict):
    """One failing field: ``{"field": "a.b", "message": "...", "type": "..."}``.

    ``field`` is the dotted path of the value ("" for the input as a whole), ``type`` a
    stable machine-readable code (pydantic's error types, ``nul_character``...).
    """

    field: str
    message: str
    type: str


# What an entry given without a ``type`` gets (see ``ValidationFailed``).
UNTYPED = "invalid"


def field_error(field: str, message: str, type: str) -> FieldError:
    """One entry of ``ValidationFailed.errors``; every key is required."""
    return {"field": field, "message": message, "type": type}


def _complete(entry: Mapping[str, Any], default_message: str) -> FieldError:
    return field_error(
        str(entry.get("field", "")),
        str(entry.get("message") or default_message),
        str(entry.get("type") or UNTYPED),
    )


class ValidationFailed(AgentfoldError):
    """Input did not pass validation; ``errors`` lists each failing field.

    Build entries with ``field_error``. Every entry ends up with ``field``, ``message``
    and ``type``: an entry given as a plain mapping without one of them gets ``""``,
    the error's message or ``"invalid"`` respectively.
    """

    code = "validation_failed"

    def __init__(
        self,
        message: str,
        errors: Sequence[FieldError | Mapping[str, Any]] = (),
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.errors: list[FieldError] = [_complete(e, message) for e in errors]


class InvalidId(ValidationFailed, ValueError):
    """A resource id is malformed (also a ``ValueError``, so field validators report it)."""

    code = "invalid_id"


class InvalidRef(ValidationFailed, ValueError):
    """A ref is malformed, names nothing that can be resolved, or cannot be written."""

    code = "invalid_ref"


class ReadOnlyRef(InvalidRef):
    """A write names a tag, a commit or a ref that is not a branch: only branches move."""

    code = "read_only_ref"


class MasterKeyError(AgentfoldError):
    """A secret cannot be sealed or opened with the configured master keys.

    ``context["key_id"]`` names the master key concerned (``None`` when no key ring is
    configured at all). Never answered by a plaintext fallback.
    """

    code = "master_key_error"


class MasterKeyMissing(MasterKeyError):
    """The master key a secret is wrapped under is not in the key ring (or there is no
    key ring to seal a new secret with)."""

    code = "master_key_missing"


class SecretUndecryptable(MasterKeyError):
    """The key ring has the secret's master key, but the secret does not open with it:
    the key under that id is not the one it was sealed with, or the record was altered
    or copied from another tenant's, project's or secret's row."""

    code = "secret_undecryptable"


class CredentialStoreError(AgentfoldError):
    """A credential store cannot do what was asked (not configured, or read-only)."""

    code = "credential_store_error"


class CredentialStoreUnavailable(CredentialStoreError):
    """The credential store a reference names is not configured in this process."""

    code = "credential_store_unavailable"


class ReadOnlyCredentialStore(CredentialStoreError):
    """The credential store only reads secrets (environment variables)."""

    code = "credential_store_read_only"


class ConfigurationError(AgentfoldError):
    """Settings are missing or malformed (for example an unsupported database URL)."""

    code = "configuration_error"

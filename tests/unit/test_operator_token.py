"""The operator token's check: an API key is never taken for it, whatever its shape."""

from __future__ import annotations

import pytest

from agentfold_api.operator_token import OperatorToken
from agentfold_core.secrets.api_keys import generate_key

KEY = generate_key().plaintext


def test_a_generated_style_token_matches_itself_only() -> None:
    token = OperatorToken.of("afop_secret-operator-token")
    assert not token.key_shaped
    assert token.matches("afop_secret-operator-token")
    assert not token.matches("afop_secret-operator-tokeN")
    assert not token.matches(KEY)


@pytest.mark.parametrize(
    "value", [KEY, "af_not-quite-a-key", "af_"], ids=["key", "prefixed", "prefix"]
)
def test_a_token_shaped_like_an_api_key_still_matches(value: str) -> None:
    # The shortcut for API keys must not lock out an operator whose token starts
    # like one.
    token = OperatorToken.of(value)
    assert token.key_shaped
    assert token.matches(value)
    assert not token.matches(generate_key().plaintext)

"""Validation models generated from the table definitions, and input validation."""

from agentfold_core.validation.generate import ModelSet, generate_models
from agentfold_core.validation.input import Data, validate_input, validation_failed

__all__ = ["Data", "ModelSet", "generate_models", "validate_input", "validation_failed"]

"""Validation models generated from the table definitions."""

from agentfold_core.validation.generate import ModelSet, generate_models

__all__ = ["ModelSet", "generate_models"]

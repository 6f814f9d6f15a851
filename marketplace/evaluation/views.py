"""Indicator templates, evaluation rounds and their reports."""

from marketplace.evaluation.blueprint import bp  # noqa: F401

"""The public satisfaction survey and its results."""

from marketplace.evaluation.blueprint import bp  # noqa: F401

"""Delivery pages: service records, progress, reports, milestones, final acceptance, payments."""

from marketplace.contracts.blueprint import bp  # noqa: F401

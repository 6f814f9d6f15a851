"""Contract pages: list, draft, detail, signatures, variations, termination, documents."""

from marketplace.contracts import policy as _policy  # noqa: F401 - registers the contract.* rules
from marketplace.contracts.blueprint import bp  # noqa: F401

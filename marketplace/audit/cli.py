"""``flask export contracts``."""

from marketplace.core.export_cli import export_cli  # noqa: F401

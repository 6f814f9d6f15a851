"""The ``flask export`` command group. Its commands live with their domains (``audit.cli`` for contract
exports, ``ocds.cli`` for open data) and are imported by ``marketplace.cli.register``."""

from flask.cli import AppGroup

export_cli = AppGroup("export", help="Export contract histories and open data.")

"""Delivery of a project-based contract: service records and progress (``records``), progress
reports (``reports``), milestones (``milestones``), final acceptance (IR 45, ``acceptance``) and the
payments ledger (``payments``).

Each verb checks its rule, changes rows, writes an audit event and queues notifications; the caller
commits. Free text is screened for resident identity numbers (``contracts.personal_data``).
"""

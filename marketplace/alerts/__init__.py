"""Saved searches with alerts: an organization's users keep the filters of the tender search, and new
matching tenders come to their inbox and in a daily email digest (docs: this package's modules)."""

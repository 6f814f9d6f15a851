"""Red flags for auditors (issue 22): corruption-risk indicators computed from our own procurement
data, stored per process (tender) with the figures that raised them (docs/red-flags.md)."""

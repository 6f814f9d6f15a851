"""Compile releases into a record's compiledRelease, following the OCDS 1.1 merge rules we rely on.

- Releases are applied oldest first (by ``date``; ties keep their given order).
- Objects merge field by field; a field a release omits keeps its earlier value; ``null`` removes it.
- Arrays of objects that all carry an ``id`` merge item by item on that id (new ids are appended,
  earlier items a release leaves out are kept); any other array is replaced whole.
- The compiled release gets ``tag: ["compiled"]``, the latest date and an id of its own.
"""

from __future__ import annotations

import copy
from typing import Any

_RELEASE_ONLY = ("id", "date", "tag")


def _identified(items: list) -> bool:
    return bool(items) and all(isinstance(i, dict) and "id" in i for i in items)


def merge_value(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, item in new.items():
            if item is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge_value(merged[key], item)
            else:
                merged[key] = merge_value(None, item)
        return merged
    if isinstance(new, list) and isinstance(old, list) and _identified(new) and _identified(old):
        merged = [copy.deepcopy(i) for i in old]
        position = {str(item["id"]): n for n, item in enumerate(merged)}
        for item in new:
            key = str(item["id"])
            if key in position:
                merged[position[key]] = merge_value(merged[position[key]], item)
            else:
                position[key] = len(merged)
                merged.append(merge_value(None, item))
        return merged
    if isinstance(new, dict):
        return merge_value({}, new)  # drops nulls inside a new object
    return copy.deepcopy(new)


def compile_releases(releases: list[dict]) -> dict:
    """The compiled release of one contracting process (all ``releases`` share its ocid)."""
    if not releases:
        raise ValueError("nothing to compile")
    ordered = sorted(releases, key=lambda r: r["date"])
    compiled: dict = {}
    for release in ordered:
        compiled = merge_value(compiled, {k: v for k, v in release.items() if k not in _RELEASE_ONLY})
    latest = ordered[-1]
    return {
        "ocid": latest["ocid"],
        "id": f"{latest['ocid']}-compiled",
        "date": latest["date"],
        "tag": ["compiled"],
        **{k: v for k, v in compiled.items() if k != "ocid"},
    }

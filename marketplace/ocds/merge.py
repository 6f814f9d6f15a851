"""Compile a contracting process's releases into its record's compiledRelease, with ``ocdsmerge``.

``ocdsmerge`` applies the OCDS 1.1 merge rules as the release schema defines them: releases oldest
first (by ``date``; ties keep their given order); objects merged field by field (an omitted field
keeps its earlier value, ``null`` removes it); arrays of objects with an ``id`` merged item by item;
other arrays replaced whole; ``id``, ``date`` and ``tag`` of each release omitted. The schema is the
packaged copy in ``ocds/schema/`` (never fetched: the app runs without the internet).

The compiled release gets ``tag: ["compiled"]``, the latest release's date and the id
``{ocid}-compiled``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocdsmerge import Merger

RELEASE_SCHEMA = files("marketplace.ocds").joinpath("schema", "release-schema.json")


@cache
def _merger() -> Merger:
    """One merger per process: the merge rules are read from the schema once. ``ocdsmerge`` is imported
    here, not with the module: it brings ``jsonref``, ``requests`` and ``urllib3``, a third of a second
    and several MB at every start of the app (every ``flask`` command, every worker) for the few
    requests that compile a record."""
    from ocdsmerge import Merger

    schema = json.loads(RELEASE_SCHEMA.read_text(encoding="utf-8"))
    return Merger(schema=schema)


def compile_releases(releases: list[dict]) -> dict:
    """The compiled release of one contracting process (all ``releases`` share its ocid)."""
    if not releases:
        raise ValueError("nothing to compile")
    merged = _merger().create_compiled_release(releases)
    head = {"ocid": merged["ocid"], "id": f"{merged['ocid']}-compiled", "date": merged["date"]}
    rest = {k: v for k, v in merged.items() if k not in ("ocid", "id", "date", "tag")}
    return {**head, "tag": ["compiled"], **rest}

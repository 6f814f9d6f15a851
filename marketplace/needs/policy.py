"""Who may do what with grids and needs. A grid worker: only its own grids. An officer: the needs of
its agency's area (the agency's district and everything under it). Auditors and admins see all."""

from __future__ import annotations

from marketplace.core.permissions import ADMIN, AUDITOR, GRID_WORKER, OFFICER, _role
from marketplace.needs.models import Grid, Need


def _grid_of(obj) -> Grid | None:
    if isinstance(obj, Need):
        return obj.grid
    return obj if isinstance(obj, Grid) else None


def works_in(user, grid: Grid | None) -> bool:
    return grid is not None and _role(user, GRID_WORKER) and any(w.id == user.id for w in grid.workers)


def area_codes_of(grid: Grid) -> set[str]:
    """The codes a grid lies in: its community, the community's street, and on up."""
    codes, node = set(), grid.community
    while node is not None:
        codes.add(node.code)
        node = node.parent
    return codes


def in_area(user, grid: Grid | None) -> bool:
    return (
        grid is not None
        and _role(user, OFFICER)
        and user.agency is not None
        and user.agency.district_code in area_codes_of(grid)
    )


def _record(user, obj=None) -> bool:
    """Record a need (in a grid of one's own; without an object: whether one has a grid at all)."""
    if obj is None:
        return _role(user, GRID_WORKER)
    return works_in(user, _grid_of(obj))


def _dispatch(user, obj=None) -> bool:
    if obj is None:
        return _role(user, OFFICER) and user.agency is not None
    return in_area(user, _grid_of(obj))


def _view(user, obj=None) -> bool:
    if _role(user, AUDITOR, ADMIN):
        return True
    if obj is None:
        return _role(user, GRID_WORKER, OFFICER)
    return works_in(user, _grid_of(obj)) or in_area(user, _grid_of(obj))


def _report(user, obj=None) -> bool:
    """The residents' public form: open to everyone but auditors (who see everything and change nothing)."""
    return not _role(user, AUDITOR)


def _manage_grids(user, obj=None) -> bool:
    return _role(user, ADMIN)


RULES = {
    "needs.record": _record,
    "needs.dispatch": _dispatch,
    "needs.view": _view,
    "needs.manage_grids": _manage_grids,
    "needs.report": _report,
}

"""Permanent redirects from the URLs of the first release, so bookmarks and printed links keep working.

The committee's pages moved from ``/award/...`` and ``/evaluations/<seat>/...`` to ``/committee/...``;
performance evaluation moved from ``/evaluation(s)/...`` to ``/performance/...``. 308 keeps the method,
so an old form posting to an old URL still reaches its handler (which then checks CSRF as usual).
"""

from __future__ import annotations

from flask import Blueprint, redirect, request

bp = Blueprint("legacy", __name__)

_METHODS = ["GET", "HEAD", "POST"]

# old rule → new path (a format string over the rule's arguments)
_MOVED = {
    "/award/<int:tender_id>": "/committee/{tender_id}",
    "/award/<int:tender_id>/committee": "/committee/{tender_id}/members",
    "/award/<int:tender_id>/<path:rest>": "/committee/{tender_id}/{rest}",
    "/evaluations": "/committee/seats",
    "/evaluations/<int:member_id>/declare": "/committee/seats/{member_id}/declare",
    "/evaluations/<int:member_id>/score": "/committee/seats/{member_id}/score",
    "/evaluations/<int:member_id>/sign-off": "/committee/seats/{member_id}/sign-off",
    "/evaluations/mine": "/performance/mine",
    "/evaluations/<int:evaluation_id>": "/performance/{evaluation_id}",
    "/evaluations/<int:evaluation_id>/report": "/performance/{evaluation_id}/report",
    "/evaluations/<int:evaluation_id>/independence": "/performance/{evaluation_id}/independence",
    "/evaluation/<path:rest>": "/performance/{rest}",
    "/contracts/<int:contract_id>/evaluations": "/contracts/{contract_id}/performance",
}


def _redirect_to(target: str):
    def view(**kwargs):
        path = target.format(**kwargs)
        query = request.query_string.decode("latin-1")
        return redirect(f"{path}?{query}" if query else path, code=308)

    return view


for _number, (_rule, _target) in enumerate(_MOVED.items()):
    bp.add_url_rule(_rule, f"moved_{_number}", _redirect_to(_target), methods=_METHODS)

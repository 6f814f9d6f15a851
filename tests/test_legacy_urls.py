"""The first release's URLs redirect permanently (308, method kept) to where the pages live now."""

import pytest

CASES = [
    ("/award/7", "/committee/7"),
    ("/award/7/committee", "/committee/7/members"),
    ("/award/7/report", "/committee/7/report"),
    ("/award/7/bids/AbCdEfGhIjKlMnOpQrStUv/qualify", "/committee/7/bids/AbCdEfGhIjKlMnOpQrStUv/qualify"),
    ("/evaluations", "/committee/seats"),
    ("/evaluations?page=2", "/committee/seats?page=2"),
    ("/evaluations/5/declare", "/committee/seats/5/declare"),
    ("/evaluations/5/score", "/committee/seats/5/score"),
    ("/evaluations/5/sign-off", "/committee/seats/5/sign-off"),
    ("/evaluations/mine", "/performance/mine"),
    ("/evaluations/9", "/performance/9"),
    ("/evaluations/9/report", "/performance/9/report"),
    ("/evaluation/templates", "/performance/templates"),
    ("/evaluation/templates/4/edit", "/performance/templates/4/edit"),
    ("/evaluation/review-list", "/performance/review-list"),
    ("/contracts/2/evaluations", "/contracts/2/performance"),
]


@pytest.mark.parametrize(("old", "new"), CASES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_old_url_redirects(client, old, new, method):
    r = client.open(old, method=method)
    assert r.status_code == 308
    assert r.headers["Location"] == new


def test_redirect_targets_exist(app):
    from werkzeug.exceptions import MethodNotAllowed

    adapter = app.url_map.bind("localhost")
    for _old, new in CASES:
        try:
            endpoint, _args = adapter.match(new.split("?")[0], method="GET")
        except MethodNotAllowed:
            endpoint, _args = adapter.match(new.split("?")[0], method="POST")
        assert not endpoint.startswith("legacy."), new

"""The marketplace as gunicorn serves it, plus the benches' reference route (the bench's only).

    gunicorn -c deploy/gunicorn.conf.py 'bench.wsgi:create_app()'

``GET /bench/hello`` answers "ok" through the same application (its request hooks, session and
locale selection included), so a page's throughput can be put side by side with the cheapest request
the same server can answer.
"""

from __future__ import annotations


def create_app():
    from marketplace import create_app as create_marketplace

    app = create_marketplace()
    app.add_url_rule("/bench/hello", "bench_hello", lambda: "ok")
    return app

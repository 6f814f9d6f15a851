"""gunicorn settings for the web processes.

    gunicorn -c deploy/gunicorn.conf.py 'marketplace:create_app()'


Threaded workers (gthread): a burst of submissions in the last second before a deadline is taken by
the threads of each worker at once instead of queueing in the listen backlog behind a few sync
workers (docs/bidding.md, ``make bench-rush``). Every setting can be overridden from the environment.
The scheduler never runs in a web worker: it is its own process (``flask jobs run``).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "marketplace.serving.ArrivalStampingWorker"  # gthread, noting arrivals
# Threads per worker. Each holds at most one database connection at a time: keep
# workers × threads within the database's connection budget (DB_POOL_SIZE + DB_MAX_OVERFLOW per worker).
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then (slow leaks in third-party code), staggered so they never all restart.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))
# No preload: each worker builds its own app (and database pool) after the fork.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# Behind our reverse proxy only (deploy/nginx); the proxy's hops are set by TRUSTED_PROXIES in the app.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    os.environ.setdefault("MARKETPLACE_PROCESS", "web")

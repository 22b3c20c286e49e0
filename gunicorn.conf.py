"""Production settings for gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every setting can be overridden by GUNICORN_* style environment variables of gunicorn itself
or on the command line; the defaults here are what docs/operating.md describes.
"""

import os

# Behind a TLS reverse proxy on the same machine (see docs/operating.md).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests are CPU-bound Python and a worker uses one core at a time (the GIL): cores + 1
# workers keep 2 cores busy while one waits; 4 threads each overlap database and client
# waits. bench/load.py: 50 people at once used 0.85-1 of 2 cores, no error (other shapes not
# compared: the test machine was shared; see docs/operating.md "Sizing").
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# No access log: request lines carry paths with record ids and client addresses, and this
# app's users can be endangered by either. Errors still go to stderr, through the app's log
# filter (app/logprivacy.py), which scrubs addresses, ids and tokens from gunicorn's lines too.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")
# The workers' heartbeat files in RAM: a slow disk must not make gunicorn kill workers.
SHM = "/dev/shm"  # noqa: S108 - only gunicorn's own heartbeat files go there
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

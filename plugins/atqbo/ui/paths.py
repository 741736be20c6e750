"""Where the error-log view lives: the mount point of its app in the Airflow API server and its page."""

URL_PREFIX = "/atqbo"
PAGE_PATH = "/errors"  # the page; the JSON API is under /api

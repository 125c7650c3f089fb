"""The HTTP side: the JSON API under ``/api/v1`` (FastAPI, served by uvicorn), ``/healthz`` and
``/metrics``, on the same core as the mail side."""

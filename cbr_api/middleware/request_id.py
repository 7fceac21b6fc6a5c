"""Gives every request an id, returned as ``X-Request-Id`` on every response."""
from __future__ import annotations

import uuid

from flask import Flask, g


def install(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        g.request_id = uuid.uuid4().hex

    @app.after_request
    def _return_request_id(response):
        response.headers['X-Request-Id'] = g.get('request_id', '')
        return response

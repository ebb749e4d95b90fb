"""The server: Convex's HTTP API and sync protocol over Tornado (``app.serve()``)."""

from nbreactive.server.server import Server

__all__ = ["Server"]

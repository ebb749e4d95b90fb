"""The server's safe defaults: which Host headers and Origins are accepted, and the
admin key.

- **Host** (DNS rebinding): a server bound to a loopback address answers only
  requests addressed to it by a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``
  with its port), by the name it was started with, or by a name in ``allowed_hosts``
  (e.g. a reverse proxy's). A server bound elsewhere accepts those same names when
  ``allowed_hosts`` is given, or any host when it is not.
- **Origin** (browsers): requests and WebSocket upgrades that carry an ``Origin`` are
  accepted only from allowed origins: pages served from a loopback address by default,
  plus ``allowed_origins`` (exact origins like ``"https://app.example.com"``, or ``"*"``).
  Clients that are not browsers (node, Python) send no Origin and are not affected.
- **Admin key**: ``Authorization: Convex <key>`` makes a request an admin's, which may
  call internal functions. The key is random per server unless one is given.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import urllib.parse
from collections.abc import Iterable

__all__ = ["Policy", "is_loopback", "new_admin_key"]

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


def new_admin_key() -> str:
    return "nbr-admin-" + secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> tuple[str, str]:
    """``"name:port"`` / ``"[v6]:port"`` → (lowercased name, port text or "")."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return f"[{name}]", rest[1:] if rest.startswith(":") else ""
    name, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        return value, ""
    return name, port


class Policy:
    """What one server accepts (see the module docstring)."""

    def __init__(self, host: str, port: int, *, allowed_hosts: Iterable[str] | None = None,
                 allowed_origins: Iterable[str] | None = None, admin_key: str | None = None) -> None:
        self.port = port
        self.loopback = is_loopback(host)
        names = {host.lower(), f"[{host.lower()}]"} if ":" in host else {host.lower()}
        names.update(_LOOPBACK_NAMES)  # never a rebinding attack's name
        self.host_names = names
        self.allowed_hosts = {h.lower() for h in allowed_hosts} if allowed_hosts is not None else None
        origins = set(allowed_origins or ())
        bad = [o for o in origins if o != "*" and not o.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"allowed_origins are origins like 'https://app.example.com' or '*', got {bad}")
        self.any_origin = "*" in origins
        self.origins = {o.rstrip("/").lower() for o in origins if o != "*"}
        if admin_key is not None and (not isinstance(admin_key, str) or len(admin_key) < 16
                                      or ":" in admin_key or admin_key != admin_key.strip()):
            raise ValueError("admin_key must be a string of at least 16 characters, without ':' "
                             "or surrounding spaces")
        self.admin_key = admin_key or new_admin_key()

    def host_ok(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name, port = _split_host(host_header)
        if self.allowed_hosts is not None and (host_header.lower() in self.allowed_hosts
                                               or name in self.allowed_hosts):
            return True
        if not self.loopback and self.allowed_hosts is None:
            return True
        # the server's own names (its URL) always work
        return name in self.host_names and (port in ("", str(self.port)))

    def host_refusal(self, host_header: str | None) -> str:
        """Why ``host_header`` is refused, naming the hosts that are accepted."""
        names = sorted(n for n in self.host_names if not (":" in n and not n.startswith("[")))
        accepted = [f"{n}:{self.port}" for n in names] + sorted(self.allowed_hosts or ())
        return (f"requests to this server must address it as {', '.join(accepted)}, not "
                f"{host_header!r} (a guard against DNS rebinding; more names with allowed_hosts= or --allow-host)")

    def origin_ok(self, origin: str | None) -> bool:
        if origin is None:
            return True  # not a browser
        origin = origin.rstrip("/").lower()
        if self.any_origin or origin in self.origins:
            return True
        parts = urllib.parse.urlsplit(origin)
        return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")

    def is_admin(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Convex "):
            return False
        key = authorization[len("Convex "):].split(":", 1)[0].strip()
        return hmac.compare_digest(key.encode(), self.admin_key.encode())

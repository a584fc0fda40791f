"""A small JSON-over-HTTP client shared by the ZGW adapters.

Why not call aiohttp directly in each adapter: both need the same rules, and getting them
wrong leaks personal data or hangs a pop. Every request has a deadline; errors become
typed exceptions (401/403 -> :class:`SourceAuthError`, 404 -> ``None``); paging follows
``next`` links only on the configured origin (a hostile or misconfigured API cannot point
us, with our credentials, at another host); and nothing here logs a URL or body, since
either may hold a BSN.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp


class SourceError(Exception):
    """A zaak source failed (unreachable, 5xx, malformed answer).

    ``status`` is the HTTP status when the source answered with an error, else ``None``:
    callers decide on it (a 400 can mean "this server lacks that filter")."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SourceAuthError(SourceError):
    """The source refused our credentials (401/403): a configuration problem."""


class SourceTimeout(SourceError):
    """The source did not answer within the deadline."""


class JsonClient:
    def __init__(self, base_url: str, timeout: float, max_pages: int = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(self.base_url)
        self.timeout = timeout
        self.max_pages = max_pages
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=50))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def request(self, method: str, url: str, headers: Mapping[str, str], *,
                      params: Mapping[str, str] | None = None,
                      body: Any = None) -> dict[str, Any] | None:
        """One request; ``None`` on 404. The URL must be on the configured origin."""
        if _origin(url) != self.origin:
            raise SourceError("refused a URL outside the configured API")
        try:
            async with self._client().request(method, url, headers=dict(headers),
                                              params=params, json=body) as resp:
                if resp.status == 404:
                    return None
                if resp.status in (401, 403):
                    raise SourceAuthError(f"{resp.status} from {self.origin}", resp.status)
                if resp.status >= 400:
                    raise SourceError(f"HTTP {resp.status} from {self.origin}", resp.status)
                data = await resp.json(content_type=None)
        except TimeoutError as exc:
            raise SourceTimeout(f"no answer from {self.origin} in {self.timeout}s") from exc
        except aiohttp.ClientError as exc:
            raise SourceError(f"{type(exc).__name__} talking to {self.origin}") from None
        except ValueError:
            raise SourceError(f"not JSON from {self.origin}") from None
        if not isinstance(data, dict):
            raise SourceError(f"unexpected answer from {self.origin}")
        return data

    async def pages(self, method: str, url: str, headers: Mapping[str, str], *,
                    params: Mapping[str, str] | None = None,
                    body: Any = None) -> AsyncIterator[dict[str, Any]]:
        """Each page of a ZGW list (``count``/``next``/``results``), up to ``max_pages``."""
        next_url: str | None = url
        first = True
        for _ in range(self.max_pages):
            if not next_url:
                return
            page = await self.request(method, next_url, headers,
                                      params=params if first else None, body=body)
            first = False
            if page is None:
                return
            if not isinstance(page.get("results"), list):
                raise SourceError(f"a list answer without results from {self.origin}")
            yield page
            nxt = page.get("next")
            next_url = nxt if isinstance(nxt, str) and nxt else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}"

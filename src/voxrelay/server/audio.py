"""Turning RELAY media items into audio: fetching URLs safely, speech synthesis, tones.

Audio URLs are fetched with a size and time limit and cached (decoded, bounded LRU). An
``http(s)`` URL may only reach a public address, or a host on the ``media_allow_hosts``
list; a server bound to loopback may also fetch from loopback (local development). Every
redirect is checked the same way. ``file://`` URLs must resolve inside one of the
``media_dirs``. Decoding and TTS run in worker threads, never on the media clock.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import OrderedDict
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from voxrelay.media import sources
from voxrelay.media.frames import Frame
from voxrelay.protocol.models import MediaItem
from voxrelay.server.config import ServerConfig


class AudioError(Exception):
    """A media item that cannot be played: the message says why (shown in logs and events)."""


def _is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class AudioLoader:
    """Loads media items for one server (see module docstring)."""

    def __init__(self, config: ServerConfig, cache_samples: int = 8000 * 60 * 30) -> None:
        self.config = config
        self._cache: OrderedDict[str, Frame] = OrderedDict()
        self._cache_samples = cache_samples
        self._allow_loopback = _is_loopback_host(config.host)

    async def load(
        self,
        item: MediaItem,
        language: str = "en-US",
        gender: str = "female",
        voice: str | None = None,
    ) -> Frame:
        """int16 8 kHz samples for one item. Raises AudioError."""
        p = item.params
        try:
            if item.type == "silence":
                return sources.silence(float(p["duration"]))
            if item.type == "ringtone":
                duration = p.get("duration")
                return sources.ringtone(str(p["name"]), float(duration) if duration else None)
            if item.type == "tts":
                return await asyncio.to_thread(
                    sources.synthesize,
                    str(p["text"]),
                    str(p.get("language") or language),
                    str(p.get("gender") or gender),
                    p.get("voice") or voice,
                )
            return await self.fetch(str(p["url"]))
        except sources.SourceError as exc:
            raise AudioError(str(exc)) from None
        except (TypeError, ValueError) as exc:
            raise AudioError(f"bad {item.type} params: {exc}") from None

    async def fetch(self, url: str) -> Frame:
        """Fetch and decode an audio URL (http, https, file). Raises AudioError."""
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            data: bytes | Path = self._local_file(url)
        elif scheme in ("http", "https"):
            data = await self._download(url)
        else:
            raise AudioError(f"unsupported audio URL scheme {scheme!r}: use http, https or file")
        try:
            samples = await asyncio.to_thread(sources.decode_audio, data)
        except sources.SourceError as exc:
            raise AudioError(f"{url}: {exc}") from None
        self._remember(url, samples)
        return samples

    def _remember(self, url: str, samples: Frame) -> None:
        self._cache[url] = samples
        while sum(len(s) for s in self._cache.values()) > self._cache_samples and self._cache:
            self._cache.popitem(last=False)

    def _local_file(self, url: str) -> Path:
        path = Path(unquote(urlsplit(url).path)).resolve()
        for root in self.config.media_dirs:
            if path.is_relative_to(root.resolve()):
                if not path.is_file():
                    raise AudioError(f"no such audio file: {path.name}")
                if path.stat().st_size > self.config.max_media_bytes:
                    raise AudioError(f"audio file larger than {self.config.max_media_bytes} bytes")
                return path
        raise AudioError("file:// audio must be inside a configured media directory (--media-dir)")

    async def check_host(self, url: str) -> None:
        """Refuse a URL whose host is not public (or allowed); the SSRF policy of every fetch
        and webhook. Raises AudioError."""
        host = urlsplit(url).hostname
        if not host:
            raise AudioError("audio URL has no host")
        if host in self.config.media_allow_hosts:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError:
            raise AudioError(f"cannot resolve {host}") from None
        for info in infos:
            addr = ipaddress.ip_address(info[4][0])
            if addr.is_global or (self._allow_loopback and addr.is_loopback):
                continue
            raise AudioError(
                f"{host} resolves to a non-public address; allow it with --media-allow-host"
            )

    async def _download(self, url: str, hops: int = 3) -> bytes:
        limit = self.config.max_media_bytes
        timeout = httpx.Timeout(self.config.media_fetch_timeout)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            for _ in range(hops + 1):
                await self.check_host(url)
                try:
                    async with asyncio.timeout(self.config.media_fetch_timeout):
                        async with client.stream("GET", url) as resp:
                            if resp.is_redirect and "location" in resp.headers:
                                url = urljoin(url, resp.headers["location"])
                                continue
                            if resp.status_code != 200:
                                raise AudioError(f"{url}: HTTP {resp.status_code}")
                            chunks, size = [], 0
                            async for chunk in resp.aiter_bytes():
                                size += len(chunk)
                                if size > limit:
                                    raise AudioError(f"{url}: larger than {limit} bytes")
                                chunks.append(chunk)
                            return b"".join(chunks)
                except TimeoutError:
                    raise AudioError(
                        f"{url}: took longer than {self.config.media_fetch_timeout} s"
                    ) from None
                except httpx.HTTPError as exc:
                    raise AudioError(f"{url}: {exc}") from None
        raise AudioError(f"{url}: too many redirects")

"""``voxrelay serve``: one port for the RELAY WebSocket (``/``) and HTTP."""

from __future__ import annotations

import asyncio
import enum
import gc
import logging
import socket
from pathlib import Path
from typing import Annotated, Any, cast

import typer
import uvicorn
from rich.console import Console

from voxrelay.server.app import create_app
from voxrelay.server.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Project,
    ServerConfig,
    default_data_dir,
    load_config_file,
    local_project,
)
from voxrelay.server.listener import SniffingListener, bind_sockets
from voxrelay.server.node import Node
from voxrelay.server.tls import ensure_local_ca

console = Console(stderr=True, soft_wrap=True)


class RtpIo(enum.StrEnum):
    auto = "auto"
    native = "native"
    asyncio = "asyncio"


class _Server(uvicorn.Server):
    """uvicorn, but RELAY clients hear ``signalwire.disconnect`` before sockets close, and
    with TLS one port serves TLS and plain connections alike (``voxrelay.server.listener``):
    ``listen_sockets`` are then accepted on by a ``SniffingListener`` instead of uvicorn's
    own ``loop.create_server``."""

    node: Node
    listen_sockets: list[socket.socket] | None = None
    tls_only: bool = False
    first_byte_timeout: float = 10.0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if self.listen_sockets is None or self.config.ssl is None:
            await super().startup(sockets)
            return
        # Given no sockets, uvicorn runs the lifespan and opens no listener of its own.
        await super().startup(sockets=[])
        listener = SniffingListener(
            self.listen_sockets,
            self._protocol,
            self.config.ssl,
            tls_only=self.tls_only,
            first_byte_timeout=self.first_byte_timeout,
        )
        listener.start()
        self.servers.append(cast(Any, listener))  # uvicorn's shutdown closes and awaits it

    def _protocol(self) -> asyncio.Protocol:
        """uvicorn's HTTP protocol for one connection, made as uvicorn's startup makes it."""
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def shutdown(self, sockets: Any = None) -> None:
        await self.node.shutdown()
        await asyncio.sleep(0.1)
        await super().shutdown(sockets)


def build_config(
    *,
    project: str | None,
    token: str | None,
    config: Path | None,
    tls: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    **settings: Any,
) -> ServerConfig:
    """Flags (with their env vars) over the config file over defaults."""
    cfg = ServerConfig(**settings)
    if config is not None:
        cfg.projects, cfg.numbers, cfg.sip = load_config_file(config)
    if project and token:
        cfg.projects = [Project(project, token), *[p for p in cfg.projects if p.id != project]]
    elif project or token:
        raise typer.BadParameter("--project and --token go together")
    if not cfg.projects:
        cfg.projects = [local_project(cfg.data_dir)]
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise typer.BadParameter("--tls-cert and --tls-key go together")
        cfg.tls_cert, cfg.tls_key = tls_cert, tls_key
    elif tls:
        files = ensure_local_ca(cfg.data_dir, [cfg.host])
        cfg.tls_auto, cfg.tls_cert, cfg.tls_key = True, files.cert, files.key
    return cfg


def print_banner(cfg: ServerConfig, tls_only: bool = False) -> None:
    addr = f"{cfg.host}:{cfg.port}"
    console.print(f"[bold]voxrelay[/bold] listening on {addr}")
    if not cfg.tls:
        console.print(f"  RELAY WebSocket  ws://{addr}/")
        console.print(f"  HTTP             http://{addr}/")
    else:
        plain = "plain connections refused" if tls_only else "ws:// and http:// too"
        console.print(f"  RELAY WebSocket  wss://{addr}/  ({plain})")
        console.print(f"  HTTP             https://{addr}/")
    for p in cfg.projects:
        console.print(f"  project          {p.id}")
        console.print(f"  token            {p.token}")
    if cfg.sip.enabled:
        console.print(
            f"  SIP (UDP, TCP)   sip:{cfg.sip.default_context}@{cfg.sip.host or cfg.host}"
            f":{cfg.sip.port}  (every INVITE goes to context "
            f"'{cfg.sip.default_context}' unless \\[sip.routes] says otherwise)"
        )
    console.print(f"  data directory   {cfg.data_dir}")
    console.print(f"  recordings       {cfg.data_dir / 'recordings'}")
    if cfg.tls_auto:
        ca = cfg.data_dir / "tls" / "ca.pem"
        console.print(f"  TLS: local CA at {ca}; trust it with")
        console.print(
            f"    SIGNALWIRE_RELAY_CA_FILE={ca}  (signalwire-sdk 3.x, required even for public CAs)"
        )
        console.print(
            f"    SSL_CERT_FILE={ca}  (signalwire 2.x)   NODE_EXTRA_CA_CERTS={ca}  (Node)"
        )
    p = cfg.projects[0]
    console.print(
        f"  SDK env          SIGNALWIRE_PROJECT_ID={p.id} SIGNALWIRE_API_TOKEN={p.token} "
        f"SIGNALWIRE_SPACE={addr}"
    )


def serve(
    host: Annotated[
        str, typer.Option(envvar="VOXRELAY_HOST", help="Address to listen on.")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(envvar="VOXRELAY_PORT", help="Port for WebSocket and HTTP.")
    ] = DEFAULT_PORT,
    project: Annotated[
        str | None, typer.Option(envvar="VOXRELAY_PROJECT", help="Project id.")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="VOXRELAY_TOKEN", help="Project API token.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(envvar="VOXRELAY_CONFIG", help="TOML config: projects, numbers.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(envvar="VOXRELAY_DATA_DIR", help="Where state and recordings go.")
    ] = None,
    tls: Annotated[
        bool, typer.Option(help="Serve wss/https with a local CA made in the data dir.")
    ] = False,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate for wss/https.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key for wss/https.")] = None,
    tls_only: Annotated[
        bool,
        typer.Option(
            help="Refuse plain ws/http connections (implies --tls); else both are served."
        ),
    ] = False,
    first_byte_timeout: Annotated[
        float,
        typer.Option(
            help="With TLS: close a connection that sends nothing, or does not finish its "
            "TLS handshake, within this many seconds."
        ),
    ] = 10.0,
    resume_grace: Annotated[
        float, typer.Option(help="Seconds a dropped session may resume.")
    ] = 60.0,
    ping_interval: Annotated[
        float, typer.Option(help="Seconds between server pings (clients expect <= 15).")
    ] = 10.0,
    rate_limit: Annotated[
        float, typer.Option(help="Requests per second per connection (bursts of twice that).")
    ] = 500.0,
    rtp_host: Annotated[
        str | None,
        typer.Option(envvar="VOXRELAY_RTP_HOST", help="Address for RTP (default: --host)."),
    ] = None,
    media_dir: Annotated[
        list[Path] | None, typer.Option(help="A folder file:// audio URLs may read (repeatable).")
    ] = None,
    media_allow_host: Annotated[
        list[str] | None,
        typer.Option(help="A private host audio URLs may be fetched from (repeatable)."),
    ] = None,
    rtp_timeout: Annotated[
        float, typer.Option(help="End a call after this many seconds without RTP (0: never).")
    ] = 30.0,
    rtp_io: Annotated[
        RtpIo,
        typer.Option(
            help="RTP socket I/O: native (batched, polled by the media tick), asyncio, or auto."
        ),
    ] = RtpIo.auto,
    sip_host: Annotated[
        str | None, typer.Option(envvar="VOXRELAY_SIP_HOST", help="SIP address (default: --host).")
    ] = None,
    sip_port: Annotated[
        int, typer.Option(envvar="VOXRELAY_SIP_PORT", help="SIP port, UDP and TCP.")
    ] = 5060,
    sip: Annotated[bool, typer.Option(help="Listen for SIP.")] = True,
    public_url: Annotated[
        str | None,
        typer.Option(help="Base URL clients use to reach this server (recording links)."),
    ] = None,
    log_level: Annotated[str, typer.Option(envvar="VOXRELAY_LOG_LEVEL")] = "info",
) -> None:
    """Run a voxrelay server."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    cfg = build_config(
        project=project,
        token=token,
        config=config,
        tls=tls or tls_only,
        tls_cert=tls_cert,
        tls_key=tls_key,
        host=host,
        port=port,
        data_dir=data_dir or default_data_dir(),
        resume_grace=resume_grace,
        ping_interval=ping_interval,
        rate_limit_per_s=rate_limit,
        rate_burst=2 * rate_limit,
        rtp_host=rtp_host,
        media_dirs=[p.resolve() for p in media_dir or []],
        media_allow_hosts=list(media_allow_host or []),
        public_url=public_url,
        rtp_timeout=rtp_timeout,
        rtp_io=rtp_io.value,
    )
    cfg.sip.host, cfg.sip.port, cfg.sip.enabled = sip_host or cfg.sip.host, sip_port, sip
    listen_sockets = None
    if cfg.tls:  # one port for TLS and plain: uvicorn gets its connections sniffed
        try:
            listen_sockets = bind_sockets(cfg.host, cfg.port)
        except OSError as exc:
            console.print(f"[red]cannot listen on {cfg.host}:{cfg.port}: {exc}")
            raise typer.Exit(1) from None
    app = create_app(cfg)
    print_banner(cfg, tls_only)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    uconfig = uvicorn.Config(
        app,
        host=cfg.host,
        port=cfg.port,
        loop=loop,
        lifespan="on",
        log_level=log_level.lower(),
        ws_max_size=16 * 1024 * 1024,
        ws_per_message_deflate=False,  # compression costs ~30% CPU per event; frames are small
        timeout_graceful_shutdown=5,
        ws_ping_interval=None,
        ssl_certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
        ssl_keyfile=str(cfg.tls_key) if cfg.tls_key else None,
        access_log=False,
    )
    server = _Server(uconfig)
    server.node = app.state.node
    server.listen_sockets = listen_sockets
    server.tls_only, server.first_byte_timeout = tls_only, first_byte_timeout
    tune_gc()
    server.run()


def tune_gc() -> None:
    """Fewer full garbage collections: move start-up objects out of the GC's sight and
    collect the older generations less often. Long-lived state (sessions, calls) makes full
    collections scan a lot; fewer of them keeps command latency tails low (BENCHMARKS.md)."""
    gc.freeze()
    gen0, _, _ = gc.get_threshold()
    gc.set_threshold(max(gen0, 5_000), 50, 100)

"""RelayClient arguments, env fallbacks and host forms (reference §1.1, §4.1); no server."""

from __future__ import annotations

import pytest

from voxrelay.protocol import Request
from voxrelay.relay import RelayClient, RelayError
from voxrelay.relay.address import is_loopback, ssl_context, websocket_url
from voxrelay.relay.connection import EventMemory, scrub

ENV = (
    "SIGNALWIRE_PROJECT_ID",
    "SIGNALWIRE_API_TOKEN",
    "SIGNALWIRE_JWT_TOKEN",
    "SIGNALWIRE_SPACE",
    "RELAY_MAX_ACTIVE_CALLS",
    "SIGNALWIRE_RELAY_CA_FILE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("example.signalwire.com", "wss://example.signalwire.com"),
        ("example.signalwire.com:8443", "wss://example.signalwire.com:8443"),
        ("127.0.0.1:8082", "ws://127.0.0.1:8082"),
        ("localhost", "ws://localhost"),
        ("LOCALHOST:1", "ws://LOCALHOST:1"),
        ("::1", "ws://[::1]"),
        ("[::1]:9000", "ws://[::1]:9000"),
        ("ws://example.com:80", "ws://example.com:80"),
        ("wss://127.0.0.1:8443", "wss://127.0.0.1:8443"),
        ("WSS://example.com/", "wss://example.com"),
    ],
)
def test_host_forms(host: str, url: str) -> None:
    assert websocket_url(host) == url


@pytest.mark.parametrize(
    "host",
    [
        "",
        "user@example.com",
        "example.com/path",
        "example.com?x=1",
        "a b",
        "a\r\nb",
        "http://example.com",
        "example.com:0",
        "example.com:99999",
        "example.com:x",
        "[::1",
    ],
)
def test_bad_hosts_are_rejected(host: str) -> None:
    with pytest.raises(ValueError):
        websocket_url(host)


def test_loopback_and_tls() -> None:
    assert is_loopback("127.3.4.5") and is_loopback("::1") and not is_loopback("10.0.0.1")
    assert ssl_context("ws://127.0.0.1:1") is None
    assert ssl_context("wss://example.com") is not None


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALWIRE_PROJECT_ID", "p")
    monkeypatch.setenv("SIGNALWIRE_API_TOKEN", "t")
    monkeypatch.setenv("SIGNALWIRE_SPACE", "space.example.com")
    monkeypatch.setenv("RELAY_MAX_ACTIVE_CALLS", "7")
    client = RelayClient(contexts=["office"])
    assert (client.project, client.token, client.host) == ("p", "t", "space.example.com")
    assert client.max_active_calls == 7 and client.contexts == ["office"]
    assert client.connection.url == "wss://space.example.com"
    assert client.relay_protocol is None


def test_defaults_and_jwt() -> None:
    client = RelayClient(jwt_token="eyJ")
    assert client.host == "relay.signalwire.com" and client.max_active_calls == 1000
    assert client.connection._authentication == {"jwt_token": "eyJ"}
    assert client.contexts == []
    both = RelayClient("p", "t")
    assert both.connection._authentication == {"project": "p", "token": "t"}


def test_missing_credentials_and_bad_host() -> None:
    with pytest.raises(ValueError, match="project"):
        RelayClient(token="t")
    with pytest.raises(ValueError, match="token"):
        RelayClient(project="p")
    with pytest.raises(ValueError):
        RelayClient("p", "t", host="evil.com/@x")


def test_connect_params_shape() -> None:
    client = RelayClient("p", "t", host="127.0.0.1:1", contexts=["office"])
    params = client.connection._connect_params()
    assert params == {
        "version": {"major": 2, "minor": 0, "revision": 0},
        "agent": params["agent"],
        "event_acks": True,
        "authentication": {"project": "p", "token": "t"},
        "contexts": ["office"],
    }
    assert params["agent"].startswith("voxrelay-python/")
    client.connection.protocol = "signalwire_x"
    client.connection.authorization_state = "a:b"
    client.contexts = ["office", "sales"]
    params = client.connection._connect_params()
    assert params["protocol"] == "signalwire_x" and params["authorization_state"] == "a:b"
    assert params["contexts"] == ["office", "sales"]


async def test_requests_before_connect_fail_fast() -> None:
    client = RelayClient("p", "t", host="127.0.0.1:1")
    with pytest.raises(RelayError) as info:
        await client.execute("signalwire.ping", {})
    assert info.value.code == -1


async def test_connect_to_nothing_raises_relay_error() -> None:
    client = RelayClient("p", "t", host="127.0.0.1:1")
    with pytest.raises(RelayError) as info:
        await client.connect()
    assert info.value.code == -1 and "Cannot connect" in info.value.message


def test_event_memory_is_bounded_lru() -> None:
    memory = EventMemory(size=3)
    assert [memory.seen(i) for i in "abc"] == [False, False, False]
    assert memory.seen("a")
    assert not memory.seen("d")  # evicts b, the least recently seen
    assert not memory.seen("b")
    assert memory.seen("d")


async def test_redelivered_events_are_processed_once_in_order() -> None:
    got: list[str] = []
    client = RelayClient("p", "t", host="127.0.0.1:1")
    connection = client.connection
    connection._on_event = lambda event_type, payload, ts: got.append(payload["n"])

    def event(event_id: str, n: str) -> Request:
        params = {"event_type": "calling.call.play", "params": {"n": n}}
        return Request("signalwire.event", params, event_id)

    for rid, n in [("e1", "1"), ("e2", "2"), ("e1", "1"), ("e3", "3"), ("e2", "2")]:
        connection._on_server_event(event(rid, n))
    assert got == ["1", "2", "3"]


def test_scrub_hides_credentials() -> None:
    text = '{"authentication":{"project":"p","token":"PTsecret"},"authorization_state":"x:y"}'
    out = scrub(text)
    assert "PTsecret" not in out and "x:y" not in out and '"project":"p"' in out

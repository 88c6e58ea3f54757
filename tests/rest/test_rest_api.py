"""The REST calling API's contract: auth, errors by status with the documented shape, project
isolation, commands not available over REST, the served OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from voxrelay.rest import RestClient, RestError
from voxrelay.testing import LocalServer

URL = "/api/calling/calls"


@pytest.fixture
def http(relay_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=relay_server.http_url, auth=(relay_server.project, relay_server.token)
    ) as client:
        yield client


def only_error(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    errors = resp.json()["errors"]
    assert len(errors) == 1
    error: dict[str, object] = errors[0]
    assert set(error) == {"type", "code", "message", "attribute", "url"}
    return error


def test_auth_is_required(relay_server: LocalServer) -> None:
    resp = httpx.post(relay_server.http_url + URL, json={"command": "calling.end", "id": "x"})
    error = only_error(resp, 401)
    assert error["type"] == "authentication_error"
    assert resp.headers["www-authenticate"].startswith("Basic")
    resp = httpx.post(
        relay_server.http_url + URL,
        json={"command": "calling.end", "id": "x"},
        auth=(relay_server.project, "wrong"),
    )
    only_error(resp, 401)


def test_bad_bodies(http: httpx.Client) -> None:
    error = only_error(http.post(URL, content=b"{not json"), 400)
    assert error["code"] == "invalid_json"
    error = only_error(http.post(URL, json=[1, 2]), 400)
    error = only_error(http.post(URL, json={"id": "x"}), 400)
    assert error["attribute"] == "command"
    error = only_error(http.post(URL, content=b" " * (300 * 1024)), 413)


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("calling.answer", "command_not_available"),
        ("calling.play_and_collect", "command_not_available"),
        ("calling.send_digits", "command_not_available"),
        ("calling.connect", "command_not_available"),
        ("calling.tap", "command_not_implemented"),
        ("explode", "unknown_command"),
    ],
)
def test_commands_not_over_rest(http: httpx.Client, command: str, code: str) -> None:
    error = only_error(http.post(URL, json={"command": command, "id": "x", "params": {}}), 400)
    assert error["code"] == code and error["attribute"] == "command"
    assert command in str(error["message"])


def test_validation_errors_name_the_field(http: httpx.Client) -> None:
    body = {"command": "calling.play", "id": "x", "params": {"play": [{"type": "audio"}]}}
    error = only_error(http.post(URL, json=body), 422)
    assert error["type"] == "validation_error" and error["attribute"] == "play.0"
    error = only_error(http.post(URL, json={"command": "calling.play", "id": "x"}), 422)
    assert error["code"] == "missing_required_parameter" and error["attribute"] == "play"
    body = {
        "command": "calling.play.volume",
        "id": "x",
        "params": {"control_id": "c", "volume": 99},
    }
    assert only_error(http.post(URL, json=body), 422)["attribute"] == "volume"
    body = {"command": "dial", "params": {"from": "+1", "to": "+2", "url": "ftp://x"}}
    error = only_error(http.post(URL, json=body), 422)
    assert error["attribute"] == "url" and "http or https" in str(error["message"])
    body = {"command": "dial", "params": {"from": "+1", "to": "+2"}}
    assert "exactly one of url and swml" in str(
        only_error(http.post(URL, json=body), 422)["message"]
    )
    body = {"command": "dial", "params": {"from": "+1", "to": "+2", "swml": {"sections": {}}}}
    assert only_error(http.post(URL, json=body), 422)["attribute"] == "swml.sections"
    swml = {"sections": {"main": [{"connect": {}}]}}
    body = {"command": "dial", "params": {"from": "+1", "to": "+2", "swml": swml}}
    error = only_error(http.post(URL, json=body), 422)
    assert error["code"] == "invalid_swml" and "connect" in str(error["message"])


def test_unknown_calls_and_other_projects_calls_are_404(relay_server: LocalServer) -> None:
    call_id = relay_server.originate("office")
    mine = RestClient(relay_server.project, relay_server.token, relay_server.host)
    ((other_project, other_token),) = relay_server.other_projects.items()
    other = RestClient(other_project, other_token, relay_server.host)
    with pytest.raises(RestError) as err:
        mine.calling.end("no-such-call")
    assert err.value.status_code == 404 and err.value.attribute == "id"
    with pytest.raises(RestError) as err:
        other.calling.end(call_id)
    assert err.value.status_code == 404
    with pytest.raises(RestError) as err:
        other.get_call(call_id)
    assert err.value.status_code == 404
    assert mine.get_call(call_id)["status"] in ("created", "ringing")
    # No media on this call: a play is a conflict, not a crash
    with pytest.raises(RestError) as err:
        mine.calling.play(call_id, play=[{"type": "silence", "duration": 1}])
    assert err.value.status_code == 409
    with pytest.raises(RestError) as err:
        mine.calling.play_pause(call_id, control_id="nothing")
    assert err.value.status_code == 409
    assert mine.calling.end(call_id)["status"] in ("ending", "completed")
    with pytest.raises(RestError) as err:
        mine.calling.end(call_id)
    assert err.value.status_code == 404 and err.value.errors[0]["code"] == "call_ended"
    mine.close()
    other.close()


def test_openapi_document(http: httpx.Client) -> None:
    doc = http.get("/api/calling/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    request = doc["components"]["schemas"]["CallingRequest"]
    assert request["discriminator"]["propertyName"] == "command"
    mapping = request["discriminator"]["mapping"]
    assert {"dial", "update", "calling.play", "calling.play.pause", "calling.end"} <= set(mapping)
    assert "calling.answer" not in mapping
    play = doc["components"]["schemas"]["CallingPlayParams"]["properties"]
    assert "call_id" not in play and "play" in play

"""REST ``dial`` and ``update``: SWML drives a call to a virtual phone; a call dialled into a
context is offered to that project's RELAY session (and no other project's)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.rest.conftest import WebhookSite
from tests.test_play_e2e import level_db, tone_runs, window
from tests.wire import WireClient
from voxrelay.media.frames import RATE
from voxrelay.phone import VirtualPhone
from voxrelay.rest import AsyncRestClient, RestError
from voxrelay.testing import LocalServer

PHONE = "+15550199999"


def rest_for(server: LocalServer) -> AsyncRestClient:
    return AsyncRestClient(server.project, server.token, server.host)


async def registered_phone(server: LocalServer, **kw: Any) -> asyncio.Task[list[Any]]:
    ready = asyncio.Event()
    phone = VirtualPhone(server.http_url, server.project, server.token)
    task = asyncio.create_task(phone.answer_calls(PHONE, on_ready=ready.set, **kw))
    await asyncio.wait_for(ready.wait(), 5)
    return task


async def test_swml_drives_a_call_to_a_virtual_phone(
    relay_server: LocalServer, webhook_site: WebhookSite
) -> None:
    swml = {
        "version": "1.0.0",
        "sections": {
            "main": [
                "answer",
                {"play": {"url": "say:Hello from a voxrelay SWML document."}},
                {"play": {"urls": ["silence:1.5"]}},
                {"set": {"greeting": "done"}},
                {"execute": {"dest": "ask"}},
                {"hangup": {}},
            ],
            "ask": [
                {"prompt": {"play": "ring:0.5:us", "max_digits": 2, "initial_timeout": 8}},
                {"play": {"url": "say:%{prompt_value}"}},  # nothing to say without digits
            ],
        },
    }
    phone = await registered_phone(relay_server, digits="42", digits_at=5.0, max_duration=30)
    async with rest_for(relay_server) as rest:
        leg = await rest.calling.dial(
            from_="+15550001111",
            to=PHONE,
            swml=swml,
            status_url=webhook_site.url,
            status_events=["created", "ringing", "answered", "ended"],
        )
        # the reply comes once the INVITE is out; the phone's 180 may not be back yet
        assert leg["direction"] == "outbound-api" and leg["status"] in ("created", "ringing")
        assert leg["from"] == "+15550001111" and leg["to"] == PHONE
        (report,) = await asyncio.wait_for(phone, 30)
        final = await rest.get_call(leg["id"])
    assert report.answered and report.end_reason == "hangup"
    heard = report.heard_after_answer()
    assert level_db(window(heard, 0.3, 1.3)) > -40  # the say: URL
    # the prompt (its US ring, 440+480 Hz) waited for the digits sent at 5 s, and the
    # document spoke them after it, then hung up
    assert report.digits_sent == "42"
    ring_end = tone_runs(heard, 440.0, 480.0)[-1][1]
    assert level_db(window(heard, ring_end + 0.1, ring_end + 5.0)) > -40
    assert final["status"] == "completed"
    for _ in range(50):
        if len(webhook_site.bodies) >= 4:
            break
        await asyncio.sleep(0.1)
    states = [e["call_state"] for e in webhook_site.events("calling.call.state")]
    assert states == ["created", "ringing", "answered", "ended"]


async def test_swml_from_a_url_and_update(relay_server: LocalServer, tmp_path: Any) -> None:
    import http.server
    import threading

    (tmp_path / "doc.yaml").write_text(
        "version: 1.0.0\nsections:\n  main:\n    - play:\n        url: 'silence:20'\n"
    )
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path)
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    doc_url = f"http://127.0.0.1:{httpd.server_address[1]}/doc.yaml"
    phone = await registered_phone(relay_server, max_duration=30)
    try:
        async with rest_for(relay_server) as rest:
            leg = await rest.calling.dial(
                from_="+15550001111", to=PHONE, url=doc_url, url_method="GET"
            )
            for _ in range(50):
                if (await rest.get_call(leg["id"]))["status"] == "answered":
                    break
                await asyncio.sleep(0.1)
            with pytest.raises(RestError) as err:
                await rest.calling.update(id=leg["id"], status="canceled")
            assert err.value.status_code == 409
            # redirect to a new document: speech, then it hangs up
            swml = {"sections": {"main": [{"play": {"url": "say:Redirected."}}, "hangup"]}}
            await asyncio.sleep(1.0)
            await rest.calling.update(id=leg["id"], swml=swml)
            (report,) = await asyncio.wait_for(phone, 20)
    finally:
        httpd.shutdown()
    heard = report.heard_after_answer()
    assert level_db(window(heard, 0.2, 0.8)) < -60  # silence:20 from the fetched YAML
    assert report.end_reason == "hangup"
    # redirected: the new document's speech came after the silence (the old one has none)
    loudest = max(level_db(heard[i : i + RATE // 2]) for i in range(0, len(heard), RATE // 4))
    assert loudest > -40


async def test_dial_into_a_context_is_offered_to_that_projects_session(
    relay_server: LocalServer,
) -> None:
    ((other_project, other_token),) = relay_server.other_projects.items()
    app = WireClient(relay_server.ws_url)
    await app.connect(relay_server.project, relay_server.token, ["office"])
    other_app = WireClient(relay_server.ws_url)
    await other_app.connect(other_project, other_token, ["office"])
    swml = {"sections": {"main": [{"sleep": 20000}]}}
    async with rest_for(relay_server) as rest:
        leg = await rest.calling.dial(from_="+15550001111", to="+15550100001", swml=swml)
        offer = await app.wait_event("calling.call.receive", timeout=5)
        device = offer["params"]["device"]["params"]
        assert device["to_number"] == "+15550100001"
        assert device["from_number"] == "+15550001111"
        inbound_id = offer["params"]["call_id"]
        await app.request("calling.answer", {"call_id": inbound_id})
        for _ in range(50):
            if (await rest.get_call(leg["id"]))["status"] == "answered":
                break
            await asyncio.sleep(0.05)
        assert (await rest.get_call(leg["id"]))["status"] == "answered"
        # the other project sees neither call
        async with AsyncRestClient(other_project, other_token, relay_server.host) as other:
            for call_id in (leg["id"], inbound_id):
                with pytest.raises(RestError) as err:
                    await other.calling.update(id=call_id, status="completed")
                assert err.value.status_code == 404
        # REST may not take the RELAY-controlled call over with a document
        with pytest.raises(RestError) as err:
            await rest.calling.update(id=inbound_id, swml=swml)
        assert err.value.status_code == 409
        # completing the REST leg ends the RELAY session's call too
        done = await rest.calling.update(id=leg["id"], status="completed")
        assert done["id"] == leg["id"]
        await app.wait_event("calling.call.state", call_id=inbound_id, call_state="ended")
    assert not [e for e in other_app.events if e["event_type"].startswith("calling.")]
    await app.close()
    await other_app.close()


async def test_update_cancels_a_ringing_call(relay_server: LocalServer) -> None:
    async with rest_for(relay_server) as rest:
        swml = {"sections": {"main": ["hangup"]}}
        leg = await rest.calling.dial(from_="+15550001111", to="+15550100002", swml=swml)
        assert leg["status"] in ("created", "ringing")
        with pytest.raises(RestError) as err:
            await rest.calling.update(id=leg["id"], status="completed")
        assert err.value.status_code == 409
        canceled = await rest.calling.update(id=leg["id"], status="canceled")
        assert canceled["status"] == "canceled"
        unreachable = await rest.calling.dial(from_="+15550001111", to="+19999", swml=swml)
        assert unreachable["status"] == "failed"

# Seed 002 (docs: reference/python/rest/calling/play), as written for signalwire.rest.
# Adapted only by the import line, the server address and the call id (both placeholders in
# the docs); credentials are the seed's own (the test server is configured with them).
# Kept verbatim otherwise, hence:
# fmt: off
import os

from voxrelay.rest import RestClient

client = RestClient(
    project="your-project-id",
    token="your-api-token",
    host=os.environ["VOXRELAY_SEED_HOST"],
)

# Play TTS
result = client.calling.play(
    call_id=os.environ["VOXRELAY_SEED_CALL_ID"],
    play=[{"type": "tts", "text": "Hello from the REST API!"}]
)
control_id = result.get("control_id")
print("control_id", control_id)

client = RestClient(
    project="your-project-id",
    token="your-api-token",
    host=os.environ["VOXRELAY_SEED_HOST"],
)

client.calling.play(
    call_id=os.environ["VOXRELAY_SEED_CALL_ID"],
    play=[{"type": "audio", "url": "https://example.com/greeting.mp3"}]
)

client = RestClient(
    project="your-project-id",
    token="your-api-token",
    host=os.environ["VOXRELAY_SEED_HOST"],
)

client.calling.play(
    call_id=os.environ["VOXRELAY_SEED_CALL_ID"],
    play=[
        {"type": "tts", "text": "Please hold while we connect you."},
        {"type": "silence", "duration": 1},
        {"type": "audio", "url": "https://example.com/hold-music.mp3"},
    ]
)

# Seed 000 (docs: reference/python/relay/actions/play-action), as written for signalwire.relay.
# Adapted only by the import line and the server address; credentials are the seed's own
# (the test server is configured with them). Kept verbatim otherwise, hence:
# mypy: disable-error-code="no-untyped-def"
# fmt: off
import os

from voxrelay.relay import RelayClient

client = RelayClient(
    project="your-project-id",
    token="your-api-token",
    host=os.environ["VOXRELAY_SEED_HOST"],
    contexts=["default"],
)

@client.on_call
async def handle_call(call):
    await call.answer()
    action = await call.play(
        [{"type": "audio", "url": "https://example.com/hold-music.mp3"}],
        volume=-5.0,
        loop=0,
    )

    # Pause and resume playback
    await action.pause()
    await action.resume()

    # Adjust volume
    await action.volume(10.0)

    # Stop playback
    await action.stop()

client.run()

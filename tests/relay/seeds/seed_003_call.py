# Seed 003 (docs: reference/python/relay/call), as written for signalwire.relay.
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

    # Register an event listener
    call.on("calling.call.play", lambda event: print(f"Play state: {event.params.get('state')}"))

    # Play a greeting
    action = await call.play([{"type": "tts", "text": "Hello from RELAY!"}])
    await action.wait()

    # Wait for the call to end
    await call.wait_for_ended()
    print(f"Call ended: {call.call_id}")

client.run()

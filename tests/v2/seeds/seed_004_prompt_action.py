# Seed 004 (v2 docs: Relay.Calling.PromptAction), each example of the page in turn inside a
# Consumer. Only the import line differs from the signalwire 2.x program (was: from
# signalwire.relay.consumer import Consumer); credentials and address come from the
# environment. The examples are verbatim (they start the action with play_tts_async, as the
# page does), hence:
# mypy: disable-error-code="no-untyped-def"
# fmt: off
import asyncio  # to use sleep
import os

from voxrelay.v2.consumer import Consumer


class CustomConsumer(Consumer):
  def setup(self):
    self.project = os.environ['SEED_PROJECT']
    self.token = os.environ['SEED_TOKEN']
    self.host = os.environ['SEED_HOST']
    self.contexts = ['office']

  async def on_incoming_call(self, call):
    await call.answer()

    # stop: ask user to enter a PIN and force-stop the action after 5 seconds
    action = await call.play_tts_async(text='Welcome to SignalWire!', gender='male')
    await asyncio.sleep(5)
    await action.stop()
    print('stop', action.completed, flush=True)

    # volume: start the prompt and increase the playback volume
    action = await call.play_tts_async(text='Please, enter your 3 digit PIN.', gender='male')
    volume_result = await action.volume(5.0)
    print('volume', volume_result.successful, flush=True)

    await call.hangup()
    print('seed done', flush=True)

consumer = CustomConsumer()
consumer.run()

# Seed 001 (v2 docs: Relay.Calling.PlayAction), each example of the page in turn inside a
# Consumer, as a 2.x user writes it. Only the import line differs from the signalwire 2.x
# program (was: from signalwire.relay.consumer import Consumer); credentials and address
# come from the environment. Kept verbatim otherwise, hence:
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

    # pause: start playing an audio file and pause it after 5 seconds
    action = await call.play_audio_async('https://cdn.signalwire.com/default-music/welcome.mp3')
    await asyncio.sleep(5)
    pause_result = await action.pause()
    print('pause', pause_result.successful, flush=True)

    # resume: start playing an audio file, stop it and then resume it after 5 seconds
    action = await call.play_audio_async('https://cdn.signalwire.com/default-music/welcome.mp3')
    await asyncio.sleep(5)
    pause_result = await action.pause()
    await asyncio.sleep(5)
    resume_result = await action.resume()
    print('resume', pause_result.successful, resume_result.successful, flush=True)

    # stop: play an Mp3 file and stop it after 5 seconds
    action = await call.play_audio_async('https://cdn.signalwire.com/default-music/welcome.mp3')
    await asyncio.sleep(5)
    await action.stop()
    print('stop', action.completed, flush=True)

    # volume: start playing an audio file and increase the playback volume
    action = await call.play_audio_async('https://cdn.signalwire.com/default-music/welcome.mp3')
    result = await action.volume(5.0)
    print('volume', result.successful, flush=True)

    await call.hangup()
    print('seed done', flush=True)

consumer = CustomConsumer()
consumer.run()

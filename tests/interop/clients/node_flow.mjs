// Full call flow written as a user of the official Node SDK (@signalwire/realtime-api 4.x).
//
//   NODE_EXTRA_CA_CERTS=ca.pem RELAY_HOST=127.0.0.1:PORT RELAY_PROJECT=P RELAY_TOKEN=T \
//       RELAY_CONTEXT=office node node_flow.mjs
//
// Answers the first call on RELAY_CONTEXT, plays TTS and changes its volume, pauses, resumes
// and stops it, prompts for digits (the caller presses them), records what the caller says
// for RELAY_RECORD_SECONDS (default 5) and stops the recording, hangs up (the SDK resolves
// that on the "ended" state). Each result is one JSON line on stdout with its fields
// ("ready", "received", "answered", "play_started", "play_volume", "play_pause",
// "play_resume", "play_stop", "play_done", "prompt", "record", "hangup", "ended", "done";
// "error" on failure). Exit 0 when the whole flow ran, 1 otherwise; RELAY_TIMEOUT (seconds)
// bounds the run. The SDK is loaded from ../node/node_modules (npm ci --prefix
// tests/interop/node), or from VOXRELAY_INTEROP_NODE_DIR.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const t0 = Date.now();
const emit = (event, fields = {}) =>
  process.stdout.write(JSON.stringify({ event, t: (Date.now() - t0) / 1000, ...fields }) + "\n");

function fail(message, code = 1) {
  emit("error", { message });
  process.stderr.write(`node_flow: ${message}\n`);
  process.exit(code);
}

process.on("unhandledRejection", (err) => fail(`unhandled rejection: ${err?.stack ?? err}`));
process.on("uncaughtException", (err) => fail(`uncaught exception: ${err?.stack ?? err}`));

const env = process.env;
for (const k of ["RELAY_HOST", "RELAY_PROJECT", "RELAY_TOKEN"]) if (!env[k]) fail(`missing ${k}`, 2);
const context = env.RELAY_CONTEXT ?? "default";
const timeoutS = Number(env.RELAY_TIMEOUT ?? "45");
const recordMs = Number(env.RELAY_RECORD_SECONDS ?? "5") * 1000;
const STEP_MS = 15000; // any single wait in the flow

// The SDK has no timeouts of its own on connect, answer, prompt or hangup: this bounds all.
const timer = setTimeout(() => fail(`flow did not complete within ${timeoutS} s`), timeoutS * 1000);

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = env.VOXRELAY_INTEROP_NODE_DIR ?? path.join(here, "..", "node");
const require = createRequire(path.join(nodeDir, "package.json"));
let SignalWire;
try {
  ({ SignalWire } = require("@signalwire/realtime-api"));
} catch (err) {
  fail(`cannot load @signalwire/realtime-api from ${nodeDir}: run scripts/install-interop (${err.message})`, 3);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (promise, what) =>
  Promise.race([
    promise,
    sleep(STEP_MS).then(() => {
      throw new Error(`${what}: nothing within ${STEP_MS / 1000} s`);
    }),
  ]);

async function callFlow(call) {
  await within(call.answer(), "answer");
  emit("answered", { call_id: call.id, state: call.state });

  const playStates = [];
  const note = (playback) => playStates.push(playback.state);
  const playback = await within(
    call
      .playTTS({
        text:
          "Welcome to the voxrelay interop test. This sentence is long on purpose, " +
          "so that it can be paused, resumed, made louder and stopped.",
        listen: { onStarted: note, onUpdated: note, onFailed: note, onEnded: note },
      })
      .onStarted(),
    "playTTS",
  );
  emit("play_started", { control_id: playback.controlId, state: playback.state });
  await sleep(600);
  await within(playback.setVolume(5), "setVolume");
  emit("play_volume", { volume: playback.volume });
  await within(playback.pause(), "pause");
  emit("play_pause", { paused: playback._paused });
  await sleep(300);
  await within(playback.resume(), "resume");
  emit("play_resume", { paused: playback._paused });
  await sleep(300);
  await within(playback.stop(), "stop");
  emit("play_stop", {});
  const played = await within(playback.ended(), "playback.ended");
  emit("play_done", {
    control_id: played.controlId,
    state: played.state,
    has_ended: played.hasEnded,
    states: playStates,
  });

  const prompt = await within(
    call
      .promptTTS({
        text: "Enter your code, then hash.",
        digits: { max: 4, digitTimeout: 5, terminators: "#" },
        initialTimeout: 10,
      })
      .onStarted(),
    "promptTTS",
  );
  const prompted = await within(prompt.ended(), "prompt.ended");
  emit("prompt", {
    control_id: prompted.controlId,
    type: prompted.type,
    digits: prompted.digits,
    terminator: prompted.terminator,
  });

  const recording = await within(
    call
      .recordAudio({ beep: false, format: "wav", initialTimeout: 8, endSilenceTimeout: 0 })
      .onStarted(),
    "recordAudio",
  );
  await sleep(recordMs);
  await within(recording.stop(), "recording.stop");
  const recorded = await within(recording.ended(), "recording.ended");
  emit("record", {
    control_id: recorded.controlId,
    state: recorded.state,
    url: recorded.url,
    duration: recorded.duration,
    size: recorded.size,
  });

  emit("hangup", { call_id: call.id });
  await within(call.hangup(), "hangup"); // resolves on the "ended" state event
  emit("ended", { call_id: call.id, state: call.state });
}

const client = await SignalWire({
  project: env.RELAY_PROJECT,
  token: env.RELAY_TOKEN,
  host: env.RELAY_HOST,
  logLevel: env.RELAY_LOG ?? "warn",
  debug: { logWsTraffic: env.RELAY_WS_TRAFFIC === "1" },
});

let handled = null;
let finish, abort;
const done = new Promise((resolve, reject) => ((finish = resolve), (abort = reject)));

const unsubscribe = await client.voice.listen({
  topics: [context],
  onCallReceived: async (call) => {
    const info = { call_id: call.id, from: call.from, to: call.to };
    if (handled) {
      emit("extra_call", info);
      return;
    }
    handled = call.id;
    emit("received", info);
    try {
      await callFlow(call);
      finish();
    } catch (err) {
      abort(new Error(`call flow failed: ${err?.stack ?? err}`));
    }
  },
});
emit("ready", { context });

try {
  await done;
} catch (err) {
  fail(err.message);
}
await unsubscribe();
await client.disconnect();
clearTimeout(timer);
emit("done");
process.exit(0);

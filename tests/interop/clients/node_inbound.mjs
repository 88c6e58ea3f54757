// Inbound-call flow written as a user of the official Node SDK (@signalwire/realtime-api 4.x).
//
//   NODE_EXTRA_CA_CERTS=ca.pem node node_inbound.mjs \
//       --host 127.0.0.1:PORT --project P --token T --context office
//
// Connects, listens on one context, answers the first inbound call, waits --hold seconds,
// hangs up (the SDK resolves that on the "ended" state), unsubscribes and disconnects.
// Each thing it observes is one JSON line on stdout ({"event":"ready"}, "received",
// "answered", "hangup_sent", "ended", "done"; with --linger any later call is reported as
// "extra_call"). Exit 0 when the whole flow ran, 1 with an "error" line otherwise; --timeout
// (seconds) bounds the run.
//
// Options may also come from the environment: RELAY_HOST, RELAY_PROJECT, RELAY_TOKEN,
// RELAY_CONTEXT, RELAY_TIMEOUT, RELAY_HOLD, RELAY_LINGER. The SDK is loaded from
// ../node/node_modules (npm ci --prefix tests/interop/node), or from VOXRELAY_INTEROP_NODE_DIR.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";

const t0 = Date.now();
const emit = (event, fields = {}) =>
  process.stdout.write(JSON.stringify({ event, t: (Date.now() - t0) / 1000, ...fields }) + "\n");

function fail(message, code = 1) {
  emit("error", { message });
  process.stderr.write(`node_inbound: ${message}\n`);
  process.exit(code);
}

process.on("unhandledRejection", (err) => fail(`unhandled rejection: ${err?.stack ?? err}`));
process.on("uncaughtException", (err) => fail(`uncaught exception: ${err?.stack ?? err}`));

const env = process.env;
const { values: opts } = parseArgs({
  options: {
    host: { type: "string", default: env.RELAY_HOST },
    project: { type: "string", default: env.RELAY_PROJECT },
    token: { type: "string", default: env.RELAY_TOKEN },
    context: { type: "string", default: env.RELAY_CONTEXT ?? "default" },
    timeout: { type: "string", default: env.RELAY_TIMEOUT ?? "20" },
    hold: { type: "string", default: env.RELAY_HOLD ?? "0.5" },
    linger: { type: "string", default: env.RELAY_LINGER ?? "0" },
  },
});
for (const k of ["host", "project", "token"]) if (!opts[k]) fail(`missing --${k}`, 2);
const timeoutS = Number(opts.timeout);
const holdMs = Number(opts.hold) * 1000;
const lingerMs = Number(opts.linger) * 1000;

// The SDK has no timeouts of its own on connect, answer or hangup: this bounds everything.
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

const client = await SignalWire({
  project: opts.project,
  token: opts.token,
  host: opts.host,
  logLevel: env.RELAY_LOG ?? "warn",
  debug: { logWsTraffic: env.RELAY_WS_TRAFFIC === "1" },
});

let handled = null;
let finish, abort;
const done = new Promise((resolve, reject) => ((finish = resolve), (abort = reject)));

const unsubscribe = await client.voice.listen({
  topics: [opts.context],
  onCallReceived: async (call) => {
    const info = { call_id: call.id, from: call.from, to: call.to, state: call.state };
    if (handled) {
      emit("extra_call", info);
      return;
    }
    handled = call.id;
    emit("received", info);
    try {
      await call.answer();
      emit("answered", { call_id: call.id, state: call.state });
      await sleep(holdMs);
      emit("hangup_sent", { call_id: call.id });
      await call.hangup(); // resolves on the "ended" state event
      emit("ended", { call_id: call.id, state: call.state });
      finish();
    } catch (err) {
      abort(new Error(`call flow failed: ${err?.stack ?? err}`));
    }
  },
});
emit("ready", { context: opts.context });

try {
  await done;
} catch (err) {
  fail(err.message);
}
if (lingerMs) await sleep(lingerMs);
await unsubscribe();
await client.disconnect();
clearTimeout(timer);
emit("done");
process.exit(0);

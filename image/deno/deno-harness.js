// The in-guest side of the @deno/sandbox SDK's deno.* methods, driven by
// sandboxd-gateway through sandboxd's Spawn (never through a terminal).
//
//   deno run -A --preload deno-harness.js ENTRYPOINT ARGS...   deno.run()
//   deno run -A deno-harness.js ARGS...                          deno.repl()
//
// SBX_DENO_CONTROL names a private folder with two FIFOs made by deno-control
// (the gateway holds that helper's stdin and stdout): `in` carries the gateway's
// requests, `out` our answers, one JSON value per line. The process's own
// stdin, stdout and stderr stay the user's.
//
// The first request is {"init": {"code"?, "extension"?}}: inline code for
// deno.run is written to the folder as main.<extension>, the main module the
// gateway named. Then, for a REPL: {"id", "eval": code} and
// {"id", "call": fn, "args": [...]}, answered {"id", "ok": value} or
// {"id", "error": {constructorName, message, code, stack, name}}. Unasked:
// {"event": "listening"} once the program accepts HTTP (Deno.serve or a
// node:http server's listen).
// SPDX-License-Identifier: LGPL-2.1-or-later

import http from "node:http";
import vm from "node:vm";

// bigger answers are refused with a RangeError (the gateway enforces it too)
const MAX_ANSWER = 16 * 1024 * 1024;
const MAX_LINE = 64 * 1024 * 1024;

const dir = Deno.env.get("SBX_DENO_CONTROL");
// not for the user's program
Deno.env.delete("SBX_DENO_CONTROL");
if (!dir || !dir.startsWith("/tmp/sbx-deno.")) {
  throw new Error("deno-harness: SBX_DENO_CONTROL is not set; started by sandboxd-gateway only");
}

// opening a FIFO waits for its other end: deno-control holds both
const input = Deno.openSync(`${dir}/in`, { read: true });
const output = Deno.openSync(`${dir}/out`, { write: true });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function send(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const bytes = encoder.encode(text + "\n");
  try {
    let written = 0;
    while (written < bytes.length) written += output.writeSync(bytes.subarray(written));
  } catch {
    // the gateway went away: nobody to tell
  }
}

// lines of the control input, read synchronously before the main module and
// asynchronously by the REPL
let pending = new Uint8Array(0);
function takeLine() {
  const nl = pending.indexOf(10);
  if (nl < 0) return null;
  const line = decoder.decode(pending.subarray(0, nl));
  pending = pending.slice(nl + 1);
  return line;
}
function append(chunk) {
  if (pending.length + chunk.length > MAX_LINE) throw new RangeError("control line too long");
  const next = new Uint8Array(pending.length + chunk.length);
  next.set(pending);
  next.set(chunk, pending.length);
  pending = next;
}
function readLineSync() {
  const buf = new Uint8Array(65536);
  for (;;) {
    const line = takeLine();
    if (line !== null) return line;
    const n = input.readSync(buf);
    if (n === null) return null;
    append(buf.subarray(0, n));
  }
}
async function readLine() {
  const buf = new Uint8Array(65536);
  for (;;) {
    const line = takeLine();
    if (line !== null) return line;
    const n = await input.read(buf);
    if (n === null) return null;
    append(buf.subarray(0, n));
  }
}

const init = JSON.parse(readLineSync() ?? "null")?.init;
if (typeof init !== "object" || init === null) throw new Error("deno-harness: no init request");
// the folder goes once nothing needs it: the FIFOs stay open, inline code is read
// when the main module loads (deno-control removes it too, as a backstop)
function removeDir() {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // gone already
  }
}
if (typeof init.code === "string") {
  Deno.writeTextFileSync(`${dir}/main.${init.extension}`, init.code);
  globalThis.addEventListener("load", removeDir);
} else {
  removeDir();
}

// --- HTTP readiness: the SDK's httpReady / denoHttpWait
let listening = false;
function announceListening() {
  if (listening) return;
  listening = true;
  send({ event: "listening" });
}
const serve = Deno.serve;
Deno.serve = function (...args) {
  // Deno.serve binds before it returns (a taken port throws here)
  const server = serve.apply(this, args);
  announceListening();
  return server;
};
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  this.once("listening", announceListening);
  return listen.apply(this, args);
};

// --- the REPL
function jsonable(value) {
  const seen = new WeakSet();
  return JSON.stringify(value, function (_key, v) {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    if (v instanceof Uint8Array) return [...v];
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) throw new TypeError("the result is cyclic and cannot be serialised");
      seen.add(v);
    }
    return v;
  }) ?? "null";
}

function errorObject(e) {
  if (e instanceof Error) {
    return {
      constructorName: e.constructor?.name ?? "Error",
      message: String(e.message),
      code: typeof e.code === "string" ? e.code : null,
      // the harness's own frames say nothing to the user
      stack: typeof e.stack === "string"
        ? e.stack.split("\n").filter((l) => !/ext:deno_node\/vm\.js|deno-harness\.js/.test(l)).join("\n")
        : null,
      name: typeof e.name === "string" ? e.name : null,
    };
  }
  return { constructorName: "Error", message: `Uncaught ${String(e)}`, code: null, stack: null };
}

async function answer(id, run) {
  let text;
  try {
    // a promise (an async call, `fetch(...)`) answers with what it resolves to
    text = `{"id":${id},"ok":${jsonable(await run())}}`;
    if (text.length > MAX_ANSWER) {
      throw new RangeError(`the result is larger than ${MAX_ANSWER} bytes`);
    }
  } catch (e) {
    text = JSON.stringify({ id, error: errorObject(e) });
  }
  send(text);
}

async function repl() {
  for (;;) {
    const line = await readLine();
    if (line === null) break;
    const req = JSON.parse(line);
    if (typeof req.eval === "string") {
      // one script per eval in the global scope: `const x` stays for the next one
      await answer(req.id, () => vm.runInThisContext(req.eval, { filename: "<repl>" }));
    } else if (typeof req.call === "string" && Array.isArray(req.args)) {
      await answer(req.id, () => {
        const fn = vm.runInThisContext(`(${req.call})`, { filename: "<repl>" });
        if (typeof fn !== "function") throw new TypeError(`${req.call} is not a function`);
        return fn(...req.args);
      });
    } else {
      send({ id: req.id ?? null, error: errorObject(new TypeError("bad request")) });
    }
  }
  // the gateway closed the REPL
  Deno.exit(0);
}

if (import.meta.main) {
  repl();
} else {
  // deno.run: the control input is not read again; the program decides when to exit
  input.close();
}

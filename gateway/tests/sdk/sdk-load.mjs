// Load: 50 SDK clients at once each create, run and kill a sandbox; every one succeeds
// or gets a clear capacity answer (HTTP 429), none hangs. A client that vanishes
// mid-stream leaves nothing running in its session sandbox. The harness checks after
// the script that sandboxd has no sandbox left and no domain survives.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Client, Sandbox } from "@deno/sandbox";

const CLIENTS = 50;
const CLIENT_DEADLINE_MS = 15 * 60 * 1000;

function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  return { p, cancel: () => clearTimeout(timer) };
}

async function oneClient(i) {
  const started = Date.now();
  let sandbox;
  try {
    sandbox = await Sandbox.create({ labels: { load: "50" } });
  } catch (e) {
    // the only acceptable failure: "too many" (create queue full, limits)
    assert.equal(e.status, 429, `client ${i}: create failed with ${e}`);
    assert.match(e.code, /^(CAPACITY|LIMIT_EXCEEDED)$/, `client ${i}: ${e}`);
    return { ok: false, ms: Date.now() - started, code: e.code };
  }
  try {
    const out = await sandbox.sh`echo load-${i}`.text();
    assert.equal(out.trim(), `load-${i}`);
  } finally {
    await sandbox.kill();
  }
  return { ok: true, ms: Date.now() - started };
}

test("50 concurrent clients: each succeeds or gets a clear capacity error", async () => {
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const d = deadline(CLIENT_DEADLINE_MS, `client ${i}`);
      try {
        return await Promise.race([oneClient(i), d.p]);
      } finally {
        d.cancel();
      }
    }),
  );
  const ok = results.filter((r) => r.ok);
  const refused = results.filter((r) => !r.ok);
  const slowest = Math.max(...results.map((r) => r.ms));
  console.log(`# ${ok.length} ran, ${refused.length} refused ` +
    `(${[...new Set(refused.map((r) => r.code))].join(",") || "-"}), slowest ${slowest} ms`);
  // sandboxd creates MaxConcurrentCreates (4) at once and queues more: some must run
  assert.ok(ok.length >= 4, `only ${ok.length} of ${CLIENTS} clients got a sandbox`);
  const left = await new Client().sandboxes.list({ labels: { load: "50" } });
  assert.deepEqual(left.filter((s) => s.status === "running").map((s) => s.id), []);
});

test("a client that vanishes mid-stream leaves its session sandbox to die", async () => {
  // a separate Node process streams `yes` from a session sandbox and is killed -9
  const child = spawn(process.execPath, ["--input-type=module", "-e", `
    import { Sandbox } from "@deno/sandbox";
    const sandbox = await Sandbox.create({ labels: { load: "vanish" } });
    const p = sandbox.spawn("bash", { args: ["-c", "yes streaming-forever"], stdout: "piped" });
    const child = await p;
    const reader = child.stdout.getReader();
    await reader.read();
    console.log("ID " + sandbox.id);
    for (;;) await reader.read();
  `], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"], env: process.env });
  const id = await new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (d) => {
      text += d;
      const m = text.match(/ID (\S+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`the streaming client exited early (${code})`)));
  });
  child.kill("SIGKILL");
  const until = Date.now() + 120000;
  for (;;) {
    const listed = await new Client().sandboxes.list({ labels: { load: "vanish" } });
    if (!listed.some((s) => s.id === id && s.status === "running")) break;
    assert.ok(Date.now() < until, `session sandbox ${id} still runs 120 s after its client died`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await assert.rejects(Sandbox.connect(id), (e) => e.status === 404);
});

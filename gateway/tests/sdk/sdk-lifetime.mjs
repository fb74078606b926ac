// Lifetimes as the SDK means them: "session" ends with the creating socket, a duration
// survives it, connect reattaches, extend, kill closes every socket, list by labels;
// and bad input on the wire. SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Client, Sandbox } from "@deno/sandbox";

const endpoint = process.env.DENO_SANDBOX_ENDPOINT;
const token = process.env.DENO_DEPLOY_TOKEN;
const wsEndpoint = endpoint.replace(/^http/, "ws");

function rawSocket(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsEndpoint + path, { headers: { authorization: `Bearer ${token}`, ...headers } });
    ws.on("open", () => resolve(ws));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => reject(Object.assign(new Error(body), { status: res.statusCode, body })));
    });
    ws.on("error", reject);
  });
}

function nextMessage(ws) {
  return new Promise((resolve) => ws.once("message", (data) => resolve(data.toString())));
}

async function listIds(labels) {
  const list = await new Client().sandboxes.list({ labels });
  return list.map((s) => s.id);
}

test("a duration sandbox survives its socket, reattaches, extends and is killed", async () => {
  const first = await Sandbox.create({ timeout: "3m", labels: { life: "duration" } });
  const id = first.id;
  await first.fs.writeTextFile("/tmp/mark", "kept");
  await first.close();

  const again = await Sandbox.connect(id);
  assert.equal(again.id, id);
  assert.equal(await again.fs.readTextFile("/tmp/mark"), "kept");

  const listed = await new Client().sandboxes.list({ labels: { life: "duration" } });
  const entry = listed.find((s) => s.id === id);
  assert.ok(entry, "the sandbox is listed by its label");
  assert.equal(entry.status, "running");
  assert.deepEqual(entry.labels, { life: "duration" });
  assert.deepEqual(await listIds({ life: "nothing-has-this" }), []);

  const before = Date.now();
  const until = await again.extendTimeout("5m");
  assert.ok(until instanceof Date);
  assert.ok(until.getTime() > before + 4 * 60 * 1000, `extended to ${until.toISOString()}`);

  // raw protocol checks on a second socket of the same sandbox
  const ws = await rawSocket(`/api/v3/sandbox/${id}/connect`);
  ws.send("ping");
  assert.equal(await nextMessage(ws), "pong");
  ws.send("{not json");
  assert.equal(JSON.parse(await nextMessage(ws)).error.code, -32700);
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "noSuchMethod", params: {} }));
  assert.deepEqual(JSON.parse(await nextMessage(ws)).error.code, -32601);
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "readTextFile", params: { path: 42 } }));
  const wrongType = JSON.parse(await nextMessage(ws));
  assert.equal(wrongType.result.error.constructorName, "TypeError");
  ws.send("[".repeat(100000));
  assert.equal(JSON.parse(await nextMessage(ws)).error.code, -32700);
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "readTextFile", params: { path: "/tmp/mark" } }));
  assert.deepEqual(JSON.parse(await nextMessage(ws)), { jsonrpc: "2.0", id: 3, result: { ok: "kept" } });
  const rawClosed = new Promise((resolve) => ws.once("close", resolve));

  // kill closes every socket of the sandbox
  await again.kill();
  await again.closed;
  await rawClosed;
  await assert.rejects(Sandbox.connect(id), (e) => e.status === 404);
  assert.ok(!(await listIds({ life: "duration" })).includes(id));
});

test("a session sandbox ends when its creating socket closes", async () => {
  const creator = await Sandbox.create({ labels: { life: "session" } });
  const id = creator.id;
  const other = await Sandbox.connect(id);
  assert.equal(await other.sh`echo -n joined`.text(), "joined");
  // a process left running must not outlive the session
  await creator.spawn("sleep", { args: ["1000"] });
  await creator.close();
  await other.closed;
  await assert.rejects(Sandbox.connect(id), (e) => e.status === 404);
  assert.ok(!(await listIds({ life: "session" })).includes(id));
});

test("secrets: the sandbox sees a placeholder and trusts its CA, never sees the value", async () => {
  const value = "sk-gw-never-in-guest";
  const sb = await Sandbox.create({ secrets: { API_KEY: { hosts: ["api.example.com"], value } } });
  try {
    assert.match(await sb.sh`printf %s "$API_KEY"`.text(), /^sbx_secret_[A-Za-z0-9]{32}$/);
    assert.match(await sb.sh`head -1 "$NODE_EXTRA_CA_CERTS"`.text(), /BEGIN CERTIFICATE/);
    // the pattern is split so that the command line itself does not hold the value
    const found = await sb.sh`grep -rls "sk-gw-never-in-gues[t]" /etc /root /tmp /usr/local /proc/[0-9]*/environ; true`.text();
    assert.equal(found, "");
  } finally {
    await sb.kill();
  }
});

test("bad requests get the SDK's errors", async () => {
  await assert.rejects(Sandbox.connect("sbx_loc_00000000000000000000"), (e) => {
    assert.equal(e.status, 404);
    assert.equal(e.code, "SANDBOX_NOT_FOUND");
    return true;
  });
  // allowNet and secrets reach sandboxd, which checks them before any VM boots
  await assert.rejects(Sandbox.create({ allowNet: ["not a host"] }), /'not a host' is not a host name/);
  await assert.rejects(
    Sandbox.create({ allowNet: ["a.example.com"], secrets: { K: { hosts: ["b.example.com"], value: "sk-never-shown" } } }),
    (e) => {
      assert.match(e.message, /'b.example.com' is not in allow_net/);
      assert.ok(!e.message.includes("sk-never-shown"));
      return true;
    },
  );
  // the SDK checks memory itself; a forged header is checked again
  const forged = Buffer.from(JSON.stringify({ memory_mb: 512, volumes: [] }), "latin1").toString("base64");
  await assert.rejects(rawSocket("/api/v3/sandboxes/create", { "x-deno-sandbox-config": forged }), (e) => {
    assert.equal(e.status, 400);
    assert.match(JSON.parse(e.body).message, /memory_mb: 512 MiB is out of range/);
    return true;
  });
  const res = await fetch(`${endpoint}/api/v2/sandboxes`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "INVALID_TOKEN");
});

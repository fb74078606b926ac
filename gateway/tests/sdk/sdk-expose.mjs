// exposeHttp (the gateway's reverse proxy into a guest port, HTTP and a
// WebSocket upgrade, on TLS) and fetch (HTTP requests made from inside the
// sandbox). The gateway runs on TLS with a self-signed certificate for
// expose.test and *.expose.test (SBX_TEST_TLS_CERT); exposed URLs are
// https://<label>.expose.test:PORT, reached here at 127.0.0.1 by SNI and Host.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import tls from "node:tls";
import WebSocket from "ws";
import { Sandbox } from "@deno/sandbox";

const ca = readFileSync(process.env.SBX_TEST_TLS_CERT);
const gatewayPort = Number(process.env.SBX_TEST_GATEWAY_PORT);
const GUEST_PORT = 8000;

// a small server in the guest (node is in the debian image): text, a big
// streamed body, a POST echo, and a WebSocket upgrade that then echoes raw bytes
const SERVER = `
const http = require("http");
const crypto = require("crypto");
const server = http.createServer((req, res) => {
  if (req.url === "/hello") {
    res.setHeader("x-seen-proto", req.headers["x-forwarded-proto"] || "");
    res.setHeader("x-seen-host", req.headers["host"] || "");
    res.end("hello from the sandbox " + req.method);
  } else if (req.url === "/big") {
    const chunk = Buffer.alloc(65536, "abcdefgh");
    let left = 48;
    const more = () => {
      while (left > 0) { left--; if (!res.write(chunk)) return res.once("drain", more); }
      res.end();
    };
    more();
  } else if (req.url === "/echo") {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => res.end(Buffer.concat(parts)));
  } else if (req.url === "/slow") {
    setTimeout(() => res.end("late"), 30000);
  } else if (req.url === "/redirect") {
    res.writeHead(302, { location: "/hello" });
    res.end();
  } else {
    res.statusCode = 404;
    res.end("nope");
  }
});
server.on("upgrade", (req, socket) => {
  const accept = crypto.createHash("sha1")
    .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    .digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n" +
    "Connection: Upgrade\\r\\nSec-WebSocket-Accept: " + accept + "\\r\\n\\r\\n");
  socket.pipe(socket);
});
server.listen(${GUEST_PORT}, "127.0.0.1", () => {
  // the same page on TLS, with the gateway's test certificate (not trusted by the gateway)
  require("https").createServer({
    cert: require("fs").readFileSync("/tmp/cert.pem"),
    key: require("fs").readFileSync("/tmp/key.pem"),
  }, (req, res) => res.end("secret")).listen(8443, "127.0.0.1", () => console.log("listening"));
});
`;

let sandbox;
let server;
let url;

// GET/POST to an exposed URL through the gateway's TLS listener at 127.0.0.1
function request(target, { method = "GET", body, headers = {} } = {}) {
  const u = new URL(target);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      port: u.port || 443,
      servername: /^[0-9.]+$/.test(u.hostname) ? undefined : u.hostname,
      path: u.pathname + u.search,
      method,
      ca,
      headers: { host: u.host, ...headers },
    }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

before(async () => {
  sandbox = await Sandbox.create({ labels: { suite: "sdk-expose" } });
  await sandbox.fs.writeTextFile("/tmp/server.js", SERVER);
  await sandbox.fs.writeTextFile("/tmp/cert.pem", readFileSync(process.env.SBX_TEST_TLS_CERT, "utf8"));
  await sandbox.fs.writeTextFile("/tmp/key.pem", readFileSync(process.env.SBX_TEST_TLS_KEY, "utf8"));
  server = await sandbox.spawn("node", { args: ["/tmp/server.js"], stdout: "piped" });
  // wait for "listening"
  const reader = server.stdout.getReader();
  let seen = "";
  while (!seen.includes("listening")) {
    const { value, done } = await reader.read();
    assert.equal(done, false, "the guest server exited");
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
});
after(async () => {
  await sandbox?.kill();
});

test("exposeHttp: a URL on the gateway's base domain, HTTP through TLS", { timeout: 300_000 }, async () => {
  url = await sandbox.exposeHttp({ port: GUEST_PORT });
  const u = new URL(url);
  assert.equal(u.protocol, "https:");
  assert.match(u.hostname, /^[a-z2-7]{26}\.expose\.test$/);
  assert.equal(Number(u.port), gatewayPort);

  const hello = await request(`${url}/hello`);
  assert.equal(hello.status, 200);
  assert.equal(hello.body.toString(), "hello from the sandbox GET");
  assert.equal(hello.headers["x-seen-proto"], "https");
  assert.equal(hello.headers["x-seen-host"], u.host);

  // 3 MiB streamed through, every byte
  const big = await request(`${url}/big`);
  assert.equal(big.status, 200);
  assert.equal(big.body.length, 48 * 65536);
  assert.ok(big.body.equals(Buffer.alloc(48 * 65536, "abcdefgh")));

  const echo = await request(`${url}/echo`, { method: "POST", body: "ping ".repeat(1000) });
  assert.equal(echo.body.toString(), "ping ".repeat(1000));

  assert.equal((await request(`${url}/missing`)).status, 404);
  // the path form reaches the same service
  const label = u.hostname.split(".")[0];
  const byPath = await request(`https://127.0.0.1:${gatewayPort}/expose/${label}/hello`);
  assert.equal(byPath.body.toString(), "hello from the sandbox GET");
  // a label nobody was given
  const wrong = await request(`https://${"a".repeat(26)}.expose.test:${gatewayPort}/hello`);
  assert.equal(wrong.status, 404);
  assert.equal(wrong.body.toString(), "no such exposed service\n");
});

test("exposeHttp: a WebSocket upgrade is relayed both ways", { timeout: 300_000 }, async () => {
  const u = new URL(url);
  const key = Buffer.from("sandboxd-expose!").toString("base64");
  const socket = tls.connect({ host: "127.0.0.1", port: gatewayPort, servername: u.hostname, ca });
  await new Promise((resolve, reject) => { socket.once("secureConnect", resolve); socket.once("error", reject); });
  socket.write(`GET /ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let got = Buffer.alloc(0);
  const readUntil = (pred) => new Promise((resolve, reject) => {
    const check = () => { if (pred(got)) { socket.off("data", onData); resolve(); } };
    const onData = (d) => { got = Buffer.concat([got, d]); check(); };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`closed after ${got.length} bytes`)));
    check();
  });
  await readUntil((b) => b.includes("\r\n\r\n"));
  const head = got.subarray(0, got.indexOf("\r\n\r\n")).toString();
  assert.match(head, /^HTTP\/1\.1 101 /);
  const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${accept.replace(/[+/]/g, "\\$&")}`, "i"));
  got = got.subarray(got.indexOf("\r\n\r\n") + 4);
  // a masked text frame "hello"; the guest echoes the bytes as they are
  const frame = Buffer.from([0x81, 0x85, 1, 2, 3, 4, ..."hello".split("").map((c, i) => c.charCodeAt(0) ^ (i % 4 + 1))]);
  socket.write(frame);
  await readUntil((b) => b.length >= frame.length);
  assert.ok(got.subarray(0, frame.length).equals(frame));
  // quiet for ExposeIdleTimeoutSec (10 s here): the gateway closes the connection
  await new Promise((resolve) => socket.once("close", resolve));
});

test("fetch: a request made from inside the sandbox, body streamed back", { timeout: 300_000 }, async () => {
  const res = await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/hello`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "hello from the sandbox GET");

  const big = await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/big`);
  const bytes = Buffer.from(await big.arrayBuffer());
  assert.equal(bytes.length, 48 * 65536);

  const posted = await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/echo`, { method: "POST", body: "from the host" });
  assert.equal(await posted.text(), "from the host");

  const redirected = await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/redirect`);
  assert.equal(await redirected.text(), "hello from the sandbox GET");
  const manual = await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/redirect`, { redirect: "manual" });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get("location"), "/hello");

  const head = await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/hello`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
});

test("fetch: a closed port is a named error", { timeout: 300_000 }, async () => {
  await assert.rejects(sandbox.fetch("http://127.0.0.1:1/"), (e) => {
    assert.match(String(e.message), /refused/i);
    return true;
  });
  await assert.rejects(sandbox.fetch("ftp://127.0.0.1/"), (e) => e.name === "TypeError" || /http/.test(e.message));
  // TLS is checked: the guest's certificate is not one the gateway trusts
  await assert.rejects(sandbox.fetch("https://127.0.0.1:8443/"), (e) => {
    assert.match(String(e.message), /certificate|TLS|trust/i);
    return true;
  });
});

test("fetch: an AbortSignal cancels a pending request", { timeout: 300_000 }, async () => {
  const ctl = new AbortController();
  const pending = sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/slow`, { signal: ctl.signal });
  setTimeout(() => ctl.abort(), 500);
  await assert.rejects(pending, (e) => /abort/i.test(`${e.name} ${e.message}`));
  // (without the abort the guest answers "late": the fetch would resolve)
  // the sandbox still serves
  assert.equal(await (await sandbox.fetch(`http://127.0.0.1:${GUEST_PORT}/hello`)).text(), "hello from the sandbox GET");
});

test("exposeHttp and fetch refuse bad requests and the socket keeps serving", { timeout: 300_000 }, async () => {
  const endpoint = process.env.DENO_SANDBOX_ENDPOINT.replace(/^http/, "ws");
  const ws = new WebSocket(`${endpoint}/api/v3/sandbox/${sandbox.id}/connect`, {
    headers: { authorization: `Bearer ${process.env.DENO_DEPLOY_TOKEN}` },
    ca,
  });
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  let id = 0;
  const call = (method, params) => new Promise((resolve) => {
    const mine = ++id;
    const onMessage = (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== mine) return;
      ws.off("message", onMessage);
      resolve(msg.result);
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: mine, method, params }));
  });
  const label = "b".repeat(26);
  // domains nobody reserved, for this sandbox or at all
  assert.equal((await call("exposeHttp", { domain: `${label}.expose.test:${gatewayPort}`, port: GUEST_PORT })).error.code, "ENOENT");
  assert.equal((await call("exposeHttp", { domain: "../../etc", port: GUEST_PORT })).error.code, "ENOENT");
  assert.equal((await call("exposeHttp", { domain: label, port: 0 })).error.code, "EINVAL");
  assert.equal((await call("exposeHttp", { domain: label, port: "80" })).error.constructorName, "TypeError");
  assert.equal((await call("exposeHttp", { domain: label, pid: 1 })).error.constructorName, "NotSupported");
  const url = `http://127.0.0.1:${GUEST_PORT}/hello`;
  assert.ok((await call("fetch", { url, method: "GET X", headers: [] })).error);
  assert.ok((await call("fetch", { url, headers: [["bad name", "v"]] })).error);
  assert.ok((await call("fetch", { url, headers: [["x", "a\r\nInjected: 1"]] })).error);
  assert.ok((await call("fetch", { url, headers: "x" })).error);
  assert.ok((await call("fetch", { url: 42 })).error);
  assert.ok((await call("fetch", { url: "not a url" })).error);
  assert.ok((await call("fetch", { url, redirect: "sometimes" })).error);
  // the REST reservation is the token owner's only: another tenant, a bad token, a bad id
  const reserve = (id, token) => fetch(`${process.env.DENO_SANDBOX_ENDPOINT}/api/v3/sandbox/${id}/expose/http`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal((await reserve(sandbox.id, process.env.SBX_TEST_TOKEN_B)).status, 404);
  assert.equal((await reserve(sandbox.id, "ddo_not_a_token")).status, 401);
  assert.equal((await reserve("sbx_loc_nope", process.env.DENO_DEPLOY_TOKEN)).status, 404);
  assert.equal((await reserve(sandbox.id, process.env.DENO_DEPLOY_TOKEN)).status, 200);
  // still serving
  const ok = await call("fetch", { url, method: "GET", headers: [["x-test", "1"]], redirect: "follow" });
  assert.equal(ok.ok.status, 200);
  ws.close();
});

test("exposeHttp: the URL is gone when the sandbox is", { timeout: 300_000 }, async () => {
  const before = await request(`${url}/hello`);
  assert.equal(before.status, 200);
  await sandbox.kill();
  sandbox = undefined;
  const res = await request(`${url}/hello`);
  assert.equal(res.status, 404);
});

// The SDK README's Express example, as written there (try/finally for `await using`):
// package.json and server.js written with the SDK, `deno install` fetching express
// from the npm registry inside the guest (through the default network policy and the
// egress proxy), `deno.run`, `exposeHttp`, and the exposed URL's /time answered on
// the host. The gateway runs on TLS (SBX_TEST_GATEWAY_TLS): exposed URLs are
// https://<label>.expose.test:PORT, reached at 127.0.0.1 by SNI and Host.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import https from "node:https";
import { Sandbox } from "@deno/sandbox";

const ca = readFileSync(process.env.SBX_TEST_TLS_CERT);

// GET an exposed URL at the gateway on 127.0.0.1 (expose.test has no DNS)
function get(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1", port: u.port, path: u.pathname, servername: u.hostname, ca,
      headers: { host: u.host },
    }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("the README's Express example runs and its exposed URL answers /time", async () => {
  const sandbox = await Sandbox.create();
  try {
    // not the README's: hosts whose way out is a TLS-intercepting proxy (this CI
    // machine's is) trust its CA in their own store; hand that store to the guest's
    // Deno. On a host with a direct way out this changes nothing.
    await sandbox.fs.writeFile("/tmp/host-ca-bundle.pem",
      readFileSync("/etc/ssl/certs/ca-certificates.crt"));
    await sandbox.env.set("DENO_CERT", "/tmp/host-ca-bundle.pem");

    // 1) Write package.json and server.js in the sandbox
    const PACKAGE_JSON = {
      name: "sandbox-express-demo",
      private: true,
      type: "module",
      dependencies: { express: "^4.19.2" },
    };
    await sandbox.fs.writeTextFile("package.json", JSON.stringify(PACKAGE_JSON, null, 2));
    await sandbox.fs.writeTextFile(
      "server.js",
      `import express from 'express';
const app = express();
app.get('/', (req, res) => res.send('Hello from Express in @deno/sandbox!'));
app.get('/time', (req, res) => res.json({ now: new Date().toISOString() }));
app.listen(3000, () => console.log('listening on :3000'));
`,
    );

    // 2) Install dependencies
    await sandbox.sh`deno install`;

    // 3) Start the server
    const server = await sandbox.deno.run({ entrypoint: "server.js" });
    assert.equal(await server.httpReady, true);

    // 4) Publish to the internet
    const publicUrl = await sandbox.exposeHttp({ port: 3000 });
    console.log("# Public URL:", publicUrl);
    assert.match(publicUrl, /^https:\/\//);

    // Fetch from your local machine to verify
    const resp = await get(`${publicUrl}/time`);
    assert.equal(resp.status, 200);
    const now = Date.parse(JSON.parse(resp.body).now);
    assert.ok(Math.abs(now - Date.now()) < 120000, `the guest's clock says ${resp.body}`);
    const hello = await get(`${publicUrl}/`);
    assert.equal(hello.body, "Hello from Express in @deno/sandbox!");
    await server.kill();
  } finally {
    await sandbox.kill();
  }
});

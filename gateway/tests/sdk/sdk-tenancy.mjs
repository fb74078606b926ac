// Two tenants through one gateway: sandboxd, not the gateway, decides whose sandbox is
// whose. Token A is DENO_DEPLOY_TOKEN (user sbxtest1), token B SBX_TEST_TOKEN_B
// (sbxtest2), both from `sandboxctl token create`. SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, InvalidTokenError, Sandbox } from "@deno/sandbox";

const endpoint = process.env.DENO_SANDBOX_ENDPOINT;
const tokenA = process.env.DENO_DEPLOY_TOKEN;
const tokenB = process.env.SBX_TEST_TOKEN_B;

async function listIds(token, labels) {
  const list = await new Client({ token }).sandboxes.list({ labels });
  return list.map((s) => s.id);
}

test("two tenants cannot see, connect to or kill each other's sandboxes", async () => {
  assert.ok(tokenB && tokenB !== tokenA);
  const a = await Sandbox.create({ timeout: "3m", labels: { tenancy: "t" } });
  const b = await Sandbox.create({ token: tokenB, timeout: "3m", labels: { tenancy: "t" } });
  try {
    await a.fs.writeTextFile("/tmp/owner", "a");
    assert.equal(await a.sh`cat /tmp/owner`.text(), "a");
    assert.equal((await b.sh`echo b`.text()).trim(), "b");

    // each lists its own only
    assert.deepEqual(await listIds(tokenA, { tenancy: "t" }), [a.id]);
    assert.deepEqual(await listIds(tokenB, { tenancy: "t" }), [b.id]);

    // B cannot connect to A's: it does not exist for B
    await assert.rejects(Sandbox.connect(a.id, { token: tokenB }), (e) => {
      assert.equal(e.status, 404);
      assert.equal(e.code, "SANDBOX_NOT_FOUND");
      return true;
    });
    // nor kill or extend it
    for (const method of ["DELETE", "PATCH"]) {
      const res = await fetch(`${endpoint}/api/v3/sandbox/${a.id}`, {
        method,
        headers: { authorization: `Bearer ${tokenB}`, "content-type": "application/json" },
        body: method === "PATCH" ? JSON.stringify({ stop_at_ms: Date.now() + 600000 }) : undefined,
      });
      assert.equal(res.status, 404, `${method} by the other tenant`);
    }
    assert.equal(await a.sh`cat /tmp/owner`.text(), "a", "A's sandbox still runs");

    // A reconnects to its own
    const again = await Sandbox.connect(a.id);
    assert.equal(await again.fs.readTextFile("/tmp/owner"), "a");
    await again.close();
  } finally {
    await b.kill();
    await a.kill();
  }
  assert.deepEqual(await listIds(tokenA, { tenancy: "t" }), []);
});

test("a bad token is the SDK's InvalidTokenError", async () => {
  const bad = "ddo_" + "x".repeat(40);
  await assert.rejects(Sandbox.create({ token: bad }), InvalidTokenError);
  await assert.rejects(Sandbox.connect("sbx_loc_00000000000000000000", { token: bad }), InvalidTokenError);
  const res = await fetch(`${endpoint}/api/v2/sandboxes`, { headers: { authorization: `Bearer ${bad}` } });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "INVALID_TOKEN");
  await assert.rejects(new Client({ token: bad }).sandboxes.list());
});

// Per-token limits of the gateway (sdk-limits.gateway.conf: 2 requests/s, bursts of 8,
// 2 sandboxes per token, 4 calls in flight per socket): answered as the SDK reports
// "too many" (HTTP 429), per token, and lifted again.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, Sandbox } from "@deno/sandbox";

const tokenB = process.env.SBX_TEST_TOKEN_B;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// a full bucket: 8 requests at 2 per second
const refill = () => sleep(4500);

test("the request rate is limited per token", async () => {
  const client = new Client();
  const t0 = performance.now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, () => client.sandboxes.list()),
  );
  const secs = (performance.now() - t0) / 1000;
  const passed = outcomes.filter((o) => o.status === "fulfilled").length;
  const limited = outcomes.filter((o) => o.status === "rejected");
  for (const o of limited) {
    assert.equal(o.reason.status, 429, String(o.reason));
    assert.equal(o.reason.code, "TOO_MANY_REQUESTS");
  }
  // the burst, plus what the bucket refilled while the 20 were under way (a
  // loaded host may spread them over more than a second)
  const most = 8 + Math.ceil(2 * secs) + 1;
  assert.ok(passed >= 8 && passed <= most, `${passed} of 20 passed in ${secs.toFixed(2)} s`);
  assert.ok(limited.length >= 20 - most, `${limited.length} of 20 limited`);
  // another token has its own bucket
  assert.ok(Array.isArray(await new Client({ token: tokenB }).sandboxes.list()));
  await refill();
  assert.ok(Array.isArray(await client.sandboxes.list()));
});

test("a token has at most MaxSandboxesPerToken sandboxes", async () => {
  await refill();
  const a1 = await Sandbox.create({ timeout: "5m" });
  const a2 = await Sandbox.create({ timeout: "5m" });
  const a3 = Sandbox.create({ timeout: "5m" });
  await assert.rejects(a3, (e) => e.status === 429 && e.code === "LIMIT_EXCEEDED" &&
    /MaxSandboxesPerToken/.test(e.message));
  await refill();
  // the other tenant is not affected
  const b1 = await Sandbox.create({ token: tokenB });
  await b1.kill();
  // a killed sandbox gives its place back
  await a1.kill();
  let a4;
  for (let i = 0; ; i++) {
    try {
      a4 = await Sandbox.create({ timeout: "5m" });
      break;
    } catch (e) {
      assert.equal(e.status, 429, String(e));
      assert.ok(i < 20, `the place of a killed sandbox did not come back: ${e}`);
      await sleep(1000);
    }
  }
  await refill();
  // at most 4 calls in flight on one socket: each spawned process keeps its
  // processWait pending, so the fifth spawn is one call too many
  const children = [];
  for (let i = 0; i < 4; i++) children.push(await a4.spawn("sleep", { args: ["600"] }));
  await assert.rejects(a4.spawn("sleep", { args: ["600"] }), /MaxCallsPerSocket/);
  // this socket has no call to spare, even for kill: end them from another socket
  const other = await Sandbox.connect(a4.id);
  await other.sh`pkill -KILL -x sleep`.noThrow();
  await other.close();
  for (const child of children) assert.equal((await child.status).success, false);
  // the calls ended: the socket serves again
  assert.equal((await a4.sh`echo again`.text()).trim(), "again");
  await a2.kill();
  await a4.kill();
});

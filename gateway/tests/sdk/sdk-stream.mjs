// Backpressure toward the guest: a 1 GiB writeFile from a stream passes through the
// gateway in bounded memory (sdk-stream.gateway.conf: 8 MiB buffered per socket, 4 MiB
// frames): when the guest falls behind, the gateway stops reading the socket instead of
// buffering or cancelling the stream. The bytes arrive intact.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Sandbox } from "@deno/sandbox";

const gatewayPid = process.env.SBX_TEST_GATEWAY_PID;
const MiB = 1 << 20;
const TOTAL_MIB = 1024;

function rssMiB() {
  const status = readFileSync(`/proc/${gatewayPid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)[1]) / 1024;
}

test("a 1 GiB streamed writeFile passes in bounded gateway memory", async () => {
  const sandbox = await Sandbox.create({ timeout: "20m" });
  try {
    const before = rssMiB();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 100);
    const hash = createHash("sha256");
    let i = 0;
    const source = new ReadableStream({
      pull(controller) {
        if (i === TOTAL_MIB) return controller.close();
        const chunk = new Uint8Array(MiB).fill(i & 0xff);
        chunk[0] = i >> 8;
        hash.update(chunk);
        i++;
        controller.enqueue(chunk);
      },
    });
    const started = Date.now();
    try {
      await sandbox.fs.writeFile("/home/sandbox/big.bin", source);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`# 1 GiB in ${seconds.toFixed(1)} s; gateway RSS ${before.toFixed(0)} -> ` +
      `peak ${peak.toFixed(0)} MiB`);
    // 2 x 8 MiB buffered + one read of 4 MiB frames (base64) + libsoup's buffers
    assert.ok(peak - before < 96, `the gateway grew by ${(peak - before).toFixed(0)} MiB`);
    const stat = await sandbox.fs.stat("/home/sandbox/big.bin");
    assert.equal(stat.size, TOTAL_MIB * MiB);
    const sum = await sandbox.sh`sha256sum /home/sandbox/big.bin`.text();
    assert.equal(sum.split(" ")[0], hash.digest("hex"));
  } finally {
    await sandbox.kill();
  }
});

// The SDK's side of the bench: the same measurements as sandboxd-bench's (a), (c), (d)
// and (e) rows, made with the real @deno/sandbox SDK through sandboxd-gateway.
//   node bench-sdk.mjs [-n RUNS] [--stream-mib MIB] [--file-mib MIB]
// with DENO_SANDBOX_ENDPOINT, DENO_DEPLOY_ENDPOINT and DENO_DEPLOY_TOKEN set
// (bench/run-sdk-bench.sh does it all). Prints rows in sandboxd-bench's format.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { Sandbox } from "@deno/sandbox";

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}
const runs = option("-n", 10);
const streamMiB = option("--stream-mib", 64);
const fileMiB = option("--file-mib", 64);
const fileRuns = option("--file-runs", 3);

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const p95 = v[Math.min(v.length - 1, Math.ceil(0.95 * v.length) - 1)];
  return { n: v.length, median: v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2, p95, min: v[0], max: v[v.length - 1] };
}

function row(label, values, unit) {
  if (values.length === 0) return;
  const s = stats(values);
  const f = (x) => x.toFixed(2).padStart(12);
  console.log(`${label.padEnd(48)}${String(s.n).padStart(2)} ${f(s.median)} ${f(s.p95)} ${f(s.min)} ${f(s.max)}  ${unit}`);
}

const now = () => performance.now();

// the first chunk of a process's stdout
async function firstByte(sandbox, start) {
  const child = await sandbox.spawn("echo", { args: ["x"], stdout: "piped" });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const t = now() - start;
  if (!value || value.length === 0) throw new Error("no output from echo x");
  while (!(await reader.read()).done);
  await child.status;
  return t;
}

async function main() {
  console.log(`@deno/sandbox through sandboxd-gateway (${process.env.DENO_SANDBOX_ENDPOINT}), ${runs} runs each`);
  console.log(`${"measurement".padEnd(48)} n       median          p95          min          max`);
  const create = [], firstBytes = [], kill = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    const sandbox = await Sandbox.create();
    create.push(now() - t0);
    firstBytes.push(await firstByte(sandbox, t0));
    const t1 = now();
    await sandbox.kill();
    kill.push(now() - t1);
  }
  row("(a) Sandbox.create() -> first byte [SDK]", firstBytes, "ms");
  row("    Sandbox.create() alone", create, "ms");
  row("    kill()", kill, "ms");

  const sandbox = await Sandbox.create();
  try {
    const stream = [];
    for (let i = 0; i < runs; i++) {
      const t0 = now();
      const child = await sandbox.spawn("head", { args: ["-c", String(streamMiB << 20), "/dev/zero"], stdout: "piped" });
      let got = 0;
      for await (const chunk of child.stdout) got += chunk.length;
      await child.status;
      if (got !== streamMiB << 20) throw new Error(`stdout: ${got} bytes, not ${streamMiB} MiB`);
      stream.push(streamMiB / ((now() - t0) / 1000));
    }
    row(`(c) stdout throughput, ${streamMiB} MiB [SDK]`, stream, "MiB/s");
    if (fileMiB > 0) {
      const data = new Uint8Array(fileMiB << 20).fill(7);
      const write = [], read = [];
      for (let i = 0; i < fileRuns; i++) {
        let t0 = now();
        await sandbox.fs.writeFile("/tmp/sdk-bench.bin", data);
        write.push(fileMiB / ((now() - t0) / 1000));
        t0 = now();
        const back = await sandbox.fs.readFile("/tmp/sdk-bench.bin");
        read.push(fileMiB / ((now() - t0) / 1000));
        if (back.length !== data.length) throw new Error(`readFile: ${back.length} bytes`);
      }
      row(`(d) writeFile throughput, ${fileMiB} MiB [SDK]`, write, "MiB/s");
      row(`(e) readFile throughput, ${fileMiB} MiB [SDK]`, read, "MiB/s");
    }
  } finally {
    await sandbox.kill();
  }
}

await main();

// The unmodified @deno/sandbox SDK's deno.* methods against sandboxd-gateway and the
// debian image's Deno harness: the SDK README's examples (eval, run, repl, sh pwd) and
// their error paths. No network inside the guest. Run by sbx-gateway-test.
// SPDX-License-Identifier: LGPL-2.1-or-later
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Sandbox } from "@deno/sandbox";

let sandbox;

before(async () => {
  sandbox = await Sandbox.create({ labels: { suite: "sdk-deno" } });
});

after(async () => {
  await sandbox?.close();
});

test("README: sh`pwd` prints /home/sandbox; deno runs there", async () => {
  assert.equal(await sandbox.sh`pwd`.text(), "/home/sandbox\n");
  assert.match(await sandbox.sh`deno --version`.text(), /^deno 2\.9\.6 /);
});

test("README: deno.eval answers the value of the last expression", async () => {
  const t0 = performance.now();
  assert.equal(await sandbox.deno.eval("1+1"), 2);
  console.log(`# deno.eval("1+1") took ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  assert.deepEqual(await sandbox.deno.eval("const o = { a: [1, 'x', null] }; o"), { a: [1, "x", null] });
  assert.equal(await sandbox.deno.eval("Deno.cwd()"), "/home/sandbox");
  assert.equal(await sandbox.deno.eval("Promise.resolve(6 * 7)"), 42);
});

test("deno.eval: a syntax error and a thrown exception surface as the guest's errors", async () => {
  // the SDK's eval() does not close its REPL when the eval throws: these live on a
  // second socket, whose close ends them
  const other = await Sandbox.connect(sandbox.id);
  try {
    await evalErrors(other);
  } finally {
    await other.close();
  }
});

async function evalErrors(sandbox) {
  await assert.rejects(sandbox.deno.eval("1 +"), (e) => {
    assert.equal(e.constructor.name, "SyntaxError");
    assert.match(e.message, /Unexpected end of input/);
    return true;
  });
  await assert.rejects(sandbox.deno.eval("throw new TypeError('boom ' + (20 + 1))"), (e) => {
    assert.equal(e.constructor.name, "TypeError");
    assert.equal(e.message, "boom 21");
    return true;
  });
  await assert.rejects(sandbox.deno.eval("null.x"), (e) => e instanceof TypeError);
}

test("README: deno.run an entrypoint with args, env, cwd; output checked", async () => {
  await sandbox.fs.writeTextFile("/home/sandbox/main.ts",
    "const n: number = Number(Deno.args[1]);\n" +
    "console.log(`${Deno.args[0]} ${n * 2} ${Deno.env.get('GREETING')} ${Deno.cwd()} ${import.meta.main}`);\n" +
    "console.error('to stderr');\n" +
    "Deno.exit(Number(Deno.args[2]));\n");
  const p = await sandbox.deno.run({
    entrypoint: "main.ts",
    scriptArgs: ["hi", "21", "3"],
    env: { GREETING: "hello" },
    cwd: "/home/sandbox",
    stdout: "piped",
    stderr: "piped",
  });
  const out = await p.output();
  assert.equal(out.stdoutText, "hi 42 hello /home/sandbox true\n");
  assert.equal(out.stderrText, "to stderr\n");
  assert.equal(out.status.code, 3);
  // it never served HTTP
  assert.equal(await p.httpReady, false);
  // the control variable stays the harness's
  const env = await sandbox.deno.run({ code: "console.log(Deno.env.get('SBX_DENO_CONTROL') ?? 'unset')", extension: "js", stdout: "piped" });
  assert.equal((await env.output()).stdoutText, "unset\n");
});

test("README: deno.run inline code, each extension's syntax", async () => {
  const ts = await sandbox.deno.run({ code: "const x: number = 40; console.log(x + 2, Deno.args.join(','));", scriptArgs: ["a", "b"], stdout: "piped" });
  assert.equal((await ts.output()).stdoutText, "42 a,b\n");
  const cjs = await sandbox.deno.run({ code: "const os = require('node:os'); console.log(typeof os.hostname());", extension: "cjs", stdout: "piped" });
  assert.equal((await cjs.output()).stdoutText, "string\n");
  const bad = await sandbox.deno.run({ code: "this is not code", extension: "js", stdout: "piped", stderr: "piped" });
  const res = await bad.output();
  assert.notEqual(res.status.code, 0);
  assert.match(res.stderrText, /SyntaxError|error/i);
});

test("deno.run: httpReady is true once Deno.serve and node:http listen", async () => {
  const serve = await sandbox.deno.run({
    code: "const s = Deno.serve({ port: 8111, onListen() {} }, () => new Response('x')); setTimeout(() => s.shutdown(), 500);",
    stdout: "piped",
    stderr: "piped",
  });
  assert.equal(await serve.httpReady, true);
  assert.equal((await serve.output()).status.code, 0);
  const node = await sandbox.deno.run({
    code: "import http from 'node:http'; const s = http.createServer((q, r) => r.end('x')).listen(8112, () => setTimeout(() => s.close(), 500));",
    extension: "mjs",
    stdout: "piped",
  });
  assert.equal(await node.httpReady, true);
  assert.equal((await node.output()).status.code, 0);
});

test("README: deno.repl keeps state across evals; call; close", async () => {
  const repl = await sandbox.deno.repl();
  try {
    assert.equal(await repl.eval("const x = 40"), null);
    assert.equal(await repl.eval("let y = 2; x + y"), 42);
    await repl.eval("function add(a, b) { return a + b; }");
    assert.equal(await repl.call("add", 1, 2), 3);
    assert.equal(await repl.call("(a, b) => a * b", 6, 7), 42);
    assert.deepEqual(await repl.call("async (s) => s.split('')", "abc"), ["a", "b", "c"]);
    // an error does not lose the state
    await assert.rejects(repl.eval("x = 1"), (e) => e.constructor.name === "TypeError");
    assert.equal(await repl.eval("x"), 40);
    await assert.rejects(repl.call("nope", 1), (e) => e.constructor.name === "ReferenceError");
    // concurrent evals answer in order
    const all = await Promise.all([repl.eval("x + 1"), repl.eval("x + 2"), repl.eval("x + 3")]);
    assert.deepEqual(all, [41, 42, 43]);
    // a large result crosses whole
    assert.equal((await repl.eval("'z'.repeat(3 * 1024 * 1024)")).length, 3 * 1024 * 1024);
    // a result beyond the harness's 16 MiB is a RangeError, and the REPL serves on
    await assert.rejects(repl.eval("'z'.repeat(20 * 1024 * 1024)"), (e) => {
      assert.equal(e.constructor.name, "RangeError");
      assert.match(e.message, /larger than/);
      return true;
    });
    assert.equal(await repl.eval("x + 2"), 42);
  } finally {
    await repl.close();
  }
  // closed: it exits (EOF on its control channel or the kill, whichever is first)
  await repl.status;
  await assert.rejects(repl.eval("1"));
});

test("a REPL whose process was killed refuses evals; close is quiet", async () => {
  const repl = await sandbox.deno.repl();
  assert.equal(await repl.eval("1 + 1"), 2);
  await repl.kill("SIGKILL");
  const status = await repl.status;
  assert.equal(status.signal, "SIGKILL");
  await assert.rejects(repl.eval("1 + 1"), (e) => {
    assert.match(e.message, /exited/);
    return true;
  });
  await repl.close();
});

test("an eval that never returns times out and ends its REPL", async () => {
  // the harness sets [gateway] DenoEvalTimeoutSec=90
  const repl = await sandbox.deno.repl();
  assert.equal(await repl.eval("40 + 2"), 42);
  const looping = repl.eval("for (;;) {}");
  const queued = repl.eval("'never reached'");
  await assert.rejects(looping, (e) => {
    assert.equal(e.code, "ETIMEDOUT");
    assert.match(e.message, /did not finish within 90 s/);
    return true;
  });
  // the request behind it fails with the REPL, which was killed
  await assert.rejects(queued, /exited/);
  assert.equal((await repl.status).signal, "SIGKILL");
  await repl.close();
});

test("a REPL that exits by itself fails the eval in flight", async () => {
  const repl = await sandbox.deno.repl();
  await assert.rejects(repl.eval("Deno.exit(4)"), /exited/);
  assert.equal((await repl.status).code, 4);
  await repl.close();
});

test("no harness, helper or control folder is left behind", async () => {
  // closed REPLs, finished programs and the closed second socket's REPLs are gone
  let left = "";
  for (let i = 0; i < 100; i++) {
    const ps = await sandbox.spawn("bash", {
      args: ["-c", "ls -d /tmp/sbx-deno.* 2>/dev/null; pgrep -af 'deno-harness|deno-control'"],
      stdout: "piped",
    });
    left = (await ps.output()).stdoutText;
    if (left === "") return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`left in the guest:\n${left}`);
});

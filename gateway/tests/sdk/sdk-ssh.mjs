// The unmodified @deno/sandbox SDK's exposeSsh() against sandboxd-gateway's SSH server,
// logged into with the OpenSSH client: exec and PTY sessions through sandboxd's Spawn,
// wrong names refused, a killed sandbox ends its sessions and its name, failed logins
// rate limited. Run by sbx-gateway-test (the gateway gets [gateway] SSHListen).
// SPDX-License-Identifier: LGPL-2.1-or-later
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { Sandbox } from "@deno/sandbox";

const PORT = process.env.SBX_TEST_SSH_PORT;
let sandbox;

function ssh(user, args, { input = "", tty = false, timeoutMs = 300000 } = {}) {
  const argv = [
    "-p", PORT,
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=60",
    ...(tty ? ["-tt"] : ["-T"]),
    `${user}@127.0.0.1`,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", argv, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ssh ${args.join(" ")} did not end within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

before(async () => {
  assert.ok(PORT, "SBX_TEST_SSH_PORT is set by the harness");
  sandbox = await Sandbox.create({ labels: { suite: "sdk-ssh" } });
});

after(async () => {
  await sandbox?.kill().catch(() => {});
  await sandbox?.close();
});

test("README: exposeSsh answers a hostname and a random per-sandbox username", async () => {
  const { hostname, username } = await sandbox.exposeSsh();
  assert.equal(hostname, "127.0.0.1");
  assert.match(username, /^[a-z0-9]{24}$/);
  // the same sandbox keeps its name
  assert.equal((await sandbox.exposeSsh()).username, username);
});

test("an exec request runs in the sandbox: output, stderr apart, stdin, exit code", async () => {
  const { username } = await sandbox.exposeSsh();
  const t0 = performance.now();
  const res = await ssh(username, ["echo hi; whoami; pwd; echo oops >&2; exit 3"]);
  console.log(`# ssh exec took ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  assert.equal(res.stdout, "hi\nsandbox\n/home/sandbox\n");
  assert.equal(res.stderr, "oops\n");
  assert.equal(res.code, 3);
  const cat = await ssh(username, ["tr a-z A-Z"], { input: "piped through\n" });
  assert.equal(cat.stdout, "PIPED THROUGH\n");
  assert.equal(cat.code, 0);
  // sessions at the same time keep their own streams
  const [a, b] = await Promise.all([
    ssh(username, ["for i in 1 2 3; do echo a$i; sleep 0.2; done"]),
    ssh(username, ["for i in 1 2 3; do echo b$i; sleep 0.2; done; exit 4"]),
  ]);
  assert.equal(a.stdout, "a1\na2\na3\n");
  assert.equal(a.code, 0);
  assert.equal(b.stdout, "b1\nb2\nb3\n");
  assert.equal(b.code, 4);
  // what was run is visible to the SDK too
  await ssh(username, ["echo from-ssh > /tmp/ssh-mark"]);
  assert.equal(await sandbox.fs.readTextFile("/tmp/ssh-mark"), "from-ssh\n");
});

test("a shell on a pseudo-terminal", async () => {
  const { username } = await sandbox.exposeSsh();
  const res = await ssh(username, [], { tty: true, input: "tty; echo \"term=$TERM\"; exit 5\n" });
  assert.match(res.stdout, /\/dev\/pts\/\d+/);
  assert.match(res.stdout, /term=/);
  assert.equal(res.code, 5);
});

test("a wrong username gets a failed login", async () => {
  const res = await ssh("nosuchsandboxcredential0", ["true"]);
  assert.equal(res.code, 255);
  assert.match(res.stderr, /Permission denied/);
});

test("killing the sandbox ends its sessions and its username", async () => {
  const other = await Sandbox.create({ labels: { suite: "sdk-ssh-kill" } });
  const { username } = await other.exposeSsh();
  const session = ssh(username, ["echo started; sleep 600"]);
  // wait until the session runs in the guest
  for (let i = 0; i < 600; i++) {
    const ps = await other.spawn("bash", { args: ["-c", "pgrep -f '[s]leep 600' || true"], stdout: "piped" });
    if ((await ps.output()).stdoutText.trim() !== "") break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await other.kill();
  const res = await session;
  assert.equal(res.stdout, "started\n");
  assert.notEqual(res.code, 0);
  const again = await ssh(username, ["true"]);
  assert.equal(again.code, 255);
  assert.match(again.stderr, /Permission denied/);
});

test("the host key is kept in the state folder (0600) and is the one served", () => {
  const key = `${process.env.SBX_TEST_SSH_STATE_DIR}/ssh_host_ed25519_key`;
  assert.equal(statSync(key).mode & 0o777, 0o600);
  const pub = execFileSync("ssh-keygen", ["-y", "-f", key]).toString().trim().split(" ").slice(0, 2).join(" ");
  const scanned = execFileSync("ssh-keyscan", ["-p", PORT, "-t", "ed25519", "127.0.0.1"], { stdio: ["ignore", "pipe", "ignore"] }).toString();
  assert.ok(scanned.includes(pub), `${scanned} does not offer ${pub}`);
});

test("many failed logins shut the source address out for a while", async () => {
  const { username } = await sandbox.exposeSsh();
  for (let i = 0; i < 10; i++) {
    const res = await ssh(`wrongname${i}`, ["true"]);
    assert.equal(res.code, 255);
  }
  // now even the right name fails from here
  const res = await ssh(username, ["true"]);
  assert.equal(res.code, 255);
  assert.match(res.stderr, /Permission denied/);
});

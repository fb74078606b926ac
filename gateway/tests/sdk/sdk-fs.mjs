// fs methods added to the agent and Sandbox1: symlink, readLink, link, copyFile,
// truncate, chown, utime. SPDX-License-Identifier: LGPL-2.1-or-later
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Sandbox } from "@deno/sandbox";

let sandbox;
before(async () => {
  sandbox = await Sandbox.create({ labels: { suite: "sdk-fs" } });
  await sandbox.fs.mkdir("/tmp/fs");
  await sandbox.fs.writeTextFile("/tmp/fs/a.txt", "hello");
});
after(async () => {
  await sandbox?.kill();
});

test("symlink and readLink", async () => {
  await sandbox.fs.symlink("/tmp/fs/a.txt", "/tmp/fs/sym");
  assert.equal(await sandbox.fs.readLink("/tmp/fs/sym"), "/tmp/fs/a.txt");
  assert.equal((await sandbox.fs.lstat("/tmp/fs/sym")).isSymlink, true);
  assert.equal(await sandbox.fs.readTextFile("/tmp/fs/sym"), "hello");
  await assert.rejects(sandbox.fs.symlink("/tmp/fs/a.txt", "/tmp/fs/sym"), (e) => e.code === "EEXIST");
  await assert.rejects(sandbox.fs.readLink("/tmp/fs/a.txt"), (e) => e.code === "EINVAL");
  await assert.rejects(sandbox.fs.readLink("/tmp/fs/none"), (e) => e.code === "ENOENT");
});

test("link and copyFile", async () => {
  await sandbox.fs.link("/tmp/fs/a.txt", "/tmp/fs/hard");
  assert.equal(await sandbox.sh`stat -c %h /tmp/fs/a.txt`.text(), "2\n");
  await sandbox.fs.chmod("/tmp/fs/a.txt", 0o640);
  await sandbox.fs.copyFile("/tmp/fs/a.txt", "/tmp/fs/copy");
  assert.equal(await sandbox.fs.readTextFile("/tmp/fs/copy"), "hello");
  assert.equal(await sandbox.sh`stat -c %a:%h /tmp/fs/copy`.text(), "640:1\n");
  await assert.rejects(sandbox.fs.copyFile("/tmp/fs/none", "/tmp/fs/x"), (e) => e.code === "ENOENT");
  await assert.rejects(sandbox.fs.copyFile("/tmp/fs", "/tmp/fs/x"), (e) => e.code === "EISDIR");
});

test("truncate, chown, utime", async () => {
  await sandbox.fs.truncate("/tmp/fs/copy", 2);
  assert.equal(await sandbox.fs.readTextFile("/tmp/fs/copy"), "he");
  await sandbox.fs.truncate("/tmp/fs/copy");
  assert.equal(await sandbox.sh`stat -c %s /tmp/fs/copy`.text(), "0\n");
  await sandbox.fs.chown("/tmp/fs/copy", 1000, 1000);
  assert.equal(await sandbox.sh`stat -c %U:%G /tmp/fs/copy`.text(), "sandbox:sandbox\n");
  // the fs methods act as the user sandbox: a group it is not in is refused
  await assert.rejects(sandbox.fs.chown("/tmp/fs/copy", null, 0), (e) => e.code === "EACCES");
  await sandbox.sh`chown :root /tmp/fs/copy`.sudo();
  assert.equal(await sandbox.sh`stat -c %U:%G /tmp/fs/copy`.text(), "sandbox:root\n");
  await sandbox.fs.utime("/tmp/fs/copy", new Date("2001-09-09T01:46:40Z"), new Date("2017-07-14T02:40:00Z"));
  assert.equal(await sandbox.sh`stat -c %X:%Y /tmp/fs/copy`.text(), "1000000000:1500000000\n");
  await assert.rejects(sandbox.fs.truncate("/tmp/fs/none", 1), (e) => e.code === "ENOENT");
});

test("realPath, makeTempDir, makeTempFile", async () => {
  assert.equal(await sandbox.fs.realPath("/tmp/fs/sym"), "/tmp/fs/a.txt");
  assert.equal(await sandbox.fs.realPath("/tmp/fs/../fs/./a.txt"), "/tmp/fs/a.txt");
  await assert.rejects(sandbox.fs.realPath("/tmp/fs/none"), (e) => e.code === "ENOENT");
  const dir = await sandbox.fs.makeTempDir({ prefix: "work-" });
  assert.match(dir, /^\/tmp\/work-[A-Za-z0-9]{6}$/);
  assert.equal((await sandbox.fs.stat(dir)).isDirectory, true);
  const file = await sandbox.fs.makeTempFile({ dir, prefix: "a", suffix: ".json" });
  assert.ok(file.startsWith(`${dir}/a`) && file.endsWith(".json"), file);
  assert.equal((await sandbox.fs.stat(file)).isFile, true);
  assert.notEqual(await sandbox.fs.makeTempFile({ dir }), file);
  await assert.rejects(sandbox.fs.makeTempFile({ prefix: "no/slash" }), (e) => e.code === "EINVAL");
});

test("fs methods act as the guest user sandbox, not root", async () => {
  await sandbox.fs.writeTextFile("/home/sandbox/x", "one\n");
  assert.equal(await sandbox.sh`stat -c %U:%G /home/sandbox/x`.text(), "sandbox:sandbox\n");
  // the user's own shell can change what the SDK wrote
  await sandbox.sh`echo more >> /home/sandbox/x`;
  assert.equal(await sandbox.fs.readTextFile("/home/sandbox/x"), "one\nmore\n");
  await sandbox.fs.mkdir("/home/sandbox/d");
  assert.equal(await sandbox.sh`stat -c %U /home/sandbox/d`.text(), "sandbox\n");
  await sandbox.fs.copyFile("/home/sandbox/x", "/home/sandbox/d/y");
  await sandbox.fs.rename("/home/sandbox/d/y", "/home/sandbox/d/z");
  await sandbox.fs.symlink("/home/sandbox/d/z", "/home/sandbox/d/s");
  assert.equal(await sandbox.sh`stat -c %U -- /home/sandbox/d/z`.text(), "sandbox\n");
  assert.equal(await sandbox.sh`stat -c %U -- /home/sandbox/d/s`.text(), "sandbox\n");
  await assert.rejects(
    sandbox.fs.copyFile("/home/sandbox/x", "/etc/forbidden"),
    (e) => e.code === "EACCES",
  );
  await assert.rejects(sandbox.fs.chmod("/etc/passwd", 0o666), (e) => e.code === "EACCES");
  await assert.rejects(sandbox.fs.rename("/etc/hostname", "/etc/hostname2"), (e) => e.code === "EACCES");
  // root's places are refused, as for the user's shell
  await assert.rejects(
    sandbox.fs.writeTextFile("/etc/forbidden", "no"),
    (e) => e.name === "PermissionDenied" || e.code === "EACCES",
  );
  await assert.rejects(
    sandbox.fs.readTextFile("/etc/shadow"),
    (e) => e.name === "PermissionDenied" || e.code === "EACCES",
  );
  assert.equal(await sandbox.sh`test -e /etc/forbidden || echo absent`.text(), "absent\n");
  // sudo in the shell still can
  await sandbox.sh`sh -c 'echo yes > /etc/forbidden'`.sudo();
  assert.equal(await sandbox.sh`cat /etc/forbidden`.text(), "yes\n");
});

test("/metrics: OpenMetrics with sandboxes by state, create latency, errors, bytes", async () => {
  const endpoint = process.env.DENO_SANDBOX_ENDPOINT;
  await sandbox.fs.readTextFile("/tmp/fs/hard"); // some bytes to the client
  const res = await fetch(`${endpoint}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^application\/openmetrics-text; version=1\.0\.0/);
  const text = await res.text();
  assert.ok(text.endsWith("# EOF\n"));
  const value = (re) => Number(text.match(re)?.[1]);
  assert.ok(value(/^sandboxd_sandboxes\{state="running"\} (\d+)$/m) >= 1);
  assert.ok(value(/^sandboxd_gateway_create_seconds_count (\d+)$/m) >= 1);
  assert.ok(value(/^sandboxd_gateway_create_seconds_bucket\{le="\+Inf"\} (\d+)$/m) >= 1);
  assert.ok(value(/^sandboxd_gateway_create_seconds_sum ([\d.]+)$/m) > 0);
  assert.ok(value(/^sandboxd_gateway_errors_total\{code="ENOENT"\} (\d+)$/m) >= 2);
  assert.ok(value(/^sandboxd_gateway_errors_total\{code="EEXIST"\} (\d+)$/m) >= 1);
  assert.ok(value(/^sandboxd_gateway_stream_bytes_total\{direction="to_client"\} (\d+)$/m) >= 5);
});

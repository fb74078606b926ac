// open files (open/create and the FsFile methods), umask, walk, expandGlob and
// download() of a directory tree, through the agent's requests 88-100 and
// Sandbox1's OpenFile/File*/Umask/Walk/Glob. SPDX-License-Identifier: LGPL-2.1-or-later
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sandbox } from "@deno/sandbox";

const enc = new TextEncoder();
const dec = new TextDecoder();
let sandbox;
let local;

before(async () => {
  sandbox = await Sandbox.create({ labels: { suite: "sdk-handles" } });
  local = await mkdtemp(join(tmpdir(), "sdk-handles-"));
  // a tree for walk, glob and download: a 200 KiB file needs several 64 KiB reads
  await sandbox.sh`mkdir -p /tmp/h/tree/sub/deep /tmp/h/tree/Other &&
    printf one > /tmp/h/tree/a.txt && printf two > /tmp/h/tree/sub/b.txt &&
    printf three > /tmp/h/tree/sub/deep/c.md && printf four > /tmp/h/tree/Other/D.TXT &&
    head -c 204800 /dev/urandom > /tmp/h/tree/sub/big.bin &&
    ln -s a.txt /tmp/h/tree/link && ln -s .. /tmp/h/tree/sub/up`;
});
after(async () => {
  await sandbox?.kill();
  if (local) await rm(local, { recursive: true, force: true });
});

test("create, write, seek, read, stat, truncate, sync, utime, close", async () => {
  const file = await sandbox.fs.create("/tmp/h/f.bin");
  assert.equal(await file.write(new Uint8Array([0, 1, 2, 3, 4, 5])), 6);
  assert.equal(await file.seek(2, 0), 2);
  const buf = new Uint8Array(100);
  assert.equal(await file.read(buf), 4);
  assert.deepEqual(buf.slice(0, 4), new Uint8Array([2, 3, 4, 5]));
  assert.equal(await file.read(buf), null); // EOF
  assert.equal(await file.seek(3, 1), 9);
  assert.equal(await file.seek(-4, 2), 2);
  let st = await file.stat();
  assert.equal(st.isFile, true);
  assert.equal(st.size, 6);
  await file.truncate(3);
  assert.equal((await file.stat()).size, 3);
  await file.truncate();
  assert.equal((await file.stat()).size, 0);
  await file.write(enc.encode("synced"));
  await file.sync();
  await file.syncData();
  await file.utime(new Date("2001-09-09T01:46:40Z"), new Date("2017-07-14T02:40:00.250Z"));
  st = await file.stat();
  assert.equal(st.mtime.toISOString(), "2017-07-14T02:40:00.250Z");
  await file.close();
  assert.equal(await sandbox.sh`stat -c %X:%Y:%s /tmp/h/f.bin`.text(), "1000000000:1500000000:8\n");
  assert.equal(dec.decode(await sandbox.fs.readFile("/tmp/h/f.bin")).slice(2), "synced");
});

test("open options and the readable/writable streams", async () => {
  await sandbox.fs.writeTextFile("/tmp/h/o.txt", "hello");
  const ro = await sandbox.fs.open("/tmp/h/o.txt");
  await assert.rejects(ro.write(enc.encode("x"))); // opened for reading only
  let text = "";
  for await (const chunk of ro.readable) text += dec.decode(chunk);
  assert.equal(text, "hello");
  const ap = await sandbox.fs.open("/tmp/h/o.txt", { append: true });
  await ReadableStream.from([enc.encode(" world"), enc.encode("!")]).pipeTo(ap.writable);
  assert.equal(await sandbox.fs.readTextFile("/tmp/h/o.txt"), "hello world!");
  await assert.rejects(
    sandbox.fs.open("/tmp/h/o.txt", { write: true, createNew: true }),
    (e) => e.code === "EEXIST",
  );
  const made = await sandbox.fs.open("/tmp/h/new.txt", { write: true, createNew: true, mode: 0o600 });
  await made.close();
  assert.equal(await sandbox.sh`stat -c %a /tmp/h/new.txt`.text(), "600\n");
});

test("error paths: missing file, bad handle id, read after close", async () => {
  await assert.rejects(sandbox.fs.open("/tmp/h/none"), (e) => e.code === "ENOENT" && e.constructor.name === "NotFound");
  await assert.rejects(sandbox.fs.open("/tmp/h", { write: true }), (e) => e.code === "EISDIR");
  const file = await sandbox.fs.open("/tmp/h/o.txt", { read: true });
  await file.close();
  await assert.rejects(file.read(new Uint8Array(8)), (e) => e.code === "EBADF");
  await assert.rejects(file.stat(), (e) => e.code === "EBADF" && e.constructor.name === "BadResource");
  // another socket's handle ids are not this one's: a second client of the
  // same sandbox cannot use them (its table is empty)
  const other = await Sandbox.connect(sandbox.id);
  try {
    const mine = await sandbox.fs.open("/tmp/h/o.txt");
    const theirs = await other.fs.open("/tmp/h/o.txt");
    await theirs.close();
    await assert.rejects(theirs.read(new Uint8Array(4)), (e) => e.code === "EBADF");
    assert.equal(await mine.read(new Uint8Array(5)), 5);
    await mine.close();
  } finally {
    await other.close();
  }
});

test("lock waits for another holder, unlock releases it", async () => {
  const a = await sandbox.fs.open("/tmp/h/o.txt", { read: true, write: true });
  const b = await sandbox.fs.open("/tmp/h/o.txt", { read: true, write: true });
  await a.lock(true);
  let got = false;
  const waiting = b.lock(true).then(() => (got = true));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(got, false, "b's lock must wait while a holds it");
  await a.unlock();
  await waiting;
  assert.equal(got, true);
  await b.unlock();
  await a.lock(false);
  await b.lock(false); // two shared locks coexist
  await a.close();
  await b.close();
});

test("umask: read, set, obeyed by fs calls and spawned processes", async () => {
  const before = await sandbox.fs.umask();
  assert.equal(before, 0o022);
  assert.equal(await sandbox.fs.umask(0o077), 0o022);
  assert.equal(await sandbox.fs.umask(), 0o077);
  const f = await sandbox.fs.create("/tmp/h/masked");
  await f.close();
  assert.equal(await sandbox.sh`stat -c %a /tmp/h/masked`.text(), "600\n");
  assert.equal(await sandbox.sh`umask`.text(), "0077\n");
  assert.equal(await sandbox.fs.umask(0o022), 0o077);
});

async function collect(iter) {
  const out = [];
  for await (const e of iter) out.push(e);
  return out;
}

test("walk: entries, options, symlinks, loops", async () => {
  const all = await collect(sandbox.fs.walk("/tmp/h/tree"));
  const paths = all.map((e) => e.path).sort();
  assert.deepEqual(paths, [
    "/tmp/h/tree",
    "/tmp/h/tree/Other",
    "/tmp/h/tree/Other/D.TXT",
    "/tmp/h/tree/a.txt",
    "/tmp/h/tree/link",
    "/tmp/h/tree/sub",
    "/tmp/h/tree/sub/b.txt",
    "/tmp/h/tree/sub/big.bin",
    "/tmp/h/tree/sub/deep",
    "/tmp/h/tree/sub/deep/c.md",
    "/tmp/h/tree/sub/up",
  ]);
  assert.equal(all[0].path, "/tmp/h/tree"); // the root first
  const byPath = Object.fromEntries(all.map((e) => [e.path, e]));
  assert.deepEqual(byPath["/tmp/h/tree/link"], {
    path: "/tmp/h/tree/link", name: "link", isFile: false, isDirectory: false, isSymlink: true,
  });
  assert.equal(byPath["/tmp/h/tree/sub"].isDirectory, true);
  assert.equal(byPath["/tmp/h/tree/sub/b.txt"].isFile, true);
  assert.equal(byPath["/tmp/h/tree/sub/b.txt"].name, "b.txt");

  const shallow = (await collect(sandbox.fs.walk("/tmp/h/tree", { maxDepth: 1 }))).map((e) => e.path);
  assert.ok(shallow.includes("/tmp/h/tree/sub") && !shallow.includes("/tmp/h/tree/sub/b.txt"));
  const files = await collect(sandbox.fs.walk("/tmp/h/tree", { includeDirs: false, includeSymlinks: false }));
  assert.ok(files.every((e) => e.isFile) && files.length === 5);
  const txt = (await collect(sandbox.fs.walk("/tmp/h/tree", { exts: [".txt"] }))).map((e) => e.path).sort();
  assert.deepEqual(txt, ["/tmp/h/tree/a.txt", "/tmp/h/tree/sub/b.txt"]);
  const matched = (await collect(sandbox.fs.walk("/tmp/h/tree", { match: [/\.txt$/i], skip: [/sub/] })))
    .map((e) => e.path).sort();
  assert.deepEqual(matched, ["/tmp/h/tree/Other/D.TXT", "/tmp/h/tree/a.txt"]);
  // sub/up points back to the tree: followed, the loop is cut, the walk ends
  const followed = await collect(sandbox.fs.walk("/tmp/h/tree", { followSymlinks: true }));
  assert.ok(followed.length >= 10 && followed.length < 100, String(followed.length));
  assert.ok(followed.every((e) => !e.isSymlink));
  // Deno's walk() of a missing root throws NotFound: the stream ends with the error
  await assert.rejects(collect(sandbox.fs.walk("/tmp/h/none")), (e) => e.code === "ENOENT");
});

test("expandGlob: globstar, exclude, case, root, trailing slash", async () => {
  const paths = async (glob, opts) => (await collect(sandbox.fs.expandGlob(glob, opts))).map((e) => e.path);
  assert.deepEqual(await paths("/tmp/h/tree/**/*.txt"), ["/tmp/h/tree/a.txt", "/tmp/h/tree/sub/b.txt"]);
  assert.deepEqual(await paths("/tmp/h/tree/*/*.txt"), ["/tmp/h/tree/sub/b.txt"]);
  assert.deepEqual(await paths("/tmp/h/tree/sub/@(b|x).txt"), ["/tmp/h/tree/sub/b.txt"]);
  assert.deepEqual(await paths("/tmp/h/tree/**/*.{md,txt}"), [
    "/tmp/h/tree/a.txt", "/tmp/h/tree/sub/b.txt", "/tmp/h/tree/sub/deep/c.md",
  ]);
  assert.deepEqual(await paths("/tmp/h/tree/**/*.txt", { caseInsensitive: true }), [
    "/tmp/h/tree/Other/D.TXT", "/tmp/h/tree/a.txt", "/tmp/h/tree/sub/b.txt",
  ]);
  assert.deepEqual(await paths("/tmp/h/tree/**/*.txt", { exclude: ["/tmp/h/tree/sub"] }), ["/tmp/h/tree/a.txt"]);
  assert.deepEqual(await paths("sub/*.bin", { root: "/tmp/h/tree" }), ["/tmp/h/tree/sub/big.bin"]);
  assert.deepEqual(await paths("/tmp/h/tree/s*/"), ["/tmp/h/tree/sub"]);
  assert.deepEqual(await paths("/tmp/h/tree/*", { includeDirs: false }), ["/tmp/h/tree/a.txt", "/tmp/h/tree/link"]);
  assert.deepEqual(await paths("/tmp/h/none/*"), []);
  const one = await collect(sandbox.fs.expandGlob("/tmp/h/tree/sub/deep/*.md"));
  assert.deepEqual(one, [{ path: "/tmp/h/tree/sub/deep/c.md", name: "c.md", isFile: true, isDirectory: false, isSymlink: false }]);
});

test("download() of a directory tree: realPath, lstat, walk, open and fileRead", async () => {
  await sandbox.fs.download("/tmp/h/tree", local);
  const root = join(local, "tree");
  assert.deepEqual((await readdir(root)).sort(), ["Other", "a.txt", "link", "sub"]);
  assert.equal(await readFile(join(root, "a.txt"), "utf8"), "one");
  assert.equal(await readFile(join(root, "sub", "b.txt"), "utf8"), "two");
  assert.equal(await readFile(join(root, "sub", "deep", "c.md"), "utf8"), "three");
  assert.equal(await readFile(join(root, "Other", "D.TXT"), "utf8"), "four");
  assert.equal(await readlink(join(root, "link")), "a.txt");
  const big = await readFile(join(root, "sub", "big.bin"));
  assert.equal(big.length, 204800);
  const want = (await sandbox.sh`sha256sum /tmp/h/tree/sub/big.bin`.text()).split(" ")[0];
  assert.equal(createHash("sha256").update(big).digest("hex"), want);
});

// Console REST for volumes and snapshots through the SDK's Client, onto sandboxd's qcow2
// volumes, as the token's owner; a volume mounted at create keeps its data across
// sandboxes. SPDX-License-Identifier: LGPL-2.1-or-later
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, Sandbox } from "@deno/sandbox";

const endpoint = process.env.DENO_SANDBOX_ENDPOINT;
const tokenB = process.env.SBX_TEST_TOKEN_B;
const client = new Client();
const other = new Client({ token: tokenB });

async function all(list) {
  const out = [];
  for await (const item of list) out.push(item);
  return out;
}

test("volumes: create, get, list, snapshot, delete, with the SDK's shapes", async () => {
  const vol = await client.volumes.create({ slug: "data-one", region: "loc", capacity: "512MiB" });
  assert.match(vol.id, /\S/);
  assert.equal(vol.slug, "data-one");
  assert.equal(vol.region, "loc");
  assert.equal(vol.capacity, 512 * 1024 * 1024);
  assert.equal(typeof vol.estimatedAllocatedSize, "number");
  assert.equal(vol.isBootable, false);

  const bySlug = await client.volumes.get("data-one");
  assert.equal(bySlug.id, vol.id);
  assert.equal((await client.volumes.get(vol.id)).slug, "data-one");
  assert.equal(await client.volumes.get("no-such-volume"), null);

  // decimal units and a second volume; pages of one follow the Link header
  const two = await client.volumes.create({ slug: "data-two", region: "loc", capacity: "1GB" });
  assert.equal(two.capacity, 1000000000);
  const page = await client.volumes.list({ limit: 1 });
  assert.equal(page.items.length, 1);
  assert.equal(page.hasMore, true);
  const slugs = (await all(await client.volumes.list({ limit: 1 }))).map((v) => v.slug).sort();
  assert.deepEqual(slugs, ["data-one", "data-two"]);
  const found = await client.volumes.list({ search: "two" });
  assert.deepEqual(found.items.map((v) => v.slug), ["data-two"]);

  // bad input: slug rules, capacity strings, a taken slug
  for (const slug of ["a", "-ab", "ab-", "ab--cd", "UPPER", "x".repeat(33)]) {
    await assert.rejects(client.volumes.create({ slug, region: "loc", capacity: "512MiB" }), (e) => {
      assert.equal(e.status, 400, slug);
      return true;
    });
  }
  await assert.rejects(client.volumes.create({ slug: "data-three", region: "loc", capacity: "12 parsecs" }), (e) => e.status === 400);
  await assert.rejects(client.volumes.create({ slug: "data-one", region: "loc", capacity: "512MiB" }), (e) => e.status === 409);

  // snapshots
  const snap = await client.volumes.snapshot("data-one", { slug: "snap-one" });
  assert.equal(snap.slug, "snap-one");
  assert.equal((await client.snapshots.get("snap-one")).id, snap.id);
  assert.equal(await client.volumes.get("snap-one"), null, "a snapshot is not a volume");
  assert.equal(await client.snapshots.get("data-one"), null, "a volume is not a snapshot");
  assert.deepEqual((await all(await client.snapshots.list())).map((s) => s.slug), ["snap-one"]);
  const clone = await client.volumes.create({ slug: "from-snap", region: "loc", capacity: "512MiB", from: "snap-one" });
  assert.equal(clone.baseSnapshot, snap.id);

  // the other tenant sees none of it and can touch none of it
  assert.deepEqual((await all(await other.volumes.list())).map((v) => v.slug), []);
  assert.equal(await other.volumes.get(vol.id), null);
  assert.equal(await other.snapshots.get(snap.id), null);
  const res = await fetch(`${endpoint}/api/v2/volumes/${vol.id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${tokenB}` },
  });
  assert.equal(res.status, 404);
  // the same slug is free for another tenant
  const theirs = await other.volumes.create({ slug: "data-one", region: "loc", capacity: "512MiB" });
  assert.notEqual(theirs.id, vol.id);
  await other.volumes.delete(theirs.id);

  await client.volumes.delete("from-snap");
  await client.snapshots.delete("snap-one");
  await client.volumes.delete("data-two");
  assert.equal(await client.volumes.get("data-two"), null);
});

test("a volume at create is mounted and keeps its data", async () => {
  const first = await Sandbox.create({ volumes: { "/data": "data-one" } });
  try {
    assert.equal(await first.sh`findmnt -n -o TARGET /data`.text(), "/data\n");
    // kill destroys the VM at once: the write must reach the disk first
    await first.sh`echo kept | sudo tee /data/mark >/dev/null && sync`;
  } finally {
    await first.kill();
  }
  const second = await Sandbox.create({ volumes: { "/data": "data-one" } });
  try {
    assert.equal(await second.sh`cat /data/mark`.text(), "kept\n");
  } finally {
    await second.kill();
  }
  // the other tenant cannot mount it
  await assert.rejects(Sandbox.create({ token: tokenB, volumes: { "/data": "data-one" } }));
  await client.volumes.delete("data-one");
});

// The @deno/sandbox SDK's README example, unmodified, against the local gateway:
//   DENO_SANDBOX_ENDPOINT=http://127.0.0.1:8080 DENO_DEPLOY_ENDPOINT=http://127.0.0.1:8080 \
//   DENO_DEPLOY_TOKEN=$(sandboxctl token create me) node hello.mjs
import { Sandbox } from "@deno/sandbox";

const sandbox = await Sandbox.create();
try {
  await sandbox.sh`ls -lh /`;
} finally {
  await sandbox.kill();
}

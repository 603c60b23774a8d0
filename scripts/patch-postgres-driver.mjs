// Run by `npm install` / `npm ci` (postinstall). Patches the postgres.js driver (3.4.9) against a
// crash that `npm run chaos` found: when Postgres restarts, a write buffered on a connection whose
// socket just closed runs `socket.write` on null, an exception no caller can catch, and the worker
// process dies (both workers at once). Upstream: porsager/postgres#1154, #1208 (fix PRs #1168,
// #1176, #1209, unreleased). The patch settles such a write as CONNECTION_CLOSED, and forgets the
// buffered write and its timer when a connection closes, so the reconnected connection can flush
// again. Remove once the driver ships the fix (the script then says the code it patches is gone).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MARK = 'order-fulfillment patch (porsager/postgres#1208)';
const root = fileURLToPath(new URL('../node_modules/postgres/', import.meta.url));
let patched = 0;
for (const file of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js'].map((f) => root + f)) {
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue;
  const guard = '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n';
  const teardown = /\n    clearImmediate\(nextWriteTimer\)\n/g;
  if (!text.includes(guard) || (text.match(teardown) ?? []).length !== 2) {
    process.stderr.write(
      `patch-postgres-driver: ${file} is not the code this patch knows; not patched (is the upstream fix released?)\n`,
    );
    continue;
  }
  text = text.replace(
    guard,
    `  function nextWrite(fn) {\n    if (!socket) { // ${MARK}: the socket closed under a buffered write\n` +
      '      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n      chunk = nextWriteTimer = null\n' +
      "      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)\n",
  );
  text = text.replace(teardown, `\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null // ${MARK}\n`);
  writeFileSync(file, text);
  patched += 1;
}
if (patched > 0) process.stdout.write(`patch-postgres-driver: patched ${patched} build(s) of the postgres driver\n`);

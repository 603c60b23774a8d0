import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `npm run chaos` found both workers dead after a Postgres restart: the postgres.js driver (3.4.9)
 * ran `socket.write` on a closed connection from a timer, an exception no caller can catch
 * (porsager/postgres#1208). scripts/patch-postgres-driver.mjs patches it at install time; this
 * test fails if an install skipped the patch or the driver changed under it. The chaos suite's
 * Postgres restart is the behavioural test.
 */
describe('the postgres driver as installed', () => {
  const root = fileURLToPath(new URL('../node_modules/postgres/', import.meta.url));

  it.each(['src/connection.js', 'cjs/src/connection.js'])(
    '%s settles a write on a closed socket instead of crashing the process',
    (file) => {
      const code = readFileSync(join(root, file), 'utf8');
      expect(code).toContain('if (!socket) { // order-fulfillment patch (porsager/postgres#1208)');
      expect(code.match(/chunk = nextWriteTimer = null \/\/ order-fulfillment patch/g)).toHaveLength(2);
    },
  );
});

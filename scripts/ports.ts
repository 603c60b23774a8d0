import { createServer } from 'node:net';

/** Whether nothing listens on `port` right now (on 127.0.0.1). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nothing listens on right now, between 20000 and 32767: below the kernel's ephemeral
 * range (so no outgoing connection takes it meanwhile) and within a Postgres smallint, which is how
 * the Temporal server stores its membership ports (cluster_membership.rpc_port).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    if (await isFree(port)) return port;
  }
  throw new Error('no free TCP port between 20000 and 32767');
}

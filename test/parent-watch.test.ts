import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * `kill <pid of npm start>` used to leave Postgres, Temporal, the worker and the API running: npm
 * died, nothing told its children. The worker, the API and npm start's embedded Postgres now stop
 * when whoever started them is gone (platform/parent-watch.ts), however it ended.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('watchParent', () => {
  it("stops a process whose parent was killed outright (SIGKILL), as npm start's children now do", async () => {
    // parent → child; the child watches its ancestors and exits when the parent is gone.
    const childCode = `
      import { watchParent } from './platform/parent-watch.ts';
      watchParent(() => { process.stdout.write('orphaned\\n'); process.exit(0); }, 100);
      setInterval(() => {}, 1000);
      process.stdout.write('watching\\n');`;
    const parentCode = `
      import { spawn } from 'node:child_process';
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(childCode)}], { stdio: ['ignore', 'inherit', 'inherit'] });
      process.stdout.write('child ' + child.pid + '\\n');
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', parentCode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const until = async (predicate: () => boolean, ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (!predicate() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return predicate();
    };
    expect(await until(() => output.includes('watching'))).toBe(true);
    const childPid = Number(/child (\d+)/.exec(output)![1]);
    parent.kill('SIGKILL');
    expect(await until(() => !alive(childPid), 10_000)).toBe(true);
  }, 40_000);
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isLauncher } from '../platform/parent-watch.js';

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

  it('keeps running when something above its supervisor goes away (the chaos suite started from a shell that exited)', async () => {
    // grandparent → supervisor → child. The grandparent's end is none of the child's business;
    // the supervisor's is. Before, every ancestor was watched and the chaos suite's workers
    // stopped when the shell that started it in the background exited.
    const childCode = `
      import { watchParent } from './platform/parent-watch.ts';
      watchParent(() => process.exit(0), 100);
      setInterval(() => {}, 1000);
      process.stdout.write('watching\\n');`;
    const supervisorCode = `
      import { spawn } from 'node:child_process';
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(childCode)}], { stdio: ['ignore', 'inherit', 'inherit'] });
      process.stdout.write('child ' + child.pid + ' supervisor ' + process.pid + '\\n');
      setInterval(() => {}, 1000);`;
    const grandparentCode = `
      import { spawn } from 'node:child_process';
      spawn(process.execPath, ['--input-type=module', '-e', ${JSON.stringify(supervisorCode)}], { stdio: ['ignore', 'inherit', 'inherit'] });
      setInterval(() => {}, 1000);`;
    const grandparent = spawn(process.execPath, ['--input-type=module', '-e', grandparentCode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    grandparent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const until = async (predicate: () => boolean, ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (!predicate() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return predicate();
    };
    expect(await until(() => output.includes('watching'))).toBe(true);
    const [, childPid, supervisorPid] = /child (\d+) supervisor (\d+)/.exec(output)!.map(Number);
    grandparent.kill('SIGKILL');
    // The child polls every 100 ms: a second is ten chances to stop wrongly.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(alive(childPid!)).toBe(true);
    process.kill(supervisorPid!, 'SIGKILL');
    expect(await until(() => !alive(childPid!), 10_000)).toBe(true);
  }, 40_000);

  it('sees through launchers (npm, sh -c, tsx) to the process that supervises', () => {
    expect(isLauncher(['npm run chaos'])).toBe(true);
    expect(isLauncher(['/usr/bin/node', '/usr/lib/node_modules/npm/bin/npm-cli.js', 'run', 'worker'])).toBe(true);
    expect(isLauncher(['sh', '-c', 'tsx workers/main.ts'])).toBe(true);
    expect(isLauncher(['node', '/work/main/node_modules/tsx/dist/cli.mjs', 'workers/main.ts'])).toBe(true);
    expect(isLauncher(['node', '--import', 'tsx', 'scripts/start.ts'])).toBe(false);
    expect(isLauncher(['/usr/bin/bash'])).toBe(false);
    expect(isLauncher(['timeout', '1500', 'npm', 'run', 'chaos'])).toBe(false);
  });
});

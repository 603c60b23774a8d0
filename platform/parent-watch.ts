import { readFileSync } from 'node:fs';

/** The parent of `pid` as /proc says (Linux), or null when it is gone or unknown. */
function parentOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * Launchers that only pass a command on and stay in between: npm (its process title or its CLI
 * script), `sh -c` (npm scripts), npx and tsx's CLI. They may outlive a SIGKILL of the one above them.
 */
const LAUNCHERS = [/(^|\/)(npm|npx|sh|dash|tsx)$/, /npm-cli\.js$/, /npx-cli\.js$/, /tsx\/dist\/cli\.m?js$/];

export function isLauncher(argv: string[]): boolean {
  const program = (argv[0] ?? '').split(' ')[0]!;
  if (LAUNCHERS.some((pattern) => pattern.test(program))) return true;
  return /(^|\/)node$/.test(program) && LAUNCHERS.some((pattern) => pattern.test(argv[1] ?? ''));
}

function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/**
 * Who started this process, seen through launchers: the parent and, while it is a launcher, the
 * one above it, up to the first process that is not one (the real supervisor: npm start's script,
 * the chaos suite, a shell, systemd), nearest first. Just the parent where /proc is missing. What is
 * above the supervisor is not watched: a shell that started it in the background and went away is
 * no reason to stop.
 */
export function ancestors(): number[] {
  const chain: number[] = [];
  for (let pid: number | null = process.ppid; pid !== null && pid > 1 && chain.length < 32; pid = parentOf(pid)) {
    chain.push(pid);
    const argv = commandLine(pid);
    if (!argv || !isLauncher(argv)) break;
  }
  return chain;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Calls `onOrphaned` once when the process that started this one (or a launcher between it and
 * this one, e.g. `npm` above `sh` above `tsx`) is gone, however it ended: SIGKILL, a crash, a
 * supervisor's SIGTERM that npm does not pass on. Node has no parent-death signal, so it polls; the timer does
 * not keep the process alive.
 */
export function watchParent(onOrphaned: () => void, everyMs = 1_000): () => void {
  const watched = ancestors();
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent || watched.some((pid) => !alive(pid))) {
      clearInterval(timer);
      onOrphaned();
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

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

/** This process's ancestors up to (not including) init, nearest first; just the parent where /proc is missing. */
export function ancestors(): number[] {
  const chain: number[] = [];
  for (let pid: number | null = process.ppid; pid !== null && pid > 1 && chain.length < 32; pid = parentOf(pid))
    chain.push(pid);
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
 * Calls `onOrphaned` once when the process that started this one (or any of its ancestors, e.g.
 * `npm` above `sh` above `tsx`) is gone, however it ended: SIGKILL, a crash, a supervisor's
 * SIGTERM that npm does not pass on. Node has no parent-death signal, so it polls; the timer does
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

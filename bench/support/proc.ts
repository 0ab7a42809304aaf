import { readdirSync, readFileSync } from 'node:fs';

const USER_HZ = 100;

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime, in ms: what the process and its reaped children used. */
  cpuMs: number;
}

function stat(pid: number): Stat | undefined {
  try {
    // The command name in parentheses may hold spaces: the fields start after its ') '.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { ppid: Number(fields[1]), cpuMs: (ticks * 1000) / USER_HZ };
  } catch {
    return undefined; // exited meanwhile
  }
}

/** `root` and every live descendant of it. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s) parents.set(Number(entry), s.ppid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/**
 * CPU time (ms) used so far by `root` and its descendants, live or reaped: a PostgreSQL server's
 * backends, or `npm start` and the all-in-one process under it.
 */
export const treeCpuMs = (root: number): number =>
  processTree(root).reduce((sum, pid) => sum + (stat(pid)?.cpuMs ?? 0), 0);

/** Resident memory of a process now (VmRSS) or at its peak (VmHWM), in MB. */
export function rssMb(pid: number | 'self', which: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const match = new RegExp(`${which}:\\s+(\\d+) kB`).exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return match ? Number(match[1]) / 1024 : NaN;
}

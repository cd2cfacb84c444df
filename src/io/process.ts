/** Whether a process is alive, for telling a dead process's leftovers (temporary folders, logs) from a live one's. */

/** Is process `pid` alive on this machine? (EPERM: it is, but belongs to another user.) */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

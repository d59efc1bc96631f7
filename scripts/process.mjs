// Small facts about processes, for the scripts and the benchmarks.

/** Whether a process with this PID exists (one of another user's counts: signalling it is merely not allowed). */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

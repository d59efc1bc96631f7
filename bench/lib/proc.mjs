// Process-tree measurements from /proc: CPU seconds, proportional memory (PSS), open file descriptors.
// Every figure covers a server's whole tree (vsftpd and pure-ftpd fork per session).
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux/x86-64

function statFields(pid) {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may contain spaces and parentheses: fields start after the last ')'
  return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
}

/** PIDs of `root` and all of its live descendants. */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(statFields(name)[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // the process exited while we were reading
    }
  }
  const out = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 100_000) {
    const pid = queue.shift();
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds (user + system) used by the tree so far. By default this includes children already reaped
 * (cutime/cstime); `ownOnly` counts only the live processes' own time, for readings taken while the
 * processes of interest are all alive.
 */
export function treeCpuSeconds(root, { ownOnly = false } = {}) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const f = statFields(pid);
      // after ')': state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
      ticks += Number(f[11]) + Number(f[12]);
      if (!ownOnly) ticks += Number(f[13]) + Number(f[14]);
    } catch {
      // exited: its time moves into the parent's cutime/cstime once reaped
    }
  }
  return ticks / CLK_TCK;
}

/** Own CPU ticks (utime + stime) of each live process of the tree, by PID. */
export function treeCpuByPid(root) {
  const out = new Map();
  for (const pid of processTree(root)) {
    try {
      const f = statFields(pid);
      out.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // exited
    }
  }
  return out;
}

/** Own CPU ticks (`ticks`; `sys` of them in the kernel) and name (`comm`) of every thread of the tree's live processes, by `pid/tid`. */
export function treeCpuByThread(root) {
  const out = new Map();
  for (const pid of processTree(root)) {
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited
    }
    for (const tid of tids) {
      try {
        const f = statFields(`${pid}/task/${tid}`);
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        out.set(`${pid}/${tid}`, { ticks: Number(f[11]) + Number(f[12]), sys: Number(f[12]), name });
      } catch {
        // the thread ended
      }
    }
  }
  return out;
}

/** CPU seconds of the thread that used the most between two treeCpuByThread readings. */
export function busiestThreadSeconds(before, after) {
  let most = 0;
  for (const [key, { ticks }] of after) most = Math.max(most, ticks - (before.get(key)?.ticks ?? 0));
  return most / CLK_TCK;
}

/**
 * CPU seconds by thread name between two treeCpuByThread readings, threads of one name summed: Node's
 * `MainThread` (the event loop), its worker threads by the names Ferry gives them (`ferry-recorder`, ...),
 * `libuv-worker` (the thread pool), `V8Worker` (garbage collection, compilation); a forking server's processes
 * under their program's name.
 */
export function cpuByThreadName(before, after) {
  const out = {};
  for (const [key, { ticks, name }] of after) {
    const used = ticks - (before.get(key)?.ticks ?? 0);
    if (used > 0) out[name] = (out[name] ?? 0) + used / CLK_TCK;
  }
  return out;
}

/** CPU seconds spent in the kernel (system calls, the network stack) by the tree's live threads between two readings. */
export function kernelSeconds(before, after) {
  let sys = 0;
  for (const [key, t] of after) sys += t.sys - (before.get(key)?.sys ?? 0);
  return sys / CLK_TCK;
}

function ownTicks(pid) {
  const f = statFields(pid);
  return Number(f[11]) + Number(f[12]);
}

/**
 * Follows the CPU time of a server's process tree over an interval. Session processes of forking servers
 * may exit the moment the client quits, before anyone can read them, so every process seen at start is
 * re-read every `pollMs` and the tree is re-scanned for newcomers every 500 ms; a process that exits is
 * counted with its last reading (at most `pollMs` of its CPU time is missed).
 * Returns { stop(): seconds of CPU spent since the watch began }.
 */
export function watchTreeCpu(root, pollMs = 20) {
  const first = treeCpuByPid(root);
  const last = new Map(first);
  const poll = () => {
    for (const pid of last.keys()) {
      try {
        last.set(pid, ownTicks(pid));
      } catch {
        // exited: keep its last reading
      }
    }
  };
  const rescan = () => {
    for (const [pid, t] of treeCpuByPid(root)) last.set(pid, t);
  };
  const timer = setInterval(poll, pollMs);
  const scanTimer = setInterval(rescan, 500);
  return {
    stop() {
      clearInterval(timer);
      clearInterval(scanTimer);
      poll();
      rescan();
      let ticks = 0;
      for (const [pid, t] of last) ticks += t - (first.get(pid) ?? 0);
      return ticks / CLK_TCK;
    },
  };
}

function rollup(pid, key) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Summed PSS and RSS (KiB) of the tree, and the number of processes in it. */
export function treeMemoryKiB(root) {
  let pss = 0;
  let rss = 0;
  let processes = 0;
  for (const pid of processTree(root)) {
    try {
      pss += rollup(pid, 'Pss');
      rss += rollup(pid, 'Rss');
      processes += 1;
    } catch {
      // exited or not readable
    }
  }
  return { pss, rss, processes };
}

/** Open file descriptors over the tree. */
export function treeFdCount(root) {
  let fds = 0;
  for (const pid of processTree(root)) {
    try {
      fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // exited or not readable
    }
  }
  return fds;
}

/** CPU model and core count for the report header. */
export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return { cpu: model, cores, memoryGiB: Math.round(memKiB / 1024 / 1024), kernel, node: process.version };
}

// Starts a sentinel group through integration/cluster.py (one process tree per group) and
// talks to it with its line protocol: kill-master, check KEY VALUE, stop.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const launcher = path.resolve(here, '..', '..', 'cluster.py');

export const IMPLS = ['rsentinel', 'redis-sentinel'];

export async function startGroup(impl) {
  const child = spawn('python3', [launcher, '--impl', impl], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  const queued = [];
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line); else queued.push(line);
  });
  const next = () => new Promise((resolve, reject) => {
    if (queued.length) return resolve(queued.shift());
    const timer = setTimeout(() => reject(new Error('cluster.py did not answer in 60 s')), 60000);
    waiting.push((l) => { clearTimeout(timer); resolve(l); });
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const first = JSON.parse(await Promise.race([next(), exited.then((c) => `{"error":"cluster.py exited ${c}"}`)]));
  if (first.error) { child.kill('SIGKILL'); throw new Error(`group did not start: ${first.error}`); }
  const ask = async (cmd) => { child.stdin.write(cmd + '\n'); return JSON.parse(await next()); };
  return {
    ...first,
    sentinelNodes: first.sentinels.map((port) => ({ host: first.host, port })),
    killMaster: () => ask('kill-master'),
    check: (key, value) => ask(`check ${key} ${value}`),
    async stop() {
      if (child.exitCode !== null) return;
      child.stdin.end('stop\n');
      const t = setTimeout(() => child.kill('SIGTERM'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

// Retry fn until it resolves; returns the seconds it took.
export async function untilOk(fn, timeoutMs = 30000, stepMs = 10) {
  const t0 = performance.now();
  for (;;) {
    try { await fn(); return (performance.now() - t0) / 1000; } catch (e) {
      if (performance.now() - t0 > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

export function withTimeout(promise, ms) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

export function record(client, impl, seconds) {
  console.log(`recovery ${client} ${impl}: ${seconds.toFixed(3)}s`);
  if (process.env.CLIENT_RESULTS) {
    appendFileSync(process.env.CLIENT_RESULTS, JSON.stringify({ client, impl, seconds: Math.round(seconds * 1e4) / 1e4 }) + '\n');
  }
}

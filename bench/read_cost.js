#!/usr/bin/env node
// What reading from the disk costs the CPU: a busy loop on every core runs for a few seconds alone, then again while
// `dd iflag=direct bs=4M` reads FILE over and over (given a directory, a 256 MiB file written there for the purpose
// and removed after); the share of loop iterations lost is CPU time the reads took
// (in the kernel, or, on a virtual machine, in the hypervisor, where the guest's own accounting does not see it).
// Streamed weights cost at least that much compute time, however well the pipeline overlaps them.
//
//   node bench/read_cost.js FILE|DIR [--seconds 3] [--json]
//
// Prints the loop rate alone and while reading, the read rate, the share lost, and CPU-seconds per GB read.
'use strict';
const { Worker } = require('worker_threads');
const { spawn } = require('child_process');
const os = require('os');
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const target = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--seconds');
const secIdx = args.indexOf('--seconds');
const seconds = secIdx >= 0 ? Number(args[secIdx + 1]) : 3;
const asJson = args.includes('--json');
if (!target || !fs.existsSync(target) || !(seconds > 0)) {
  console.error('usage: node bench/read_cost.js FILE|DIR [--seconds 3] [--json]');
  process.exit(2);
}
let file = target;
if (fs.statSync(target).isDirectory()) {
  // Written through the page cache, then flushed, so that the O_DIRECT reads below come from the device.
  file = path.join(target, `read-cost-${process.pid}.bin`);
  const chunk = Buffer.alloc(4 << 20, 0x5a);
  const fd = fs.openSync(file, 'w');
  process.on('exit', () => fs.rmSync(file, { force: true }));
  for (let i = 0; i < 64; ++i) fs.writeSync(fd, chunk);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

// One busy worker per core, each counting rounds of floating-point work for `seconds`; resolves to rounds/s.
function spin(cores) {
  const code = `
    const { parentPort, workerData } = require('worker_threads');
    let x = 1, rounds = 0;
    const end = Date.now() + workerData * 1000;
    while (Date.now() < end) {
      for (let i = 0; i < 100000; ++i) x = x * 1.0000001 + 1e-9;
      ++rounds;
    }
    parentPort.postMessage({ rounds, x });`;
  const runs = [];
  for (let c = 0; c < cores; ++c) {
    runs.push(new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: seconds });
      w.on('message', (m) => resolve(m.rounds));
      w.on('error', reject);
    }));
  }
  return Promise.all(runs).then((r) => r.reduce((a, b) => a + b, 0) / seconds);
}

// dd over `file` again and again until stopped; resolves to { bytes, seconds } read meanwhile.
function readLoop() {
  let bytes = 0;
  let stopped = false;
  let current = null;
  const t0 = process.hrtime.bigint();
  const once = (resolve) => {
    if (stopped) {
      resolve({ bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
      return;
    }
    current = spawn('dd', [`if=${file}`, 'of=/dev/null', 'bs=4M', 'iflag=direct'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    current.stderr.on('data', (d) => { err += d; });
    current.on('close', () => {
      const m = /(\d+) bytes/.exec(err);
      if (m) bytes += Number(m[1]);
      once(resolve);
    });
  };
  const done = new Promise((resolve) => once(resolve));
  return { stop: () => { stopped = true; return done; } };
}

(async () => {
  const cores = os.cpus().length;
  const idle = await spin(cores);
  const reader = readLoop();
  const busy = await spin(cores);
  const read = await reader.stop();
  const lost = Math.max(0, 1 - busy / idle);
  const gbps = read.bytes / read.seconds / 1e9;
  const r = { file, cores, seconds, idle_rounds_per_s: idle, reading_rounds_per_s: busy, cpu_lost: lost,
    read_gb_per_s: gbps, cpu_seconds_per_gb: gbps > 0 ? (lost * cores) / gbps : null };
  if (asJson) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(`cores ${cores}; busy loop alone ${idle.toFixed(0)} rounds/s, while reading ${busy.toFixed(0)} rounds/s`);
  console.log(`read ${gbps.toFixed(2)} GB/s with O_DIRECT; CPU lost ${(lost * 100).toFixed(1)}%: ` +
    `${r.cpu_seconds_per_gb === null ? '?' : r.cpu_seconds_per_gb.toFixed(3)} CPU-seconds per GB read`);
})().catch((e) => {
  console.error(`read_cost: ${e.message}`);
  process.exit(1);
});

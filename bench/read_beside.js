#!/usr/bin/env node
// What reading costs an inference that does not stream: one preloaded dlayer process runs inference after inference
// (`dlayer run --arch preload --lockstep`), and every other one has `dd iflag=direct bs=4M` read BYTES of FILE beside
// it, started with it. The overhead of a pair is the inference with the read over the one without, less one; pairs
// alternate which comes first. A streamed configuration that reads BYTES per inference cannot cost less than this on
// this machine, however well its pipeline hides the reads: it is the price of moving the bytes at all (on a virtual
// machine much of it is the hypervisor's copy, which the guest's own CPU accounting does not see).
//
//   node bench/read_beside.js --bytes N --read FILE [--pairs 20] [--dlayer build/app/dlayer/dlayer] [--json]
//                             -- MODEL [dlayer run options: --shape, --pack-dir, --threads ...]
//
// Prints the median overhead with its quartiles (with --json, an object with every pair).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const { root } = require('./models.js');
const { quantile } = require('./benchutil.js');

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const runArgs = dash >= 0 ? argv.slice(dash + 1) : [];
const opt = (name, dflt) => {
  const i = own.indexOf(name);
  return i >= 0 ? own[i + 1] : dflt;
};
const usage = 'usage: node bench/read_beside.js --bytes N --read FILE [--pairs 20] [--dlayer PATH] [--json] -- ' +
  'MODEL [dlayer run options]';
const bytes = Number(opt('--bytes'));
const file = opt('--read');
const pairs = Number(opt('--pairs', '20'));
const dlayer = path.resolve(opt('--dlayer', path.join(root, 'build/app/dlayer/dlayer')));
const asJson = own.includes('--json');
if (!(bytes > 0) || !file || !(Number.isInteger(pairs) && pairs > 0) || !runArgs.length) {
  console.error(usage);
  process.exit(2);
}
if (!fs.existsSync(file)) {
  console.error(`read_beside.js: no file ${file}`);
  process.exit(2);
}
if (!fs.existsSync(dlayer)) {
  console.error(`read_beside.js: missing ${dlayer}: build the project first`);
  process.exit(1);
}
const block = 4 << 20;
const blocks = Math.max(1, Math.min(Math.ceil(bytes / block), Math.floor(fs.statSync(file).size / block)));

// The preloaded model, driven one inference at a time: a byte on its fd 3 starts one, its latency comes back as a
// line on its fd 4.
const child = spawn(dlayer, ['run', ...runArgs, '--arch', 'preload', '--iterations', `${2 * pairs}`, '--warmup', '1',
  '--lockstep', '3,4', '--json'], { stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'] });
let buffered = '';
const waiting = [];
child.stdio[4].on('data', (d) => {
  buffered += d.toString();
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (waiting.length) waiting.shift().resolve(line);
  }
});
let exited = null;
child.on('exit', (code, signal) => {
  exited = signal || code;
  for (const w of waiting.splice(0)) w.reject(new Error(`dlayer ended (${exited}) before the runs were done`));
});
const nextLine = () => new Promise((resolve, reject) => {
  if (exited !== null) reject(new Error(`dlayer ended (${exited}) before the runs were done`));
  else waiting.push({ resolve, reject });
});
const step = async () => {
  child.stdio[3].write('r');
  const line = await nextLine();
  const ms = Number(line);
  if (!(ms > 0)) throw new Error(`dlayer said '${line}' for a latency`);
  return ms;
};
// One inference with the read beside it: dd starts, then the inference; both are waited for.
const withRead = async () => {
  const t0 = process.hrtime.bigint();
  const dd = spawn('dd', [`if=${file}`, 'of=/dev/null', `bs=${block}`, `count=${blocks}`, 'iflag=direct',
    'status=none'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let ddErr = '';
  dd.stderr.on('data', (d) => { ddErr += d; });
  const ddDone = new Promise((resolve) => dd.on('exit', (code) => resolve({ code,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9 })));
  const ms = await step();
  const d = await ddDone;
  if (d.code !== 0) throw new Error(`dd failed reading ${file}: ${ddErr.trim() || `exit ${d.code}`}`);
  return { ms, ddSeconds: d.seconds, outlasted: d.seconds * 1e3 > ms };
};

(async () => {
  const ready = await nextLine();
  if (ready !== 'ready') throw new Error(`dlayer said '${ready}' rather than ready`);
  await step(); // warm-up
  const out = [];
  const rates = [];
  let outlasted = 0;
  for (let k = 0; k < pairs; ++k) {
    let noisy, quiet;
    if (k % 2 === 0) {
      noisy = await withRead();
      quiet = await step();
    } else {
      quiet = await step();
      noisy = await withRead();
    }
    out.push([noisy.ms, quiet]);
    rates.push(blocks * block / noisy.ddSeconds / 1e6);
    if (noisy.outlasted) ++outlasted;
  }
  child.stdio[3].end();
  const overhead = out.map(([a, b]) => (a / b - 1) * 100);
  const result = { bytes: blocks * block, file, pairs_ms: out,
    overhead_pct: { median: quantile(overhead, 0.5), q1: quantile(overhead, 0.25), q3: quantile(overhead, 0.75) },
    read_mb_per_s: quantile(rates, 0.5), read_outlasted_inference: outlasted };
  if (asJson) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const s = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    console.log(`reading ${(result.bytes / (1 << 20)).toFixed(1)} MiB beside a preloaded inference: ` +
      `${s(result.overhead_pct.median)} % (quartiles ${s(result.overhead_pct.q1)} … ${s(result.overhead_pct.q3)}) ` +
      `over ${pairs} pairs; dd read at ${result.read_mb_per_s.toFixed(0)} MB/s, and outlasted the inference ` +
      `${outlasted} time(s)`);
  }
})().catch((e) => {
  console.error(`read_beside.js: ${e.message}`);
  child.kill();
  process.exit(1);
});

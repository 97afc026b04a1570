#!/usr/bin/env node
// Demand layering on real models: every architecture streaming the weights from a layer pack, against preload (all
// weights resident) and against the disk's own sequential O_DIRECT read rate.
//
//   node bench/demand_layering.js [--dlayer build/app/dlayer/dlayer] [--models yolov4,resnet152,...]
//                                 [--threads 2] [--iterations 5] [--warmup 2] [--rounds 2] [--pack-dir DIR]
//                                 [--write docs/benchmarks.md]
//
// Per model: packs it once (`dlayer pack`, into --pack-dir, default $DL_CACHE/packs/bench), reads the whole pack
// with `dd iflag=direct` (best of two, before every round) for the disk's rate, and every streaming run reads its
// bytes again after each inference (--paired-disk) for the disk's rate at that moment; then runs preload,
// sequential, sync, async and two-stage at their smallest staging, two-stage and async at 4x the largest layer, two-stage and async under a budget of
// 10% of the model's weights with whole layers (skipped when below the architecture's minimum), and two-stage, async
// and sync under a budget of 3.5% (the paper's 96.5% reduction), for which dlayer cuts large layers into sub-layers
// (a pack of its own, made on first use). Every run on the whole-layer pack must give preload's output hashes; runs
// on a split pack must give the same hashes as each other and agree with preload's outputs to float rounding (the
// narrower kernels sum in another order). Preload and two-stage run with --paired-preload as well: each inference
// alternated with one of a preloaded twin process, for an overhead that the machine's slow spells weigh on less.
// Before the models, bench/read_cost.js measures what reading costs the CPU
// on this machine, and each table gives the least overhead that cost implies for the model's weights.
// Prints a table per model; with --write it replaces the section between the markers
// "<!-- demand-layering:begin -->" and "<!-- demand-layering:end -->" in that file (appended when missing).
// A failed run or an output mismatch is reported as it happens, the other models still run, and the exit status
// is nonzero.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { root, cache, onnx, allModels } = require('./models.js');
const { ddRate } = require('./benchutil.js');
const normId = (s) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

const usage = `usage: node bench/demand_layering.js [--dlayer PATH] [--models ${allModels.map((m) => m.id).join(',')}]
       [--threads N] [--iterations N] [--warmup N] [--rounds N] [--pack-dir DIR] [--write FILE.md]`;
const options = { '--dlayer': null, '--models': null, '--threads': '2', '--iterations': '5', '--warmup': '2',
  '--rounds': '2',
  '--pack-dir': null, '--write': null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--help' || argv[i] === '-h') {
    console.log(usage);
    process.exit(0);
  }
  if (!(argv[i] in options) || i + 1 >= argv.length) {
    console.error(`${argv[i] in options ? `${argv[i]} needs a value` : `unknown option ${argv[i]}`}\n${usage}`);
    process.exit(2);
  }
  options[argv[i]] = argv[i + 1];
}
for (const name of ['--threads', '--iterations', '--warmup', '--rounds']) {
  const min = name === '--warmup' ? 0 : 1;
  if (!/^\d+$/.test(options[name]) || Number(options[name]) < min) {
    console.error(`${name} expects a whole number ≥ ${min}, got '${options[name]}'`);
    process.exit(2);
  }
}
const dlayer = path.resolve(options['--dlayer'] || path.join(root, 'build/app/dlayer/dlayer'));
const threads = options['--threads'];
const iterations = options['--iterations'];
const warmup = options['--warmup'];
const rounds = Number(options['--rounds']);
const packDir = path.resolve(options['--pack-dir'] || path.join(cache, 'packs/bench'));
const writeTo = options['--write'];
let models = allModels;
if (options['--models']) {
  models = options['--models'].split(',').filter((s) => s).map((want) => {
    const m = allModels.find((c) => normId(c.id) === normId(want));
    if (!m) {
      console.error(`unknown model '${want}'; known: ${allModels.map((c) => c.id).join(', ')}`);
      process.exit(2);
    }
    return m;
  });
}
if (!fs.existsSync(dlayer)) {
  console.error(`missing ${dlayer}: build the project first (or give --dlayer)`);
  process.exit(1);
}

const tensorproto = require('./ort/tensorproto.js');
const outputsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-bench-'));
process.on('exit', () => fs.rmSync(outputsRoot, { recursive: true, force: true }));

const MiB = 1 << 20;
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const mib = (b) => (b / MiB).toFixed(2);
const problems = []; // every failure and mismatch, repeated at the end

function problem(text) {
  problems.push(text);
  console.error(`\n*** ${text}\n`);
}

// A problem in one line: what failed, and the last line of what the command said (dlayer's own message).
function brief(text) {
  const said = text.split('\n').filter((l) => l.trim());
  return said.length > 1 ? `${said[0]} ${said[said.length - 1]}` : said[0];
}

// dlayer draws its progress with carriage returns: keep only what each line ended on.
function cleanStderr(text) {
  return (text || '').split('\n').map((l) => l.split('\r').filter((s) => s.trim()).pop() || '')
    .filter((l) => l.trim()).slice(-20).join('\n');
}

// Runs a command; returns { out } or { error } where error names what failed and quotes its stderr.
function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20,
    env: { ...process.env, OMP_NUM_THREADS: threads, LC_ALL: 'C' } });
  if (r.error) return { error: `${what}: could not start ${cmd}: ${r.error.message}` };
  if (r.status !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    return { error: `${what} failed (${how}):\n  $ ${cmd} ${args.join(' ')}\n${cleanStderr(r.stderr)}` };
  }
  return { out: r.stdout, err: r.stderr };
}

function runJson(args, what) {
  const r = run(dlayer, args, what);
  if (r.error) return r;
  try {
    return { json: JSON.parse(r.out) };
  } catch (e) {
    return { error: `${what}: dlayer printed no JSON (${e.message}):\n${r.out.slice(0, 400)}` };
  }
}

// The disk's sequential O_DIRECT rate over the whole pack, best of two reads; null (with a problem) when dd fails.
function diskRate(label, pack) {
  const r = ddRate(pack);
  if (r.error) problem(`${label}: ${r.error}`);
  return r.rate || null;
}

// The largest difference between two runs' saved outputs, relative to the largest magnitude of each output.
function relativeDifference(dirA, dirB) {
  let worst = 0;
  for (const f of fs.readdirSync(dirA).filter((n) => n.endsWith('.pb')).sort()) {
    const a = tensorproto.toFloat64(tensorproto.readFile(path.join(dirA, f)));
    const b = tensorproto.toFloat64(tensorproto.readFile(path.join(dirB, f)));
    if (a.length !== b.length) return Infinity;
    let scale = 0, diff = 0;
    for (let i = 0; i < a.length; ++i) {
      scale = Math.max(scale, Math.abs(a[i]));
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-12));
  }
  return worst;
}

// bench/read_cost.js on a file of its own in the pack directory: CPU-seconds per GB read with O_DIRECT.
function readCost(dir) {
  const r = run(process.execPath, [path.join(__dirname, 'read_cost.js'), dir, '--json'], 'read cost');
  if (r.error) {
    problem(r.error);
    return null;
  }
  try {
    return JSON.parse(r.out);
  } catch (e) {
    problem(`read cost: no JSON (${e.message})`);
    return null;
  }
}

function inputOf(m) {
  if (m.input) return m.input;
  try {
    const net = fs.readFileSync(m.file, 'utf8').split(/^\[/m).find((s) => /^net\]/.test(s)) || '';
    const v = (k) => (new RegExp(`^${k}\\s*=\\s*(\\d+)`, 'm').exec(net) || [])[1];
    if (v('width') && v('height')) return `1x${v('channels') || 3}x${v('height')}x${v('width')}`;
  } catch (e) { /* shown as unknown */ }
  return '?';
}

function benchModel(m) {
  const section = { m, input: inputOf(m), rows: [], disk: null, pack: null, error: null };
  if (!fs.existsSync(m.file)) {
    section.error = `${m.id}: missing ${m.file}${m.file.startsWith(onnx) ? ' (run scripts/fetch-models.sh)' : ''}`;
    problem(section.error);
    return section;
  }
  fs.mkdirSync(packDir, { recursive: true });
  const packPath = path.join(packDir, `${m.id}.dlpack`);
  console.error(`${m.id}: packing into ${packPath}`);
  const p = runJson(['pack', m.file, ...m.args, '-o', packPath, '--json'], `${m.id}: dlayer pack`);
  if (p.error) {
    section.error = p.error;
    problem(p.error);
    return section;
  }
  section.pack = p.json;
  // The disk's rate drifts on a shared machine (1.0-1.8 GB/s within a day here): it is measured again before each
  // round, and each run's read rate is set against its own round's.
  section.disk = diskRate(m.id, packPath);
  section.diskRounds = [];
  const largest = p.json.largest_layer_bytes;
  const budget = Math.floor(p.json.weight_bytes * 0.1);
  const tight = Math.floor(p.json.weight_bytes * 0.035);

  // The runs in order; preload first: it is the reference for the hashes and the percentages.
  // paired: alternates each run with a preloaded run in a second process (dlayer run --paired-preload); on preload
  // itself that measures the machine's noise floor.
  const plan = [
    { arch: 'preload', setting: 'all resident', args: [] },
    ...['sequential', 'sync', 'async', 'two-stage'].map((arch) => ({ arch, setting: 'min', args: [] })),
    ...['two-stage', 'async'].map((arch) => ({ arch, setting: '4× largest layer',
      args: ['--staging', `${4 * largest}`] })),
    ...['two-stage', 'async'].map((arch) => ({ arch, setting: `budget 10%: ${mib(budget)} MiB`,
      args: ['--budget', `${budget}`], budget: true })),
    // From the model itself: the budget picks a split, and the split plan its own pack in --pack-dir.
    ...['two-stage', 'async', 'sync'].map((arch) => ({ arch, setting: `budget 3.5%: ${mib(tight)} MiB`,
      args: ['--budget', `${tight}`], source: true })),
  ];
  const minimum = {}; // arch → staging bytes of its smallest run (nothing resident): the least weight memory it needs
  const splitRefs = {}; // split pack → the hashes of its first run
  let ref = null;
  // Every configuration runs once per round, the rounds one after another, so that a slow spell of the machine
  // spreads over all of them rather than skewing one; a row's latency is the median of its rounds' medians.
  for (const c of plan) c.paired = c.arch === 'preload' || c.arch === 'two-stage';
  const rows = plan.map((c) => ({ arch: c.arch, setting: c.setting, medians: [], byRound: [], pairs: [], rates: [],
    ofDisk: [], ofDd: [] }));
  section.rows.push(...rows);
  for (let round = 0; round < rounds; ++round) {
    const disk = round === 0 ? section.disk : diskRate(m.id, packPath);
    if (disk) section.diskRounds[round] = disk.mbps;
    plan.forEach((c, k) => {
      const row = rows[k];
      if (row.skipped || row.error) return;
      if (c.budget && minimum[c.arch] !== undefined && budget < minimum[c.arch]) {
        row.skipped = `budget below the minimum ${mib(minimum[c.arch])} MiB`;
        console.error(`${m.id}: ${c.arch}, ${c.setting}: skipped (${row.skipped})`);
        return;
      }
      console.error(`${m.id}: ${c.arch}, ${c.setting} (round ${round + 1} of ${rounds})`);
      const what = `${m.id}: dlayer run --arch ${c.arch} (${c.setting})`;
      const saved = path.join(outputsRoot, `${m.id}-${k}-${round}`);
      const target = c.source ? [m.file, ...m.args, '--pack-dir', packDir] : [packPath];
      const r = runJson(['run', ...target, '--arch', c.arch, ...c.args, '--threads', threads, '--iterations',
        iterations, '--warmup', warmup, '--save-outputs', saved, ...(c.paired ? ['--paired-preload'] : []),
        ...(c.arch !== 'preload' ? ['--paired-disk'] : []), '--json'],
      what);
      if (r.error && c.source && /below the minimum/.test(r.error)) {
        // Layers that cannot be cut (grouped convolutions, say) need more than this architecture has here.
        row.skipped = brief(r.error).replace(/^.*error: /, '');
        console.error(`${m.id}: ${c.arch}, ${c.setting}: skipped (${row.skipped})`);
        return;
      }
      if (r.error) {
        row.error = r.error;
        problem(r.error);
        return;
      }
      const j = r.json;
      row.j = j;
      row.medians.push(j.latency_ms.median);
      row.byRound[round] = j.latency_ms.median;
      row.latency = median(row.medians);
      if (j.paired_preload) row.pairs.push(...j.paired_preload.pairs_ms.map(([a, b]) => (a / b - 1) * 100));
      // The device's own rate while busy where it has one: the inline reader's own time also holds the rest of
      // the kernel during which a read completed.
      const rate = j.read.device ? j.read.device.mb_per_s : j.read.mb_per_s;
      row.rates.push(rate);
      if (section.diskRounds[round]) row.ofDd.push(rate / section.diskRounds[round] * 100);
      if (j.paired_disk) row.ofDisk.push(...j.paired_disk.pairs_mb_per_s.map(([a, b]) => a / b * 100));
      if (c.setting === 'min') minimum[c.arch] = j.staging_bytes;
      const hashes = (j.outputs || []).map((o) => o.sha256);
      const sameAs = (other) => hashes.length === other.length && hashes.every((h, i) => h === other[i]);
      if (c.arch === 'preload') {
        ref = ref || { j, hashes, saved, row };
        if (!sameAs(ref.hashes)) {
          row.mismatch = true;
          problem(`${what}: OUTPUT MISMATCH: preload gave ${hashes.join(',')}, then ${ref.hashes.join(',')}`);
        }
      } else if (ref && !j.split_bytes) {
        if (!sameAs(ref.hashes)) {
          row.mismatch = true;
          problem(`${what}: OUTPUT MISMATCH: sha256 ${hashes.join(',')} but preload gave ${ref.hashes.join(',')}`);
        }
      } else if (ref) {
        // A split plan: bit-identical across the runs of its pack, and close to the whole layers' outputs.
        const first = (splitRefs[j.pack] = splitRefs[j.pack] || hashes);
        row.difference = Math.max(row.difference || 0, relativeDifference(ref.saved, saved));
        if (!sameAs(first) || !(row.difference <= 1e-4)) {
          row.mismatch = true;
          problem(`${what}: OUTPUT MISMATCH: ${!sameAs(first) ? `sha256 ${hashes.join(',')} but the first run ` +
            `of its split pack gave ${first.join(',')}` : `outputs differ from preload's by ${row.difference}`}`);
        }
      }
    });
  }
  section.ref = ref;
  return section;
}

function tableLines(s) {
  const lines = [];
  const shapes = s.ref ? ` → ${(s.ref.j.outputs || []).map((o) => o.shape.join('x')).join(', ')}` : '';
  lines.push(`### ${s.m.label} (\`${path.basename(s.m.file)}\`, ${s.input}${shapes})`);
  lines.push('');
  if (s.error) {
    lines.push(`**FAILED**: ${brief(s.error)}`);
    return lines;
  }
  const pk = s.pack;
  const disk = s.disk;
  const dr = (s.diskRounds || []).filter((v) => v);
  const diskText = !dr.length ? 'unknown' : `${median(dr).toFixed(0)} MB/s` +
    (dr.length > 1 ? ` (${Math.min(...dr).toFixed(0)} … ${Math.max(...dr).toFixed(0)} over the rounds)` : '');
  lines.push(`Pack: ${pk.layers} layers, ${mib(pk.weight_bytes)} MiB of weights, largest layer ` +
    `${mib(pk.largest_layer_bytes)} MiB. Disk: ${diskText} ` +
    `(\`dd iflag=direct bs=4M\` of the ${mib(pk.file_bytes)} MiB pack, best of 2, before each round` +
    `${disk && disk.bytes < 64 * MiB ? '; too small a pack to rate the disk, so no read % of disk' : ''}).`);
  if (cost && cost.cpu_seconds_per_gb !== null && s.ref) {
    // Reading every weight once per inference takes this much CPU time from the kernels' cores.
    const ms = (pk.weight_bytes / 1e9) * cost.cpu_seconds_per_gb * 1e3 / cost.cores;
    lines.push(`Reading all weights once costs ≈${ms.toFixed(0)} ms of each core here ` +
      `(${cost.cpu_seconds_per_gb.toFixed(2)} CPU-s per GB): ≈+${(ms / s.ref.row.latency * 100).toFixed(0)}% ` +
      'over preload is the least a fully streamed run can cost on this machine, however well it overlaps.');
  }
  lines.push('');
  lines.push('| arch | staging | resident layers | median ms | ledger weight peak MiB | ledger total peak MiB | ' +
    'RSS peak MiB | weight memory −% | delay overhead % | paired overhead % | kernel stall ms | read MB/s | ' +
    'read % of disk | read % of dd |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const ref = s.ref && s.ref.j;
  for (const r of s.rows) {
    const arch = r.mismatch ? `**${r.arch} — OUTPUT MISMATCH**` : r.arch;
    if (r.skipped || r.error) {
      // A failure shows dlayer's last word (its own message); the whole stderr went to the console.
      const last = r.error ? r.error.split('\n').filter((l) => l.trim()).pop().replace(/\|/g, '\\|') : '';
      const why = r.skipped ? `skipped: ${r.skipped}` : `**FAILED**: ${last}`;
      lines.push(`| ${arch} | ${r.setting} | ${why} |  |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const j = r.j;
    const split = j.split_bytes ? `; layers split at ${mib(j.split_bytes)} MiB, largest ${mib(j.largest_layer_bytes)}` : '';
    const staging = r.arch === 'preload' ? '—' : `${mib(j.staging_bytes)} MiB (${r.setting}${split})`;
    const resident = Array.isArray(j.resident_layers) ? `${j.resident_layers.length} of ${j.layers}`
      : j.resident_layers;
    const lat = r.latency;
    const w = j.memory.weights_bytes;
    const reduction = ref ? `${((1 - w / ref.memory.weights_bytes) * 100).toFixed(1)}` : '—';
    // Paired by round: each round's run against preload's run of the same round, so that a slow spell of the machine
    // that lasts a round weighs on both sides; the figure is the median of those ratios, with their range.
    const ratios = s.ref ? r.byRound.map((v, k) => (v !== undefined && s.ref.row.byRound[k] !== undefined
      ? (v / s.ref.row.byRound[k] - 1) * 100 : undefined)).filter((v) => v !== undefined) : [];
    const signed = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
    const overhead = !ratios.length ? '—' : r.arch === 'preload' ? '+0.0'
      : `${signed(median(ratios))}${ratios.length > 1
        ? ` (${signed(Math.min(...ratios))} … ${signed(Math.max(...ratios))})` : ''}`;
    // Preload reads only at setup: no streaming rate to show.
    const streams = j.streamed_layers > 0;
    const mbps = streams ? median(r.rates).toFixed(0) : '—';
    // A pack read in a few milliseconds says more about latency than about the disk's rate.
    const big = disk && disk.bytes >= 64 * MiB;
    const pct = streams && big && r.ofDisk.length ? `${median(r.ofDisk).toFixed(0)}` : '—';
    const pctDd = streams && big && r.ofDd.length ? `${median(r.ofDd).toFixed(0)}` : '—';
    // Every pair of every round: the median, with the quartiles.
    const q = (xs, f) => {
      const v = [...xs].sort((a, b) => a - b);
      const at = f * (v.length - 1), lo = Math.floor(at), hi = Math.min(lo + 1, v.length - 1);
      return v[lo] + (v[hi] - v[lo]) * (at - lo);
    };
    const paired = r.pairs.length ? `${signed(median(r.pairs))} (${signed(q(r.pairs, 0.25))} … ` +
      `${signed(q(r.pairs, 0.75))})` : '—';
    // Less the --paired-disk pass's buffer, which is the benchmark's, not the run's.
    const passBuffer = j.paired_disk ? j.paired_disk.buffer_bytes : 0;
    const rss = `${mib(j.memory.rss_peak_bytes - passBuffer)}${j.memory.rss_peak_is_run_only === false ? ' (with setup)' : ''}`;
    lines.push(`| ${arch} | ${staging} | ${resident} | ${lat.toFixed(1)} | ${mib(w)} | ${mib(j.memory.peak_bytes)} | ` +
      `${rss} | ${reduction} | ${overhead} | ${paired} | ${j.stall_ms.toFixed(1)} | ${mbps} | ${pct} | ${pctDd} |`);
  }
  const bad = s.rows.filter((r) => r.mismatch).map((r) => `${r.arch} (${r.setting})`);
  lines.push('');
  if (!s.ref) lines.push('Outputs: **not checked** (preload failed).');
  else if (bad.length) lines.push(`Outputs: **MISMATCH** against preload in ${bad.join(', ')}.`);
  else {
    const diffs = s.rows.filter((r) => r.difference !== undefined).map((r) => r.difference);
    lines.push('Outputs: every whole-layer run\'s sha256 equals preload\'s' + (diffs.length
      ? `; the split runs agree with each other bit for bit and with preload to ${Math.max(...diffs).toExponential(1)} ` +
        '(largest difference relative to the output\'s magnitude).' : '.'));
  }
  return lines;
}

// Another job on the machine skews every latency: the load at the start and the end goes into the header.
const load = () => os.loadavg()[0].toFixed(2);
const loadBefore = load();
fs.mkdirSync(packDir, { recursive: true });
console.error(`measuring what reading costs the CPU (bench/read_cost.js ${packDir})`);
const cost = readCost(packDir);
const sections = [];
for (const m of models) sections.push(benchModel(m));
const loadAfter = load();

let cpu = 'unknown CPU';
try {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  cpu = (/^model name\s*:\s*(.*)$/m.exec(info) || [])[1] || (os.cpus()[0] || {}).model || cpu;
  cpu += /\bavx512f\b/.test(info) ? ' (AVX-512)' : ' (no AVX-512)';
} catch (e) { /* not Linux */ }
const command = ['node', 'bench/demand_layering.js',
  ...argv.filter((a, i) => a !== '--write' && argv[i - 1] !== '--write')];
const lines = [];
lines.push(`Machine: ${cpu}, ${os.cpus().length} cores, Linux ${os.release()}; ${threads} threads; latency: the ` +
  `median over ${rounds} rounds (every configuration once per round) of each run's median of ${iterations} ` +
  `iterations after ${warmup} warm-up; load average ${loadBefore} before, ${loadAfter} after; ` +
  `${new Date().toISOString().slice(0, 10)}.`);
lines.push(`Command: \`${command.join(' ')}\``);
const disks = sections.filter((s) => s.diskRounds && s.diskRounds.some((v) => v))
  .map((s) => `${s.m.id} ${median(s.diskRounds.filter((v) => v)).toFixed(0)} MB/s`);
lines.push(`Disk, sequential O_DIRECT read of each pack: ${disks.length ? disks.join(', ') : 'unknown'}.`);
if (cost) {
  lines.push('What reading costs the CPU (`node bench/read_cost.js` on a 256 MiB file beside the packs): a busy ' +
    `loop on all ${cost.cores} cores loses ${(cost.cpu_lost * 100).toFixed(0)}% of its rate while \`dd iflag=direct\` reads at ` +
    `${cost.read_gb_per_s.toFixed(2)} GB/s, i.e. ${cost.cpu_seconds_per_gb.toFixed(2)} CPU-seconds per GB read.`);
}
lines.push('');
lines.push('Weight memory −% is against preload\'s ledger weight peak. Delay overhead is paired by round: each ' +
  'round\'s median against preload\'s median of the same round, the median of those ratios, with the lowest and ' +
  'highest round in brackets (the spread is the machine\'s noise). Paired overhead (preload and two-stage rows): ' +
  'each run alternated, inference by inference, with a run of the whole-layer model preloaded in a second process ' +
  '(`dlayer run --paired-preload`), so that a slow spell weighs on both runs of a pair; the median over every pair ' +
  'of every round, with the quartiles. On preload itself it is the noise floor. Between its runs the streaming ' +
  'pipeline reads ahead as far as its staging allows, as between periodic inferences. Read MB/s: the median over ' +
  'the rounds of each run\'s read rate, by the device\'s own busy time (`read.device` of the report: the block ' +
  'layer\'s count, which does not wait for the inline reader to reap a completion between layers). Read % of disk ' +
  '(paired): each streaming run (its RSS peak is given less the 64 MiB this pass reads into) reads its bytes ' +
  'again right after every inference, alone, in the run\'s 4 MiB requests with as many in flight as its reader, into a 64 MiB buffer taken round robin so that the reads land ' +
  'in cold memory as the run\'s do (`dlayer run --paired-disk`); the median over every inference of every round of ' +
  'the run\'s rate ÷ that pass\'s. Read % of dd: against the `dd` rate of the whole pack measured just before the ' +
  'round, which on this machine drifts by a factor of two within minutes.');
for (const s of sections) {
  lines.push('');
  lines.push(...tableLines(s));
}
if (problems.length) {
  lines.push('');
  lines.push(`**${problems.length} problem(s)** in this run: see the tables above.`);
}
const table = lines.join('\n');
console.log(table);

if (writeTo) {
  const file = path.resolve(writeTo);
  const begin = '<!-- demand-layering:begin -->';
  const end = '<!-- demand-layering:end -->';
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${begin}\n${table}\n${end}`;
  const b = text.indexOf(begin);
  const e = text.indexOf(end);
  if (b >= 0 && e > b)
    text = text.slice(0, b) + block + text.slice(e + end.length);
  else
    text += `${text.endsWith('\n') ? '' : '\n'}\n## Demand layering\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

if (problems.length) {
  console.error(`\n${problems.length} problem(s):\n${problems.map((p) => `- ${brief(p)}`).join('\n')}`);
  process.exit(1);
}

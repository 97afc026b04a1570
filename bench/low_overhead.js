#!/usr/bin/env node
// The least weight memory at a delay overhead within noise: per model, the planner's choice at a few weight budgets
// (fractions of the model's weights), each run paired inference by inference with the same model preloaded in a
// second process (`dlayer run --paired-preload`), so that this machine's slow spells weigh on both sides of a pair.
// Preload paired with itself gives the noise floor, and bench/read_beside.js the cost of reading each row's bytes
// beside a preloaded run with no pipeline at all. The planner works from one sequential profile and one two-stage
// calibration run recorded in a run store, as in bench/plan_validate.js.
//
//   node bench/low_overhead.js [--dlayer build/app/dlayer/dlayer] [--models yolov4,resnet152,densenet201]
//                              [--fractions 0.035,0.05,0.075,0.1,0.15] [--pairs 20] [--threads 2] [--pack-dir DIR]
//                              [--write FILE.md]
//
// With --write it replaces the section between "<!-- low-overhead:begin -->" and "<!-- low-overhead:end -->" in that
// file (appended when missing). A failed run is reported, the other rows still run, and the exit status is nonzero.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { root, cache, pickModels, splitFor } = require('./models.js');
const { parseOptions, dlayerRunner, quantile, writeSection, tableHead } = require('./benchutil.js');

const options = parseOptions('low_overhead.js', { '--dlayer': null, '--models': 'yolov4,resnet152,densenet201',
  '--fractions': '0.035,0.05,0.075,0.1,0.15', '--pairs': '20', '--threads': '2', '--pack-dir': null, '--write': null });
const dlayer = path.resolve(options['--dlayer'] || path.join(root, 'build/app/dlayer/dlayer'));
const packDir = path.resolve(options['--pack-dir'] || path.join(cache, 'packs/bench'));
const threads = options['--threads'];
const pairs = options['--pairs'];
const fractions = options['--fractions'].split(',').map(Number);
if (fractions.some((f) => !(f > 0 && f <= 1))) {
  console.error('--fractions expects numbers in (0, 1], like 0.05,0.1');
  process.exit(2);
}
const models = pickModels(options['--models']);
if (!fs.existsSync(dlayer)) {
  console.error(`missing ${dlayer}: build the project first`);
  process.exit(1);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-low-overhead-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const problems = [];
const MiB = 1 << 20;
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

const dl = dlayerRunner(dlayer, threads, problems);

// Per pair, the streamed run's latency over its preloaded twin's, in percent.
const overheads = (j) => j.paired_preload.pairs_ms.map(([a, b]) => (a / b - 1) * 100);

function measure(m) {
  const out = { m, rows: [] };
  if (!fs.existsSync(m.file)) {
    problems.push(`missing ${m.file}`);
    return out;
  }
  const store = path.join(work, `${m.id}.db`);
  const info = dl(['info', m.file, ...m.args, '--json'], `${m.id}: info`);
  if (!info) return out;
  const tight = Math.floor(info.weight_bytes * Math.min(...fractions));
  const split = splitFor(dl, m.file, m.args, tight);
  if (split === null) return out;
  const common = [...m.args, '--pack-dir', packDir, '--threads', threads];
  console.error(`${m.id}: noise floor (preload paired with itself, ${pairs} pairs)`);
  const floor = dl(['run', m.file, ...common, '--arch', 'preload', '--iterations', pairs, '--warmup', '1',
    '--paired-preload', '--json'], `${m.id}: preload paired`);
  if (!floor) return out;
  out.floor = overheads(floor);
  out.preloadWeights = floor.memory.weights_bytes;
  console.error(`${m.id}: profiling (sequential, split ${split}) and calibrating (two-stage)`);
  if (!dl(['run', m.file, ...common, '--arch', 'sequential', '--split', `${split}`, '--iterations', '3', '--warmup',
    '1', '--record', store, '--json'], `${m.id}: profile`)) return out;
  const plain = dl(['plan', m.file, ...m.args, '--profile', store, '--frontier', '--points', '2', '--no-calibrate',
    '--json'], `${m.id}: plan --frontier`);
  if (!plain) return out;
  const ring = Math.ceil(plain.frontier[0].staging_bytes * 1.5 / 4096) * 4096;
  if (!dl(['run', m.file, ...common, '--arch', 'two-stage', '--staging', `${ring}`, '--split', `${split}`,
    '--iterations', '5', '--warmup', '1', '--record', store, '--json'], `${m.id}: calibration run`)) return out;
  // A profile of the whole layers too, calibrated the same way, so that the planner can leave the layers whole
  // where the budget holds them: a split costs the kernels something even with nothing streamed.
  console.error(`${m.id}: profiling and calibrating whole layers`);
  if (dl(['run', m.file, ...common, '--arch', 'sequential', '--iterations', '3', '--warmup', '1', '--record', store,
    '--json'], `${m.id}: whole-layer profile`)) {
    const whole = dl(['plan', m.file, ...m.args, '--profile', store, '--split', '0', '--frontier', '--points', '2',
      '--no-calibrate', '--json'], `${m.id}: plan --frontier (whole layers)`);
    const wholeRing = whole && Math.ceil(whole.frontier[0].staging_bytes * 1.5 / 4096) * 4096;
    if (whole) dl(['run', m.file, ...common, '--arch', 'two-stage', '--staging', `${wholeRing}`, '--iterations', '5',
      '--warmup', '1', '--record', store, '--json'], `${m.id}: whole-layer calibration run`);
  }
  fractions.forEach((f, k) => {
    const budget = Math.floor(info.weight_bytes * f);
    const cfg = path.join(work, `${m.id}-${k}.json`);
    console.error(`${m.id}: budget ${(f * 100).toFixed(1)} % = ${(budget / MiB).toFixed(2)} MiB, ${pairs} pairs`);
    const planned = dl(['plan', m.file, ...m.args, '--profile', store, '--budget', `${budget}`, '-o', cfg, '--json'],
      `${m.id}: plan --budget ${budget}`);
    if (!planned) return;
    const run = dl(['run', m.file, ...common, '--config', cfg, '--iterations', pairs, '--warmup', '1',
      '--paired-preload', '--json'], `${m.id}: run --config (${(f * 100).toFixed(1)} %)`);
    if (!run) return;
    // The same bytes read beside a preloaded run, with no pipeline: what moving them costs here.
    let beside = null;
    if (run.read.bytes > 0) {
      console.error(`${m.id}: ${(run.read.bytes / MiB).toFixed(1)} MiB read beside a preloaded run, ${pairs} pairs`);
      const r = spawnSync(process.execPath, [path.join(__dirname, 'read_beside.js'), '--bytes', `${run.read.bytes}`,
        '--read', run.pack, '--pairs', pairs, '--dlayer', dlayer, '--json', '--', m.file, ...common],
      { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status === 0) beside = JSON.parse(r.stdout);
      else problems.push(`${m.id}: read_beside.js (${(f * 100).toFixed(1)} %): ${(r.stderr || '').trim()}`);
    }
    out.rows.push({ fraction: f, budget, planned, run, pairs: overheads(run), beside });
  });
  // What cutting layers costs by itself: the tightest row's split pack, every layer preloaded, paired with whole
  // layers preloaded.
  const cut = out.rows.find((r) => r.run.split_bytes > 0);
  if (cut) {
    console.error(`${m.id}: split at ${(cut.run.split_bytes / MiB).toFixed(2)} MiB, preloaded, ${pairs} pairs`);
    const j = dl(['run', cut.run.pack, '--pack-dir', packDir, '--threads', threads, '--arch', 'preload',
      '--iterations', pairs, '--warmup', '1', '--paired-preload', '--json'], `${m.id}: split pack preloaded`);
    if (j) out.split = { bytes: cut.run.split_bytes, layers: j.layers, pairs: overheads(j) };
  }
  return out;
}

const sections = models.map(measure);
const lines = tableHead('low_overhead.js', threads);
lines.push(`Each row: \`dlayer plan --budget\` (profiles: a sequential run and a two-stage calibration run with the ` +
  'tightest budget\'s split, and the same of whole layers; the planner takes the split whose profile predicts less), ' +
  `then ` +
  `\`dlayer run --config\` of its choice with \`--paired-preload\`: ${pairs} inferences, each right after one of the ` +
  'same model preloaded in a second process; the overhead is the median over the pairs of streamed ÷ preloaded − 1, ' +
  'with its quartiles. Between the inferences of a pair the twin runs, so the ring refills meanwhile: periodic ' +
  'inference, as in the paper\'s real-time setting. Weight memory −% is against preload\'s ledger weight peak. The ' +
  'noise floor is preload paired with itself. Reading beside preload (bench/read_beside.js): the bytes the row reads ' +
  'per inference read by `dd iflag=direct bs=4M` beside every other inference of a preloaded run, ' +
  `${pairs} pairs; the median of with ÷ without − 1, with its quartiles: what moving those bytes costs the ` +
  'kernels here with no pipeline at all, the least a streamed run can cost however well it hides its reads.');
const summary = [];
for (const s of sections) {
  lines.push('');
  lines.push(`### ${s.m.label}`);
  lines.push('');
  if (!s.floor) {
    lines.push(`**FAILED**: ${problems.filter((p) => p.startsWith(s.m.id) || p.includes(s.m.file)).join('; ')}`);
    continue;
  }
  lines.push(`Noise floor (preload paired with itself): ${signed(quantile(s.floor, 0.5))} % ` +
    `(${signed(quantile(s.floor, 0.25))} … ${signed(quantile(s.floor, 0.75))}).`);
  lines.push('');
  lines.push('| budget | weights MiB | weight memory −% | split MiB | staging MiB | resident | predicted ms | ' +
    'preloaded ms | paired overhead % (quartiles) | kernel stall ms | read MiB | reading beside preload % (quartiles) |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  let least = null;
  let hidden = null; // the least weight memory whose overhead is within a point of what reading its bytes costs
  for (const r of s.rows) {
    const w = r.run.memory.weights_bytes;
    const reduction = (1 - w / s.preloadWeights) * 100;
    const med = quantile(r.pairs, 0.5);
    if (med <= 1 && (!least || w < least.w)) least = { w, reduction, med, fraction: r.fraction };
    const b = r.beside;
    const bMed = b ? b.overhead_pct.median : null;
    if (b && med <= bMed + 1 && (!hidden || w < hidden.w))
      hidden = { w, reduction, med, bMed, fraction: r.fraction };
    const besideText = b ? `${signed(bMed)} (${signed(b.overhead_pct.q1)} … ${signed(b.overhead_pct.q3)})`
      : r.run.read.bytes > 0 ? 'failed' : '—';
    lines.push(`| ${(r.fraction * 100).toFixed(1)} % | ${(w / MiB).toFixed(2)} | ${reduction.toFixed(1)} | ` +
      `${r.run.split_bytes ? (r.run.split_bytes / MiB).toFixed(2) : 'whole'} | ${(r.run.staging_bytes / MiB).toFixed(2)} | ${r.planned.resident_layers.length} of ${r.planned.model.layers} | ` +
      `${r.planned.predicted_latency_ms.toFixed(1)} | ${r.run.paired_preload.latency_ms.median.toFixed(1)} | ` +
      `${signed(med)} (${signed(quantile(r.pairs, 0.25))} … ${signed(quantile(r.pairs, 0.75))}) | ` +
      `${r.run.stall_ms.toFixed(1)} | ${(r.run.read.bytes / MiB).toFixed(1)} | ${besideText} |`);
  }
  const verdict = least
    ? `the least weight memory with a median overhead ≤ 1 %: ${(least.w / MiB).toFixed(2)} MiB, a ` +
      `${least.reduction.toFixed(1)} % reduction (budget ${(least.fraction * 100).toFixed(1)} %, ${signed(least.med)} %)`
    : 'no budget measured had a median overhead ≤ 1 %';
  const within = hidden
    ? `; the least with an overhead within a point of what reading its bytes beside a preloaded run costs: ` +
      `${(hidden.w / MiB).toFixed(2)} MiB, a ${hidden.reduction.toFixed(1)} % reduction (budget ` +
      `${(hidden.fraction * 100).toFixed(1)} %: ${signed(hidden.med)} % streamed, ${signed(hidden.bMed)} % reading)`
    : '; no budget measured had an overhead within a point of what reading its bytes costs';
  if (s.split) {
    lines.push('', `Layers split at ${(s.split.bytes / MiB).toFixed(2)} MiB (${s.split.layers} layers), every one ` +
      `preloaded, paired with whole layers preloaded: ${signed(quantile(s.split.pairs, 0.5))} % ` +
      `(${signed(quantile(s.split.pairs, 0.25))} … ${signed(quantile(s.split.pairs, 0.75))}): what the cut costs ` +
      'the kernels with nothing streamed.');
  }
  lines.push('', `${s.m.label}: ${verdict}${within}.`);
  summary.push(`${s.m.label}: ${verdict}${within}`);
}
if (problems.length) lines.push('', `**${problems.length} problem(s)**: ${problems.join('; ')}`);
const table = lines.join('\n');
console.log(table);
if (options['--write']) {
  writeSection(path.resolve(options['--write']), 'low-overhead', 'Least memory at an overhead within noise', table);
}
process.exit(problems.length ? 1 : 0);

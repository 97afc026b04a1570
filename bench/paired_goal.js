#!/usr/bin/env node
// The demand-layering goal measured with many pairs: at the paper's 96.5 % weight-memory reduction (a budget of
// 3.5 % of the weights), how much later is a streamed inference than a preloaded one? Per network: preload paired
// with itself first (the noise floor), then --runs runs of the budget rule's configuration (`dlayer run --budget`),
// each of --pairs inferences alternated with one of a preloaded twin process (--paired-preload). The overhead is
// the median over every pair of every run of streamed ÷ preloaded − 1, with its quartiles; each run's own median and
// kernel stall say how much the runs agree.
//
//   node bench/paired_goal.js [--models yolov4,resnet152,densenet201] [--runs 3] [--pairs 20] [--warmup 2]
//                             [--fraction 0.035] [--arch two-stage] [--threads 2] [--dlayer PATH] [--pack-dir DIR]
//                             [--write docs/benchmarks.md]
//
// Prints the table; with --write it replaces the section between "<!-- paired-goal:begin -->" and
// "<!-- paired-goal:end -->" in that file (appended when missing). A failed run is reported and the other networks
// still run; the exit status is then nonzero.
'use strict';
const path = require('path');

const { root, cache, pickModels } = require('./models.js');
const { parseOptions, dlayerRunner, quantile, median, tableHead, finishTable } = require('./benchutil.js');

const options = parseOptions('paired_goal.js', { '--models': 'yolov4,resnet152,densenet201', '--runs': '3',
  '--pairs': '20', '--warmup': '2', '--fraction': '0.035', '--arch': 'two-stage', '--threads': '2',
  '--dlayer': path.join(root, 'build/app/dlayer/dlayer'), '--pack-dir': path.join(cache, 'packs/bench'),
  '--write': null });
const runs = Number(options['--runs']);
const pairs = Number(options['--pairs']);
const fraction = Number(options['--fraction']);
if (!(Number.isInteger(runs) && runs > 0) || !(Number.isInteger(pairs) && pairs > 1) || !(fraction > 0 && fraction < 1)) {
  console.error('paired_goal.js: --runs and --pairs take whole numbers (pairs at least 2), --fraction one in (0, 1)');
  process.exit(2);
}
const problems = [];
const dl = dlayerRunner(path.resolve(options['--dlayer']), options['--threads'], problems);
const packDir = path.resolve(options['--pack-dir']);
const MiB = 1 << 20;
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const overheads = (j) => j.paired_preload.pairs_ms.map(([run, twin]) => (run / twin - 1) * 100);
const spread = (xs) => `${signed(median(xs))} (${signed(quantile(xs, 0.25))} … ${signed(quantile(xs, 0.75))})`;

const common = ['--pack-dir', packDir, '--paired-preload', '--iterations', `${pairs}`, '--warmup', options['--warmup'],
  '--json'];
const sections = [];
for (const m of pickModels(options['--models'])) {
  console.error(`${m.id}: preload paired with itself, ${pairs} pairs`);
  const floor = dl(['run', m.file, ...m.args, '--arch', 'preload', ...common], `${m.id}: preload paired`);
  if (!floor) continue;
  const weights = floor.memory.weights_bytes;
  // The fraction of the model's weight bytes (`dlayer info`), as bench/demand_layering.js takes it of the pack's.
  const info = dl(['info', m.file, ...m.args, '--json'], `${m.id}: dlayer info`);
  if (!info) continue;
  const budget = Math.floor(info.weight_bytes * fraction);
  const measured = [];
  for (let r = 0; r < runs; ++r) {
    console.error(`${m.id}: ${options['--arch']} at a budget of ${(budget / MiB).toFixed(2)} MiB, run ${r + 1} of ` +
      `${runs}, ${pairs} pairs`);
    const j = dl(['run', m.file, ...m.args, '--arch', options['--arch'], '--budget', `${budget}`, ...common],
      `${m.id}: ${options['--arch']} --budget ${budget}`);
    if (j) measured.push(j);
  }
  if (measured.length) sections.push({ m, floor, weights, budget, measured });
}

const lines = tableHead('paired_goal.js', options['--threads']);
lines.push(`Each network: preload paired with itself (${pairs} pairs: the noise floor), then ${runs} run${runs === 1 ? '' : 's'} of ` +
  `\`dlayer run --arch ${options['--arch']} --budget B --paired-preload --iterations ${pairs}\` with B ` +
  `${(fraction * 100).toFixed(1)} % of the weight bytes \`dlayer info\` gives (the budget rule picks the split, the ring and what stays ` +
  'resident), each inference right after one of the same model preloaded (whole layers) in a second process. ' +
  'Overhead: the median over all the pairs of streamed ÷ preloaded − 1, with its quartiles; per run, its own ' +
  'median. Weight memory −% is the ledger\'s weight peak against preload\'s.');
lines.push('');
lines.push('| network | budget MiB | weights held MiB | weight memory −% | split MiB | staging MiB | resident | ' +
  'noise floor % (quartiles) | overhead % (quartiles) | per run % | kernel stall ms per inference | ≤ 5 % |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const s of sections) {
  const all = s.measured.flatMap(overheads);
  const first = s.measured[0];
  const held = Math.max(...s.measured.map((j) => j.memory.weights_bytes));
  const stalls = s.measured.map((j) => j.stall_ms);
  lines.push(`| ${s.m.label} | ${(s.budget / MiB).toFixed(2)} | ${(held / MiB).toFixed(2)} | ` +
    `${((1 - held / s.weights) * 100).toFixed(1)} | ${first.split_bytes ? (first.split_bytes / MiB).toFixed(2) : 'whole'} | ` +
    `${(first.staging_bytes / MiB).toFixed(2)} | ${first.resident_layers.length} of ${first.layers} | ` +
    `${spread(overheads(s.floor))} | ${spread(all)} | ` +
    `${s.measured.map((j) => signed(j.paired_preload.overhead_pct.median)).join(', ')} | ` +
    `${Math.min(...stalls).toFixed(1)}–${Math.max(...stalls).toFixed(1)} | ${median(all) <= 5 ? 'yes' : 'no'} |`);
}
finishTable(lines, problems, options['--write'], 'paired-goal', 'Demand layering at the paper\'s reduction, ' +
  'paired');

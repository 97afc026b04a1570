#!/usr/bin/env node
// fp16 layer packs against fp32 ones: what halving the bytes each streamed inference reads buys. Per network, per
// architecture and per budget (a fraction of the model's weight bytes), one run with an fp32 pack and one with an
// fp16 pack (`dlayer run --arch A --budget B --precision P --paired-preload`), each inference right after one of the
// fp32 model preloaded in a second process. Reported: the bytes read per inference, the weights held (and the
// reduction against preload's), the delay overhead (median over the pairs, with quartiles), the kernel stage's stall,
// and the accuracy change of the fp16 run's outputs against the fp32 run's on the same seeded input (normalised error
// ||fp16 − fp32|| / ||fp32|| over all outputs).
//
//   node bench/fp16_packs.js [--models yolov4,resnet152,densenet201] [--archs two-stage,async]
//                            [--fractions 0.035,0.10] [--pairs 12] [--warmup 2] [--threads 2] [--dlayer PATH]
//                            [--pack-dir DIR] [--write docs/benchmarks.md]
//
// With --write it replaces the section between "<!-- fp16-packs:begin -->" and "<!-- fp16-packs:end -->".
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const { root, cache, pickModels } = require('./models.js');
const { parseOptions, dlayerRunner, quantile, median, tableHead, finishTable } = require('./benchutil.js');
const tp = require('./ort/tensorproto.js');

const options = parseOptions('fp16_packs.js', { '--models': 'yolov4,resnet152,densenet201',
  '--archs': 'two-stage,async', '--fractions': '0.035,0.10', '--pairs': '12', '--warmup': '2', '--threads': '2',
  '--dlayer': path.join(root, 'build/app/dlayer/dlayer'), '--pack-dir': path.join(cache, 'packs/bench'),
  '--write': null });
const pairs = Number(options['--pairs']);
const fractions = options['--fractions'].split(',').map(Number);
const archs = options['--archs'].split(',');
if (!(Number.isInteger(pairs) && pairs > 1) || fractions.some((f) => !(f > 0 && f < 1))) {
  console.error('fp16_packs.js: --pairs takes a whole number of at least 2, --fractions numbers in (0, 1)');
  process.exit(2);
}
const problems = [];
const dl = dlayerRunner(path.resolve(options['--dlayer']), options['--threads'], problems);
const packDir = path.resolve(options['--pack-dir']);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-fp16-'));
const MiB = 1 << 20;
const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const overheads = (j) => j.paired_preload.pairs_ms.map(([run, twin]) => (run / twin - 1) * 100);
const spread = (xs) => `${signed(median(xs))} (${signed(quantile(xs, 0.25))} … ${signed(quantile(xs, 0.75))})`;

// Every output a run saved, in name order, as one vector of doubles.
function outputsOf(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pb')).sort();
  return files.map((f) => tp.toFloat64(tp.readFile(path.join(dir, f))));
}

function normalisedError(got, want) {
  let num = 0;
  let den = 0;
  for (let k = 0; k < want.length; ++k) {
    for (let i = 0; i < want[k].length; ++i) {
      num += (got[k][i] - want[k][i]) ** 2;
      den += want[k][i] ** 2;
    }
  }
  return Math.sqrt(num / (den || 1));
}

const rows = [];
for (const m of pickModels(options['--models'])) {
  const info = dl(['info', m.file, ...m.args, '--json'], `${m.id}: dlayer info`);
  if (!info) continue;
  const preload = dl(['run', m.file, ...m.args, '--arch', 'preload', '--precision', 'fp32', '--pack-dir', packDir,
    '--iterations', '1', '--warmup', '0', '--json'], `${m.id}: preload`);
  if (!preload) continue;
  const preloadWeights = preload.memory.weights_bytes;
  for (const fraction of fractions) {
    const budget = Math.floor(info.weight_bytes * fraction);
    for (const arch of archs) {
      const runs = {};
      for (const precision of ['fp32', 'fp16']) {
        const out = path.join(work, `${m.id}-${arch}-${fraction}-${precision}`);
        console.error(`${m.id}: ${arch}, budget ${(budget / MiB).toFixed(2)} MiB (${(fraction * 100).toFixed(1)} %), ` +
          `${precision}, ${pairs} pairs`);
        const j = dl(['run', m.file, ...m.args, '--arch', arch, '--budget', `${budget}`, '--precision', precision,
          '--pack-dir', packDir, '--paired-preload', '--iterations', `${pairs}`, '--warmup', options['--warmup'],
          '--save-outputs', out, '--json'], `${m.id}: ${arch} --budget ${budget} --precision ${precision}`);
        if (j) runs[precision] = { j, outputs: outputsOf(out) };
      }
      if (runs.fp32 && runs.fp16)
        rows.push({ m, fraction, budget, arch, runs, preloadWeights,
          error: normalisedError(runs.fp16.outputs, runs.fp32.outputs) });
    }
  }
}
fs.rmSync(work, { recursive: true, force: true });

const lines = tableHead('fp16_packs.js', options['--threads']);
lines.push(`Per network, architecture and budget B (a fraction of the weight bytes \`dlayer info\` gives; the budget ` +
  `rule picks the split, the rings and what stays resident), \`dlayer run --arch A --budget B --precision P ` +
  `--paired-preload --iterations ${pairs}\` with an fp32 and an fp16 pack: each inference right after one of the ` +
  'fp32 model preloaded (whole layers) in a second process. Read: bytes per inference. Held: the ledger\'s weight ' +
  'peak, and its reduction against preload\'s. Preloaded: the twin\'s median latency. Overhead: the median over the pairs of streamed ÷ preloaded − 1 ' +
  '(quartiles). Copy: the copy stage\'s time per inference (two-stage with an fp16 pack: the widening its kernel ' +
  'stage does, on the kernels\' threads). Error: ||fp16 − fp32|| / ||fp32|| over every output, same seeded input (Darknet networks: seeded ' +
  'weights).');
lines.push('');
lines.push('| network | arch | budget | pack | read MiB/inference | held MiB | weight memory −% | preloaded ms | ' +
  'overhead % (quartiles) | kernel stall ms | copy ms/inference | output error vs fp32 | ≥ 90 % less at ≤ 1 % |');
lines.push('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  for (const precision of ['fp32', 'fp16']) {
    const j = r.runs[precision].j;
    const held = j.memory.weights_bytes;
    const reduction = (1 - held / r.preloadWeights) * 100;
    const ov = overheads(j);
    lines.push(`| ${r.m.label} | ${r.arch} | ${(r.fraction * 100).toFixed(1)} % | ${precision} | ` +
      `${(j.read.bytes / MiB).toFixed(1)} | ${(held / MiB).toFixed(1)} | ${reduction.toFixed(1)} | ` +
      `${j.paired_preload.latency_ms.median.toFixed(1)} | ${spread(ov)} | ` +
      `${j.stall_ms.toFixed(1)} | ${j.copy_ms.toFixed(1)} | ` +
      `${precision === 'fp16' ? r.error.toExponential(2) : '—'} | ${reduction >= 90 && median(ov) <= 1 ? 'yes' : 'no'} |`);
  }
}
finishTable(lines, problems, options['--write'], 'fp16-packs', 'fp16 packs against fp32 packs, paired');


#!/usr/bin/env node
// The read-bandwidth goal measured with many pairs: where the reads bound the run (VGG-16, whose fully connected
// layers are hundreds of MiB of weights with little arithmetic), does the reader get at least 90 % of what the disk
// gives? Per network, every streaming configuration of bench/demand_layering.js (sequential, sync, async and
// two-stage at their smallest staging, two-stage and async at 4x the largest layer, two-stage and async under a
// budget of 3.5 % of the weights) runs --rounds times, the configurations one after another in each round so that a
// slow spell of the machine spreads over all of them, each run --pairs inferences long with --paired-disk: after
// each inference the same bytes are read again alone, in the run's requests and queue depth (docs/architecture.md,
// "The disk's rate"). A configuration's figure is the median over all its pairs of the run's read rate ÷ that
// pass's, with its quartiles; `dd iflag=direct bs=4M` of the whole pack (best of two, before each round) is the
// plain sequential read the issue names, for comparison. The goal holds where the reads bound the run: where the
// kernels waited for the reads for a tenth of the latency or more (sequential, which reads inline: its reading time).
//
//   node bench/paired_read.js [--models vgg-16] [--rounds 3] [--pairs 10] [--warmup 1] [--threads 2]
//                             [--dlayer PATH] [--pack-dir DIR] [--write docs/benchmarks.md]
//
// Prints the table; with --write it replaces the section between "<!-- paired-read:begin -->" and
// "<!-- paired-read:end -->" in that file (appended when missing). A failed run is reported and the others still
// run; the exit status is then nonzero.
'use strict';
const path = require('path');

const { root, cache, pickModels } = require('./models.js');
const { parseOptions, dlayerRunner, ddRate, quantile, median, tableHead, finishTable } = require('./benchutil.js');

const options = parseOptions('paired_read.js', { '--models': 'vgg-16', '--rounds': '3', '--pairs': '10',
  '--warmup': '1', '--threads': '2', '--dlayer': path.join(root, 'build/app/dlayer/dlayer'),
  '--pack-dir': path.join(cache, 'packs/bench'), '--write': null });
const rounds = Number(options['--rounds']);
const pairs = Number(options['--pairs']);
if (!(Number.isInteger(rounds) && rounds > 0) || !(Number.isInteger(pairs) && pairs > 1)) {
  console.error('paired_read.js: --rounds and --pairs take whole numbers (pairs at least 2)');
  process.exit(2);
}
const problems = [];
const dl = dlayerRunner(path.resolve(options['--dlayer']), options['--threads'], problems);
const packDir = path.resolve(options['--pack-dir']);
const MiB = 1 << 20;
const mib = (b) => (b / MiB).toFixed(2);
const pct = (xs) => `${median(xs).toFixed(0)} (${quantile(xs, 0.25).toFixed(0)} … ${quantile(xs, 0.75).toFixed(0)})`;

const sections = [];
for (const m of pickModels(options['--models'])) {
  const info = dl(['info', m.file, ...m.args, '--json'], `${m.id}: dlayer info`);
  if (!info) continue;
  // Every configuration from the model itself: the whole-layer ones share the pack cache's pack, each split its own.
  const source = [m.file, ...m.args, '--pack-dir', packDir];
  const first = dl(['run', ...source, '--arch', 'sequential', '--iterations', '1', '--warmup', '0', '--json'],
    `${m.id}: the pack`);
  if (!first) continue;
  const largest = first.largest_layer_bytes;
  const tight = Math.floor(info.weight_bytes * 0.035);
  const plan = [
    ...['sequential', 'sync', 'async', 'two-stage'].map((arch) => ({ arch, setting: 'smallest', args: [] })),
    ...['two-stage', 'async'].map((arch) => ({ arch, setting: '4× largest layer', args: ['--staging', `${4 * largest}`] })),
    ...['two-stage', 'async'].map((arch) => ({ arch, setting: `budget 3.5 %: ${mib(tight)} MiB`,
      args: ['--budget', `${tight}`] })),
  ];
  const rows = plan.map((c) => ({ ...c, ofDisk: [], ofDd: [], perRound: [], stalls: [], stallShare: [], runMBps: [],
    diskMBps: [] }));
  const dd = [];
  for (let round = 0; round < rounds; ++round) {
    const r = ddRate(first.pack);
    if (r.error) problems.push(`${m.id}, round ${round + 1}: ${r.error}`);
    const disk = r.rate && r.rate.mbps;
    if (disk) dd.push(disk);
    for (const row of rows) {
      if (row.skipped) continue;
      console.error(`${m.id}: ${row.arch}, ${row.setting} (round ${round + 1} of ${rounds}, ${pairs} pairs)`);
      const j = dl(['run', ...source, '--arch', row.arch, ...row.args, '--iterations', `${pairs}`, '--warmup',
        options['--warmup'], '--paired-disk', '--json'], `${m.id}: --arch ${row.arch} (${row.setting})`);
      if (!j && /below the minimum/.test(problems[problems.length - 1])) {
        // Layers that cannot be cut need more than this architecture has under the budget.
        row.skipped = `skipped: ${problems.pop().replace(/^.*error: /, '')}`;
        continue;
      }
      if (!j) {
        row.skipped = 'failed (see Problems)';
        continue;
      }
      row.j = j;
      const shares = j.paired_disk.pairs_mb_per_s.map(([run, pass]) => run / pass * 100);
      row.ofDisk.push(...shares);
      row.perRound.push(median(shares));
      row.stalls.push(j.stall_ms);
      // Sequential reads inline: its kernels wait for all of the reading time.
      row.stallShare.push((row.arch === 'sequential' ? j.read.seconds * 1e3 : j.stall_ms) / j.latency_ms.median);
      const rate = j.read.device && j.read.device.mb_per_s ? j.read.device.mb_per_s : j.read.mb_per_s;
      row.runMBps.push(rate);
      row.diskMBps.push(j.paired_disk.disk_mb_per_s.median);
      if (disk) row.ofDd.push(rate / disk * 100);
    }
  }
  const measured = rows.find((r) => r.j);
  sections.push({ m, info, rows, dd, rateBy: measured && measured.j.paired_disk.rate_by });
}

const lines = tableHead('paired_read.js', options['--threads']);
lines.push(`Each configuration: ${rounds} run${rounds === 1 ? '' : 's'} of \`dlayer run --paired-disk --iterations ` +
  `${pairs}\`, one per round, the configurations one after another in each round. After each inference the pass ` +
  'reads the same bytes again alone, in the run\'s requests and queue depth, into cold memory. Read % of disk: the ' +
  'median over all the pairs of the run\'s rate ÷ its pass\'s, with its quartiles; per run, its own median. ' +
  'Rates are by the device\'s busy time where the pack lies on a block device. Read % of dd: the runs\' rates ' +
  'against `dd iflag=direct bs=4M` of the whole pack, best of two, before each round. The reads bound a run when ' +
  'its kernels waited for them for a tenth of its latency or more (the share in brackets; sequential, which reads ' +
  'inline, waits for all of its reading time); the goal, ≥ 90 % of the disk, is for those.');
for (const s of sections) {
  lines.push('');
  lines.push(`**${s.m.label}**: ${mib(s.info.weight_bytes)} MiB of weights; dd ${s.dd.map((x) => x.toFixed(0)).join(', ')} ` +
    `MB/s over the rounds; rates by ${s.rateBy}.`);
  lines.push('');
  lines.push('| arch | staging | split MiB | kernel stall ms per inference | reads bound it | run MB/s | pass MB/s | ' +
    'read % of disk (quartiles) | per run % | read % of dd | ≥ 90 % |');
  lines.push('|---|---|---:|---:|---|---:|---:|---:|---|---:|---|');
  for (const r of s.rows) {
    if (!r.ofDisk.length) {
      lines.push(`| ${r.arch} | ${r.setting} | ${r.skipped || 'no pairs'} | | | | | | | | |`);
      continue;
    }
    const staging = `${mib(r.j.staging_bytes)} MiB (${r.setting})`;
    const bound = median(r.stallShare) >= 0.1;
    const share = median(r.ofDisk);
    lines.push(`| ${r.arch} | ${staging} | ${r.j.split_bytes ? mib(r.j.split_bytes) : 'whole'} | ` +
      `${Math.min(...r.stalls).toFixed(0)}–${Math.max(...r.stalls).toFixed(0)} | ` +
      `${bound ? 'yes' : 'no'} (${(median(r.stallShare) * 100).toFixed(0)} %) | ` +
      `${median(r.runMBps).toFixed(0)} | ${median(r.diskMBps).toFixed(0)} | ${pct(r.ofDisk)} | ` +
      `${r.perRound.map((x) => x.toFixed(0)).join(', ')} | ${r.ofDd.length ? median(r.ofDd).toFixed(0) : '—'} | ` +
      `${!bound ? '—' : share >= 90 ? 'yes' : `no (${share.toFixed(1)})`} |`);
  }
}
finishTable(lines, problems, options['--write'], 'paired-read', 'Read bandwidth where the reads bound the ' +
  'run, paired');

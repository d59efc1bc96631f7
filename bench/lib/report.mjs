// The results table (figures per server and Ferry's ratio to each peer) and the JSON record.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function formatNumber(x) {
  if (x === null || x === undefined) return '–';
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/** Ferry's ratio to a peer; `ok` when Ferry is at least as good in the metric's direction. */
export function ratio(ferry, peer, better) {
  if (ferry === null || peer === null || peer <= 0 || ferry < 0) return null;
  const r = ferry / peer;
  return { r, ok: better === 'higher' ? r >= 1 : r <= 1 };
}

/**
 * samples: { [server]: { [metricKey]: number[] } }; errors: { [server]: { [workloadId]: message } };
 * variants: servers.mjs's VARIANTS; webhooks: { [server]: counts } from servers with an event rule.
 * Returns the summary object written as JSON.
 */
export function summarize({
  ctx,
  machine,
  date,
  workloads,
  servers,
  skipped,
  samples,
  errors,
  notes,
  variants = {},
  webhooks = {},
  warmup = {},
  seconds,
}) {
  const metrics = workloads.flatMap((w) =>
    w.metrics.map((m) => ({ ...m, workload: w.id, label: typeof m.label === 'function' ? m.label(ctx) : m.label })),
  );
  const medians = {};
  for (const s of servers) {
    medians[s] = {};
    for (const [key, values] of Object.entries(samples[s] ?? {})) medians[s][key] = median(values);
  }
  const peers = servers.filter((s) => s !== 'ferry');
  const ratios = {};
  if (servers.includes('ferry')) {
    for (const p of peers) {
      ratios[p] = {};
      for (const m of metrics) ratios[p][m.key] = ratio(medians.ferry[m.key] ?? null, medians[p][m.key] ?? null, m.better);
    }
  }
  const comparisons = compareVariants({ variants, servers, metrics, medians, samples });
  return {
    date,
    machine,
    seconds,
    options: publicOptions(ctx),
    servers,
    skipped,
    metrics,
    medians,
    samples,
    /** The warm-up rounds' samples, per workload and server: not in the medians. */
    warmup,
    ratios,
    comparisons,
    webhooks,
    errors,
    notes,
  };
}

/**
 * Each variant that ran beside the server it varies: its median over that server's, per metric it lists, with
 * the ratio of each repeat (the servers ran one after the other in every repeat) when both have all of them.
 */
function compareVariants({ variants, servers, metrics, medians, samples }) {
  const out = [];
  for (const [variant, spec] of Object.entries(variants)) {
    if (!servers.includes(variant) || !servers.includes(spec.of)) continue;
    for (const [key, name] of Object.entries(spec.metrics)) {
      const metric = metrics.find((m) => m.key === key);
      const mine = medians[variant][key] ?? null;
      const theirs = medians[spec.of][key] ?? null;
      if (!metric || mine === null || theirs === null || theirs <= 0) continue;
      const r = mine / theirs;
      const a = samples[variant]?.[key] ?? [];
      const b = samples[spec.of]?.[key] ?? [];
      out.push({
        variant,
        of: spec.of,
        key,
        name,
        unit: /\(([^()]+)\)$/.exec(metric.label)?.[1] ?? '',
        better: metric.better,
        tolerance: spec.tolerance ?? null,
        target: spec.target ?? null,
        ratio: r,
        within:
          spec.target !== undefined
            ? metric.better === 'higher'
              ? r >= spec.target
              : r <= spec.target
            : metric.better === 'higher'
              ? r >= 1 - spec.tolerance
              : r <= 1 + spec.tolerance,
        repeats: a.length === b.length && a.length > 1 ? a.map((x, i) => x / b[i]) : null,
      });
    }
  }
  return out;
}

function publicOptions(ctx) {
  const { password: _p, cert: _c, base: _b, bigSource: _s, ...rest } = ctx;
  return rest;
}

export function renderTable(summary) {
  const { servers, metrics, medians, ratios } = summary;
  const peers = Object.keys(ratios);
  const header = ['workload', 'better', ...servers, ...peers.map((p) => `Ferry / ${p}`)];
  const rows = metrics.map((m) => [
    m.label,
    m.better,
    ...servers.map((s) =>
      summary.errors[s]?.[m.workload] && medians[s][m.key] == null ? 'error' : formatNumber(medians[s][m.key] ?? null),
    ),
    ...peers.map((p) => {
      const q = ratios[p][m.key];
      return q ? `${q.r.toFixed(2)}x${q.ok ? ' ok' : ''}` : '–';
    }),
  ]);
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function renderReport(summary) {
  const { machine, date } = summary;
  const out = [
    `Ferry benchmark — ${date}`,
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}`,
    `run: ${summary.options.quick ? 'quick (tiny sizes, a smoke test; figures are not comparable)' : 'full'}, medians of ${summary.options.repeats} repeat(s)${summary.options.warmups ? ` after ${summary.options.warmups} warm-up round(s)` : ''}, ${Math.round(summary.seconds)} s`,
    '',
    renderTable(summary),
    '',
    'Ratios are Ferry / peer. "ok" marks Ferry at least as good as the peer in the direction shown',
    '(higher is better: ratio >= 1; lower is better: ratio <= 1). "–" = not measured or not supported.',
  ];
  if (summary.comparisons.length > 0) out.push('');
  for (const c of summary.comparisons) out.push(renderComparison(c));
  for (const [name, w] of Object.entries(summary.webhooks)) out.push(renderWebhooks(name, w));
  for (const [name, reason] of Object.entries(summary.skipped)) out.push(`skipped ${name}: ${reason}`);
  for (const [name, errs] of Object.entries(summary.errors)) {
    for (const [workload, message] of Object.entries(errs)) out.push(`error ${name} ${workload}: ${message}`);
  }
  for (const note of summary.notes) out.push(`note: ${note}`);
  return out.join('\n');
}

/** `ferry-events / ferry, small files: 0.98 (files/s; within 5 %: yes; repeats 0.97, 0.98, 1.01)` */
export function renderComparison(c) {
  const unit = [c.unit, c.better === 'lower' ? 'lower is better' : null].filter(Boolean).join(', ');
  const goal =
    c.target !== null && c.target !== undefined
      ? `target ${c.better === 'lower' ? '≤' : '≥'} ${c.target}`
      : `within ${Math.round(c.tolerance * 100)} %`;
  const details = [unit, `${goal}: ${c.within ? 'yes' : 'no'}`];
  if (c.repeats) details.push(`repeats ${c.repeats.map((r) => r.toFixed(2)).join(', ')}`);
  return `${c.variant} / ${c.of}, ${c.name}: ${c.ratio.toFixed(2)} (${details.filter(Boolean).join('; ')})`;
}

/** How many of the rule's events the webhook receiver got: the rule was live during the run. */
export function renderWebhooks(name, w) {
  const n = (x) => x.toLocaleString('en');
  const again = w.requests > w.events ? ` (+${n(w.requests - w.events)} sent again)` : '';
  const bad = w.badSignatures > 0 ? `, ${n(w.badSignatures)} with a bad signature` : '';
  const { matched, delivered, failed, pending } = w.rule;
  return (
    `${name}: ${n(w.events)} webhook deliveries received${again}${bad} for ${n(w.smallUploads)} small-file uploads ` +
    `(Ferry's rule: matched ${n(matched)}, delivered ${n(delivered)}, failed ${n(failed)}, pending ${n(pending)}; ` +
    `the receiver used ${w.receiverCpuSeconds.toFixed(2)} s of CPU)`
  );
}

export function writeJson(file, summary) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
}

/**
 * A run's config as its reports show it: only the keys that apply to its model and schedule
 * (config.ts's keyApplies: no `k` on an MLP, no `lr` on kNN), with the values the run used. Where
 * `iterations` sets the steps, `epochs` is the number of epochs those steps make (summary.json's),
 * not the default or preset the schedule ignored. The whole resolved config stays in config.json.
 */
import { type Config, keyApplies } from '../config/config.js';
import { RUN_FILES } from '../runs/layout.js';
import { type PageBlock, esc, kvTable } from './html.js';

/** The keys of `cfg` that apply, in config.json's order; `epochsRun`: the epochs the schedule makes (null: not known). */
export function usedConfig(cfg: Config, epochsRun: number | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(cfg) as (keyof Config)[]) {
    if (!keyApplies(k, cfg)) continue;
    out[k] = k === 'epochs' && cfg.iterations > 0 ? `${epochsRun ?? '?'} (from iterations = ${cfg.iterations})` : cfg[k];
  }
  return out;
}

/** The Config block of a run's report. */
export function configBlock(cfg: Config, epochsRun: number | null): PageBlock {
  const shown = usedConfig(cfg, epochsRun);
  const left = Object.keys(cfg).length - Object.keys(shown).length;
  const note = `<p class="note">The keys that apply to a ${esc(cfg.model)} run${left ? ` (${left} that do not are left out)` : ''}; ${esc(RUN_FILES.config)} in the run folder holds them all.</p>`;
  return { kind: 'html', title: 'Config', html: note + kvTable(shown) };
}

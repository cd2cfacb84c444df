/**
 * "Did you mean": the known name closest to a mistyped one, for the command line's flags, choices
 * and sub-commands and for the config files' keys. Close is a Damerau-Levenshtein distance
 * (optimal string alignment: insert, delete, substitute, swap two neighbours) of at most about a
 * third of the word, counted without case and without the separators `-` and `_`
 * (`batch_size` is `batchSize`); or the word's initials (`learningRate`, `learning_rate` → `lr`).
 */

/** The optimal-string-alignment distance between `a` and `b`: edits, a swap of neighbours counting one. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A name as compared: lower case, no `-` or `_`. */
const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, '');

/** The initials of a name's parts: `learningRate`, `learning_rate`, `learning-rate` → `lr`. */
function initials(s: string): string {
  const parts = s
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean);
  return parts.length > 1 ? parts.map((p) => p[0].toLowerCase()).join('') : '';
}

/** The edits a word of `n` letters may be away from a name and still be taken for a typo of it. */
const allowed = (n: number) => (n <= 2 ? 0 : n <= 5 ? 1 : n <= 9 ? 2 : 3);

/** The candidate closest to `word` (the first of equals), or undefined when none is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = plain(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, plain(c));
    if (d < bestD && d <= allowed(Math.max(w.length, 1))) {
      best = c;
      bestD = d;
    }
  }
  if (best !== undefined) return best;
  const abbr = initials(word);
  return abbr ? candidates.find((c) => plain(c) === abbr) : undefined;
}

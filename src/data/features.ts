/**
 * Image features of cs231n assignment 1 (features.ipynb): per image a HOG descriptor and a
 * histogram of hue, concatenated, computed from the raw pixels (HWC bytes) in float64, exactly
 * as ../shared/peers/features_numpy.py (the assignment's hog_feature and color_histogram_hsv)
 * defines them, quirks included:
 *
 *   grey   = R·0.299 + G·0.587 + B·0.144 (0.144, not 0.114, is what the assignment computes)
 *   gx, gy = forward differences; the last column of gx and the last row of gy are 0
 *   mag    = √(gx² + gy²); ori = degrees(atan2(gy, gx + 1e-15)) + 90
 *   bin b  (of 9) takes the pixels with 20b ≤ ori < 20b + 20 and ori > 0 (ori = 0 counts nowhere,
 *          nor does ori ≥ 180, i.e. gx + 1e-15 < 0)
 *   cell   = the mean of a bin's magnitudes over an 8×8 window (the uniform filter sampled at
 *          4, 12, 20, 28 covers exactly the 8×8 cells), stored cell-column-major:
 *          index (cx·cellsY + cy)·9 + b
 *   hue    = the standard RGB→HSV hue of pixels/255 (matplotlib's rgb_to_hsv), ×255, in
 *          hueBins bins over linspace(0, 255, hueBins + 1): numpy's density histogram times the
 *          bin widths, so the hue part sums to 1
 *
 * A 32×32 image gives 4·4·9 = 144 HOG numbers + hueBins (10 in the 2024 edition, 25 in
 * 2025/2026). The only difference from the reference that can show is the one its docstring
 * names: where a grey value is one ulp away from numpy's (numpy's dot sums in another order), a
 * pixel whose gx is 0 may move between bins.
 *
 * Speed: the orientation bin is found by comparing gy/(gx + 1e-15) against tan of the bin edges,
 * with Math.atan2 only where that ratio is within 1e-9 of an edge or beyond ±1e7 (near ±90°); the
 * /255 and the grey products come from tables; no allocation per image (FeatureScratch).
 */

/** Orientation bins of the HOG descriptor and the side of its cells, as in the assignment. */
export const HOG_BINS = 9;
export const HOG_CELL = 8;
/** Hue bins of the two editions: 10 (2024), 25 (2025/2026). */
export const HUE_BINS = [10, 25] as const;

export interface FeatureParams {
  /** Bins of the hue histogram. */
  hueBins: number;
}

/** Numbers per image: HOG (cells × 9) + hue bins. */
export function featureDim(imageShape: readonly [number, number, number], p: FeatureParams): number {
  const [h, w] = imageShape;
  return Math.floor(h / HOG_CELL) * Math.floor(w / HOG_CELL) * HOG_BINS + p.hueBins;
}

/** Refuse images the features are not defined for (they need colour, and sides that are multiples of 8). */
export function checkFeatureShape(imageShape: readonly [number, number, number]): void {
  const [h, w, c] = imageShape;
  if (c !== 3) throw new Error(`image features need RGB images (the hue histogram); these have ${c} channel${c === 1 ? '' : 's'} (use CIFAR-10)`);
  if (h % HOG_CELL !== 0 || w % HOG_CELL !== 0) throw new Error(`image features need sides that are multiples of ${HOG_CELL}; these images are ${h}×${w}`);
}

const GREY_W = [0.299, 0.587, 0.144];
/** v·weight for each byte value v and channel (the products numpy forms, exactly). */
const GREY_TABLE = [0, 1, 2].map((c) => Float64Array.from({ length: 256 }, (_, v) => v * GREY_W[c]));
/** v / 255 for each byte value (pixels/255.0, exactly). */
const UNIT = Float64Array.from({ length: 256 }, (_, v) => v / 255.0);
/** tan of the bin edges at 10°, 30°, 50°, 70° from the horizontal (orientation 100, 120, 140, 160). */
const TAN_EDGES = new Float64Array([10, 30, 50, 70].map((d) => Math.tan((d * Math.PI) / 180)));
/** The bin edges either side of |t| in ladder step k (0 … 4). */
const EDGE_LO = new Float64Array([0, ...TAN_EDGES]);
const EDGE_HI = new Float64Array([...TAN_EDGES, Infinity]);
const DEG = 180 / Math.PI;
/** |gy/gx'| beyond this is within 1e-7 rad of ±90°: decided by atan2, as the reference does. */
const STEEP = 1e7;
/** Relative distance to a bin edge within which atan2 decides. */
const EDGE_EPS = 1e-9;

/** π/2 as a double. */
const PIO2 = 1.5707963267948966;

/**
 * atan2(y, x) for x > 0 where |y/x| ≥ 1e7, as the reference's numpy computes it here: ±(π/2 − u)
 * with u = x/|y| and π/2 rounded to a double first. That is what numpy 1.24's AVX-512 arctan2
 * (SVML) returns on this machine, checked on 200,001 values of y with x = 1e-15; glibc's
 * correctly rounded atan2 and V8's Math.atan2 give −π/2 for y = −7.21, which would move the
 * pixels with gx = 0 out of bin 0 (ori = 0 exactly) in almost every image.
 */
function atan2Steep(y: number, x: number): number {
  const v = PIO2 - x / (y < 0 ? -y : y);
  return y < 0 ? -v : v;
}

/** The orientation bin of one pixel, the reference's way (atan2, degrees, the half-open bins); -1 for none. */
export function orientationBinExact(gx: number, gy: number): number {
  const gxp = gx + 1e-15;
  const theta = gxp > 0 && Math.abs(gy) >= STEEP * gxp ? atan2Steep(gy, gxp) : Math.atan2(gy, gxp);
  const ori = theta * DEG + 90;
  if (!(ori > 0) || !(ori < 180)) return -1;
  for (let b = 0; b < HOG_BINS; b++) if (ori >= 20 * b && ori < 20 * (b + 1)) return b;
  return -1;
}

/** The hue bin of one pixel by the reference's float64 steps (rgb_to_hsv, ×255, numpy's histogram binning). */
export function hueBinFloat(R: number, G: number, B: number, s: Pick<FeatureScratch, 'hueBins' | 'edges'>): number {
  const { hueBins: nb, edges } = s;
  const max = Math.max(R, G, B);
  const min = Math.min(R, G, B);
  let hue = 0;
  if (max !== min) {
    const [r, g, b] = [UNIT[R], UNIT[G], UNIT[B]];
    const delta = UNIT[max] - UNIT[min];
    let v = B === max ? 4 + (r - g) / delta : G === max ? 2 + (b - r) / delta : (g - b) / delta;
    // (v / 6) % 1.0 as numpy's remainder: v / 6 lies in [−1/6, 5/6], so fmod leaves it as it is.
    v /= 6;
    if (v < 0) v += 1;
    hue = v * 255;
  }
  let k = Math.floor(hue * (nb / 255));
  if (k >= nb) k = nb - 1;
  if (hue < edges[k]) k--;
  else if (k !== nb - 1 && hue >= edges[k + 1]) k++;
  return k;
}

/** Per-image work space, allocated once per image size. */
export interface FeatureScratch {
  h: number;
  w: number;
  hueBins: number;
  grey: Float64Array;
  cells: Float64Array;
  hueCounts: Float64Array;
  edges: Float64Array;
  widths: Float64Array;
  /** 1/(6Δ) for Δ = 0 … 255 (the hue's denominator). */
  inv6: Float64Array;
  /** Column c's offset in `cells`: floor(c/8)·cellsY·9 (cell-column-major). */
  colCell: Int32Array;
}

export function makeFeatureScratch(imageShape: readonly [number, number, number], p: FeatureParams): FeatureScratch {
  checkFeatureShape(imageShape);
  if (!Number.isInteger(p.hueBins) || p.hueBins < 1) throw new Error(`hueBins must be a positive integer, not ${p.hueBins}`);
  const [h, w] = imageShape;
  const nb = p.hueBins;
  // numpy's linspace(0, 255, nb + 1): i·(255/nb), the last edge 255 exactly.
  const step = 255 / nb;
  const edges = Float64Array.from({ length: nb + 1 }, (_, i) => (i === nb ? 255 : i * step));
  const widths = Float64Array.from({ length: nb }, (_, i) => edges[i + 1] - edges[i]);
  return {
    h,
    w,
    hueBins: nb,
    grey: new Float64Array(h * w),
    cells: new Float64Array((h / HOG_CELL) * (w / HOG_CELL) * HOG_BINS),
    hueCounts: new Float64Array(nb),
    edges,
    widths,
    inv6: Float64Array.from({ length: 256 }, (_, d) => (d === 0 ? 0 : 1 / (6 * d))),
    colCell: Int32Array.from({ length: w }, (_, c) => Math.floor(c / HOG_CELL) * (h / HOG_CELL) * HOG_BINS),
  };
}

/**
 * Features of the image at `x[off ..]` (h·w·3 bytes, HWC) into `out[outOff ..]` (featureDim numbers).
 */
export function imageFeatures(x: Uint8Array, off: number, out: Float64Array, outOff: number, s: FeatureScratch): void {
  const { h, w, grey, cells } = s;
  const g0 = GREY_TABLE[0];
  const g1 = GREY_TABLE[1];
  const g2 = GREY_TABLE[2];
  const n = h * w;
  for (let p = 0, q = off; p < n; p++, q += 3) grey[p] = g0[x[q]] + g1[x[q + 1]] + g2[x[q + 2]];

  // HOG: each pixel's magnitude into its cell and orientation bin; means at the end.
  cells.fill(0);
  const [t10, t30, t50, t70] = TAN_EDGES;
  const colCell = s.colCell;
  // Branch-free where the data decides (the sign of gx', the bin): a pixel with gx' ≤ 0 (orientation
  // ≥ 180 or < 0: no bin) adds its magnitude times 0; only pixels near a bin edge or ±90° branch off.
  for (let r = 0; r < h; r++) {
    const rowCell = ((r / HOG_CELL) | 0) * HOG_BINS;
    const base = r * w;
    const lastRow = r === h - 1;
    for (let c = 0; c < w; c++) {
      const i = base + c;
      const gx = c < w - 1 ? grey[i + 1] - grey[i] : 0;
      const gy = lastRow ? 0 : grey[i + w] - grey[i];
      const gxp = gx + 1e-15;
      const t = gy / gxp;
      const a = Math.abs(t);
      const k = +(a >= t10) + +(a >= t30) + +(a >= t50) + +(a >= t70);
      let bin = 4 + k * (2 * +(t >= 0) - 1);
      let keep = +(gxp > 0);
      if (keep === 1 && (a >= STEEP || a - EDGE_LO[k] < EDGE_EPS * EDGE_LO[k] || EDGE_HI[k] - a < EDGE_EPS * EDGE_HI[k])) {
        bin = orientationBinExact(gx, gy);
        if (bin < 0) [bin, keep] = [0, 0];
      }
      cells[colCell[c] + rowCell + bin] += keep * Math.sqrt(gx * gx + gy * gy);
    }
  }
  const area = HOG_CELL * HOG_CELL;
  for (let j = 0; j < cells.length; j++) out[outOff + j] = cells[j] / area;

  // Hue histogram (matplotlib's rgb_to_hsv; numpy's histogram over uniform edges). The bin comes
  // from exact integer arithmetic: hue/255 = N/(6Δ) with Δ = max − min and N = G − B (+6Δ if
  // negative) when red is the largest, 2Δ + B − R for green, 4Δ + R − G for blue, so the bin is
  // floor(nb·N/(6Δ)). Off an edge the rational hue is at least 1/(6Δ) bins from it, far beyond the
  // reference's rounding, so both agree; on an edge (nb·N a multiple of 6Δ) the reference's own
  // float64 steps decide (hueBinFloat).
  const { hueCounts, hueBins: nb, inv6 } = s;
  hueCounts.fill(0);
  for (let p = 0, q = off; p < n; p++, q += 3) {
    const R = x[q];
    const G = x[q + 1];
    const B = x[q + 2];
    const max = R > G ? (R > B ? R : B) : G > B ? G : B;
    const min = R < G ? (R < B ? R : B) : G < B ? G : B;
    const d = max - min;
    if (d === 0) {
      hueCounts[0]++;
      continue;
    }
    // Later cases win, as matplotlib assigns red, then green, then blue.
    let N = B === max ? 4 * d + R - G : G === max ? 2 * d + B - R : G - B;
    if (N < 0) N += 6 * d;
    const k = (nb * N * inv6[d]) | 0;
    const rest = nb * N - k * 6 * d;
    hueCounts[rest > 0 && rest < 6 * d ? k : hueBinFloat(R, G, B, s)]++;
  }
  let total = 0;
  for (let k = 0; k < nb; k++) total += hueCounts[k];
  const hogLen = cells.length;
  const widths = s.widths;
  for (let k = 0; k < nb; k++) out[outOff + hogLen + k] = (hueCounts[k] / widths[k] / total) * widths[k];
}

/** Features of images [start, start+count) of `x` (rows of h·w·3 bytes) into `out` (count × dim), in one thread. */
export function featuresOfRows(x: Uint8Array, start: number, count: number, imageShape: readonly [number, number, number], p: FeatureParams, out?: Float64Array): Float64Array {
  const s = makeFeatureScratch(imageShape, p);
  const dim = featureDim(imageShape, p);
  const px = imageShape[0] * imageShape[1] * imageShape[2];
  if ((start + count) * px > x.length) throw new Error(`featuresOfRows: images ${start}..${start + count} are past the ${Math.floor(x.length / px)} there are`);
  const o = out ?? new Float64Array(count * dim);
  if (o.length < count * dim) throw new Error(`featuresOfRows: out holds ${o.length} numbers, ${count}×${dim} are needed`);
  for (let i = 0; i < count; i++) imageFeatures(x, (start + i) * px, o, i * dim, s);
  return o;
}

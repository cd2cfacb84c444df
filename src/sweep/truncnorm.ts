/**
 * The truncated normal distribution that TPE's Parzen estimators are built of, as Optuna's
 * `samplers/_tpe/_truncnorm.py` computes it: erf and erfc from FreeBSD's msun `s_erf.c` (the
 * constants Optuna's `_erf.py` copies), log Φ with the asymptotic series far in the left tail,
 * the log of the Gaussian mass of an interval worked in the left tail, and the quantile function
 * by 100 bisections of log Φ on [-100, 100].
 *
 * truncnormLogPdf is the true log-density (it integrates to 1), as scipy's and Optuna ≥ 3.5's; Optuna
 * 3.1's leaves out −log(scale) (optuna#5109, fixed by optuna#5110). tpe.ts adds it back where it
 * follows Optuna 3.1.
 *
 * Plain scalar functions on float64; `a`, `b` are the truncation bounds in standard units,
 * (low − loc) / scale and (high − loc) / scale.
 */

const ERX = 8.45062911510467529297e-1;
const EFX = 1.28379167095512586316e-1;
const PP = [1.28379167095512558561e-1, -3.2504210724700149937e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const QQ = [1, 3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.9602282787753681232e-6];
const PA = [
  -2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.166375594868790843e-3,
];
const QA = [1, 1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.1984499846799107417e-2];
const RA = [
  -9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1,
  -9.81432934416914548592,
];
const SA = [
  1, 1.96512716674392571292e1, 1.376577541435190426e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135,
  -6.04244152148580987438e-2,
];
const RB = [
  -9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2,
];
const SB = [1, 3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1];

/** c[0] + c[1]·s + c[2]·s² + … (Horner). */
function poly(c: number[], s: number): number {
  let r = 0;
  for (let i = c.length - 1; i >= 0; i--) r = r * s + c[i];
  return r;
}

/** erfc(x) / exp(−x²) · x for 1.25 ≤ x < 28, the tail both erf and erfc use: returns erfc(x). */
function erfcTail(x: number): number {
  const s = 1 / (x * x);
  const [r, q] = x < 1 / 0.35 ? [poly(RA, s), poly(SA, s)] : [poly(RB, s), poly(SB, s)];
  return (Math.exp(-x * x - 0.5625) * Math.exp(r / q)) / x;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 2 ** -28) return x + EFX * x;
  if (a < 0.84375) {
    const z = x * x;
    return x + x * (poly(PP, z) / poly(QQ, z));
  }
  if (a < 1.25) return Math.sign(x) * (ERX + poly(PA, a - 1) / poly(QA, a - 1));
  if (a < 6) return Math.sign(x) * (1 - erfcTail(a));
  return Math.sign(x);
}

/** 1 − erf(x), with full relative precision in the right tail (erfc(27) ≈ 5e-319). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 0.84375) {
    if (a < 2 ** -56) return 1 - x;
    const z = x * x;
    const y = x * (poly(PP, z) / poly(QQ, z));
    return x < 0.25 ? 1 - (x + y) : 0.5 - (y + (x - 0.5));
  }
  if (a < 1.25) {
    const pq = poly(PA, a - 1) / poly(QA, a - 1);
    return x >= 0 ? 1 - ERX - pq : 1 + ERX + pq;
  }
  if (a < 28) return x > 0 ? erfcTail(a) : 2 - erfcTail(a);
  return x > 0 ? 0 : 2;
}

/** Φ(a), the standard normal CDF, as Optuna's `_ndtr_single`. */
export function ndtr(a: number): number {
  const x = a / Math.SQRT2;
  if (x < -Math.SQRT1_2) return 0.5 * erfc(-x);
  if (x < Math.SQRT1_2) return 0.5 + 0.5 * erf(x);
  return 1 - 0.5 * erfc(x);
}

/** log Φ(a): log1p-like for a > 6, the asymptotic series below −20 (Optuna's `_log_ndtr_single`). */
export function logNdtr(a: number): number {
  if (a > 6) return -ndtr(-a);
  if (a > -20) return Math.log(ndtr(a));
  const logLhs = -0.5 * a * a - Math.log(-a) - 0.5 * Math.log(2 * Math.PI);
  let last = 0;
  let rhs = 1;
  let numerator = 1;
  let denom = 1;
  let sign = 1;
  for (let i = 1; Math.abs(last - rhs) > Number.EPSILON; i++) {
    last = rhs;
    sign = -sign;
    denom *= 1 / (a * a);
    numerator *= 2 * i - 1;
    rhs += sign * numerator * denom;
  }
  return logLhs + Math.log(rhs);
}

/** log(p − q) from log p and log q, p > q. */
const logDiff = (lp: number, lq: number): number => lp + Math.log1p(-Math.exp(lq - lp));

/** log(Φ(b) − Φ(a)), a < b: worked in the left tail, where it is accurate. */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

const LOG_SQRT_2PI = Math.log(Math.sqrt(2 * Math.PI));

/** log density at x of N(loc, scale²) truncated to [loc + a·scale, loc + b·scale]; −∞ outside. */
export function truncnormLogPdf(x: number, a: number, b: number, loc: number, scale: number): number {
  const z = (x - loc) / scale;
  if (z < a || z > b) return -Infinity;
  return -(z * z) / 2 - LOG_SQRT_2PI - logGaussMass(a, b) - Math.log(scale);
}

/** The x with log Φ(x) = y, by 100 bisections on [−100, 100] (Optuna's `_ndtri_exp_single`). */
function ndtriExp(y: number): number {
  let lo = -100;
  let hi = 100;
  let m = 0;
  for (let i = 0; i < 100; i++) {
    m = (lo + hi) / 2;
    if (logNdtr(m) < y) lo = m;
    else hi = m;
  }
  return m;
}

const logSum = (p: number, q: number): number => Math.max(p, q) + Math.log1p(Math.exp(-Math.abs(p - q)));

/** The q-quantile (0 ≤ q ≤ 1) of the standard normal truncated to [a, b] (Optuna's `ppf`). */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (a === b) return NaN;
  if (q === 0) return a;
  if (q === 1) return b;
  if (a < 0) return ndtriExp(logSum(logNdtr(a), Math.log(q) + logGaussMass(a, b)));
  return -ndtriExp(logSum(logNdtr(-b), Math.log1p(-q) + logGaussMass(a, b)));
}

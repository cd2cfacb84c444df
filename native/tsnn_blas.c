/*
 * tsnn_blas: single-precision GEMM from the system BLAS (OpenBLAS on Linux, Accelerate on macOS)
 * exposed to Node through N-API. It reads and writes the callers' Float32Arrays in place: no
 * copies between JS and the library.
 *
 *   sgemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc)   C = op(A)·op(B), row-major; products
 *                   with at most 16 columns (a softmax's scores and their weight gradient) run on
 *                   the small kernels below instead, with AVX-512
 *   saxpy(alpha, x, y)   y += alpha·x             (the SGD step, the L2 gradient)
 *   dsdot(x, y) → Σ x·y, accumulated in double    (the L2 loss)
 *   gatherRows(src, cols, rows, dst)   dst row i = src row rows[i]   (a minibatch; memcpy per row,
 *                   shared with one helper thread when OpenBLAS runs on more than one)
 *   adviseHugePages(array) → bool   ask Linux for 2 MiB pages under a large array (as numpy does
 *                   for arrays of 4 MiB and more): random rows of a training set then cost fewer
 *                   TLB misses. Only advice; false where it is not taken (another OS, THP off).
 *   info() → { library, threads }
 *   setThreads(n)   threads OpenBLAS uses for each product (process-wide; a sweep with W workers
 *                   on C cores gives each C/W, so they do not oversubscribe the cores). The engine
 *                   calls it before every product with its own count, so a count left by another
 *                   engine (a finished sweep's workers) does not stay; a no-op when unchanged.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif
#include <pthread.h>
#include <stdatomic.h>

#ifdef __APPLE__
#define ACCELERATE_NEW_LAPACK
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);
#endif

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "tsnn_blas: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

/* The float32 data of a Float32Array argument, and its length; NULL (with a JS error) otherwise. */
static float *f32(napi_env env, napi_value v, size_t *len, const char *name) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    char msg[96];
    snprintf(msg, sizeof msg, "tsnn_blas: %s must be a Float32Array", name);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "tsnn_blas: %s must be a Float32Array", name);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  return (float *)data;
}

/*
 * Products with few columns: C = A·B and C = Aᵀ·B where B has N ≤ 16 columns (a softmax's scores
 * X·W and its weight gradient Xᵀ·dS, N = 10 classes). There a BLAS GEMM spends more time packing
 * its operands than multiplying (OpenBLAS: 0.27-0.31 ms for a 200×3073·3073×10, 7 of its 40-odd
 * GF/s a thread), so these two kernels stream A once instead. B's rows are copied into 16-wide
 * vectors (zeros past column N); each row of C is one vector of 16 sums, and a block of rows of
 * C is held in registers while k runs. The sums run over k in order.
 *
 * Only with AVX-512, where a 16-float vector is one register and the 8 or 16 rows of sums fit in
 * its 32. On AVX2 GCC 12 lowers the 16-float vectors through the general registers and the
 * kernels run at a tenth of OpenBLAS's speed (1000×784·784×10: 3.9 ms against 0.40 ms;
 * 200×3072·3072×10: 2.9 against 0.33; Xᵀ·dS alike), so there the products go to cblas_sgemm.
 */
#define NARROW 16
#ifdef __AVX512F__
#define NARROW_KERNELS 1
#else
#define NARROW_KERNELS 0
#endif

/* A job's work on units [lo, hi): rows of C of a narrow product, rows of a gather (run_shared, below). */
typedef void (*range_fn)(const void *job, uint32_t lo, uint32_t hi);
static void run_shared(range_fn fn, const void *job, uint32_t n, uint32_t chunk, bool share);

typedef float v16 __attribute__((vector_size(4 * NARROW)));

/* x in all 16 lanes (spelled out: GCC and Clang both take it, and it compiles to one broadcast). */
static inline v16 splat(float x) {
  return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

/* B (K×N, rows ldb apart) as K vectors of 16, zero past column N, in this thread's buffer. */
static const v16 *widen(const float *B, int ldb, int K, int N) {
  static _Thread_local v16 *buf = NULL;
  static _Thread_local size_t cap = 0;
  if (cap < (size_t)K) {
    free(buf);
    buf = aligned_alloc(sizeof(v16), (size_t)K * sizeof(v16));
    cap = buf ? (size_t)K : 0;
    if (!buf) return NULL;
  }
  for (int k = 0; k < K; k++) {
    v16 b = {0};
    memcpy(&b, B + (size_t)k * ldb, (size_t)N * sizeof(float));
    buf[k] = b;
  }
  return buf;
}

/* Rows [i, i+n) of C, n ≤ R, from their R sums each. */
#define STORE_ROWS(C, ldc, i, n, N, acc)                                           \
  for (int r_ = 0; r_ < (n); r_++) memcpy((C) + (size_t)((i) + r_) * (ldc), &(acc)[r_], (size_t)(N) * sizeof(float))

/*
 * C (M×N) = A·B with A(m, k) at A[m·rs + k·ks], R rows of C at a time (R ≤ 16). Inlined into the
 * two kernels below with their strides and R as constants, so each is compiled for its own layout.
 */
static inline __attribute__((always_inline)) void narrow(int R, int M, int N, int K, const float *A, size_t rs, size_t ks, const v16 *B, float *C, int ldc) {
  int i = 0;
  for (; i + R <= M; i += R) {
    v16 acc[NARROW] = {0};
    const float *a = A + (size_t)i * rs;
    for (int k = 0; k < K; k++) {
      v16 b = B[k];
      for (int r = 0; r < R; r++) acc[r] += splat(a[r * rs + k * ks]) * b;
    }
    STORE_ROWS(C, ldc, i, R, N, acc);
  }
  for (; i < M; i++) { /* the last M mod R rows, one at a time */
    v16 acc[1] = {0};
    for (int k = 0; k < K; k++) acc[0] += splat(A[i * rs + k * ks]) * B[k];
    STORE_ROWS(C, ldc, i, 1, N, acc);
  }
}

/* C (M×N) = A (M×K, rows lda apart) · B: 8 rows of A read side by side. */
static void narrow_nn(int M, int N, int K, const float *A, int lda, const v16 *B, float *C, int ldc) {
  narrow(8, M, N, K, A, (size_t)lda, 1, B, C, ldc);
}

/* C (M×N) = Aᵀ · B, A (K×M, rows lda apart): row m of C is Σ_k A[k, m]·B[k, :], R numbers of a row of A at a time. */
static void narrow_tn(int M, int N, int K, const float *A, int lda, const v16 *B, float *C, int ldc) {
#ifdef __AVX512F__
  narrow(16, M, N, K, A, 1, (size_t)lda, B, C, ldc); /* 16 vectors of sums, in 16 of the 32 vector registers */
#else
  narrow(8, M, N, K, A, 1, (size_t)lda, B, C, ldc);
#endif
}

/* A narrow product for run_shared: units are rows of C. */
struct narrow_job {
  bool ta;
  int N, K, lda, ldc;
  const float *A;
  const v16 *B;
  float *C;
};

static void narrow_rows(const void *job, uint32_t lo, uint32_t hi) {
  const struct narrow_job *j = job;
  int m = (int)(hi - lo);
  if (j->ta) narrow_tn(m, j->N, j->K, j->A + lo, j->lda, j->B, j->C + (size_t)lo * j->ldc, j->ldc);
  else narrow_nn(m, j->N, j->K, j->A + (size_t)lo * j->lda, j->lda, j->B, j->C + (size_t)lo * j->ldc, j->ldc);
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 11) {
    napi_throw_type_error(env, NULL, "tsnn_blas.sgemm: expected 11 arguments");
    return NULL;
  }
  bool ta, tb;
  int32_t M, N, K, lda, ldb, ldc;
  CHECK(napi_get_value_bool(env, argv[0], &ta));
  CHECK(napi_get_value_bool(env, argv[1], &tb));
  CHECK(napi_get_value_int32(env, argv[2], &M));
  CHECK(napi_get_value_int32(env, argv[3], &N));
  CHECK(napi_get_value_int32(env, argv[4], &K));
  CHECK(napi_get_value_int32(env, argv[6], &lda));
  CHECK(napi_get_value_int32(env, argv[8], &ldb));
  CHECK(napi_get_value_int32(env, argv[10], &ldc));
  size_t la, lb, lc;
  float *A = f32(env, argv[5], &la, "A");
  if (!A) return NULL;
  float *B = f32(env, argv[7], &lb, "B");
  if (!B) return NULL;
  float *C = f32(env, argv[9], &lc, "C");
  if (!C) return NULL;
  /* Bounds: the last element each operand is read or written at must be inside its array. */
  size_t needA = ta ? (size_t)(K - 1) * lda + M : (size_t)(M - 1) * lda + K;
  size_t needB = tb ? (size_t)(N - 1) * ldb + K : (size_t)(K - 1) * ldb + N;
  size_t needC = (size_t)(M - 1) * ldc + N;
  if (M <= 0 || N <= 0 || K <= 0 || la < needA || lb < needB || lc < needC) {
    napi_throw_range_error(env, NULL, "tsnn_blas.sgemm: a dimension is not positive or an array is too short");
    return NULL;
  }
  if (NARROW_KERNELS && N <= NARROW && !tb && (size_t)M * K >= (1 << 16)) {
    const v16 *Bw = widen(B, ldb, K, N);
    if (Bw) {
      struct narrow_job j = {ta, N, K, lda, ldc, A, Bw, C};
      run_shared(narrow_rows, &j, (uint32_t)M, 16, true); /* chunks of 16 rows: whole blocks of either kernel */
      return NULL;
    }
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  return NULL;
}

/* Two Float32Arrays of one length n (x, y) from argv[first], argv[first+1]; n = 0 on error. */
static size_t pair(napi_env env, napi_value *argv, float **x, float **y, const char *fn) {
  size_t nx, ny;
  *x = f32(env, argv[0], &nx, "x");
  if (!*x) return 0;
  *y = f32(env, argv[1], &ny, "y");
  if (!*y) return 0;
  if (nx != ny || nx > 0x7fffffff) {
    char msg[96];
    snprintf(msg, sizeof msg, "tsnn_blas.%s: x and y must have the same length", fn);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return nx;
}

static napi_value saxpy(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  double alpha;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3 || napi_get_value_double(env, argv[0], &alpha) != napi_ok) {
    napi_throw_type_error(env, NULL, "tsnn_blas.saxpy: expected (alpha, x, y)");
    return NULL;
  }
  float *x, *y;
  size_t n = pair(env, argv + 1, &x, &y, "saxpy");
  if (n > 0) cblas_saxpy((int)n, (float)alpha, x, 1, y, 1);
  return NULL;
}

static napi_value dsdot(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2) {
    napi_throw_type_error(env, NULL, "tsnn_blas.dsdot: expected (x, y)");
    return NULL;
  }
  float *x, *y;
  size_t n = pair(env, argv, &x, &y, "dsdot");
  bool pending;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  CHECK(napi_create_double(env, n > 0 ? cblas_dsdot((int)n, x, 1, y, 1) : 0.0, &out));
  return out;
}

/*
 * The helper thread. A minibatch's rows sit at random places in a training set far larger than
 * the caches, so copying them is bound by memory latency, and two cores fetching at once take
 * about 60% of the time of one (a CIFAR batch of 200 × 3,073: 0.24 → 0.14 ms). The narrow
 * products stream A from memory too. So when OpenBLAS runs on more than one thread, such work is
 * cut into chunks (of rows) that the calling thread and one helper thread take from a shared
 * counter until none are left; the caller then waits for the helper's last chunk. The helper
 * sleeps between jobs (a condition variable), so it takes no core from OpenBLAS; if it wakes late,
 * the caller has simply done more chunks itself.
 *
 * The counter holds the job's number in its top 32 bits and the next unit in the low 32 bits, so
 * a helper that wakes for one job can never claim units of the next: its compare-and-swap fails
 * once the number has moved on. The caller returns only when every unit is done, so no chunk is
 * in flight when it reuses the state for the next job.
 */
#define GATHER_CHUNK 8
#define GATHER_MIN_BYTES (256 * 1024)

static struct {
  pthread_mutex_t mu;      /* guards task and the job below, for the helper's wake-up */
  pthread_cond_t wake;
  pthread_mutex_t busy;    /* held by the Node thread using the helper (sweep workers share it) */
  int started;             /* 1 once the helper runs, -1 if it could not be started */
  uint32_t task;           /* job number, bumped by the caller */
  range_fn fn;
  const void *job;
  uint32_t n, chunk;       /* units, and units per claim */
  _Atomic uint64_t next;   /* task << 32 | next unit to claim */
  _Atomic uint32_t done;   /* units done so far in this job */
} G = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL, NULL, 0, 0, 0, 0};

/* Claim and do chunks of job `task` until none are left (or the job is over). */
static void run_chunks(uint32_t task, range_fn fn, const void *job, uint32_t n, uint32_t chunk) {
  uint64_t v = atomic_load(&G.next);
  for (;;) {
    if ((uint32_t)(v >> 32) != task) return;
    uint32_t lo = (uint32_t)v;
    if (lo >= n) return;
    uint32_t hi = lo + chunk < n ? lo + chunk : n;
    if (!atomic_compare_exchange_weak(&G.next, &v, ((uint64_t)task << 32) | hi)) continue;
    fn(job, lo, hi);
    atomic_fetch_add(&G.done, hi - lo);
    v = atomic_load(&G.next);
  }
}

static void *helper(void *arg) {
  (void)arg;
  uint32_t seen = 0;
  for (;;) {
    pthread_mutex_lock(&G.mu);
    while (G.task == seen) pthread_cond_wait(&G.wake, &G.mu);
    seen = G.task;
    range_fn fn = G.fn;
    const void *job = G.job;
    uint32_t n = G.n, chunk = G.chunk;
    pthread_mutex_unlock(&G.mu);
    run_chunks(seen, fn, job, n, chunk);
  }
  return NULL;
}

/*
 * fn(job, 0, n), shared with the helper thread in chunks of `chunk` units when `share` and
 * OpenBLAS runs on more than one thread (and no other Node thread has the helper); else all here.
 */
static void run_shared(range_fn fn, const void *job, uint32_t n, uint32_t chunk, bool share) {
  int threads = 1;
#ifndef __APPLE__
  threads = openblas_get_num_threads();
#endif
  if (!share || threads < 2 || n < 2 * chunk || G.started < 0 || pthread_mutex_trylock(&G.busy) != 0) {
    fn(job, 0, n);
    return;
  }
  if (G.started == 0) {
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    G.started = pthread_create(&th, &attr, helper, NULL) == 0 ? 1 : -1;
    pthread_attr_destroy(&attr);
    if (G.started < 0) {
      pthread_mutex_unlock(&G.busy);
      fn(job, 0, n);
      return;
    }
  }
  pthread_mutex_lock(&G.mu);
  uint32_t task = ++G.task;
  if (task == 0) task = G.task = 1; /* 0 is the helper's "none seen yet" */
  G.fn = fn;
  G.job = job;
  G.n = n;
  G.chunk = chunk;
  atomic_store(&G.done, 0);
  atomic_store(&G.next, (uint64_t)task << 32);
  pthread_cond_signal(&G.wake);
  pthread_mutex_unlock(&G.mu);
  run_chunks(task, fn, job, n, chunk);
  while (atomic_load(&G.done) < n) { /* the helper's last chunk: a few microseconds */ }
  pthread_mutex_unlock(&G.busy);
}

struct gather_job {
  const float *src;
  float *dst;
  const int32_t *rows;
  size_t cols;
};

static void copy_rows(const void *job, uint32_t lo, uint32_t hi) {
  const struct gather_job *g = job;
  const size_t bytes = g->cols * sizeof(float);
  for (size_t i = lo; i < hi; i++) memcpy(g->dst + i * g->cols, g->src + (size_t)g->rows[i] * g->cols, bytes);
}

/* dst row i = src row rows[i], i < n ≤ 2³²−1 (indices and n already checked). */
static void gather(const float *src, size_t cols, const int32_t *rows, size_t n, float *dst) {
  struct gather_job g = {src, dst, rows, cols};
  run_shared(copy_rows, &g, (uint32_t)n, GATHER_CHUNK, n * cols * sizeof(float) >= GATHER_MIN_BYTES);
}

static napi_value gather_rows(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t cols;
  if (argc != 4 || napi_get_value_int32(env, argv[1], &cols) != napi_ok || cols < 0) {
    napi_throw_type_error(env, NULL, "tsnn_blas.gatherRows: expected (src, cols, rows, dst)");
    return NULL;
  }
  size_t ls, ld, nrows;
  float *src = f32(env, argv[0], &ls, "src");
  if (!src) return NULL;
  float *dst = f32(env, argv[3], &ld, "dst");
  if (!dst) return NULL;
  bool is;
  napi_typedarray_type type;
  void *rp;
  if (napi_is_typedarray(env, argv[2], &is) != napi_ok || !is || napi_get_typedarray_info(env, argv[2], &type, &nrows, &rp, NULL, NULL) != napi_ok || type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "tsnn_blas.gatherRows: rows must be an Int32Array");
    return NULL;
  }
  const int32_t *rows = (const int32_t *)rp;
  size_t srcRows = cols > 0 ? ls / (size_t)cols : 0;
  if (ld < nrows * (size_t)cols || nrows > UINT32_MAX) {
    napi_throw_range_error(env, NULL, "tsnn_blas.gatherRows: dst is too short for the rows");
    return NULL;
  }
  for (size_t i = 0; i < nrows; i++) {
    if (rows[i] < 0 || (size_t)rows[i] >= srcRows) {
      napi_throw_range_error(env, NULL, "tsnn_blas.gatherRows: a row index is outside src");
      return NULL;
    }
  }
  gather(src, (size_t)cols, rows, nrows, dst);
  return NULL;
}

/*
 * Adam's step over w, dw, m and v (src/optim/adam.ts): per element exactly the JS loop's
 * arithmetic in the same order, in double precision, each float32 read widened and each result
 * rounded to float32 as the JS typed-array stores do (m and v are read back rounded):
 *
 *   m = f32(β1·m + a1·g);  v = f32(β2·v + a2·(g·g));  w = f32(w − (lrc1·m)/(√(v·c2) + eps))
 *
 * so the result is the JS loop's bit for bit. The compiler vectorises it over doubles (sqrt and
 * division are correctly rounded in SIMD too); contraction into fused multiply-adds would change
 * the roundings, so it is off for this code (GCC: the optimize pragma; Clang: fp contract);
 * -fno-math-errno (binding.gyp) lets sqrt vectorise and changes no result.
 * Big arrays are shared with the helper thread in chunks of ADAM_CHUNK elements.
 */
#define ADAM_CHUNK 16384
#define ADAM_MIN_ELEMENTS (4 * ADAM_CHUNK)

struct adam_job {
  float *w, *m, *v;
  const float *dw;
  double beta1, a1, beta2, a2, lrc1, c2, eps;
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
static void adam_range(const void *job, uint32_t lo, uint32_t hi) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const struct adam_job *j = job;
  float *w = j->w, *m = j->m, *v = j->v;
  const float *dw = j->dw;
  const double beta1 = j->beta1, a1 = j->a1, beta2 = j->beta2, a2 = j->a2, lrc1 = j->lrc1, c2 = j->c2, eps = j->eps;
  for (size_t i = lo; i < hi; i++) {
    const double g = dw[i];
    const float mi = (float)(beta1 * (double)m[i] + a1 * g);
    const float vi = (float)(beta2 * (double)v[i] + a2 * (g * g));
    m[i] = mi;
    v[i] = vi;
    w[i] = (float)((double)w[i] - (lrc1 * (double)mi) / (__builtin_sqrt((double)vi * c2) + eps));
  }
}

/* RMSprop (src/optim/rmsprop.ts): c = f32(d·c + (1 − d)·(g·g)); w = f32(w − (lr·g)/(√c + eps)). */
struct rmsprop_job {
  float *w, *c;
  const float *dw;
  double lr, d, eps;
};

static void rmsprop_range(const void *job, uint32_t lo, uint32_t hi) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const struct rmsprop_job *j = job;
  float *w = j->w, *c = j->c;
  const float *dw = j->dw;
  const double lr = j->lr, d = j->d, omd = 1 - j->d, eps = j->eps;
  for (size_t i = lo; i < hi; i++) {
    const double g = dw[i];
    const float ci = (float)(d * (double)c[i] + omd * (g * g));
    c[i] = ci;
    w[i] = (float)((double)w[i] - (lr * g) / (__builtin_sqrt((double)ci) + eps));
  }
}

/* SGD with momentum (src/optim/sgd_momentum.ts): v = f32(μ·v − lr·g); w = f32(w + v). */
struct momentum_job {
  float *w, *v;
  const float *dw;
  double lr, mu;
};

static void momentum_range(const void *job, uint32_t lo, uint32_t hi) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const struct momentum_job *j = job;
  float *w = j->w, *v = j->v;
  const float *dw = j->dw;
  const double lr = j->lr, mu = j->mu;
  for (size_t i = lo; i < hi; i++) {
    const float vi = (float)(mu * (double)v[i] - lr * (double)dw[i]);
    v[i] = vi;
    w[i] = (float)((double)w[i] + (double)vi);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/*
 * An update rule's arguments: `na` Float32Arrays of one length (w, dw, then the state), then `ns`
 * numbers; the length, or (size_t)-1 with a JS error.
 */
static size_t rule_args(napi_env env, napi_callback_info info, size_t na, size_t ns, float **a, double *s, const char *usage) {
  size_t argc = 12;
  napi_value argv[12];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return (size_t)-1;
  bool ok = argc == na + ns;
  for (size_t k = 0; ok && k < ns; k++) ok = napi_get_value_double(env, argv[na + k], &s[k]) == napi_ok;
  if (!ok) {
    napi_throw_type_error(env, NULL, usage);
    return (size_t)-1;
  }
  size_t n0 = 0;
  for (size_t k = 0; k < na; k++) {
    size_t n;
    a[k] = f32(env, argv[k], &n, k == 0 ? "w" : k == 1 ? "dw" : "the state");
    if (!a[k]) return (size_t)-1;
    if (k == 0) n0 = n;
    if (n != n0 || n > UINT32_MAX) {
      napi_throw_range_error(env, NULL, "tsnn_blas: w, dw and the rule's state must have the same length");
      return (size_t)-1;
    }
  }
  return n0;
}

/* rmsprop(w, dw, cache, lr, decayRate, eps) */
static napi_value rmsprop(napi_env env, napi_callback_info info) {
  float *a[3];
  double s[3];
  size_t n = rule_args(env, info, 3, 3, a, s, "tsnn_blas.rmsprop: expected (w, dw, cache, lr, decayRate, eps)");
  if (n == (size_t)-1) return NULL;
  struct rmsprop_job j = {a[0], a[2], a[1], s[0], s[1], s[2]};
  run_shared(rmsprop_range, &j, (uint32_t)n, ADAM_CHUNK, n >= ADAM_MIN_ELEMENTS);
  return NULL;
}

/* sgdMomentum(w, dw, v, lr, momentum) */
static napi_value sgd_momentum(napi_env env, napi_callback_info info) {
  float *a[3];
  double s[2];
  size_t n = rule_args(env, info, 3, 2, a, s, "tsnn_blas.sgdMomentum: expected (w, dw, v, lr, momentum)");
  if (n == (size_t)-1) return NULL;
  struct momentum_job j = {a[0], a[2], a[1], s[0], s[1]};
  run_shared(momentum_range, &j, (uint32_t)n, ADAM_CHUNK, n >= ADAM_MIN_ELEMENTS);
  return NULL;
}

/* adam(w, dw, m, v, beta1, a1, beta2, a2, lrc1, c2, eps): one step in place (the scalars as adam.ts makes them). */
static napi_value adam(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double s[7];
  bool ok = argc == 11;
  for (int k = 0; ok && k < 7; k++) ok = napi_get_value_double(env, argv[4 + k], &s[k]) == napi_ok;
  if (!ok) {
    napi_throw_type_error(env, NULL, "tsnn_blas.adam: expected (w, dw, m, v, beta1, a1, beta2, a2, lrc1, c2, eps)");
    return NULL;
  }
  size_t n[4];
  float *a[4];
  const char *names[4] = {"w", "dw", "m", "v"};
  for (int k = 0; k < 4; k++) {
    a[k] = f32(env, argv[k], &n[k], names[k]);
    if (!a[k]) return NULL;
  }
  if (n[1] != n[0] || n[2] != n[0] || n[3] != n[0] || n[0] > UINT32_MAX) {
    napi_throw_range_error(env, NULL, "tsnn_blas.adam: w, dw, m and v must have the same length");
    return NULL;
  }
  struct adam_job j = {a[0], a[2], a[3], a[1], s[0], s[1], s[2], s[3], s[4], s[5], s[6]};
  run_shared(adam_range, &j, (uint32_t)n[0], ADAM_CHUNK, n[0] >= ADAM_MIN_ELEMENTS);
  return NULL;
}

static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is = false;
  if (argc != 1 || napi_is_typedarray(env, argv[0], &is) != napi_ok || !is) {
    napi_throw_type_error(env, NULL, "tsnn_blas.adviseHugePages: expected a typed array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  bool taken = false;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // The whole 2 MiB extents inside the array: the only part huge pages can back.
  size_t elem = (type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array) ? 8
              : (type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array) ? 4
              : (type == napi_int16_array || type == napi_uint16_array) ? 2 : 1;
  const uintptr_t huge = (uintptr_t)1 << 21;
  uintptr_t lo = ((uintptr_t)data + huge - 1) & ~(huge - 1);
  uintptr_t hi = ((uintptr_t)data + length * elem) & ~(huge - 1);
  if (hi > lo) taken = madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
#else
  (void)type; (void)length; (void)data;
#endif
  napi_value result;
  CHECK(napi_get_boolean(env, taken, &result));
  return result;
}

static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, lib, threads;
  CHECK(napi_create_object(env, &obj));
#ifdef __APPLE__
  CHECK(napi_create_string_utf8(env, "Accelerate", NAPI_AUTO_LENGTH, &lib));
  CHECK(napi_create_int32(env, 0, &threads));
#else
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &lib));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
#endif
  CHECK(napi_set_named_property(env, obj, "library", lib));
  CHECK(napi_set_named_property(env, obj, "threads", threads));
  return obj;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, NULL, "tsnn_blas.setThreads: expected a positive integer");
    return NULL;
  }
#ifndef __APPLE__
  /* Cheap when unchanged: the engine calls it before each product (another engine may have changed it). */
  if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
#endif
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  CHECK(napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "sgemm", f));
  CHECK(napi_create_function(env, "info", NAPI_AUTO_LENGTH, blas_info, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "info", f));
  CHECK(napi_create_function(env, "saxpy", NAPI_AUTO_LENGTH, saxpy, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "saxpy", f));
  CHECK(napi_create_function(env, "dsdot", NAPI_AUTO_LENGTH, dsdot, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "dsdot", f));
  CHECK(napi_create_function(env, "gatherRows", NAPI_AUTO_LENGTH, gather_rows, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "gatherRows", f));
  CHECK(napi_create_function(env, "adam", NAPI_AUTO_LENGTH, adam, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "adam", f));
  CHECK(napi_create_function(env, "rmsprop", NAPI_AUTO_LENGTH, rmsprop, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "rmsprop", f));
  CHECK(napi_create_function(env, "sgdMomentum", NAPI_AUTO_LENGTH, sgd_momentum, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "sgdMomentum", f));
  CHECK(napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, advise_huge_pages, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "adviseHugePages", f));
  CHECK(napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, set_threads, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "setThreads", f));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

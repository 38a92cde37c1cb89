// One decoding step of a Mamba-1 / FalconMamba model on the CPU: every layer and the LM head for
// one token, as transformers' MambaMixer slow path computes a single token (the same math as the
// ONNX step graph, src/engine/families/mamba1/graphCpu.ts buildDecodeStepGraph). Why native: a
// token is ~100 small GEMVs and elementwise ops, and ORT's per-node overhead dominated its time.
//
// Each phase's GEMV rows and channels are split over threads (see "phases" below); vectors a phase
// reads whole (the normed hidden, a quantised activation, δ's low-rank part, B, C) are recomputed
// by each thread that works on it rather than shared, which saves a phase each.
// int8: weights quantised per output row at load (symmetric, scale = max|w|/127), the activation
// per vector on the fly (uint8 over [min, max] with a zero point, as ORT's DynamicQuantizeMatMul:
// symmetric int8 activations had 3× its KL to fp32), int32 accumulation.
#include <stdatomic.h>
#include <stdio.h>
#include "simd.h"

/* Giving up the core while waiting: MinGW (the win32 packages) has no sched.h; declared by hand as
   scripts/native/win32/pthread.h does (windows.h would clash with it). */
#ifdef _WIN32
__declspec(dllimport) int __stdcall SwitchToThread(void);
#define yield_core() SwitchToThread()
#else
#include <sched.h>
#define yield_core() sched_yield()
#endif

#define STEP_MAGIC 0x5354455031ULL /* "STEP1" */

typedef struct {
  float *norm, *inProj, *inProjBias, *convW, *convBias, *xProj, *dtProj, *dtBias, *A, *D, *outProj, *outProjBias;
  int8_t *inQ, *xQ, *outQ;  // int8 weights (rows as the fp32 ones); their per-row scales:
  float *inS, *xS, *outS;
  bool set;
} layer_t;

typedef struct {
  uint64_t magic;
  int64_t D, E, N, R, K, V, L;
  float eps, bcdt;  // bcdt: FalconMamba's norm epsilon, < 0 for Mamba-1
  bool int8;
  layer_t *layers;
  float *normF, *head, *headS;
  int8_t *headQ;
  int64_t bytes;  // what it holds, reported to the JS garbage collector
} model_t;

// ----------------------------------------------------------------------------- phases
// The step is a sequence of phases (per layer: in_proj+conv, x_proj, dt_proj+scan+gate, out_proj;
// then the head and the log-softmax), each cut into chunks. A thread takes chunks of the current
// phase from an atomic counter and moves on once every chunk of the phase is done: a barrier on
// work done rather than on threads arrived, so a thread the OS has not scheduled (more threads
// than free cores) holds nothing up, the others take its chunks. Waiters spin briefly, then yield.
typedef struct {
  atomic_int next, done;
  int total;
} phase_t;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void wait_done(phase_t *ph) {
  for (int spins = 0; atomic_load_explicit(&ph->done, memory_order_acquire) < ph->total; spins++) {
    if (spins < 2000) cpu_relax();
    else yield_core();
  }
}

/** The next chunk of the phase, or -1 when all are taken. */
static inline int take(phase_t *ph) {
  if (atomic_load_explicit(&ph->next, memory_order_relaxed) >= ph->total) return -1;
  const int c = atomic_fetch_add_explicit(&ph->next, 1, memory_order_relaxed);
  return c < ph->total ? c : -1;
}

static inline void finish(phase_t *ph) { atomic_fetch_add_explicit(&ph->done, 1, memory_order_release); }

// ----------------------------------------------------------------------------- kernels
static inline __attribute__((always_inline)) float hsum(vf v) {
  float s = 0.f;
  for (int i = 0; i < LANES; i++) s += v[i];
  return s;
}

/** y[r] = W[r]·x (+ bias[r]) (+ add[r]) for rows [r0, r1) of W (rows, n): one row at a time, one stream for the prefetcher. */
static inline __attribute__((always_inline)) void gemv_f32(const float *restrict W, const float *restrict x,
                                                           float *y, int64_t r0, int64_t r1, int64_t n,
                                                           const float *bias, const float *add) {
  const int64_t n4 = n / (4 * LANES) * (4 * LANES), n1 = n / LANES * LANES;
  for (int64_t r = r0; r < r1; r++) {
    const float *w = W + r * n;
    vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, x0, x1, x2, x3, v0, v1, v2, v3;  // separate: an array of vf went through the stack
    int64_t i = 0;
    for (; i < n4; i += 4 * LANES) {
      memcpy(&x0, x + i, sizeof x0), memcpy(&x1, x + i + LANES, sizeof x1);
      memcpy(&x2, x + i + 2 * LANES, sizeof x2), memcpy(&x3, x + i + 3 * LANES, sizeof x3);
      memcpy(&v0, w + i, sizeof v0), memcpy(&v1, w + i + LANES, sizeof v1);
      memcpy(&v2, w + i + 2 * LANES, sizeof v2), memcpy(&v3, w + i + 3 * LANES, sizeof v3);
      a0 += v0 * x0, a1 += v1 * x1, a2 += v2 * x2, a3 += v3 * x3;
    }
    for (; i < n1; i += LANES) {
      memcpy(&x0, x + i, sizeof x0), memcpy(&v0, w + i, sizeof v0);
      a0 += v0 * x0;
    }
    float s = hsum((a0 + a1) + (a2 + a3));
    for (; i < n; i++) s += w[i] * x[i];
    y[r] = s + (bias ? bias[r] : 0.f) + (add ? add[r] : 0.f);
  }
}

/**
 * The int8 form: W as int8 rows with scales `ws` (rows) followed by the rows' sums (int32), x as
 * `xq` in [0, 255] (int16, so that the products fit int16 and pair into int32 in one instruction)
 * with scale `xs` and zero point `zp` (x ≈ xs·(xq − zp)): W·x ≈ ws·xs·(Σ w·xq − zp·Σ w).
 */
static inline __attribute__((always_inline)) void gemv_i8(const int8_t *restrict W, const float *restrict ws,
                                                          const int16_t *restrict xq, float xs, int32_t zp, float *y,
                                                          int64_t r0, int64_t r1, int64_t n, int64_t rows,
                                                          const float *bias, const float *add) {
  const int32_t *wsum = (const int32_t *)(ws + rows);
  for (int64_t r = r0; r < r1; r++) {
    const int8_t *w = W + r * n;
    int32_t s = 0;
    for (int64_t i = 0; i < n; i++) s += (int16_t)w[i] * xq[i];
    y[r] = (float)(s - zp * wsum[r]) * ws[r] * xs + (bias ? bias[r] : 0.f) + (add ? add[r] : 0.f);
  }
}

/**
 * x (n) quantised per vector to [0, 255] over [min(x, 0), max(x, 0)] (as ORT's DynamicQuantizeMatMul:
 * an asymmetric range keeps twice the levels of a symmetric one for SiLU outputs); returns the scale.
 */
static inline __attribute__((always_inline)) float quantize(const float *restrict x, int16_t *restrict q, int64_t n,
                                                            int32_t *zp) {
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < n; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
  const float s = hi > lo ? (hi - lo) / 255.f : 1.f, inv = 1.f / s;
  const float z = rintf(-lo * inv);
  *zp = (int32_t)z;
  for (int64_t i = 0; i < n; i++) {
    const float v = rintf(x[i] * inv) + z;
    q[i] = (int16_t)(v < 0.f ? 0.f : v > 255.f ? 255.f : v);
  }
  return s;
}

/** out = x / sqrt(mean(x²) + eps) (· w where given), as HF's MambaRMSNorm. */
static inline __attribute__((always_inline)) void rms(const float *x, const float *w, float *out,
                                                      int64_t n, float eps) {
  float ss = 0.f;
  for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
  const float inv = 1.f / sqrtf(ss / (float)n + eps);
  for (int64_t i = 0; i < n; i++) out[i] = w ? x[i] * inv * w[i] : x[i] * inv;
}

static inline float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

/** log(1 + exp(x)) without overflow, as ORT's Softplus. */
static inline float softplus(float x) { return x > 0.f ? x + log1pf(expf(-x)) : log1pf(expf(x)); }

// Subnormal floats flushed to zero on the thread (as ORT's set_denormal_as_zero): a decaying SSM state
// reaches them, and arithmetic on them is ~100× slower on x86. Returns the mode to restore.
static inline unsigned flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
  const unsigned old = __builtin_ia32_stmxcsr();
  __builtin_ia32_ldmxcsr(old | 0x8040);  // FTZ | DAZ
  return old;
#elif defined(__aarch64__)
  uint64_t old;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
  __asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1ULL << 24)));  // FZ
  return (unsigned)old;
#else
  return 0;
#endif
}

static inline void restore_denormals(unsigned old) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_ldmxcsr(old);
#elif defined(__aarch64__)
  uint64_t v = old;
  __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
#else
  (void)old;
#endif
}

// ----------------------------------------------------------------------------- the step
enum { PH_IN, PH_X, PH_SCAN, PH_OUT, PER_LAYER };

typedef struct {
  const model_t *m;
  phase_t *phases;                // PER_LAYER per layer, then the head and the log-softmax
  int64_t ce, cp, cd, cv;         // chunk sizes: channels, x_proj rows, out_proj rows, vocabulary rows
  const float *hidden;
  float **conv, **ssm;            // per layer (K-1, E) and (E, N), updated in place
  float *logprobs;
  float *h, *xz, *u, *dbc, *y;    // shared: hidden (D), in_proj out (2E), u (E), x_proj out (R+2N), gated y (E)
  float *partial;                 // per vocabulary chunk: max and sum of exp of its logits
} shared_t;

static inline void range(int c, int64_t size, int64_t n, int64_t *lo, int64_t *hi) {
  *lo = c * size;
  *hi = *lo + size < n ? *lo + size : n;
}

/**
 * Channels [e0, e1) of a layer's scan for one token: δ = softplus(dt_proj(δ_low) + b),
 * h = exp(δ⊗A)⊙h + (δu)⊗B, y = (h·C + D·u)·silu(z). `dr` holds δ_low (R), then B and C (N each).
 * (Vectors pass only between helpers without target attributes: clang refuses a vf argument across
 * the AVX-512 clone's boundary.)
 */
static inline __attribute__((always_inline)) void scan_channels(const layer_t *ly, const float *dr, const float *u,
                                                                const float *xz, float *ss, float *y, int64_t e0,
                                                                int64_t e1, int64_t E, int64_t N, int64_t R) {
  const float *Bn = dr + R, *Cn = dr + R + N;
  for (int64_t e = e0; e < e1; e++) {
    const float *dw = ly->dtProj + e * R;
    float dl = 0.f;
    for (int64_t r = 0; r < R; r++) dl += dw[r] * dr[r];
    const float delta = softplus(dl + ly->dtBias[e]), du = delta * u[e];
    float *hrow = ss + e * N;
    const float *Arow = ly->A + e * N;
    vf acc = {0};
    for (int64_t n = 0; n < N; n += LANES) {
      const size_t bytes = (size_t)(N - n < LANES ? N - n : LANES) * sizeof(float);
      vf a = {0}, hv = {0}, bv = {0}, cv = {0};
      memcpy(&a, Arow + n, bytes);
      memcpy(&hv, hrow + n, bytes);
      memcpy(&bv, Bn + n, bytes);
      memcpy(&cv, Cn + n, bytes);
      hv = exp_neg(delta * a) * hv + du * bv;
      memcpy(hrow + n, &hv, bytes);
      acc += hv * cv;
    }
    const float z = xz[E + e];
    y[e] = (hsum(acc) + ly->D[e] * u[e]) * (z * sigmoid(z));
  }
}

#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void work(shared_t *s) {
  const model_t *m = s->m;
  const int64_t D = m->D, E = m->E, N = m->N, R = m->R, K = m->K, V = m->V, P = R + 2 * m->N;
  const float eps = m->eps;
  const int64_t widest = D > E ? D : E;
  // This thread's own copies of what a phase reads whole: the normed hidden, a quantised vector,
  // δ's low-rank part, B, C; made when the thread takes its first chunk of the phase.
  float *xn = malloc((size_t)D * sizeof(float)), *dr = malloc((size_t)P * sizeof(float));
  int16_t *q = malloc((size_t)widest * sizeof(int16_t));
  int32_t zp = 0;
  float *Bn = dr + R, *Cn = dr + R + N, xs = 1.f;
  float *h = s->h, *xz = s->xz, *u = s->u, *dbc = s->dbc, *y = s->y;
  int c;
  for (int64_t l = 0; l < m->L; l++) {
    const layer_t *ly = &m->layers[l];
    float *cs = s->conv[l], *ss = s->ssm[l];
    phase_t *ph = s->phases + l * PER_LAYER;
    if (l > 0) wait_done(ph - 1);
    // norm → in_proj: a chunk of channels of x and of z → causal depthwise conv, SiLU → u
    for (bool ready = false; (c = take(&ph[PH_IN])) >= 0; finish(&ph[PH_IN])) {
      if (!ready) {
        rms(h, ly->norm, xn, D, eps);
        if (m->int8) xs = quantize(xn, q, D, &zp);
        ready = true;
      }
      int64_t e0, e1;
      range(c, s->ce, E, &e0, &e1);
      if (m->int8) {
        gemv_i8(ly->inQ, ly->inS, q, xs, zp, xz, e0, e1, D, 2 * E, ly->inProjBias, NULL);
        gemv_i8(ly->inQ, ly->inS, q, xs, zp, xz, E + e0, E + e1, D, 2 * E, ly->inProjBias, NULL);
      } else {
        gemv_f32(ly->inProj, xn, xz, e0, e1, D, ly->inProjBias, NULL);
        gemv_f32(ly->inProj, xn, xz, E + e0, E + e1, D, ly->inProjBias, NULL);
      }
      for (int64_t e = e0; e < e1; e++) {  // over [conv_state; x], then the window shifts by one
        const float *cw = ly->convW + e * K;
        float acc = ly->convBias ? ly->convBias[e] : 0.f;
        for (int64_t k = 0; k < K - 1; k++) acc += cw[k] * cs[k * E + e];
        acc += cw[K - 1] * xz[e];
        for (int64_t k = 0; k + 1 < K - 1; k++) cs[k * E + e] = cs[(k + 1) * E + e];
        cs[(K - 2) * E + e] = xz[e];
        u[e] = acc * sigmoid(acc);
      }
    }
    wait_done(&ph[PH_IN]);
    // x_proj: [δ_low; B; C]
    for (bool ready = false; (c = take(&ph[PH_X])) >= 0; finish(&ph[PH_X])) {
      if (!ready && m->int8) xs = quantize(u, q, E, &zp);
      ready = true;
      int64_t p0, p1;
      range(c, s->cp, P, &p0, &p1);
      if (m->int8) gemv_i8(ly->xQ, ly->xS, q, xs, zp, dbc, p0, p1, E, P, NULL, NULL);
      else gemv_f32(ly->xProj, u, dbc, p0, p1, E, NULL, NULL);
    }
    wait_done(&ph[PH_X]);
    // per channel: δ = softplus(dt_proj(δ_low) + b); h = exp(δ⊗A)⊙h + (δu)⊗B; y = h·C + D·u; y·silu(z)
    for (bool ready = false; (c = take(&ph[PH_SCAN])) >= 0; finish(&ph[PH_SCAN])) {
      if (!ready) {
        memcpy(dr, dbc, (size_t)P * sizeof(float));
        if (m->bcdt >= 0.f) {  // FalconMamba: weightless RMS norms of δ_low (over R), B and C (over N)
          rms(dr, NULL, dr, R, m->bcdt);
          rms(Bn, NULL, Bn, N, m->bcdt);
          rms(Cn, NULL, Cn, N, m->bcdt);
        }
        ready = true;
      }
      int64_t e0, e1;
      range(c, s->ce, E, &e0, &e1);
      scan_channels(ly, dr, u, xz, ss, y, e0, e1, E, N, R);
    }
    wait_done(&ph[PH_SCAN]);
    // out_proj and the residual
    for (bool ready = false; (c = take(&ph[PH_OUT])) >= 0; finish(&ph[PH_OUT])) {
      if (!ready && m->int8) xs = quantize(y, q, E, &zp);
      ready = true;
      int64_t d0, d1;
      range(c, s->cd, D, &d0, &d1);
      if (m->int8) gemv_i8(ly->outQ, ly->outS, q, xs, zp, h, d0, d1, E, D, ly->outProjBias, h);
      else gemv_f32(ly->outProj, y, h, d0, d1, E, ly->outProjBias, h);
    }
  }
  // the head: norm_f, lm_head into logprobs with each chunk's max and sum of exp, then log-softmax
  phase_t *head = s->phases + m->L * PER_LAYER;
  if (m->L > 0) wait_done(head - 1);
  float *lp = s->logprobs;
  for (bool ready = false; (c = take(&head[0])) >= 0; finish(&head[0])) {
    if (!ready) {
      rms(h, m->normF, xn, D, eps);
      if (m->int8) xs = quantize(xn, q, D, &zp);
      ready = true;
    }
    int64_t v0, v1;
    range(c, s->cv, V, &v0, &v1);
    if (m->int8) gemv_i8(m->headQ, m->headS, q, xs, zp, lp, v0, v1, D, V, NULL, NULL);
    else gemv_f32(m->head, xn, lp, v0, v1, D, NULL, NULL);
    float mx = -INFINITY, sum = 0.f;
    for (int64_t v = v0; v < v1; v++) mx = fmaxf(mx, lp[v]);
    for (int64_t v = v0; v < v1; v++) sum += expf(lp[v] - mx);
    s->partial[2 * c] = mx, s->partial[2 * c + 1] = sum;
  }
  wait_done(&head[0]);
  float lse = 0.f;
  for (bool ready = false; (c = take(&head[1])) >= 0; finish(&head[1])) {
    if (!ready) {
      float M = -INFINITY, S = 0.f;
      for (int i = 0; i < head[0].total; i++) M = fmaxf(M, s->partial[2 * i]);
      for (int i = 0; i < head[0].total; i++) S += s->partial[2 * i + 1] * expf(s->partial[2 * i] - M);
      lse = M + logf(S);
      ready = true;
    }
    int64_t v0, v1;
    range(c, s->cv, V, &v0, &v1);
    for (int64_t v = v0; v < v1; v++) lp[v] -= lse;
  }
  free(xn); free(dr); free(q);
}

static void *run_worker(void *arg) {
  flush_denormals();  // the thread ends with the step
  work((shared_t *)arg);
  return NULL;
}

// Helper threads that outlive a step: a decoding loop's next step comes within tens of µs, and a
// thread created per step starts too late to take its share of the work. A helper waits
// (spinning, then yielding) a few ms for the next step's job, then exits; the next step starts a new one. A step takes back a job no helper claimed, so it never waits on one that
// was not scheduled. One step at a time uses the pool (another, from a second Node environment,
// starts threads of its own).
#define POOL 63
#define LINGER 20000 /* waits for a job before a helper exits: 2,000 pauses, then yields */
typedef struct {
  _Atomic(shared_t *) job;
  atomic_int finished, alive;
  pthread_t tid;
  bool joinable;  // touched only by the step holding the pool
} helper_t;
static helper_t pool[POOL];
static atomic_int pool_busy;

static void *helper_main(void *arg) {
  helper_t *hp = arg;
  flush_denormals();  // the thread runs nothing but steps
  for (;;) {
    shared_t *job = NULL;
    for (int i = 0; i < LINGER; i++) {
      if (atomic_load_explicit(&hp->job, memory_order_relaxed) &&
          (job = atomic_exchange_explicit(&hp->job, NULL, memory_order_acquire)))
        break;
      if (i < 2000) cpu_relax();
      else yield_core();
    }
    if (!job) {
      atomic_store_explicit(&hp->alive, 0, memory_order_release);  // a job posted after this is taken back
      return NULL;
    }
    work(job);
    atomic_store_explicit(&hp->finished, 1, memory_order_release);
  }
}

/** Posts the step to `n` helpers (starting those not running); returns how many were posted. */
static int pool_post(shared_t *s, int n) {
  int posted = 0;
  for (int i = 0; i < n && i < POOL; i++) {
    helper_t *hp = &pool[i];
    if (!atomic_load_explicit(&hp->alive, memory_order_acquire)) {
      if (hp->joinable) pthread_join(hp->tid, NULL);
      hp->joinable = false;
      atomic_store_explicit(&hp->job, NULL, memory_order_relaxed);
      atomic_store_explicit(&hp->alive, 1, memory_order_relaxed);
      if (pthread_create(&hp->tid, NULL, helper_main, hp) != 0) {
        atomic_store_explicit(&hp->alive, 0, memory_order_relaxed);
        break;
      }
      hp->joinable = true;
    }
    atomic_store_explicit(&hp->finished, 0, memory_order_relaxed);
    atomic_store_explicit(&hp->job, s, memory_order_release);
    posted++;
  }
  return posted;
}

/** After the caller's own share: takes back unclaimed jobs, waits for helpers that claimed theirs. */
static void pool_collect(shared_t *s, int posted) {
  for (int i = 0; i < posted; i++) {
    helper_t *hp = &pool[i];
    shared_t *expected = s;
    if (atomic_compare_exchange_strong_explicit(&hp->job, &expected, NULL, memory_order_acq_rel, memory_order_acquire))
      continue;
    for (int spins = 0; !atomic_load_explicit(&hp->finished, memory_order_acquire); spins++) {
      if (spins < 2000) cpu_relax();
      else yield_core();
    }
  }
}

// ----------------------------------------------------------------------------- Node-API
/** Frees what the model holds (not the model itself); it is then an empty model. */
static void model_clear(napi_env env, model_t *m) {
  for (int64_t l = 0; l < m->L; l++) {
    layer_t *ly = &m->layers[l];
    float *f[] = {ly->norm, ly->inProj, ly->inProjBias, ly->convW, ly->convBias, ly->xProj, ly->dtProj,
                  ly->dtBias, ly->A, ly->D, ly->outProj, ly->outProjBias, ly->inS, ly->xS, ly->outS};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(f[i]);
    free(ly->inQ); free(ly->xQ); free(ly->outQ);
  }
  free(m->layers); free(m->normF); free(m->head); free(m->headS); free(m->headQ);
  m->layers = NULL, m->normF = m->head = m->headS = NULL, m->headQ = NULL;
  m->L = 0;
  int64_t ignored;
  if (m->bytes) napi_adjust_external_memory(env, -m->bytes, &ignored);
  m->bytes = 0;
  m->magic = 0;  // a released handle is refused by every call
}

static void model_free(napi_env env, void *data, void *hint) {
  (void)hint;
  model_clear(env, data);
  free(data);
}

static model_t *get_model(napi_env env, napi_value v) {
  napi_valuetype type;
  void *p = NULL;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      !p || ((model_t *)p)->magic != STEP_MAGIC) {
    napi_throw_type_error(env, NULL, "step: the first argument must be a handle from stepCreate");
    return NULL;
  }
  return p;
}

/** A copy of a Float32Array of exactly `want` elements (NULL for null/undefined where `optional`); `ok` false after a throw. */
static float *copy_array(napi_env env, napi_value v, size_t want, bool optional, const char *what, bool *ok, int64_t *bytes) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (optional && (type == napi_null || type == napi_undefined)) return NULL;
  void *data;
  size_t n;
  if (float_array(env, v, napi_float32_array, &data, &n) != napi_ok || n != want) {
    char msg[160];
    snprintf(msg, sizeof msg, "stepSetLayer: %s must be a Float32Array of %zu elements", what, want);
    napi_throw_range_error(env, NULL, msg);
    *ok = false;
    return NULL;
  }
  float *c = malloc(want * sizeof(float) + 1);
  if (!c) {
    napi_throw_error(env, NULL, "stepSetLayer: out of memory");
    *ok = false;
    return NULL;
  }
  memcpy(c, data, want * sizeof(float));
  *bytes += (int64_t)(want * sizeof(float));
  return c;
}

/** W (rows, n) quantised per row: int8 values, and the scales (rows) followed by the rows' int32 sums. Frees W. */
static bool quantize_rows(float **W, int64_t rows, int64_t n, int8_t **q, float **scale, int64_t *bytes) {
  *q = malloc((size_t)(rows * n) + 1);
  *scale = malloc((size_t)rows * (sizeof(float) + sizeof(int32_t)));
  if (!*q || !*scale) return false;
  int32_t *sums = (int32_t *)(*scale + rows);
  for (int64_t r = 0; r < rows; r++) {
    const float *w = *W + r * n;
    float mx = 0.f;
    for (int64_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(w[i]));
    const float s = mx > 0.f ? mx / 127.f : 1.f;
    (*scale)[r] = s;
    int32_t sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (*q)[r * n + i] = (int8_t)lrintf(w[i] / s);
    sums[r] = sum;
  }
  free(*W);
  *W = NULL;
  *bytes += rows * n + rows * 8 - rows * n * (int64_t)sizeof(float);
  return true;
}

// stepCreate(dims: Float64Array [D, E, N, R, K, V, L, eps, bcdtRms (< 0: none), int8 (0/1)], normF (D),
// lmHead (V, D)) → a handle; every layer is then given with stepSetLayer.
napi_value step_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *p;
  size_t n;
  if (argc != 3 || float_array(env, argv[0], napi_float64_array, &p, &n) != napi_ok || n != 10) {
    napi_throw_type_error(env, NULL, "stepCreate: expected (dims: Float64Array(10), normF, lmHead)");
    return NULL;
  }
  const double *d = p;
  for (int i = 0; i < 7; i++)
    if (!(d[i] >= (i == 6 ? 0 : 1) && d[i] <= 1e9 && d[i] == floor(d[i]))) {
      napi_throw_range_error(env, NULL, "stepCreate: dims must be positive integers");
      return NULL;
    }
  if (d[4] < 2) {
    napi_throw_range_error(env, NULL, "stepCreate: the conv kernel must be at least 2");
    return NULL;
  }
  if (d[9] != 0 && 255.0 * 127.0 * fmax(d[0], d[1]) >= 2147483648.0) {
    napi_throw_range_error(env, NULL, "stepCreate: int8 sums of rows this long would overflow int32");
    return NULL;
  }
  model_t *m = calloc(1, sizeof(model_t));
  *m = (model_t){STEP_MAGIC, (int64_t)d[0], (int64_t)d[1], (int64_t)d[2], (int64_t)d[3], (int64_t)d[4], (int64_t)d[5],
                 (int64_t)d[6], (float)d[7], (float)d[8], d[9] != 0};
  m->layers = calloc((size_t)m->L + 1, sizeof(layer_t));
  bool ok = true;
  m->normF = copy_array(env, argv[1], (size_t)m->D, false, "normF", &ok, &m->bytes);
  if (ok) m->head = copy_array(env, argv[2], (size_t)(m->V * m->D), false, "lmHead", &ok, &m->bytes);
  if (ok && m->int8 && !quantize_rows(&m->head, m->V, m->D, &m->headQ, &m->headS, &m->bytes)) {
    napi_throw_error(env, NULL, "stepCreate: out of memory");
    ok = false;
  }
  napi_value out;
  if (!ok || napi_create_external(env, m, model_free, NULL, &out) != napi_ok) {
    m->bytes = 0;
    model_free(env, m, NULL);
    return NULL;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, m->bytes, &ignored);
  return out;
}

// stepSetLayer(handle, i, norm, inProj, inProjBias?, convWeight, convBias?, xProj, dtProj, dtBias, A, D,
// outProj, outProjBias?): layer i's weights, copied (and quantised for int8); optional ones null.
napi_value step_set_layer(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!get_args(env, info, 14, argv, "stepSetLayer")) return NULL;
  model_t *m = get_model(env, argv[0]);
  if (!m) return NULL;
  int32_t i;
  if (napi_get_value_int32(env, argv[1], &i) != napi_ok || i < 0 || i >= m->L || m->layers[i].set) {
    napi_throw_range_error(env, NULL, "stepSetLayer: no such layer, or it is already set");
    return NULL;
  }
  const int64_t D = m->D, E = m->E, N = m->N, R = m->R, K = m->K;
  layer_t ly = {0};
  bool ok = true;
  int64_t bytes = 0;
  ly.norm = copy_array(env, argv[2], D, false, "norm", &ok, &bytes);
  if (ok) ly.inProj = copy_array(env, argv[3], 2 * E * D, false, "inProj", &ok, &bytes);
  if (ok) ly.inProjBias = copy_array(env, argv[4], 2 * E, true, "inProjBias", &ok, &bytes);
  if (ok) ly.convW = copy_array(env, argv[5], E * K, false, "convWeight", &ok, &bytes);
  if (ok) ly.convBias = copy_array(env, argv[6], E, true, "convBias", &ok, &bytes);
  if (ok) ly.xProj = copy_array(env, argv[7], (R + 2 * N) * E, false, "xProj", &ok, &bytes);
  if (ok) ly.dtProj = copy_array(env, argv[8], E * R, false, "dtProj", &ok, &bytes);
  if (ok) ly.dtBias = copy_array(env, argv[9], E, false, "dtBias", &ok, &bytes);
  if (ok) ly.A = copy_array(env, argv[10], E * N, false, "A", &ok, &bytes);
  if (ok) ly.D = copy_array(env, argv[11], E, false, "D", &ok, &bytes);
  if (ok) ly.outProj = copy_array(env, argv[12], D * E, false, "outProj", &ok, &bytes);
  if (ok) ly.outProjBias = copy_array(env, argv[13], D, true, "outProjBias", &ok, &bytes);
  if (ok && m->int8 &&
      !(quantize_rows(&ly.inProj, 2 * E, D, &ly.inQ, &ly.inS, &bytes) &&
        quantize_rows(&ly.xProj, R + 2 * N, E, &ly.xQ, &ly.xS, &bytes) &&
        quantize_rows(&ly.outProj, D, E, &ly.outQ, &ly.outS, &bytes))) {
    napi_throw_error(env, NULL, "stepSetLayer: out of memory");
    ok = false;
  }
  ly.set = ok;
  m->layers[i] = ly;  // freed with the model even when incomplete
  if (ok) {
    m->bytes += bytes;
    int64_t ignored;
    napi_adjust_external_memory(env, bytes, &ignored);
  }
  return NULL;
}

/** A JS array of `n` Float32Arrays of `want` elements each, as pointers into `out`. */
static bool state_arrays(napi_env env, napi_value v, int64_t n, size_t want, float **out) {
  bool is;
  uint32_t len;
  if (napi_is_array(env, v, &is) != napi_ok || !is || napi_get_array_length(env, v, &len) != napi_ok || len != n)
    return false;
  for (uint32_t i = 0; i < len; i++) {
    napi_value e;
    void *data;
    size_t k;
    if (napi_get_element(env, v, i, &e) != napi_ok || float_array(env, e, napi_float32_array, &data, &k) != napi_ok ||
        k != want)
      return false;
    out[i] = data;
  }
  return true;
}

/** The whole step for one token on the calling thread and threads-1 more. */
static void run_step(const model_t *m, const float *hidden, float **conv, float **ssm, float *logprobs, int threads) {
  const int64_t D = m->D, E = m->E, P = m->R + 2 * m->N, V = m->V;
  // Chunks: several per thread and phase (so that a late thread's share is taken by the others),
  // not so small that taking one costs more than its work.
  const int64_t T = threads;
#define CHUNK(n, per, min, align) \
  ((((n) + (per) * T - 1) / ((per) * T) < (min) ? (min) : ((n) + (per) * T - 1) / ((per) * T)) + (align) - 1) / (align) * (align)
  const int64_t ce = CHUNK(E, 4, 32, 16), cp = CHUNK(P, 2, 8, 4), cd = CHUNK(D, 4, 16, 4), cv = CHUNK(V, 4, 256, 16);
#undef CHUNK
  const int64_t nv = (V + cv - 1) / cv;
  const int nphases = (int)(m->L * PER_LAYER + 2);
  phase_t *phases = malloc((size_t)nphases * sizeof(phase_t));
  for (int64_t l = 0; l <= m->L; l++)
    for (int k = 0; k < (l < m->L ? PER_LAYER : 2); k++) {
      phase_t *ph = &phases[l * PER_LAYER + k];
      atomic_init(&ph->next, 0);
      atomic_init(&ph->done, 0);
      const int64_t n = l == m->L ? nv : k == PH_X ? (P + cp - 1) / cp : k == PH_OUT ? (D + cd - 1) / cd : (E + ce - 1) / ce;
      ph->total = (int)n;
    }
  float *buf = malloc((size_t)(D + 2 * E + E + P + E + 2 * nv) * sizeof(float));
  shared_t s = {m, phases, ce, cp, cd, cv, hidden, conv, ssm, logprobs, buf, buf + D, buf + D + 2 * E,
                buf + D + 3 * E, buf + D + 3 * E + P, buf + D + 4 * E + P};
  memcpy(s.h, hidden, (size_t)D * sizeof(float));  // the residual stream
  pthread_t tid[64];
  int started = 0, posted = 0;
  const bool pooled = threads > 1 && atomic_exchange(&pool_busy, 1) == 0;
  if (pooled) posted = pool_post(&s, threads - 1);
  else  // a thread that fails to start just takes no chunks
    for (int i = 1; i < threads; i++)
      if (pthread_create(&tid[started], NULL, run_worker, &s) == 0) started++;
  const unsigned mode = flush_denormals();
  work(&s);
  restore_denormals(mode);  // the caller's thread is JavaScript's
  if (pooled) {
    pool_collect(&s, posted);
    atomic_store(&pool_busy, 0);
  }
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
  free(phases); free(buf);
}

// step(handle, hidden (D), conv: Float32Array[] (K-1, E) per layer, ssm: Float32Array[] (E, N) per
// layer, logprobs (V), threads): one token, on the calling thread and threads-1 more; the states are
// updated in place, logprobs written. Synchronous: as async work on a libuv thread the hand-offs
// cost about as much as a small model's whole step.
napi_value step_run(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv, "step")) return NULL;
  const model_t *m = get_model(env, argv[0]);
  if (!m) return NULL;
  for (int64_t l = 0; l < m->L; l++)
    if (!m->layers[l].set) {
      napi_throw_error(env, NULL, "step: a layer's weights were never set (stepSetLayer)");
      return NULL;
    }
  void *hidden, *logprobs;
  size_t nh, nl;
  float **conv = malloc(((size_t)m->L + 1) * sizeof(float *)), **ssm = malloc(((size_t)m->L + 1) * sizeof(float *));
  if (float_array(env, argv[1], napi_float32_array, &hidden, &nh) != napi_ok || nh != (size_t)m->D ||
      float_array(env, argv[4], napi_float32_array, &logprobs, &nl) != napi_ok || nl != (size_t)m->V ||
      !state_arrays(env, argv[2], m->L, (size_t)((m->K - 1) * m->E), conv) ||
      !state_arrays(env, argv[3], m->L, (size_t)(m->E * m->N), ssm)) {
    free(conv); free(ssm);
    napi_throw_range_error(env, NULL, "step: expected hidden (D), conv[L] ((K-1)·E each), ssm[L] (E·N each), logprobs (V)");
    return NULL;
  }
  int32_t threads = 1;
  napi_get_value_int32(env, argv[5], &threads);
  if (threads < 1) threads = 1;
  if (threads > 64) threads = 64;
  run_step(m, hidden, conv, ssm, logprobs, threads);
  free(conv); free(ssm);
  return NULL;
}

// stepRelease(handle): frees the weights now instead of when the handle is garbage-collected; the
// handle is refused from then on.
napi_value step_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  model_t *m = argc == 1 ? get_model(env, argv[0]) : NULL;
  if (m) model_clear(env, m);
  return NULL;
}

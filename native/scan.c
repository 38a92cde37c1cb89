// The selective scan of a Mamba-1 / FalconMamba layer on the CPU, in one pass over the tokens
// (docs/method.md §1; transformers' MambaMixer.slow_forward):
//   h_t = exp(Δ_t ⊗ A) ⊙ h_{t-1} + (Δ_t ⊙ u_t) ⊗ B_t,   y_t = h_t · C_t + D ⊙ u_t
// Discretisation, state update, C readout and the D skip are fused: nothing of size
// tokens × E × N exists, and a block of LANES channels keeps its whole (N, LANES) state in
// registers for the entire pass, reading u, Δ (LANES floats) and B, C (N floats) per token.
// (The ONNX Scan it replaces runs ~6 small ops per token, each a pass over an (E, N) tensor.)
// Vectorised over channels (one register = LANES channels of one state index n: the readout is
// then a multiply-add per n, no horizontal sum), channel blocks split over threads.
#include <stdlib.h>
#include <string.h>
#include "simd.h"

/* MinGW (the win32 packages) has no C11 aligned_alloc: its own pair instead. */
#ifdef _WIN32
#include <malloc.h>
#define scan_alloc(align, n) _aligned_malloc((n), (align))
#define scan_free _aligned_free
#else
#define scan_alloc(align, n) aligned_alloc((align), (n))
#define scan_free free
#endif

typedef struct {
  const float *u, *delta, *B, *C, *A, *D;  // u, delta (T, E); B, C (T, N); A (E, N); D (E)
  float *h, *y;                            // h (E, N) in place; y (T, E)
  int64_t T, E, N;
  int64_t b0, b1;                          // this job's channel blocks
} scan_job_t;

// One block of LANES channels starting at channel e over all T tokens (`len` < LANES of them are
// real in the last, partial block). `At` (N, LANES) is the block's A transposed and `hs` (N,
// LANES) its state, both zero-padded. The body is instantiated for full blocks with N = 16 (every
// published Mamba-1 checkpoint): the loop over n unrolls, h stays in 16 registers for the whole
// pass, A is read from L1, and u, Δ, y move as whole vectors (a call to memcpy per token cost 3×).
#define SCAN_BLOCK(NAME, NN, BYTES)                                                                       \
  static inline __attribute__((always_inline)) void NAME(const scan_job_t *j, int64_t e, int64_t len,     \
                                                         const float *restrict At, const vf *restrict Dv, \
                                                         vf *restrict hs, const int64_t N, int64_t t0,    \
                                                         int64_t t1) {                                    \
    const int64_t E = j->E;                                                                               \
    const size_t bytes = BYTES;                                                                           \
    vf h[NN];                                                                                             \
    for (int64_t n = 0; n < N; n++) h[n] = hs[n];                                                         \
    for (int64_t t = t0; t < t1; t++) {                                                                   \
      vf d = {0}, x = {0}, a;                                                                             \
      memcpy(&d, j->delta + t * E + e, bytes);                                                            \
      memcpy(&x, j->u + t * E + e, bytes);                                                                \
      const float *B = j->B + t * N, *C = j->C + t * N;                                                   \
      const vf du = d * x;                                                                                \
      vf acc = *Dv * x;                                                                                   \
      _Pragma("GCC unroll 16") for (int64_t n = 0; n < N; n++) {                                          \
        memcpy(&a, At + n * LANES, sizeof a);                                                             \
        h[n] = exp_neg(d * a) * h[n] + du * B[n];                                                         \
        acc += h[n] * C[n];                                                                               \
      }                                                                                                   \
      memcpy(j->y + t * E + e, &acc, bytes);                                                              \
    }                                                                                                     \
    for (int64_t n = 0; n < N; n++) hs[n] = h[n];                                                         \
  }
SCAN_BLOCK(scan_full16, 16, sizeof(vf))
SCAN_BLOCK(scan_full, N, sizeof(vf))
SCAN_BLOCK(scan_partial, N, (size_t)len * sizeof(float))

/** Tokens per tile: every block of the job runs a tile before the next, so the tile's rows of u, Δ, y stay in L1/L2 (8, 16, 32, 64: 0.44, 0.55, 0.65, 0.72 ns per channel-state-token of CPU time at E = 1536). */
#define TILE 8

// The job's blocks tile by tile. One block over all T tokens at once reads u, Δ and writes y a
// cache line per token at a stride of E floats, a new page each time, which the prefetchers do
// not follow (3× slower at E = 1536); a tile of rows is read by all blocks while it is in cache.
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void scan_blocks(const scan_job_t *j) {
  const int64_t E = j->E, N = j->N, nb = j->b1 - j->b0;
  if (nb <= 0) return;
  // Per block: A transposed (N, LANES), the state (N, LANES) and D, zero-padded; 64-byte aligned for vector access.
  float *At = scan_alloc(sizeof(vf), (size_t)(nb * N) * sizeof(vf));
  vf *hs = scan_alloc(sizeof(vf), (size_t)(nb * N) * sizeof(vf));
  vf *Dv = scan_alloc(sizeof(vf), (size_t)nb * sizeof(vf));
  memset(At, 0, (size_t)(nb * N) * sizeof(vf));
  memset(hs, 0, (size_t)(nb * N) * sizeof(vf));
  memset(Dv, 0, (size_t)nb * sizeof(vf));
  for (int64_t b = 0; b < nb; b++) {
    const int64_t e = (j->b0 + b) * LANES, len = E - e < LANES ? E - e : LANES;
    for (int64_t i = 0; i < len; i++) {
      Dv[b][i] = j->D[e + i];
      for (int64_t n = 0; n < N; n++)
        At[(b * N + n) * LANES + i] = j->A[(e + i) * N + n], hs[b * N + n][i] = j->h[(e + i) * N + n];
    }
  }
  for (int64_t t0 = 0; t0 < j->T; t0 += TILE) {
    const int64_t t1 = t0 + TILE < j->T ? t0 + TILE : j->T;
    for (int64_t b = 0; b < nb; b++) {
      const int64_t e = (j->b0 + b) * LANES, len = E - e < LANES ? E - e : LANES;
      const float *A = At + b * N * LANES;
      vf *h = hs + b * N;
      if (len < LANES) scan_partial(j, e, len, A, &Dv[b], h, N, t0, t1);
      else if (N == 16) scan_full16(j, e, len, A, &Dv[b], h, 16, t0, t1);
      else scan_full(j, e, len, A, &Dv[b], h, N, t0, t1);
    }
  }
  for (int64_t b = 0; b < nb; b++) {
    const int64_t e = (j->b0 + b) * LANES, len = E - e < LANES ? E - e : LANES;
    for (int64_t i = 0; i < len; i++)
      for (int64_t n = 0; n < N; n++) j->h[(e + i) * N + n] = hs[b * N + n][i];
  }
  scan_free(At); scan_free(hs); scan_free(Dv);
}

static void *run_scan(void *arg) {
  scan_blocks((const scan_job_t *)arg);
  return NULL;
}

// scan(u, delta, B, C, A, D, h, y, threads): u, delta (T, E); B, C (T, N); A (E, N); D (E);
// h (E, N) the state, updated in place; writes y (T, E). All Float32Arrays.
napi_value scan(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!get_args(env, info, 9, argv, "scan")) return NULL;
  void *p[8];
  size_t n[8];
  for (int i = 0; i < 8; i++) {
    if (float_array(env, argv[i], napi_float32_array, &p[i], &n[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "scan: arrays 0-7 must be Float32Arrays");
      return NULL;
    }
  }
  int32_t threads;
  napi_get_value_int32(env, argv[8], &threads);
  const int64_t E = n[5], N = E > 0 ? n[4] / E : 0, T = E > 0 ? n[0] / E : 0;
  if (E < 1 || N < 1 || n[4] != (size_t)(E * N) || n[6] != (size_t)(E * N) || n[0] != (size_t)(T * E) ||
      n[1] != (size_t)(T * E) || n[7] != (size_t)(T * E) || n[2] != (size_t)(T * N) || n[3] != (size_t)(T * N)) {
    napi_throw_range_error(env, NULL, "scan: array sizes do not agree (u, delta, y: T*E; B, C: T*N; A, h: E*N; D: E)");
    return NULL;
  }
  const int64_t blocks = (E + LANES - 1) / LANES;
  if (threads < 1) threads = 1;
  if (threads > blocks) threads = (int32_t)blocks;
  scan_job_t *jobs = calloc(threads, sizeof(scan_job_t));
  for (int i = 0; i < threads; i++) {
    jobs[i] = (scan_job_t){ p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], T, E, N, blocks * i / threads, blocks * (i + 1) / threads };
  }
  run_jobs(run_scan, jobs, sizeof(scan_job_t), threads);
  free(jobs);
  return NULL;
}

// The Mamba-2 selective scan (transformers' Mamba2Mixer.torch_forward, one step at a time): per
// head h of P channels with one decay per token, and B, C of the head's group g = h / (H/G),
//   S_t[h] = exp(Δ_t[h] A[h]) S_{t-1}[h] + (Δ_t[h] x_t[h]) ⊗ B_t[g],   y_t[h] = S_t[h] · C_t[g] + D[h] x_t[h]
// The same kernel shape as scan() per head: a block is up to LANES channels of one head (so its
// Δ, decay and group are scalars), vectorised over channels. The decay is one exp per head and
// token, so the work is two multiply-adds per state element; with N = 128 the (N, LANES) state
// does not fit in registers, so each tile of tokens runs slices of S2_NC states of it held in
// registers, and y accumulates over the slices in a per-tile buffer.
typedef struct {
  const float *x, *delta, *B, *C, *A, *D;  // x (T, E); delta (T, H); B, C (T, G*N); A, D (H)
  float *S, *y;                            // S (H, P, N) in place; y (T, E)
  int64_t T, H, P, N, G;
  int64_t b0, b1;                          // this job's blocks (ceil(P / LANES) per head)
} scan2_job_t;

#define S2_TILE 16 /* tokens per tile: their x, y rows and B, C rows stay in L1 while every slice runs */
#define S2_NC 16   /* states per register slice */

// One slice of NN states (n0 …) of one block over the tile's tokens: s (NN) in registers; y in
// two partial sums, so the readout's chain of dependent adds per token is half as long.
#define SCAN2_SLICE(NAME, NN)                                                                            \
  static inline __attribute__((always_inline)) void NAME(vf *restrict hs, const float *restrict B,       \
                                                         const float *restrict C, int64_t ld,            \
                                                         const float *restrict dA, const vf *restrict dx, \
                                                         vf *restrict acc, int64_t nt, const int64_t nn) { \
    vf s[NN];                                                                                            \
    for (int64_t n = 0; n < nn; n++) s[n] = hs[n];                                                       \
    for (int64_t i = 0; i < nt; i++) {                                                                   \
      const float *b = B + i * ld, *c = C + i * ld;                                                      \
      const float a = dA[i];                                                                             \
      const vf d = dx[i];                                                                                \
      vf y[2] = {acc[i], {0}};                                                                           \
      _Pragma("GCC unroll 16") for (int64_t n = 0; n < nn; n++) {                                        \
        s[n] = a * s[n] + d * b[n];                                                                      \
        y[n & 1] += s[n] * c[n];                                                                         \
      }                                                                                                  \
      acc[i] = y[0] + y[1];                                                                              \
    }                                                                                                    \
    for (int64_t n = 0; n < nn; n++) hs[n] = s[n];                                                       \
  }
SCAN2_SLICE(scan2_slice16, S2_NC)
SCAN2_SLICE(scan2_slice, S2_NC)

#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void scan2_blocks(const scan2_job_t *j) {
  const int64_t H = j->H, P = j->P, N = j->N, E = H * P, GN = j->G * N, nb = j->b1 - j->b0;
  const int64_t per = (P + LANES - 1) / LANES, hpg = H / j->G;
  if (nb <= 0) return;
  // Per block: the state transposed to (N, LANES), zero-padded, 64-byte aligned.
  vf *hs = scan_alloc(sizeof(vf), (size_t)(nb * N) * sizeof(vf));
  memset(hs, 0, (size_t)(nb * N) * sizeof(vf));
  for (int64_t b = 0; b < nb; b++) {
    const int64_t h = (j->b0 + b) / per, p0 = (j->b0 + b) % per * LANES, len = P - p0 < LANES ? P - p0 : LANES;
    for (int64_t i = 0; i < len; i++)
      for (int64_t n = 0; n < N; n++) hs[b * N + n][i] = j->S[(h * P + p0 + i) * N + n];
  }
  vf dx[S2_TILE], acc[S2_TILE];
  float dA[S2_TILE];
  for (int64_t t0 = 0; t0 < j->T; t0 += S2_TILE) {
    const int64_t nt = t0 + S2_TILE < j->T ? S2_TILE : j->T - t0;
    for (int64_t b = 0; b < nb; b++) {
      const int64_t h = (j->b0 + b) / per, p0 = (j->b0 + b) % per * LANES, len = P - p0 < LANES ? P - p0 : LANES;
      const int64_t e = h * P + p0;
      const size_t bytes = (size_t)len * sizeof(float);
      const float Dh = j->D[h], Ah = j->A[h];
      for (int64_t i = 0; i < nt; i++) {
        const int64_t t = t0 + i;
        const float d = j->delta[t * H + h];
        vf x = {0};
        memcpy(&x, j->x + t * E + e, bytes);
        dA[i] = exp_le0(d * Ah);
        dx[i] = d * x;
        acc[i] = Dh * x;
      }
      const float *B = j->B + t0 * GN + h / hpg * N, *C = j->C + t0 * GN + h / hpg * N;
      for (int64_t n0 = 0; n0 < N; n0 += S2_NC) {
        const int64_t nn = N - n0 < S2_NC ? N - n0 : S2_NC;
        if (nn == S2_NC) scan2_slice16(hs + b * N + n0, B + n0, C + n0, GN, dA, dx, acc, nt, S2_NC);
        else scan2_slice(hs + b * N + n0, B + n0, C + n0, GN, dA, dx, acc, nt, nn);
      }
      for (int64_t i = 0; i < nt; i++) memcpy(j->y + (t0 + i) * E + e, &acc[i], bytes);
    }
  }
  for (int64_t b = 0; b < nb; b++) {
    const int64_t h = (j->b0 + b) / per, p0 = (j->b0 + b) % per * LANES, len = P - p0 < LANES ? P - p0 : LANES;
    for (int64_t i = 0; i < len; i++)
      for (int64_t n = 0; n < N; n++) j->S[(h * P + p0 + i) * N + n] = hs[b * N + n][i];
  }
  scan_free(hs);
}

static void *run_scan2(void *arg) {
  scan2_blocks((const scan2_job_t *)arg);
  return NULL;
}

// scan2(x, delta, B, C, A, D, S, y, threads, headDim, groups): x, y (T, H*P); delta (T, H);
// B, C (T, G*N); A, D (H); S (H, P, N) the state, updated in place. Float32Arrays but the numbers.
napi_value scan2(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!get_args(env, info, 11, argv, "scan2")) return NULL;
  void *p[8];
  size_t n[8];
  for (int i = 0; i < 8; i++) {
    if (float_array(env, argv[i], napi_float32_array, &p[i], &n[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "scan2: arrays 0-7 must be Float32Arrays");
      return NULL;
    }
  }
  int32_t threads = 1, P = 0, G = 0;
  napi_get_value_int32(env, argv[8], &threads);
  napi_get_value_int32(env, argv[9], &P);
  napi_get_value_int32(env, argv[10], &G);
  const int64_t H = n[4], E = H * P, T = E > 0 ? n[0] / E : 0, N = E > 0 ? n[6] / E : 0;
  if (H < 1 || P < 1 || G < 1 || H % G != 0 || N < 1 || n[5] != (size_t)H || n[6] != (size_t)(E * N) ||
      n[0] != (size_t)(T * E) || n[7] != (size_t)(T * E) || n[1] != (size_t)(T * H) ||
      n[2] != (size_t)(T * G * N) || n[3] != (size_t)(T * G * N)) {
    napi_throw_range_error(env, NULL,
                           "scan2: array sizes do not agree (x, y: T*H*P; delta: T*H; B, C: T*G*N; A, D: H; S: H*P*N; "
                           "H a multiple of groups)");
    return NULL;
  }
  const int64_t blocks = H * ((P + LANES - 1) / LANES);
  if (threads < 1) threads = 1;
  if (threads > blocks) threads = (int32_t)blocks;
  scan2_job_t *jobs = calloc(threads, sizeof(scan2_job_t));
  for (int i = 0; i < threads; i++) {
    jobs[i] = (scan2_job_t){ p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], T, H, P, N, G,
                             blocks * i / threads, blocks * (i + 1) / threads };
  }
  run_jobs(run_scan2, jobs, sizeof(scan2_job_t), threads);
  free(jobs);
  return NULL;
}

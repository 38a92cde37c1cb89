// The selective scan of a Mamba-1 / FalconMamba layer on the CPU, in one pass over the tokens
// (docs/method.md §1; transformers' MambaMixer.slow_forward):
//   h_t = exp(Δ_t ⊗ A) ⊙ h_{t-1} + (Δ_t ⊙ u_t) ⊗ B_t,   y_t = h_t · C_t + D ⊙ u_t
// Discretisation, state update, C readout and the D skip are fused: nothing of size
// tokens × E × N exists, and a block of LANES channels keeps its whole (N, LANES) state in
// registers for the entire pass, reading u, Δ (LANES floats) and B, C (N floats) per token.
// (The ONNX Scan it replaces runs ~6 small ops per token, each a pass over an (E, N) tensor.)
// Vectorised over channels (one register = LANES channels of one state index n: the readout is
// then a multiply-add per n, no horizontal sum), channel blocks split over threads.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "simd.h"

typedef struct {
  const float *u, *delta, *B, *C, *A, *D;  // u, delta (T, E); B, C (T, N); A (E, N); D (E)
  float *h, *y;                            // h (E, N) in place; y (T, E)
  int64_t T, E, N;
  int64_t b0, b1;                          // this job's channel blocks
} scan_job_t;

// One block of `len` ≤ LANES channels starting at channel e over all T tokens, N states. `At`
// (N, LANES) is the block's A transposed, `hs` (N, LANES) its state (both zero-padded). With N a
// constant (16, every Mamba-1 checkpoint published) the loops over n unroll and h stays in registers.
static inline __attribute__((always_inline)) void scan_block(const scan_job_t *j, int64_t e, int64_t len, const float *restrict At, const vf *restrict Dv, vf *restrict hs, const int64_t N) {
  const int64_t T = j->T, E = j->E;
  vf h[N], a[N];
  for (int64_t n = 0; n < N; n++) h[n] = hs[n], memcpy(&a[n], At + n * LANES, sizeof(vf));
  const size_t bytes = (size_t)len * sizeof(float);
  for (int64_t t = 0; t < T; t++) {
    vf d = {0}, x = {0};
    memcpy(&d, j->delta + t * E + e, bytes);
    memcpy(&x, j->u + t * E + e, bytes);
    const float *B = j->B + t * N, *C = j->C + t * N;
    const vf du = d * x;
    vf acc = *Dv * x;
    for (int64_t n = 0; n < N; n++) {
      h[n] = exp_neg(d * a[n]) * h[n] + du * B[n];
      acc += h[n] * C[n];
    }
    memcpy(j->y + t * E + e, &acc, bytes);
  }
  for (int64_t n = 0; n < N; n++) hs[n] = h[n];
}

#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void scan_blocks(const scan_job_t *j) {
  const int64_t E = j->E, N = j->N;
  float *At = malloc((size_t)N * LANES * sizeof(float));
  vf *hs = aligned_alloc(sizeof(vf), (size_t)N * sizeof(vf)); // vector loads and stores need 64-byte alignment
  for (int64_t b = j->b0; b < j->b1; b++) {
    const int64_t e = b * LANES, len = E - e < LANES ? E - e : LANES;
    vf Dv = {0};
    memcpy(&Dv, j->D + e, (size_t)len * sizeof(float));
    memset(At, 0, (size_t)N * LANES * sizeof(float));
    memset(hs, 0, (size_t)N * sizeof(vf));
    for (int64_t i = 0; i < len; i++)
      for (int64_t n = 0; n < N; n++) At[n * LANES + i] = j->A[(e + i) * N + n], hs[n][i] = j->h[(e + i) * N + n];
    if (N == 16) scan_block(j, e, len, At, &Dv, hs, 16);
    else scan_block(j, e, len, At, &Dv, hs, N);
    for (int64_t i = 0; i < len; i++)
      for (int64_t n = 0; n < N; n++) j->h[(e + i) * N + n] = hs[n][i];
  }
  free(At); free(hs);
}

static void *run_scan(void *arg) {
  scan_blocks((const scan_job_t *)arg);
  return NULL;
}

// scan(u, delta, B, C, A, D, h, y, threads): u, delta (T, E); B, C (T, N); A (E, N); D (E);
// h (E, N) the state, updated in place; writes y (T, E). All Float32Arrays.
napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 9) {
    napi_throw_type_error(env, NULL, "scan: expected 9 arguments");
    return NULL;
  }
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
  pthread_t *tid = calloc(threads, sizeof(pthread_t));
  bool *started = calloc(threads, sizeof(bool));
  for (int i = 0; i < threads; i++) {
    jobs[i] = (scan_job_t){ p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], T, E, N, blocks * i / threads, blocks * (i + 1) / threads };
    // Job 0 runs on the calling thread; a thread that cannot start is run here too.
    if (i > 0 && !(started[i] = pthread_create(&tid[i], NULL, run_scan, &jobs[i]) == 0)) run_scan(&jobs[i]);
  }
  run_scan(&jobs[0]);
  for (int i = 1; i < threads; i++) if (started[i]) pthread_join(tid[i], NULL);
  free(jobs); free(tid); free(started);
  return NULL;
}

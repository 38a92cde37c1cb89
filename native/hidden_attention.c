// Hidden attention's scans over one Mamba-1 layer's window (a Node-API addon; the same arithmetic
// as src/engine/hiddenAttentionScan.ts, which is the fallback and is checked against the float64
// reference). Why native: each scan needs exp(Δ_k·A[e,n]) for every token × channel × state,
// ~17 ns per element in JavaScript and a few here. No (W, E, N) tensor: the states are (E, N).
//
//   rowSums(delta, A, B, C, includeDelta, out)
//     out[j] = mean_e Σ_{k≤j} α[e,j,k]                                         (forward scan)
//   reverse(delta, A, B, C, x, v, nv, top, includeDelta, mean, max, loHi, valueSum, G)
//     for each of the nv vectors v_r (rows of v, (nv, W)), mean[r, k] = mean_e Σ_j v_r[j]·α[e,j,k]
//     for k ≤ top, with one walk carrying G_r = v_r[k]·C_k + exp(Δ_{k+1}A) ⊙ G_r (the nv scans
//     share the exps); for r = 0 also max[k] = max_e α_0[e,k], loHi = [min, max] over e and k,
//     valueSum[e] = Σ_k α_0[e,k]·x[k,e] and the final G_0 (E, N).
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "simd.h"

typedef struct {
  const float *delta, *A, *B, *C, *x;
  int64_t W, E, N;
  int include_delta;
} win_t;

// exp(x) for x ≤ 0: simd.h's exp_le0 (the influence kernel's exp, one float at a time); below
// -87.3 it is 0, as the influence kernel and the CPU sessions' flush-to-zero count it.

// exp(Δ_k[e]·A[e,n]) for every channel and state of token k, in float (the products stay in double).
// Compiled for AVX-512, AVX2 and baseline x86-64, picked at load time.
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void decays(const win_t *w, int64_t k, float *restrict dk) {
  const float *d = w->delta + k * w->E;
  const int64_t N = w->N;
  for (int64_t e = 0; e < w->E; e++) {
    const float de = d[e];
    const float *A = w->A + e * N;
    float *o = dk + e * N;
    for (int64_t n = 0; n < N; n++) o[n] = exp_le0(de * A[n]);
  }
}

static void row_sums(const win_t *w, double *out) {
  const int64_t E = w->E, N = w->N;
  double *S = calloc(E * N, sizeof(double));
  float *dk = malloc(E * N * sizeof(float));
  for (int64_t j = 0; j < w->W; j++) {
    if (j > 0) decays(w, j, dk);
    double sum = 0;
    const float *B = w->B + j * N, *C = w->C + j * N, *d = w->delta + j * E;
    for (int64_t e = 0; e < E; e++) {
      const double b = w->include_delta ? d[e] : 1.0;
      double *s = S + e * N, acc = 0;
      for (int64_t n = 0; n < N; n++) {
        s[n] = (j > 0 ? s[n] * dk[e * N + n] : 0) + b * B[n];
        acc += C[n] * s[n];
      }
      sum += acc;
    }
    out[j] = sum / E;
  }
  free(S);
  free(dk);
}

static void reverse(const win_t *w, const double *v, int64_t nv, int64_t top, double *mean, double *max, double *loHi,
                    double *valueSum, double *G0) {
  const int64_t E = w->E, N = w->N, W = w->W;
  double *G = calloc(nv * E * N, sizeof(double));
  float *dk = malloc(E * N * sizeof(float));
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t k = top; k >= 0; k--) {
    if (k < top) decays(w, k + 1, dk);
    const float *B = w->B + k * N, *C = w->C + k * N, *d = w->delta + k * E, *x = w->x + k * E;
    for (int64_t r = 0; r < nv; r++) {
      double *g = G + r * E * N;
      const double vk = v[r * W + k];
      double sum = 0, mx = -INFINITY;
      for (int64_t e = 0; e < E; e++) {
        double *ge = g + e * N, s = 0;
        for (int64_t n = 0; n < N; n++) {
          ge[n] = (k < top ? ge[n] * dk[e * N + n] : 0) + vk * C[n];
          s += B[n] * ge[n];
        }
        const double a = w->include_delta ? d[e] * s : s;
        sum += a;
        if (r == 0) {
          if (a > mx) mx = a;
          if (a < lo) lo = a;
          if (a > hi) hi = a;
          valueSum[e] += a * x[e];
        }
      }
      mean[r * W + k] = sum / E;
      if (r == 0) max[k] = mx;
    }
  }
  loHi[0] = lo;
  loHi[1] = hi;
  memcpy(G0, G, E * N * sizeof(double));
  free(G);
  free(dk);
}

// ------------------------------------------------------------------ Node-API glue

static void *typed(napi_env env, napi_value v, size_t *len) {
  void *data = NULL;
  napi_typedarray_type t;
  napi_value buf;
  size_t off;
  napi_get_typedarray_info(env, v, &t, len, &data, &buf, &off);
  return data;
}

static int64_t int_arg(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

static win_t window_args(napi_env env, napi_value *a, int with_x) {
  size_t nd, na, nb;
  win_t w;
  w.delta = typed(env, a[0], &nd);
  w.A = typed(env, a[1], &na);
  w.B = typed(env, a[2], &nb);
  w.C = typed(env, a[3], &nb);
  w.x = with_x ? typed(env, a[4], &nd) : NULL;
  w.W = (int64_t)int_arg(env, a[with_x ? 5 : 4]);
  w.E = nd / w.W;
  w.N = na / w.E;
  return w;
}

// rowSums(delta, A, B, C, W, includeDelta, out)
static napi_value js_row_sums(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  size_t n;
  win_t w = window_args(env, a, 0);
  w.include_delta = (int)int_arg(env, a[5]);
  row_sums(&w, typed(env, a[6], &n));
  return NULL;
}

// reverse(delta, A, B, C, x, W, includeDelta, v, nv, top, mean, max, loHi, valueSum, G0)
static napi_value js_reverse(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value a[15];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  size_t n;
  win_t w = window_args(env, a, 1);
  w.include_delta = (int)int_arg(env, a[6]);
  reverse(&w, typed(env, a[7], &n), int_arg(env, a[8]), int_arg(env, a[9]), typed(env, a[10], &n),
          typed(env, a[11], &n), typed(env, a[12], &n), typed(env, a[13], &n), typed(env, a[14], &n));
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "rowSums", NAPI_AUTO_LENGTH, js_row_sums, NULL, &f);
  napi_set_named_property(env, exports, "rowSums", f);
  napi_create_function(env, "reverse", NAPI_AUTO_LENGTH, js_reverse, NULL, &f);
  napi_set_named_property(env, exports, "reverse", f);
  return exports;
}

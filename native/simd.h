// What the kernels share (influence.c, scan.c, step.c, hidden_attention.c): float32 vectors of LANES lanes
// (one AVX-512 register; GCC splits them on narrower CPUs), exp for x ≤ 0, and reading a typed
// array argument.
#ifndef SIMBA_SIMD_H
#define SIMBA_SIMD_H
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
#define LANES 16
// GCC without AVX-512 has no register for a vf: it splits arithmetic into two 256-bit halves, but
// lowers a vf comparison lane by lane (vcomiss, cmov) and keeps a vf carried across loop
// iterations in memory. So the kernels compare through the sign of a difference (vector shifts
// and masks), and carry sums in halves (vh), which stay in registers (the influence kernel's
// exps on AVX2: 0.39 → 1.8 G/s per core).
typedef float vh __attribute__((vector_size(32)));
typedef int32_t vhi __attribute__((vector_size(32)));
/** A vh's lanes in double (the influence kernel's sums). */
typedef double vd __attribute__((vector_size(64)));

/** x's two halves added into lo and hi. */
static inline __attribute__((always_inline)) void add_halves(vh *lo, vh *hi, vf x) {
  vh a, b;
  memcpy(&a, &x, sizeof a);
  memcpy(&b, (const char *)&x + sizeof a, sizeof b);
  *lo += a, *hi += b;
}

/** max(a, b) per lane, b where a < b: the sign of a - b (a - b is NaN only for equal infinities, either is right). */
static inline __attribute__((always_inline)) vh max_h(vh a, vh b) {
  const vhi m = (vhi)(a - b) >> 31;
  return (vh)(((vhi)a & ~m) | ((vhi)b & m));
}

// exp(x) for x ≤ 0, LANES at a time: x = k·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-6 polynomial
// (Cephes' expf coefficients, ~1 ulp), 2^k built in the exponent bits. Below -87.3 exp(x) is
// under float32's smallest normal (1.2e-38) and counts as 0. Written out instead of calling
// libm so that it vectorises without -ffast-math and has no slow path for tiny results (glibc's
// vector expf leaves for a scalar path on such lanes, which made this kernel slower than ORT).
// The numbers and the polynomial of exp_neg and of its scalar twin exp_le0 (hidden_attention.c):
// one definition, so the two kernels count exp the same way. EXP_POLY works on a vf or a float.
#define EXP_MIN (-87.3f)
#define EXP_LOG2E 1.44269504f
#define EXP_MAGIC 12582912.f /* 1.5·2^23: adding it rounds to an integer */
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO 2.12194440e-4f
#define EXP_POLY(r)                                                                                   \
  ((((((1.9875691500e-4f * (r) + 1.3981999507e-3f) * (r) + 8.3334519073e-3f) * (r) + 4.1665795894e-2f) * \
         (r) +                                                                                          \
     1.6666665459e-1f) *                                                                                \
        (r) +                                                                                           \
    5.0000001201e-1f) *                                                                                 \
       ((r) * (r)) +                                                                                    \
   (r) + 1.f)

static inline __attribute__((always_inline)) vf exp_neg(vf x) {
  const vi live = ~((vi)(x - EXP_MIN) >> 31);  // all ones where exp(x) is normal: x - EXP_MIN ≥ 0
  const vf lo = (vf)(((vi)x & live) | ((vi)((vf){0} + EXP_MIN) & ~live));
  const vf magic = (vf){0} + EXP_MAGIC;
  const vf t = lo * EXP_LOG2E + magic;
  const vf k = t - magic;
  const vf r = (lo - k * EXP_LN2_HI) + k * EXP_LN2_LO;
  const vf p = EXP_POLY(r);
  const vi bits = ((vi)t - (vi)magic + 127) << 23;  // k is the low bits of t's mantissa
  const vf y = p * (vf)bits;
  return (vf)((vi)y & live);
}

// The same for one float, branch-free so that a loop of it vectorises (hidden_attention.c).
static inline float exp_le0(float x) {
  const float live = x >= EXP_MIN ? 1.f : 0.f;
  x = x >= EXP_MIN ? x : EXP_MIN;
  const float t = x * EXP_LOG2E + EXP_MAGIC, k = t - EXP_MAGIC;
  const float r = (x - k * EXP_LN2_HI) + k * EXP_LN2_LO;
  const float p = EXP_POLY(r);
  int32_t bits;
  memcpy(&bits, &t, sizeof bits);
  bits = (bits - 0x4b400000 + 127) << 23;  // k: t's low mantissa bits (t = 1.5·2^23 + k)
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale * live;
}

static inline napi_status float_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is;
  napi_typedarray_type type;
  napi_status s = napi_is_typedarray(env, v, &is);
  if (s != napi_ok || !is) return napi_invalid_arg;
  s = napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL);
  if (s != napi_ok || type != want) return napi_invalid_arg;
  return napi_ok;
}


/**
 * Run `fn` on each of `n` jobs laid out `size` bytes apart: job 0 on the calling thread, the
 * others on threads of their own (a job whose thread cannot start runs on the calling thread).
 */
static inline void run_jobs(void *(*fn)(void *), void *jobs, size_t size, int n) {
  pthread_t *tid = calloc(n, sizeof(pthread_t));
  bool *started = calloc(n, sizeof(bool));
  char *job = jobs;
  for (int i = 1; i < n; i++)
    if (!(started[i] = pthread_create(&tid[i], NULL, fn, job + i * size) == 0)) fn(job + i * size);
  fn(job);
  for (int i = 1; i < n; i++) if (started[i]) pthread_join(tid[i], NULL);
  free(tid); free(started);
}

/** Exactly `n` arguments into argv, or a TypeError "NAME: expected n arguments" thrown and false. */
static inline bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *name) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == n) return true;
  char msg[96];
  snprintf(msg, sizeof msg, "%s: expected %d arguments", name, (int)n);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

/** The selective scan (scan.c), registered by the module's init in influence.c. */
napi_value scan(napi_env env, napi_callback_info info);
/** Mamba-2's selective scan, one decay per head (scan.c). */
napi_value scan2(napi_env env, napi_callback_info info);
/** The allocator's free pages back to the system (memory.c), registered the same way. */
napi_value release_free_memory(napi_env env, napi_callback_info info);
/** The Mamba-1 decoding step (step.c): stepCreate, stepSetLayer, step, stepRelease, registered the same way. */
napi_value step_create(napi_env env, napi_callback_info info);
napi_value step_set_layer(napi_env env, napi_callback_info info);
napi_value step_run(napi_env env, napi_callback_info info);
napi_value step_release(napi_env env, napi_callback_info info);

#endif

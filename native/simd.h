// What the kernels of this addon share (influence.c, scan.c): float32 vectors of LANES lanes
// (one AVX-512 register; GCC splits them on narrower CPUs), exp for x ≤ 0, and reading a typed
// array argument.
#ifndef SIMBA_SIMD_H
#define SIMBA_SIMD_H
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <node_api.h>

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
#define LANES 16

// exp(x) for x ≤ 0, LANES at a time: x = k·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-6 polynomial
// (Cephes' expf coefficients, ~1 ulp), 2^k built in the exponent bits. Below -87.3 exp(x) is
// under float32's smallest normal (1.2e-38) and counts as 0. Written out instead of calling
// libm so that it vectorises without -ffast-math and has no slow path for tiny results (glibc's
// vector expf leaves for a scalar path on such lanes, which made this kernel slower than ORT).
static inline __attribute__((always_inline)) vf exp_neg(vf x) {
  const vi live = x >= -87.3f;  // all ones where exp(x) is normal
  const vf lo = (vf)(((vi)x & live) | ((vi)((vf){0} - 87.3f) & ~live));
  const vf magic = (vf){0} + 12582912.f;  // 1.5·2^23: adding it rounds to an integer
  const vf t = lo * 1.44269504f + magic;
  const vf k = t - magic;
  const vf r = (lo - k * 0.693359375f) + k * 2.12194440e-4f;
  vf p = (vf){0} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.f;
  const vi bits = ((vi)t - (vi)magic + 127) << 23;  // k is the low bits of t's mantissa
  const vf y = p * (vf)bits;
  return (vf)((vi)y & live);
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

/** The selective scan (scan.c), registered by the module's init in influence.c. */
napi_value scan(napi_env env, napi_callback_info info);

#endif

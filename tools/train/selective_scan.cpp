// Fused CPU selective scan for Mamba-1 (forward and backward), float32, vectorised across channels.
// Layout: u, delta, y, dy: (B, L, E) contiguous; A: (E, N); Bm, Cm: (B, L, N) contiguous.
//   h_t = exp(delta_t * A) * h_{t-1} + delta_t * u_t * B_t ;  y_t = <h_t, C_t>    (h_{-1} = 0)
// The D skip and the SiLU(z) gate are applied outside, in PyTorch.
// Channels are processed in blocks of W=16 lanes (one AVX-512 vector); E must be a multiple of 16.
// The backward pass recomputes the states of one block (L x N x W floats) and then runs in reverse.
#include <torch/extension.h>
#include <vector>
#include <cmath>
#include <cstring>

static constexpr int W = 16;

// exp for x <= 0 (x = delta*A): 2^(x*log2 e), degree-6 polynomial on [-0.5, 0.5]; rel. err ~2e-7.
// Written so that gcc vectorises it (glibc expf calls do not vectorise here).
static inline float vexp(float x) {
  x = x < -87.f ? -87.f : x;
  const float t = x * 1.4426950408889634f;
  const float fi = __builtin_floorf(t + 0.5f);
  const float f = t - fi;
  float p = 1.5403530393381609e-4f;
  p = p * f + 1.3333558146428443e-3f;
  p = p * f + 9.6181291076284772e-3f;
  p = p * f + 5.5504108664821580e-2f;
  p = p * f + 2.4022650695910071e-1f;
  p = p * f + 6.9314718055994531e-1f;
  p = p * f + 1.0f;
  const int bits = ((int)fi + 127) << 23;
  float sc;
  __builtin_memcpy(&sc, &bits, 4);
  return p * sc;
}

typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

static inline v16 ld(const float* p) { v16 v; __builtin_memcpy(&v, p, 64); return v; }
static inline void st(float* p, v16 v) { __builtin_memcpy(p, &v, 64); }
static inline v16 splat(float x) { return v16{} + x; }

// same as vexp, on 16 lanes (x <= 0 assumed; rounding by truncation of t - 0.5 is nearest for t <= 0)
static inline v16 vexp16(v16 x) {
  x = x < -87.f ? splat(-87.f) : x;
  x = x > 0.f ? splat(0.f) : x;
  const v16 t = x * 1.4426950408889634f;
  const v16i ii = __builtin_convertvector(t - 0.5f, v16i);
  const v16 f = t - __builtin_convertvector(ii, v16);
  v16 p = splat(1.5403530393381609e-4f);
  p = p * f + 1.3333558146428443e-3f;
  p = p * f + 9.6181291076284772e-3f;
  p = p * f + 5.5504108664821580e-2f;
  p = p * f + 2.4022650695910071e-1f;
  p = p * f + 6.9314718055994531e-1f;
  p = p * f + 1.0f;
  const v16i bits = (ii + 127) << 23;
  v16 sc;
  __builtin_memcpy(&sc, &bits, 64);
  return p * sc;
}

template <int NT>
static torch::Tensor fwd_t(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor Bm, torch::Tensor Cm) {
  const int64_t Bsz = u.size(0), L = u.size(1), E = u.size(2);
  const int N = NT > 0 ? NT : (int)A.size(1);
  auto y = torch::empty_like(u);
  const float* up = u.data_ptr<float>();
  const float* dp = delta.data_ptr<float>();
  const float* Ap = A.data_ptr<float>();
  const float* Bp = Bm.data_ptr<float>();
  const float* Cp = Cm.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const int64_t nblk = E / W;
  at::parallel_for(0, Bsz * nblk, 1, [&](int64_t s, int64_t e) {
    std::vector<float> hbuf((size_t)N * W), abuf((size_t)N * W);
    float* __restrict__ h = hbuf.data();
    float* __restrict__ At = abuf.data();
    for (int64_t bb = s; bb < e; ++bb) {
      const int64_t b = bb / nblk, e0 = (bb % nblk) * W;
      for (int n = 0; n < N; ++n)
        for (int k = 0; k < W; ++k) { At[n * W + k] = Ap[(e0 + k) * N + n]; h[n * W + k] = 0.f; }
      for (int64_t t = 0; t < L; ++t) {
        const int64_t off = (b * L + t) * E + e0;
        const float* __restrict__ dt = dp + off;
        const float* __restrict__ ut = up + off;
        const float* __restrict__ Bt = Bp + (b * L + t) * N;
        const float* __restrict__ Ct = Cp + (b * L + t) * N;
        float du[W], acc[W];
        for (int k = 0; k < W; ++k) { du[k] = dt[k] * ut[k]; acc[k] = 0.f; }
        for (int n = 0; n < N; ++n) {
          const float bn = Bt[n], cn = Ct[n];
          float* __restrict__ hn = h + n * W;
          const float* __restrict__ an = At + n * W;
          for (int k = 0; k < W; ++k) {
            hn[k] = vexp(dt[k] * an[k]) * hn[k] + du[k] * bn;
            acc[k] += hn[k] * cn;
          }
        }
        float* __restrict__ yt = yp + off;
        for (int k = 0; k < W; ++k) yt[k] = acc[k];
      }
    }
  });
  return y;
}

template <int NT>
static std::vector<torch::Tensor> bwd_t(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor Bm,
                                        torch::Tensor Cm, torch::Tensor dy) {
  const int64_t Bsz = u.size(0), L = u.size(1), E = u.size(2);
  const int N = NT > 0 ? NT : (int)A.size(1);
  auto du_t = torch::empty_like(u);
  auto dd_t = torch::empty_like(delta);
  auto dA_t = torch::zeros_like(A);
  auto dB_t = torch::zeros_like(Bm);
  auto dC_t = torch::zeros_like(Cm);
  const float* up = u.data_ptr<float>();
  const float* dp = delta.data_ptr<float>();
  const float* Ap = A.data_ptr<float>();
  const float* Bp = Bm.data_ptr<float>();
  const float* Cp = Cm.data_ptr<float>();
  const float* dyp = dy.data_ptr<float>();
  float* dup = du_t.data_ptr<float>();
  float* ddp = dd_t.data_ptr<float>();
  float* dAp = dA_t.data_ptr<float>();
  float* dBp = dB_t.data_ptr<float>();
  float* dCp = dC_t.data_ptr<float>();
  const int64_t nblk = E / W;
  // lane-wise partial sums of dB, dC (reduced over lanes at the end of each batch row)
  std::vector<float> Hs((size_t)(L + 1) * N * W), dBacc((size_t)L * N * W), dCacc((size_t)L * N * W);
  std::vector<float> abuf((size_t)N * W), gbuf((size_t)N * W), dAbuf((size_t)N * W);
  float* __restrict__ H = Hs.data();
  float* __restrict__ dBa = dBacc.data();
  float* __restrict__ dCa = dCacc.data();
  float* __restrict__ At = abuf.data();
  float* __restrict__ g = gbuf.data();
  float* __restrict__ dAa = dAbuf.data();
  for (int64_t b = 0; b < Bsz; ++b) {
    std::memset(dBa, 0, sizeof(float) * L * N * W);
    std::memset(dCa, 0, sizeof(float) * L * N * W);
    for (int64_t blk = 0; blk < nblk; ++blk) {
      const int64_t e0 = blk * W;
      for (int n = 0; n < N; ++n)
        for (int k = 0; k < W; ++k) {
          At[n * W + k] = Ap[(e0 + k) * N + n];
          H[n * W + k] = 0.f; g[n * W + k] = 0.f; dAa[n * W + k] = 0.f;
        }
      // recompute states: H[(t+1)] = h_t
      for (int64_t t = 0; t < L; ++t) {
        const int64_t off = (b * L + t) * E + e0;
        const v16 dt = ld(dp + off), du = dt * ld(up + off);
        const float* __restrict__ Bt = Bp + (b * L + t) * N;
        const float* __restrict__ hp = H + t * N * W;
        float* __restrict__ hc = H + (t + 1) * N * W;
        for (int n = 0; n < N; ++n)
          st(hc + n * W, vexp16(dt * ld(At + n * W)) * ld(hp + n * W) + du * Bt[n]);
      }
      for (int64_t t = L - 1; t >= 0; --t) {
        const int64_t off = (b * L + t) * E + e0;
        const v16 dt = ld(dp + off), ut = ld(up + off), dyt = ld(dyp + off);
        const float* __restrict__ Bt = Bp + (b * L + t) * N;
        const float* __restrict__ Ct = Cp + (b * L + t) * N;
        const float* __restrict__ hp = H + t * N * W;
        const float* __restrict__ hc = H + (t + 1) * N * W;
        float* __restrict__ dBt = dBa + t * N * W;
        float* __restrict__ dCt = dCa + t * N * W;
        v16 ddv = splat(0.f), duv = splat(0.f);
        const v16 dut = dt * ut;
        for (int n = 0; n < N; ++n) {
          const float bn = Bt[n], cn = Ct[n];
          const int i = n * W;
          st(dCt + i, ld(dCt + i) + dyt * ld(hc + i));
          const v16 An = ld(At + i);
          const v16 gn = ld(g + i) + dyt * cn;          // dL/dh_t
          const v16 da = vexp16(dt * An);
          const v16 gh = gn * ld(hp + i) * da;           // dL/d(delta*A)
          ddv += gh * An + gn * ut * bn;
          st(dAa + i, ld(dAa + i) + gh * dt);
          duv += gn * bn;
          st(dBt + i, ld(dBt + i) + gn * dut);
          st(g + i, gn * da);                            // to h_{t-1}
        }
        st(ddp + off, ddv);
        st(dup + off, duv * dt);
      }
      for (int n = 0; n < N; ++n)
        for (int k = 0; k < W; ++k) dAp[(e0 + k) * N + n] += dAa[n * W + k];
    }
    for (int64_t t = 0; t < L; ++t)
      for (int n = 0; n < N; ++n) {
        float sb = 0.f, sc = 0.f;
        for (int k = 0; k < W; ++k) { sb += dBa[(t * N + n) * W + k]; sc += dCa[(t * N + n) * W + k]; }
        dBp[(b * L + t) * N + n] = sb;
        dCp[(b * L + t) * N + n] = sc;
      }
  }
  return {du_t, dd_t, dA_t, dB_t, dC_t};
}

static void check(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                  const torch::Tensor& Bm, const torch::Tensor& Cm) {
  for (auto* t : {&u, &delta, &A, &Bm, &Cm})
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == torch::kFloat32, "contiguous float32 expected");
  TORCH_CHECK(u.size(2) % W == 0, "d_inner must be a multiple of 16");
}

torch::Tensor scan_fwd(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor Bm, torch::Tensor Cm) {
  check(u, delta, A, Bm, Cm);
  return A.size(1) == 16 ? fwd_t<16>(u, delta, A, Bm, Cm) : fwd_t<0>(u, delta, A, Bm, Cm);
}

std::vector<torch::Tensor> scan_bwd(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor Bm,
                                    torch::Tensor Cm, torch::Tensor dy) {
  check(u, delta, A, Bm, Cm);
  TORCH_CHECK(dy.is_contiguous(), "dy must be contiguous");
  return A.size(1) == 16 ? bwd_t<16>(u, delta, A, Bm, Cm, dy) : bwd_t<0>(u, delta, A, Bm, Cm, dy);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("fwd", &scan_fwd, "selective scan forward, (B,L,E) layout");
  m.def("bwd", &scan_bwd, "selective scan backward, (B,L,E) layout");
}

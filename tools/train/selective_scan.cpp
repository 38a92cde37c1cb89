// Fused CPU selective scan for Mamba-1 (forward and backward), float32.
// Shapes: u, delta: (B, E, L) contiguous; A: (E, N); Bm, Cm: (B, L, N) contiguous.
// Computes h_t = exp(delta_t * A) * h_{t-1} + delta_t * u_t * B_t ; y_t = <h_t, C_t>
// (the D skip and the SiLU(z) gate are applied outside, in PyTorch).
#include <torch/extension.h>
#include <vector>
#include <cmath>

static const int NMAX = 64;

torch::Tensor scan_fwd(torch::Tensor u, torch::Tensor delta, torch::Tensor A,
                       torch::Tensor Bm, torch::Tensor Cm) {
  const int64_t Bsz = u.size(0), E = u.size(1), L = u.size(2), N = A.size(1);
  TORCH_CHECK(N <= NMAX, "d_state too large");
  auto y = torch::empty_like(u);
  const float* up = u.data_ptr<float>();
  const float* dp = delta.data_ptr<float>();
  const float* Ap = A.data_ptr<float>();
  const float* Bp = Bm.data_ptr<float>();
  const float* Cp = Cm.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, Bsz * E, 1, [&](int64_t s, int64_t e) {
    for (int64_t bd = s; bd < e; ++bd) {
      const int64_t b = bd / E, d = bd % E;
      const float* ur = up + bd * L;
      const float* dr = dp + bd * L;
      const float* Ar = Ap + d * N;
      const float* Bb = Bp + b * L * N;
      const float* Cb = Cp + b * L * N;
      float* yr = yp + bd * L;
      float h[NMAX];
      for (int n = 0; n < N; ++n) h[n] = 0.f;
      for (int64_t t = 0; t < L; ++t) {
        const float dt = dr[t], du = dt * ur[t];
        const float* Bt = Bb + t * N;
        const float* Ct = Cb + t * N;
        float acc = 0.f;
        for (int n = 0; n < N; ++n) {
          h[n] = expf(dt * Ar[n]) * h[n] + du * Bt[n];
          acc += h[n] * Ct[n];
        }
        yr[t] = acc;
      }
    }
  });
  return y;
}

// returns du, ddelta, dA, dB, dC
std::vector<torch::Tensor> scan_bwd(torch::Tensor u, torch::Tensor delta, torch::Tensor A,
                                    torch::Tensor Bm, torch::Tensor Cm, torch::Tensor dy) {
  const int64_t Bsz = u.size(0), E = u.size(1), L = u.size(2), N = A.size(1);
  auto du_t = torch::empty_like(u);
  auto ddelta_t = torch::empty_like(delta);
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
  float* ddp = ddelta_t.data_ptr<float>();
  float* dAp = dA_t.data_ptr<float>();
  float* dBp = dB_t.data_ptr<float>();
  float* dCp = dC_t.data_ptr<float>();
  // single-threaded over (b,d) because dB/dC/dA are shared accumulators
  std::vector<float> hs((size_t)(L + 1) * N);
  std::vector<float> es((size_t)L * N);
  for (int64_t bd = 0; bd < Bsz * E; ++bd) {
    const int64_t b = bd / E, d = bd % E;
    const float* ur = up + bd * L;
    const float* dr = dp + bd * L;
    const float* dyr = dyp + bd * L;
    const float* Ar = Ap + d * N;
    const float* Bb = Bp + b * L * N;
    const float* Cb = Cp + b * L * N;
    float* dBb = dBp + b * L * N;
    float* dCb = dCp + b * L * N;
    float* dAr = dAp + d * N;
    float* dur = dup + bd * L;
    float* ddr = ddp + bd * L;
    float* __restrict__ H = hs.data();  // H[(t+1)*N + n] = h_t ; H[0..N) = h_{-1} = 0
    float* __restrict__ EA = es.data();  // EA[t*N + n] = exp(delta_t * A_n)
    for (int n = 0; n < N; ++n) H[n] = 0.f;
    for (int64_t t = 0; t < L; ++t) {
      const float dt = dr[t], dut = dt * ur[t];
      const float* __restrict__ Bt = Bb + t * N;
      const float* __restrict__ hp = H + t * N;
      float* __restrict__ hc = H + (t + 1) * N;
      float* __restrict__ et = EA + t * N;
      for (int n = 0; n < N; ++n) et[n] = expf(dt * Ar[n]);
      for (int n = 0; n < N; ++n) hc[n] = et[n] * hp[n] + dut * Bt[n];
    }
    float g[NMAX], dA_acc[NMAX];
    for (int n = 0; n < N; ++n) { g[n] = 0.f; dA_acc[n] = 0.f; }
    for (int64_t t = L - 1; t >= 0; --t) {
      const float dt = dr[t], ut = ur[t], dyt = dyr[t];
      const float* __restrict__ Bt = Bb + t * N;
      const float* __restrict__ Ct = Cb + t * N;
      float* __restrict__ dBt = dBb + t * N;
      float* __restrict__ dCt = dCb + t * N;
      const float* __restrict__ hp = H + t * N;
      const float* __restrict__ hc = H + (t + 1) * N;
      const float* __restrict__ et = EA + t * N;
      float dd = 0.f, duu = 0.f;
      const float dut = dt * ut;
      for (int n = 0; n < N; ++n) {
        dCt[n] += dyt * hc[n];
        const float gn = g[n] + dyt * Ct[n];       // dL/dh_t
        const float da = et[n];
        const float gh = gn * hp[n] * da;           // dL/d(dt*A) 
        dd += gh * Ar[n] + gn * ut * Bt[n];
        dA_acc[n] += gh * dt;
        duu += gn * Bt[n];
        dBt[n] += gn * dut;
        g[n] = gn * da;                              // carried to h_{t-1}
      }
      ddr[t] = dd;
      dur[t] = duu * dt;
    }
    for (int n = 0; n < N; ++n) dAr[n] += dA_acc[n];
  }
  return {du_t, ddelta_t, dA_t, dB_t, dC_t};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("fwd", &scan_fwd, "selective scan forward");
  m.def("bwd", &scan_bwd, "selective scan backward");
}

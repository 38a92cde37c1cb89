// Simba's influence score of one layer's alive tokens, fused into one pass on the CPU (a Node-API
// addon). For tokens t and channels e (docs: ../shared/design/simba-method.md §2):
//   Δy_T(t)[e] = u_t[e]·Δ_t[e]·Σ_n C_T[n]·B_t[n]·exp(A[e,n]·S_t[e]),  S_t[e] = Σ_{k>t} Δ_k[e]
// Why native: the score needs exp(A·S) for every alive token × channel × state, as much work as
// the scan it prunes. As an ONNX graph (src/engine/graphs/score.ts, still used on GPUs) each op
// makes its own pass over a (chunk, N, E) tensor in memory and ORT's Exp and broadcast Mul cost
// ~0.8 ns per element; here the exp, the sum over n, the channel reductions and the suffix sum
// happen in registers, one walk from the last token to the first, with no tensor at all.
//
// Work is split by channels: each thread owns a contiguous range of channels (it reads only its
// part of each row of u and Δ), walks t from T-1 down to 0 a tile of tokens at a time carrying
// their S (in double, like the reference), and writes one partial reduction per token; the
// caller's thread then combines them. Far from the last token most of the exps have underflowed
// (exp(A[e,n]·S) with S growing): a block drops each state once it is 0, or below float32's
// resolution next to its channel's slowest state, on every lane, and the block itself once none
// is left, so the work follows what is not 0.
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include "simd.h"

enum reduce { SIGNED_MAX = 0, ABS_MAX = 1, MEAN_ABS = 2 };

typedef struct {
  const float *u, *delta, *B, *cT, *A;  // A: (E, N)
  int64_t T, E, N;
  const int32_t *ch;                    // this job's channels, in blocks of LANES
  int64_t first, len;                   // ch[] lies in [first, first + len)
  int reduce;
  float *partial;                       // (T) this job's reduction per token
  double *channelSum;                   // (E) shared; each job writes only its own channels
} job_t;

#define TILE 4
// ln 2^24: a state whose exp(A·S) has fallen below 2^-24 (float32's resolution) of its channel's
// slowest state's is dropped (prune_states).
#define REL_CUT 16.635532f

// One tile of up to TILE tokens (t, t-1, …: rows_u[i], rows_d[i] and the weights w[i·N + n] of
// token i) over a job's live blocks of LANES channels, with the sums in registers:
//   c[e] = ud[e]·Σ_n w[n]·exp(A[e,n]·S[e])    (ud = u_t⊙Δ_t, w = B_t⊙C_T)
// then the three channel reductions of c per token, c into the channel sums and Δ_t into S (the
// next token's suffix sum). A block's live states are summed for the whole tile at once, state by
// state, so each step has TILE independent exps (one token at a time, each block's work was too
// short to hide an exp's latency). Everything is in the job's own channel order (e' of run_job),
// so these loops are contiguous and vectorise; only the gather of u_t and Δ_t into that order is
// scalar. Each block sums only its live states (live[b], nlive[b], ascending: each token's sum
// runs over n in the same order as the reference's). `real` is all ones on real lanes and 0 on
// the padding that rounds the last block up to a whole vector: u_t⊙Δ_t and Δ_t are 0 there, and
// the signed max sees -inf there, so padding never wins it. Tokens past `nt` (the last tile)
// repeat a real row with Δ and w zeroed, and are not reduced.
// On x86-64 Linux it is compiled for AVX-512, AVX2+FMA and baseline x86-64, and the loader
// picks what the CPU supports.
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void tile(const float *restrict At, float *restrict S, double *restrict Sd, double *restrict csum, const float *restrict w, const float *const *rows_u, const float *const *rows_d, int nt, const int32_t *restrict ch, const int32_t *restrict real, const int32_t *restrict blocks, int64_t nblocks, const int32_t *restrict live, const int32_t *restrict nlive, int64_t N, float *restrict gbuf, const float *const *ahead, int64_t nahead, int64_t span, float out[TILE][3]) {
  // The next tile's rows (ahead: nahead rows of span floats), asked for a few lines per block so
  // that they arrive in L2 while this tile's exps run: the gather reads rows in the job's channel
  // order, which the hardware prefetcher cannot follow (unprefetched, its loads were ~40 % of the
  // kernel; prefetched all at once, or into L1, they evicted the rows in use).
  const int64_t rowLines = (span + 15) / 16, lines = nahead * rowLines;
  const int64_t per = nblocks > 0 ? (lines + nblocks - 1) / nblocks : 0;
  int64_t line = 0, row = 0, col = 0;
  // Everything carried from one iteration to the next is in halves (simd.h).
  vh best[TILE][2], best_abs[TILE][2], sum_abs[TILE][2];
  for (int i = 0; i < TILE; i++)
    for (int h = 0; h < 2; h++) best[i][h] = (vh){0} - INFINITY, best_abs[i][h] = sum_abs[i][h] = (vh){0};
  float *gu = gbuf, *gd = gbuf + TILE * LANES;  // the tile's u_t and Δ_t in the block's order
  for (int64_t bi = 0; bi < nblocks; bi++) {
    const int64_t b = blocks[bi], e = b * LANES;
    for (int64_t q = 0; q < per && line < lines; q++, line++) {
      __builtin_prefetch(ahead[row] + col * 16, 0, 2);
      if (++col == rowLines) col = 0, row++;
    }
    // Gathered lane by lane into memory: GCC builds a vf from scalars with a chain of masked
    // broadcasts, one after the other, which cost more than the exps of a block. Rows past nt
    // repeat a real row (run_job) and are zeroed below.
    int32_t idx[LANES];
    memcpy(idx, ch + e, sizeof idx);
#pragma GCC unroll 4
    for (int i = 0; i < TILE; i++) {
      const float *restrict pu = rows_u[i], *restrict pd = rows_d[i];
#pragma GCC unroll 16
      for (int k = 0; k < LANES; k++) gu[i * LANES + k] = pu[idx[k]], gd[i * LANES + k] = pd[idx[k]];
    }
    vi m;
    memcpy(&m, real + e, sizeof m);
    const vf pad = (vf)((vi)((vf){0} - INFINITY) & ~m);
    // Each token's S: the block's S for the first, then Δ of the token before added in double.
    vf s[TILE], dv[TILE];
    vd sd[2];
    memcpy(&s[0], S + e, sizeof s[0]);
    memcpy(sd, Sd + e, sizeof sd);
    for (int i = 0; i < TILE; i++) {
      memcpy(&dv[i], gd + i * LANES, sizeof dv[i]);
      dv[i] = (vf)((vi)dv[i] & m);
      if (i >= nt) dv[i] = (vf){0};
      vh dh[2];
      memcpy(dh, &dv[i], sizeof dh);
      for (int h = 0; h < 2; h++) sd[h] += __builtin_convertvector(dh[h], vd);
      const vh sh[2] = {__builtin_convertvector(sd[0], vh), __builtin_convertvector(sd[1], vh)};
      if (i + 1 < TILE) memcpy(&s[i + 1], sh, sizeof s[i + 1]);
      else memcpy(S + e, sh, sizeof sh);
    }
    memcpy(Sd + e, sd, sizeof sd);
    vh lo[TILE] = {{0}}, hi[TILE] = {{0}};
    const int32_t *ln = live + b * N;
    for (int32_t k = 0; k < nlive[b]; k++) {
      const int64_t n = ln[k];
      vf a;
      memcpy(&a, At + (b * N + n) * LANES, sizeof a);
#pragma GCC unroll 4
      for (int i = 0; i < TILE; i++) add_halves(&lo[i], &hi[i], w[i * N + n] * exp_neg(a * s[i]));
    }
    vd cs[2];
    memcpy(cs, csum + e, sizeof cs);
    for (int i = 0; i < nt; i++) {
      vf x;
      memcpy(&x, gu + i * LANES, sizeof x);
      x = (vf)((vi)(x * dv[i]) & m);
      vh xh[2], ph[2];
      memcpy(xh, &x, sizeof x);
      memcpy(ph, &pad, sizeof pad);
      xh[0] *= lo[i], xh[1] *= hi[i];
      for (int h = 0; h < 2; h++) {
        const vh ax = (vh)((vhi)xh[h] & 0x7fffffff);
        best[i][h] = max_h(best[i][h], xh[h] + ph[h]);
        best_abs[i][h] = max_h(best_abs[i][h], ax);
        sum_abs[i][h] += ax;
        cs[h] += __builtin_convertvector(xh[h], vd);
      }
    }
    memcpy(csum + e, cs, sizeof cs);
  }
  for (int i = 0; i < nt; i++) {
    out[i][0] = -INFINITY, out[i][1] = 0.f, out[i][2] = 0.f;
    for (int h = 0; h < 2; h++)
      for (int k = 0; k < LANES / 2; k++) {
        out[i][0] = fmaxf(out[i][0], best[i][h][k]);
        out[i][1] = fmaxf(out[i][1], best_abs[i][h][k]);
        out[i][2] += sum_abs[i][h][k];
      }
  }
}

// Drops from each live block's list the states whose exp(A·S) is, on every real lane, exactly 0
// or below 2^-24 of the same lane's slowest state (float32's resolution: the term is lost in the
// rounding of the channel's sum at that state's weight), and the blocks with none left (their
// channels contribute exactly 0 from here to the first token, as S only grows). rate[b][n] = min
// over the block's lanes of -A[e,n], gap[b][n] = min over them of -A[e,n] - min_m -A[e,m]; float
// products are monotone, so rate·min(S) > 87.3 means every lane's A·S < -87.3, where exp_neg
// returns 0, and gap·min(S) > ln 2^24 every lane's ratio to its slowest state below 2^-24. (The
// second rule, on the 130m shape at 8k tokens: half the exps, each score within 2.4e-5 of itself.)
// Returns the number of live blocks left (compacted to the front of `blocks`).
static int64_t prune_states(const float *restrict S, const float *restrict rate, const float *restrict gap, int32_t *restrict blocks, int64_t nblocks, int32_t *restrict live, int32_t *restrict nlive, int64_t len, int64_t N) {
  int64_t left = 0;
  for (int64_t i = 0; i < nblocks; i++) {
    const int64_t b = blocks[i], e0 = b * LANES;
    float smin = INFINITY;
    for (int64_t e = e0; e < e0 + LANES && e < len; e++) smin = S[e] < smin ? S[e] : smin;
    int32_t *ln = live + b * N;
    int32_t kept = 0;
    for (int32_t k = 0; k < nlive[b]; k++)
      if (!(rate[b * N + ln[k]] * smin > -EXP_MIN) && !(gap[b * N + ln[k]] * smin > REL_CUT)) ln[kept++] = ln[k];
    nlive[b] = kept;
    if (kept > 0) blocks[left++] = (int32_t)b;
  }
  return left;
}

// The job's channels are ch[e'] for e' < len, in blocks of LANES; its arrays are indexed by e'.
static void *run_job(void *arg) {
  job_t *j = (job_t *)arg;
  const int64_t E = j->E, N = j->N, len = j->len;
  const int32_t *ch = j->ch;
  const int64_t nb = (len + LANES - 1) / LANES, padded = nb * LANES;
  // This job's A as (block, N, LANES); its channels, their mask, S (float and double) and the
  // channel sums, padded to whole vectors (the padding stays 0).
  float *At = calloc(nb * N * LANES, sizeof(float)), *S = calloc(padded, sizeof(float));
  int32_t *chp = calloc(padded, sizeof(int32_t)), *real = calloc(padded, sizeof(int32_t));
  double *Sd = calloc(padded, sizeof(double)), *csum = calloc(padded, sizeof(double));
  float *rate = malloc(nb * N * sizeof(float)); // per block and state: slowest decay, min_e -A[e,n]
  // per block and state: min over the lanes of how much faster the state decays than its channel's slowest
  float *gap = malloc(nb * N * sizeof(float)), *slowest = malloc((len > 0 ? len : 1) * sizeof(float));
  int32_t *live = malloc(nb * N * sizeof(int32_t)), *nlive = malloc(nb * sizeof(int32_t));
  int32_t *blocks = malloc(nb * sizeof(int32_t));
  int64_t nblocks = nb;
  for (int64_t e = 0; e < len; e++) chp[e] = (int32_t)(ch[e] - j->first), real[e] = -1;
  for (int64_t b = 0; b < nb; b++) {
    blocks[b] = (int32_t)b, nlive[b] = (int32_t)N;
    for (int64_t n = 0; n < N; n++) live[b * N + n] = (int32_t)n, rate[b * N + n] = gap[b * N + n] = INFINITY;
  }
  for (int64_t e = 0; e < len; e++) {
    slowest[e] = INFINITY;
    for (int64_t n = 0; n < N; n++) slowest[e] = fminf(slowest[e], -j->A[ch[e] * N + n]);
  }
  for (int64_t e = 0; e < len; e++)
    for (int64_t n = 0; n < N; n++) {
      const int64_t b = e / LANES;
      const float a = j->A[ch[e] * N + n];
      At[(b * N + n) * LANES + e % LANES] = a;
      rate[b * N + n] = fminf(rate[b * N + n], -a);
      gap[b * N + n] = fminf(gap[b * N + n], -a - slowest[e]);
    }
  memset(j->partial, 0, j->T * sizeof(float)); // tokens past the early exit contribute exactly 0
  float *w = calloc(TILE * N, sizeof(float)), *gbuf = malloc(2 * TILE * LANES * sizeof(float));
  for (int64_t t = j->T - 1; t >= 0; t -= TILE) {
    // Checked every tile: a dead state summed a little longer adds exactly 0.
    nblocks = prune_states(S, rate, gap, blocks, nblocks, live, nlive, len, N);
    if (nblocks == 0) break;
    const int nt = t + 1 < TILE ? (int)(t + 1) : TILE;
    for (int i = 0; i < TILE; i++)
      for (int64_t n = 0; n < N; n++) w[i * N + n] = i < nt ? j->B[(t - i) * N + n] * j->cT[n] : 0.f;
    const float *ru[TILE], *rd[TILE];
    for (int i = 0; i < TILE; i++) {
      const int64_t r = t - (i < nt ? i : 0);
      ru[i] = j->u + r * E + j->first, rd[i] = j->delta + r * E + j->first;
    }
    const float *ahead[2 * TILE];
    int64_t nahead = 0;
    for (int i = TILE; i < 2 * TILE && t - i >= 0; i++) {
      ahead[nahead++] = j->u + (t - i) * E + j->first;
      ahead[nahead++] = j->delta + (t - i) * E + j->first;
    }
    float r[TILE][3];
    tile(At, S, Sd, csum, w, ru, rd, nt, chp, real, blocks, nblocks, live, nlive, N, gbuf, ahead, nahead, len, r);
    // A dead block's channels are 0 at this token: the signed max counts them.
    for (int i = 0; i < nt; i++)
      j->partial[t - i] = j->reduce == SIGNED_MAX && nblocks < nb ? fmaxf(r[i][0], 0.f) : r[i][j->reduce];
  }
  free(gbuf);
  for (int64_t e = 0; e < len; e++) j->channelSum[ch[e]] += csum[e];
  free(At); free(S); free(chp); free(real); free(w); free(Sd); free(csum); free(rate); free(gap); free(slowest); free(live); free(nlive); free(blocks);
  return NULL;
}

// Each thread gets a contiguous range of channels (so it reads only its part of each row: the
// kernel streams u and Δ from memory, and with the channels dealt across the whole row both threads
// read every line); within it the channels that decay fastest (largest Σ_t Δ_t[e]) go first and
// share blocks with their like, so a block's slowest lane is not far behind its others. Fills
// order (E): each job's channels, job after job, first[i] and len[i] its range.
static void deal_channels(const float *delta, int64_t T, int64_t E, int threads, int32_t *order, int64_t *first, int64_t *len) {
  // Every 4th token, in float: the order only decides how fast the kernel is (and the rounding of
  // the mean), not which channels a token's score sums.
  float *total = calloc(E, sizeof(float));
  for (int64_t t = 0; t < T; t += 4) for (int64_t e = 0; e < E; e++) total[e] += delta[t * E + e];
  const int64_t nb = (E + LANES - 1) / LANES;
  for (int i = 0; i < threads; i++) {
    const int64_t lo = nb * i / threads * LANES, hi = nb * (i + 1) / threads * LANES;
    first[i] = lo, len[i] = (hi < E ? hi : E) - lo;
    int32_t *sorted = order + lo;
    // Insertion sort on a few thousand channels costs less than the first token's exps.
    for (int64_t k = 0; k < len[i]; k++) {
      const int32_t v = (int32_t)(lo + k);
      int64_t m = k;
      for (; m > 0 && total[sorted[m - 1]] < total[v]; m--) sorted[m] = sorted[m - 1];
      sorted[m] = v;
    }
  }
  free(total);
}

// score(u, delta, B, C_T, A, scores, channelSum, reduce, threads): u, delta (T, E); B (T, N); C_T
// (N); A (E, N) float32; fills scores (T, float32) and adds into channelSum (E, float64).
static napi_value score(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!get_args(env, info, 9, argv, "score")) return NULL;
  void *p[7];
  size_t n[7];
  for (int i = 0; i < 7; i++) {
    if (float_array(env, argv[i], i == 6 ? napi_float64_array : napi_float32_array, &p[i], &n[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, i == 6 ? "score: channelSum must be a Float64Array" : "score: arrays 0-5 must be Float32Arrays");
      return NULL;
    }
  }
  int32_t reduce, threads;
  napi_get_value_int32(env, argv[7], &reduce);
  napi_get_value_int32(env, argv[8], &threads);
  const int64_t T = n[5], E = n[6], N = n[3];
  if (n[0] != (size_t)(T * E) || n[1] != (size_t)(T * E) || n[2] != (size_t)(T * N) || n[4] != (size_t)(E * N) || reduce < 0 || reduce > 2) {
    napi_throw_range_error(env, NULL, "score: array sizes do not agree (u, delta: T*E; B: T*N; C_T: N; A: E*N; scores: T; channelSum: E)");
    return NULL;
  }
  if (threads < 1) threads = 1;
  const int64_t blocks = (E + LANES - 1) / LANES;
  if (threads > blocks) threads = (int32_t)(blocks > 0 ? blocks : 1);
  float *partial = malloc((size_t)threads * T * sizeof(float));
  int32_t *order = malloc((E > 0 ? E : 1) * sizeof(int32_t));
  int64_t *len = calloc(threads, sizeof(int64_t)), *first = calloc(threads, sizeof(int64_t));
  deal_channels(p[1], T, E, threads, order, first, len);
  job_t *jobs = calloc(threads, sizeof(job_t));
  for (int i = 0, at = 0; i < threads; at += (int)len[i], i++) {
    jobs[i] = (job_t){ p[0], p[1], p[2], p[3], p[4], T, E, N, order + at, first[i], len[i], reduce, partial + (int64_t)i * T, p[6] };
  }
  run_jobs(run_job, jobs, sizeof(job_t), threads);
  float *scores = p[5];
  for (int64_t t = 0; t < T; t++) {
    float v = partial[t];
    for (int i = 1; i < threads; i++) v = reduce == MEAN_ABS ? v + partial[(int64_t)i * T + t] : fmaxf(v, partial[(int64_t)i * T + t]);
    scores[t] = reduce == MEAN_ABS ? v / (float)E : v;
  }
  free(partial); free(jobs); free(order); free(len); free(first);
  return NULL;
}

// ----------------------------------------------------------------------------- Mamba-2
// For token t, head h, channel p of the head (e = h·P + p) and group g(h) = h / (H/G):
//   Δy_T(t)[e] = x_t[e]·w_t[h],  w_t[h] = Δ_t[h]·(C_T[g(h)]·B_t[g(h)])·exp(A[h]·S_t[h]),
//   S_t[h] = Σ_{k>t} Δ_k[h]
// One exp per (token, head): the work is a multiply per (token, channel), memory-bound. The
// suffix sums S (double) are computed first on the calling thread; then each thread scores its
// own range of tokens and keeps its own channel sums, added up at the end.

typedef struct {
  const float *x, *delta, *B, *cT, *A;  // x (T, E), delta (T, H), B (T, G·N), C_T (G·N), A (H)
  const double *S;                      // (T, H) exclusive suffix sums of delta
  int64_t T, E, H, P, G, N;
  int64_t t0, t1;                       // this job's token range
  int reduce;
  float *scores;                        // (T) each job writes only its own range
  double *channelSum;                   // (E) this job's own partial sums
} job2_t;

static void *run_job2(void *arg) {
  job2_t *j = (job2_t *)arg;
  const int64_t E = j->E, H = j->H, P = j->P, G = j->G, N = j->N, per = H / G;
  double *w = malloc(H * sizeof(double)), *cb = malloc(G * sizeof(double));
  for (int64_t t = j->t0; t < j->t1; t++) {
    const float *B = j->B + t * G * N, *d = j->delta + t * H, *x = j->x + t * E;
    const double *S = j->S + t * H;
    for (int64_t g = 0; g < G; g++) {
      double sum = 0;
      for (int64_t n = 0; n < N; n++) sum += (double)B[g * N + n] * (double)j->cT[g * N + n];
      cb[g] = sum;
    }
    for (int64_t h = 0; h < H; h++) w[h] = (double)d[h] * cb[h / per] * exp((double)j->A[h] * S[h]);
    float best = -INFINITY, best_abs = 0.f;
    double sum_abs = 0;
    for (int64_t h = 0; h < H; h++) {
      const float wh = (float)w[h];
      for (int64_t p = 0; p < P; p++) {
        const int64_t e = h * P + p;
        const float c = x[e] * wh, a = fabsf(c);
        best = fmaxf(best, c);
        best_abs = fmaxf(best_abs, a);
        sum_abs += a;
        j->channelSum[e] += c;
      }
    }
    j->scores[t] = j->reduce == SIGNED_MAX ? best : j->reduce == ABS_MAX ? best_abs : (float)(sum_abs / (double)E);
  }
  free(w); free(cb);
  return NULL;
}

// score2(x, delta, B, C_T, A, scores, channelSum, reduce, threads, headDim, groups): x (T, E);
// delta (T, H); B (T, G·N); C_T (G·N); A (H) float32; fills scores (T, float32) and adds into
// channelSum (E, float64).
static napi_value score2(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!get_args(env, info, 11, argv, "score2")) return NULL;
  void *p[7];
  size_t n[7];
  for (int i = 0; i < 7; i++) {
    if (float_array(env, argv[i], i == 6 ? napi_float64_array : napi_float32_array, &p[i], &n[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, i == 6 ? "score2: channelSum must be a Float64Array" : "score2: arrays 0-5 must be Float32Arrays");
      return NULL;
    }
  }
  int32_t reduce, threads, headDim, groups;
  napi_get_value_int32(env, argv[7], &reduce);
  napi_get_value_int32(env, argv[8], &threads);
  napi_get_value_int32(env, argv[9], &headDim);
  napi_get_value_int32(env, argv[10], &groups);
  const int64_t T = n[5], E = n[6], H = n[4], P = headDim, G = groups;
  if (P < 1 || G < 1 || H % G != 0 || H * P != E || n[3] % G != 0) {
    napi_throw_range_error(env, NULL, "score2: shapes do not agree (A: H with H*headDim = E, groups dividing H and C_T)");
    return NULL;
  }
  const int64_t N = n[3] / G;
  if (n[0] != (size_t)(T * E) || n[1] != (size_t)(T * H) || n[2] != (size_t)(T * G * N) || reduce < 0 || reduce > 2 || T < 1) {
    napi_throw_range_error(env, NULL, "score2: array sizes do not agree (x: T*E; delta: T*H; B: T*G*N; C_T: G*N; A: H; scores: T; channelSum: E)");
    return NULL;
  }
  const float *delta = p[1];
  double *S = malloc((size_t)(T * H) * sizeof(double));
  for (int64_t h = 0; h < H; h++) S[(T - 1) * H + h] = 0;
  for (int64_t t = T - 2; t >= 0; t--) for (int64_t h = 0; h < H; h++) S[t * H + h] = S[(t + 1) * H + h] + delta[(t + 1) * H + h];
  if (threads < 1) threads = 1;
  if (threads > T) threads = (int32_t)T;
  double *sums = calloc((size_t)threads * E, sizeof(double));
  job2_t *jobs = calloc(threads, sizeof(job2_t));
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job2_t){ p[0], p[1], p[2], p[3], p[4], S, T, E, H, P, G, N, T * i / threads, T * (i + 1) / threads, reduce, p[5], sums + (int64_t)i * E };
  }
  run_jobs(run_job2, jobs, sizeof(job2_t), threads);
  double *channelSum = p[6];
  for (int i = 0; i < threads; i++) for (int64_t e = 0; e < E; e++) channelSum[e] += sums[(int64_t)i * E + e];
  free(S); free(sums); free(jobs);
  return NULL;
}

NAPI_MODULE_INIT() {
  const struct { const char *name; napi_callback cb; } fns[] = {
    {"score", score}, {"score2", score2}, {"scan", scan}, {"scan2", scan2},
    {"releaseFreeMemory", release_free_memory},
    {"stepCreate", step_create}, {"stepSetLayer", step_set_layer}, {"step", step_run}, {"stepRelease", step_release}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

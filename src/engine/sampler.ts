// Choosing tokens from a next-token distribution, and comparing two distributions.

/** The k most likely ids, most likely first (a partial selection: V is large, k small). */
export function topK(logprobs: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < logprobs.length; i++) {
    if (idx.length < k) {
      idx.push(i);
      if (idx.length === k) idx.sort((a, b) => logprobs[b] - logprobs[a]);
    } else if (logprobs[i] > logprobs[idx[k - 1]]) {
      let j = k - 1;
      while (j > 0 && logprobs[i] > logprobs[idx[j - 1]]) j--;
      idx.splice(j, 0, i);
      idx.pop();
    }
  }
  return idx.length < k ? idx.sort((a, b) => logprobs[b] - logprobs[a]) : idx;
}

/** Sample among the top k at a temperature (> 0), with the caller's seeded random source. */
export function sample(logprobs: Float32Array, temperature: number, k: number, random: () => number): number {
  const ids = topK(logprobs, Math.max(1, k));
  const w = ids.map((i) => Math.exp((logprobs[i] - logprobs[ids[0]]) / temperature));
  let r = random() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < ids.length; i++) {
    r -= w[i];
    if (r <= 0) return ids[i];
  }
  return ids[ids.length - 1];
}

/** KL(p || q) in nats for two log-probability vectors. */
export function klDivergence(logP: Float32Array, logQ: Float32Array): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  return Math.max(0, kl);
}

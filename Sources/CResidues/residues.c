#include "CResidues.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* x = hi * 2^64 + lo, mod d. On x86-64 one divq: the compiler's 128-bit remainder is a
   library call (__umodti3) that took a tenth of `rehost check`'s time. */
static inline uint64_t mod_128(uint64_t hi, uint64_t lo, uint64_t d) {
  if (hi >= d) hi %= d; /* divq faults when the quotient does not fit in 64 bits */
#if defined(__x86_64__)
  uint64_t quotient, remainder;
  __asm__("divq %4" : "=a"(quotient), "=d"(remainder) : "a"(lo), "d"(hi), "rm"(d));
  (void)quotient;
  return remainder;
#else
  return (uint64_t)((((unsigned __int128)hi << 64) | lo) % d);
#endif
}

void rehost_residues_words(const uint64_t *words, size_t word_count, const uint64_t *divisors,
                           const uint64_t *powers, size_t divisor_count, uint64_t *residues) {
  enum { block = 64, rows = block + 1 };
  for (size_t j = 0; j < divisor_count; j++) {
    const uint64_t d = divisors[j], *power = powers + j * rows;
    /* Blocks of 64 words, the most significant (and only possibly shorter) first:
       r = r * 2^4096 + block (mod d). 64 products below 2^122 fit in 128 bits. */
    uint64_t r = 0;
    size_t end = word_count, start = word_count == 0 ? 0 : (word_count - 1) / block * block;
    while (end > 0) {
      /* Two sums, so that each addition need not wait for the one before. */
      unsigned __int128 sum = 0, sum2 = 0;
      const uint64_t *word = words + start;
      size_t count = end - start, i = 0;
      for (; i + 1 < count; i += 2) {
        sum += (unsigned __int128)word[i] * power[i];
        sum2 += (unsigned __int128)word[i + 1] * power[i + 1];
      }
      if (i < count) sum += (unsigned __int128)word[i] * power[i];
      sum += sum2;
      uint64_t value = mod_128((uint64_t)(sum >> 64), (uint64_t)sum, d);
      if (end == word_count) {
        r = value;
      } else {
        unsigned __int128 shifted = (unsigned __int128)r * power[block];
        r = mod_128((uint64_t)(shifted >> 64), (uint64_t)shifted, d) + value;
        if (r >= d) r -= d;
      }
      end = start;
      start = start >= block ? start - block : 0;
    }
    residues[j] = r;
  }
}

static size_t first_dividing_scalar(const uint64_t *residues, const uint32_t *group, const uint64_t *inverse,
                                    const uint64_t *limit, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (residues[group[i]] * inverse[i] <= limit[i]) return i;
  return count;
}

#if defined(__x86_64__)

/* Eight primes per step. Their runs are among the eight from the first one's (runs are
   consecutive and hold at least one prime each), so their residues come from one load and
   a permutation: a gather of the same eight cost 2.6 times as much here. */
__attribute__((target("avx512f,avx512dq"))) static size_t first_dividing_avx512(
    const uint64_t *residues, const uint32_t *group, const uint64_t *inverse, const uint64_t *limit, size_t count) {
  size_t i = 0;
  const size_t groups = count == 0 ? 0 : (size_t)group[count - 1] + 1;
  for (; i + 8 <= count; i += 8) {
    const uint32_t base = group[i];
    if (base + 8 > groups || group[i + 7] - base > 7) break; /* the last runs: scalar */
    __m256i lane = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(group + i)), _mm256_set1_epi32((int)base));
    __m512i r = _mm512_permutexvar_epi64(_mm512_cvtepu32_epi64(lane), _mm512_loadu_si512(residues + base));
    __m512i x = _mm512_mullo_epi64(r, _mm512_loadu_si512(inverse + i));
    __mmask8 hit = _mm512_cmple_epu64_mask(x, _mm512_loadu_si512(limit + i));
    if (hit) return i + (size_t)__builtin_ctz(hit);
  }
  size_t rest = first_dividing_scalar(residues, group + i, inverse + i, limit + i, count - i);
  return i + rest;
}

size_t rehost_first_dividing(const uint64_t *residues, const uint32_t *group, const uint64_t *inverse,
                             const uint64_t *limit, size_t count, int vector) {
  return vector ? first_dividing_avx512(residues, group, inverse, limit, count)
                : first_dividing_scalar(residues, group, inverse, limit, count);
}

#define IFMA __attribute__((target("avx512f,avx512dq,avx512ifma")))
enum { ifma_block = 40, lanes = 8 };

int rehost_residues_ifma_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512ifma");
}

/* Lanes of r, taken as signed, from [-adds * d, (subs + 1) * d) into [0, d). */
IFMA static inline __m512i into_range(__m512i r, __m512i d, int adds, int subs) {
  const __m512i zero = _mm512_setzero_si512();
  for (int k = 0; k < adds; k++) r = _mm512_mask_add_epi64(r, _mm512_cmplt_epi64_mask(r, zero), r, d);
  for (int k = 0; k < subs; k++) r = _mm512_mask_sub_epi64(r, _mm512_cmpge_epi64_mask(r, d), r, d);
  return r;
}

/* x mod d, for x < 2^58 and d in [2^16, 2^52): the quotient is estimated in double
   precision (x / d < 2^42, so the estimate is off by less than one) and the remainder is
   computed exactly in 64-bit arithmetic, where it lies in [-d, 2d). */
IFMA static inline __m512i reduce(__m512i x, __m512i d, __m512d inverse) {
  __m512i q = _mm512_cvttpd_epu64(_mm512_mul_pd(_mm512_cvtepu64_pd(x), inverse));
  return into_range(_mm512_sub_epi64(x, _mm512_mullo_epi64(q, d)), d, 1, 1);
}

/* (a * b + c) mod d, for a, b < d < 2^52 and c < 2^58: the quotient is below 2^53 and its
   estimate off by less than three, so a * b + c - q * d lies in [-2d, 4d), and is exact
   modulo 2^64. */
IFMA static inline __m512i mul_add_mod(__m512i a, __m512i b, __m512i c, __m512i d, __m512d inverse) {
  __m512d estimate = _mm512_fmadd_pd(_mm512_cvtepu64_pd(a), _mm512_cvtepu64_pd(b), _mm512_cvtepu64_pd(c));
  __m512i q = _mm512_cvttpd_epu64(_mm512_mul_pd(estimate, inverse));
  __m512i r = _mm512_sub_epi64(_mm512_add_epi64(_mm512_mullo_epi64(a, b), c), _mm512_mullo_epi64(q, d));
  return into_range(r, d, 2, 3);
}

/* `width` vectors of divisors, from vector v: sums one block of limbs, and folds it into
   residues (r = r * 2^(52 * 40) + block, mod d), or stores it when it is the first block.
   Each of the products limb * power is split by IFMA into its low and high 52 bits, summed
   apart: 40 of them stay below 2^58. The block is then (high * 2^52 + low) mod d. */
IFMA static inline void sum_block(int width, size_t v, const uint64_t *limb, size_t count, int first,
                                  const uint64_t *divisors, const uint64_t *powers, const uint64_t *fold,
                                  const uint64_t *radix, const double *inverse, uint64_t *residues) {
  const uint64_t *power = powers + v * ifma_block * lanes;
  __m512i lo[4], hi[4];
  for (int k = 0; k < width; k++) lo[k] = hi[k] = _mm512_setzero_si512();
  for (size_t i = 0; i < count; i++) {
    __m512i b = _mm512_set1_epi64((long long)limb[i]);
    for (int k = 0; k < width; k++) {
      __m512i w = _mm512_loadu_si512(power + (k * ifma_block + i) * lanes);
      lo[k] = _mm512_madd52lo_epu64(lo[k], b, w);
      hi[k] = _mm512_madd52hi_epu64(hi[k], b, w);
    }
  }
  for (int k = 0; k < width; k++) {
    size_t at = (v + k) * lanes;
    __m512i d = _mm512_loadu_si512(divisors + at);
    __m512d inv = _mm512_loadu_pd(inverse + at);
    __m512i value = mul_add_mod(reduce(hi[k], d, inv), _mm512_loadu_si512(radix + at), lo[k], d, inv);
    if (!first) value = mul_add_mod(_mm512_loadu_si512(residues + at), _mm512_loadu_si512(fold + at), value, d, inv);
    _mm512_storeu_si512(residues + at, value);
  }
}

/* Limb i (52 bits) of the number in words. */
static inline uint64_t limb_52(const uint64_t *words, size_t word_count, size_t i) {
  size_t bit = i * 52, k = bit / 64, shift = bit % 64;
  uint64_t v = words[k] >> shift;
  if (shift > 12 && k + 1 < word_count) v |= words[k + 1] << (64 - shift);
  return v & ((UINT64_C(1) << 52) - 1);
}

IFMA void rehost_residues_ifma(const uint64_t *words, size_t word_count, const uint64_t *divisors,
                               const uint64_t *powers, const uint64_t *fold, const uint64_t *radix,
                               const double *inverse, size_t vector_count, uint64_t *residues) {
  size_t limb_count = (word_count * 64 + 51) / 52;
  /* The top limbs may be zero; trimming them saves whole blocks. */
  while (limb_count > 0 && limb_52(words, word_count, limb_count - 1) == 0) limb_count--;
  if (limb_count == 0) {
    for (size_t j = 0; j < vector_count * lanes; j++) residues[j] = 0;
    return;
  }
  /* Blocks of 40 limbs, the most significant (and only possibly shorter) first. */
  size_t start = (limb_count - 1) / ifma_block * ifma_block, end = limb_count;
  for (int first = 1;; first = 0) {
    uint64_t limb[ifma_block];
    size_t count = end - start;
    for (size_t i = 0; i < count; i++) limb[i] = limb_52(words, word_count, start + i);
    /* Four vectors at a time: eight independent sums keep the multipliers busy. */
    size_t v = 0;
    for (; v + 4 <= vector_count; v += 4)
      sum_block(4, v, limb, count, first, divisors, powers, fold, radix, inverse, residues);
    for (; v < vector_count; v++)
      sum_block(1, v, limb, count, first, divisors, powers, fold, radix, inverse, residues);
    if (start == 0) break;
    end = start;
    start -= ifma_block;
  }
}

#else

int rehost_residues_ifma_supported(void) { return 0; }

size_t rehost_first_dividing(const uint64_t *residues, const uint32_t *group, const uint64_t *inverse,
                             const uint64_t *limit, size_t count, int vector) {
  (void)vector;
  return first_dividing_scalar(residues, group, inverse, limit, count);
}

void rehost_residues_ifma(const uint64_t *words, size_t word_count, const uint64_t *divisors,
                          const uint64_t *powers, const uint64_t *fold, const uint64_t *radix,
                          const double *inverse, size_t vector_count, uint64_t *residues) {
  (void)words, (void)word_count, (void)divisors, (void)powers, (void)fold, (void)radix, (void)inverse;
  for (size_t j = 0; j < vector_count * 8; j++) residues[j] = 0;
}

#endif

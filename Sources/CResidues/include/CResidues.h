#ifndef REHOST_CRESIDUES_H
#define REHOST_CRESIDUES_H

#include <stddef.h>
#include <stdint.h>

/* n mod each of many word-sized divisors at once: the two kernels behind RehostMath's
   SmallPrimeResidues, which builds their tables and explains the method. n is given as
   64-bit words, least significant first; residues[j] receives n mod divisors[j]. */

/* Portable: divisors below 2^58, and powers[j * 65 + i] = 2^(64 i) mod divisors[j] for i
   in 0...64 (n is summed 64 words at a time). */
void rehost_residues_words(const uint64_t *words, size_t word_count, const uint64_t *divisors,
                           const uint64_t *powers, size_t divisor_count, uint64_t *residues);

/* 1 when this CPU and its OS run AVX-512 F, DQ and IFMA, which rehost_residues_ifma needs. */
int rehost_residues_ifma_supported(void);

/* Eight divisors per vector, each in [2^16, 2^52) (a last vector padded by repeating one).
   n is cut into 52-bit limbs, summed 40 limbs at a time. For vector v and lane l, with
   d = divisors[8 v + l]:
     powers[(40 v + i) * 8 + l] = 2^(52 i) mod d for i in 0..<40,
     fold[8 v + l] = 2^(52 * 40) mod d,  radix[8 v + l] = 2^52 mod d,
     inverse[8 v + l] = 1.0 / d (rounded to nearest).
   residues receives 8 * vector_count values. */
void rehost_residues_ifma(const uint64_t *words, size_t word_count, const uint64_t *divisors,
                          const uint64_t *powers, const uint64_t *fold, const uint64_t *radix,
                          const double *inverse, size_t vector_count, uint64_t *residues);

/* The first i for which residues[group[i]] * inverse[i] <= limit[i] (mod 2^64), or count
   when there is none: with inverse[i] = p⁻¹ mod 2^64 and limit[i] = (2^64 - 1) / p for the
   odd prime p, that test says whether p divides the residue (2 takes 2^63 and 0), so this
   is the first of the primes dividing n. group[] starts at 0 and steps by 0 or 1 (the
   primes' runs, in order); residues has group[count - 1] + 1 values. `vector` uses
   AVX-512, where rehost_residues_ifma_supported says it runs. */
size_t rehost_first_dividing(const uint64_t *residues, const uint32_t *group, const uint64_t *inverse,
                             const uint64_t *limit, size_t count, int vector);

#endif

#include <stdlib.h>
#include <gmp.h>

/* GMP's mpz_* names are macros over __gmpz_*; these wrappers give Swift plain functions. */
static inline void rehost_mpz_init(mpz_ptr x) { mpz_init(x); }
static inline void rehost_mpz_clear(mpz_ptr x) { mpz_clear(x); }
static inline int rehost_mpz_set_hex(mpz_ptr x, const char *hex) { return mpz_set_str(x, hex, 16); }
/* x = the number in words[0..<count], least significant word first (native words: GMP copies them). */
static inline void rehost_mpz_set_words(mpz_ptr x, const unsigned long *words, size_t count) { mpz_import(x, count, -1, sizeof(unsigned long), 0, 0, words); }
/* |x| big-endian into out, which holds (rehost_mpz_bits(x) + 7) / 8 bytes; returns the count (0 for 0). */
static inline size_t rehost_mpz_get_bytes(mpz_srcptr x, void *out) { size_t count = 0; mpz_export(out, &count, 1, 1, 1, 0, x); return count; }
static inline void rehost_mpz_mul(mpz_ptr r, mpz_srcptr a, mpz_srcptr b) { mpz_mul(r, a, b); }
static inline void rehost_mpz_set(mpz_ptr r, mpz_srcptr a) { mpz_set(r, a); }
static inline void rehost_mpz_mod(mpz_ptr r, mpz_srcptr a, mpz_srcptr m) { mpz_mod(r, a, m); }
static inline void rehost_mpz_divexact(mpz_ptr q, mpz_srcptr a, mpz_srcptr d) { mpz_divexact(q, a, d); }
static inline void rehost_mpz_gcd(mpz_ptr g, mpz_srcptr a, mpz_srcptr b) { mpz_gcd(g, a, b); }
static inline int rehost_mpz_is_one(mpz_srcptr a) { return mpz_cmp_ui(a, 1) == 0; }
/* Hex digits, upper case; the caller frees with free(). */
static inline char *rehost_mpz_get_hex(mpz_srcptr a) {
  char *s = mpz_get_str(NULL, 16, a);
  for (char *p = s; p && *p; p++) if (*p >= 'a' && *p <= 'f') *p -= 32;
  return s;
}
static inline void rehost_mpz_set_ui(mpz_ptr r, unsigned long a) { mpz_set_ui(r, a); }
static inline void rehost_mpz_mul_ui(mpz_ptr r, mpz_srcptr a, unsigned long b) { mpz_mul_ui(r, a, b); }
static inline void rehost_mpz_add(mpz_ptr r, mpz_srcptr a, mpz_srcptr b) { mpz_add(r, a, b); }
static inline void rehost_mpz_add_ui(mpz_ptr r, mpz_srcptr a, unsigned long b) { mpz_add_ui(r, a, b); }
static inline void rehost_mpz_sub(mpz_ptr r, mpz_srcptr a, mpz_srcptr b) { mpz_sub(r, a, b); }
static inline int rehost_mpz_cmp(mpz_srcptr a, mpz_srcptr b) { return mpz_cmp(a, b); }
static inline int rehost_mpz_cmp_ui(mpz_srcptr a, unsigned long b) { return mpz_cmp_ui(a, b); }
static inline unsigned long rehost_mpz_fdiv_ui(mpz_srcptr a, unsigned long d) { return mpz_fdiv_ui(a, d); }
static inline void rehost_mpz_sqrtrem(mpz_ptr root, mpz_ptr rem, mpz_srcptr a) { mpz_sqrtrem(root, rem, a); }
static inline void rehost_mpz_sqrt(mpz_ptr root, mpz_srcptr a) { mpz_sqrt(root, a); }
static inline int rehost_mpz_perfect_square_p(mpz_srcptr a) { return mpz_perfect_square_p(a); }
static inline int rehost_mpz_sgn(mpz_srcptr a) { return mpz_sgn(a); }
static inline void rehost_mpz_tdiv_r_2exp(mpz_ptr r, mpz_srcptr a, unsigned long bits) { mpz_tdiv_r_2exp(r, a, bits); }
static inline void rehost_mpz_tdiv_q_2exp(mpz_ptr q, mpz_srcptr a, unsigned long bits) { mpz_tdiv_q_2exp(q, a, bits); }
static inline void rehost_mpz_fdiv_q(mpz_ptr q, mpz_srcptr a, mpz_srcptr d) { mpz_fdiv_q(q, a, d); }
static inline void rehost_mpz_setbit(mpz_ptr a, unsigned long bit) { mpz_setbit(a, bit); }
static inline size_t rehost_mpz_bits(mpz_srcptr a) { return mpz_sizeinbase(a, 2); }
static inline void rehost_mpz_mul_2exp(mpz_ptr r, mpz_srcptr a, unsigned long bits) { mpz_mul_2exp(r, a, bits); }
/* |a| mod d for a word d, straight on the limbs (mpz_fdiv_ui does more per call). */
static inline unsigned long rehost_mpz_abs_mod_word(mpz_srcptr a, unsigned long d) {
  return mpz_size(a) == 0 ? 0 : mpn_mod_1(mpz_limbs_read(a), (mp_size_t)mpz_size(a), d);
}

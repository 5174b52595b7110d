/* gen-rsa-keys COUNT DIR [SEED] [private] - COUNT RSA public keys of 2048 bits for `make bench`,
 * one PEM file each under DIR/NNN/, alternately SPKI ("PUBLIC KEY") and PKCS#1
 * ("RSA PUBLIC KEY"); e = 65537. Deterministic for a given SEED. Their moduli also go,
 * in hex, one per line, to DIR/moduli-W.txt (one file per worker process), for tools
 * that take moduli lists (badkeys -m).
 *
 * Each modulus is the product of eight random 256-bit primes, not two 1024-bit ones:
 * to rehost's checks it is the same work (they never factor a sound modulus; trial
 * division, the Fermat rounds, the ROCA test and batch GCD cost the same for any 2048-bit
 * number), and it is made in about 2 ms instead of about 30 ms, so that 100,000 keys take
 * minutes, not an hour. No two moduli share a prime, no modulus has a small factor or
 * factors close enough for Fermat's method: a sound host's keys, as far as the checks see.
 *
 * With `private`: genuine RSA-2048 private keys instead, two 1024-bit primes each (about
 * 30 ms a key), with d, d mod (p-1), d mod (q-1) and q^-1 mod p, alternately PKCS#8
 * ("PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY"), as `openssl genpkey` writes them.
 *
 * Build: cc -O2 gen-rsa-keys.c -lgmp
 */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIEVE_PRIMES 2000
#define WINDOW 4096
static unsigned small_primes[SIEVE_PRIMES];

static void init_small_primes(void) {
  int n = 0;
  for (unsigned c = 3; n < SIEVE_PRIMES; c += 2) {
    int prime = 1;
    for (int i = 0; i < n && small_primes[i] * small_primes[i] <= c; i++)
      if (c % small_primes[i] == 0) { prime = 0; break; }
    if (prime) small_primes[n++] = c;
  }
}

/* The first prime after a random point of [low, 2 low): a sieve over the next WINDOW odd
 * numbers, then BPSW (mpz_probab_prime_p) on the survivors in order. */
static void random_prime(mpz_t p, const mpz_t low, gmp_randstate_t state) {
  static unsigned char composite[WINDOW];
  mpz_t candidate, high;
  mpz_init(candidate);
  mpz_init(high);
  mpz_mul_2exp(high, low, 1);
  for (;;) {
    mpz_urandomm(p, state, low);
    mpz_add(p, p, low);
    mpz_setbit(p, 0);
    memset(composite, 0, sizeof composite);
    for (int i = 0; i < SIEVE_PRIMES; i++) {
      unsigned q = small_primes[i], r = mpz_fdiv_ui(p, q);
      /* p + 2k = 0 (mod q)  <=>  k = -r / 2 (mod q) */
      unsigned k = r == 0 ? 0 : ((q - r) % 2 == 0 ? (q - r) / 2 : (2 * q - r) / 2);
      for (unsigned j = k; j < WINDOW; j += q) composite[j] = 1;
    }
    for (unsigned j = 0; j < WINDOW; j++) {
      if (composite[j]) continue;
      mpz_add_ui(candidate, p, 2u * j);
      if (mpz_probab_prime_p(candidate, 1)) {
        if (mpz_cmp(candidate, high) >= 0) break;
        mpz_set(p, candidate);
        mpz_clears(candidate, high, NULL);
        return;
      }
    }
  }
}

/* DER: a tag and a definite length. */
static size_t der_header(unsigned char *out, unsigned char tag, size_t length) {
  out[0] = tag;
  if (length < 128) { out[1] = (unsigned char)length; return 2; }
  if (length < 256) { out[1] = 0x81; out[2] = (unsigned char)length; return 3; }
  out[1] = 0x82; out[2] = (unsigned char)(length >> 8); out[3] = (unsigned char)length;
  return 4;
}

static size_t der_integer(unsigned char *out, const mpz_t value) {
  unsigned char magnitude[600];
  size_t count = 0;
  mpz_export(magnitude + 1, &count, 1, 1, 1, 0, value);
  if (count == 0) { magnitude[1] = 0; count = 1; }  /* zero is one 0x00 byte, never empty */
  unsigned char *start = magnitude + 1;
  if (start[0] & 0x80) { magnitude[0] = 0; start = magnitude; count++; }
  size_t h = der_header(out, 0x02, count);
  memcpy(out + h, start, count);
  return h + count;
}

static void write_pem(FILE *f, const char *label, const unsigned char *der, size_t length) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  fprintf(f, "-----BEGIN %s-----\n", label);
  int column = 0;
  for (size_t i = 0; i < length; i += 3) {
    unsigned v = der[i] << 16 | (i + 1 < length ? der[i + 1] << 8 : 0) | (i + 2 < length ? der[i + 2] : 0);
    char quad[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
                    i + 1 < length ? alphabet[v >> 6 & 63] : '=', i + 2 < length ? alphabet[v & 63] : '='};
    fwrite(quad, 1, 4, f);
    if ((column += 4) == 64) { fputc('\n', f); column = 0; }
  }
  if (column) fputc('\n', f);
  fprintf(f, "-----END %s-----\n", label);
}

/* DIR/NNN/key-NNNNNN.pem, a thousand keys a directory. */
static FILE *open_key_file(const char *dir, long index) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%03ld", dir, index / 1000);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%03ld/key-%06ld.pem", dir, index / 1000, index);
  FILE *f = fopen(path, "w");
  if (!f) { perror(path); exit(1); }
  return f;
}

static void write_key(const char *dir, long index, const mpz_t n, FILE *moduli) {
  mpz_out_str(moduli, 16, n);
  fputc('\n', moduli);
  unsigned char rsa[600], spki[700], body[600];
  mpz_t e;
  mpz_init_set_ui(e, 65537);
  size_t b = der_integer(body, n);
  b += der_integer(body + b, e);
  size_t r = der_header(rsa, 0x30, b);
  memcpy(rsa + r, body, b);
  r += b;
  FILE *f = open_key_file(dir, index);
  if (index % 2) {
    write_pem(f, "RSA PUBLIC KEY", rsa, r);
  } else {
    static const unsigned char algorithm[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    unsigned char bits[700];
    size_t h = der_header(bits, 0x03, r + 1);
    bits[h] = 0;
    memcpy(bits + h + 1, rsa, r);
    size_t bitsLength = h + 1 + r;
    size_t s = der_header(spki, 0x30, sizeof algorithm + bitsLength);
    memcpy(spki + s, algorithm, sizeof algorithm);
    memcpy(spki + s + sizeof algorithm, bits, bitsLength);
    write_pem(f, "PUBLIC KEY", spki, s + sizeof algorithm + bitsLength);
  }
  fclose(f);
  mpz_clear(e);
}

static size_t der_wrap(unsigned char *out, unsigned char tag, const unsigned char *body, size_t length) {
  size_t h = der_header(out, tag, length);
  memmove(out + h, body, length);
  return h + length;
}

/* A two-prime private key of modulus n = p q, e = 65537. */
static void write_private_key(const char *dir, long index, const mpz_t p, const mpz_t q, FILE *moduli) {
  mpz_t n, e, d, p1, q1, phi, dp, dq, qinv, zero;
  mpz_inits(n, d, p1, q1, phi, dp, dq, qinv, NULL);
  mpz_init_set_ui(e, 65537);
  mpz_init_set_ui(zero, 0);
  mpz_mul(n, p, q);
  mpz_sub_ui(p1, p, 1);
  mpz_sub_ui(q1, q, 1);
  mpz_mul(phi, p1, q1);
  mpz_invert(d, e, phi);
  mpz_mod(dp, d, p1);
  mpz_mod(dq, d, q1);
  mpz_invert(qinv, q, p);
  mpz_out_str(moduli, 16, n);
  fputc('\n', moduli);
  unsigned char body[2400], rsa[2400], octets[2400], info[2600];
  size_t b = der_integer(body, zero);
  mpz_srcptr numbers[] = {n, e, d, p, q, dp, dq, qinv};
  for (int i = 0; i < 8; i++) b += der_integer(body + b, numbers[i]);
  size_t r = der_wrap(rsa, 0x30, body, b);
  FILE *f = open_key_file(dir, index);
  if (index % 2) {
    write_pem(f, "RSA PRIVATE KEY", rsa, r);
  } else {
    static const unsigned char version_and_algorithm[] = {0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                          0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    memcpy(octets, version_and_algorithm, sizeof version_and_algorithm);
    size_t o = sizeof version_and_algorithm + der_wrap(octets + sizeof version_and_algorithm, 0x04, rsa, r);
    write_pem(f, "PRIVATE KEY", info, der_wrap(info, 0x30, octets, o));
  }
  fclose(f);
  mpz_clears(n, e, d, p1, q1, phi, dp, dq, qinv, zero, NULL);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: gen-rsa-keys COUNT DIR [SEED]\n"); return 2; }
  long count = atol(argv[1]);
  const char *dir = argv[2];
  unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
  int private_keys = argc > 4 && strcmp(argv[4], "private") == 0;
  mkdir(dir, 0755);
  init_small_primes();
  long workers = sysconf(_SC_NPROCESSORS_ONLN);
  if (workers < 1) workers = 1;
  for (long w = 0; w < workers; w++) {
    if (fork() != 0) continue;
    mpz_t n, p, low;
    mpz_inits(n, p, low, NULL);
    gmp_randstate_t state;
    gmp_randinit_default(state);
    char name[4096];
    snprintf(name, sizeof name, "%s/moduli-%ld.txt", dir, w);
    FILE *moduli = fopen(name, "w");
    if (!moduli) { perror(name); _exit(1); }
    for (long i = w; i < count; i += workers) {
      gmp_randseed_ui(state, seed * 1000003UL + (unsigned long)i);
      if (private_keys) {
        mpz_t q;
        mpz_init(q);
        do {  /* two primes in [2^1023, 2^1024) whose product has 2048 bits */
          mpz_set_ui(low, 1);
          mpz_mul_2exp(low, low, 1023);
          random_prime(p, low, state);
          random_prime(q, low, state);
          mpz_mul(n, p, q);
        } while (mpz_sizeinbase(n, 2) != 2048 || mpz_cmp(p, q) == 0);
        write_private_key(dir, i, p, q, moduli);
        mpz_clear(q);
        continue;
      }
      /* Seven primes in [2^255, 2^256), then the eighth in [2^2047 / n, 2^2048 / n). */
      do {
        mpz_set_ui(n, 1);
        for (int k = 0; k < 7; k++) {
          mpz_set_ui(low, 1);
          mpz_mul_2exp(low, low, 255);
          random_prime(p, low, state);
          mpz_mul(n, n, p);
        }
        mpz_set_ui(low, 1);
        mpz_mul_2exp(low, low, 2047);
        mpz_cdiv_q(low, low, n);
        random_prime(p, low, state);
        mpz_mul(n, n, p);
      } while (mpz_sizeinbase(n, 2) != 2048);
      write_key(dir, i, n, moduli);
    }
    if (fclose(moduli) != 0) _exit(1);
    _exit(0);
  }
  int status, failed = 0;
  while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  return failed;
}

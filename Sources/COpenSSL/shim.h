#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>

/* OPENSSL_free and BIO_get_mem_data are macros that do not import. */
static inline void rehost_openssl_free(void *p) { OPENSSL_free(p); }
static inline long rehost_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline int rehost_bio_reset(BIO *b) { return (int)BIO_reset(b); }
#include <openssl/x509.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Macros that do not import: SNI and the peer chain. */
static inline long rehost_ssl_set_tlsext_host_name(SSL *s, const char *name) { return SSL_set_tlsext_host_name(s, name); }
#include <openssl/decoder.h>
#include <openssl/asn1.h>

/* n and e of an RSA public key, from PKCS#1 RSAPublicKey DER (spki = 0) or from SPKI DER
   with the rsaEncryption algorithm (spki = 1), read with OpenSSL's generic ASN.1 parser.
   OpenSSL 3's key decoders (PEM_read_bio_PUBKEY, OSSL_DECODER) set up a provider
   context per call that costs more than all of `rehost check`'s tests of the key; this
   is the fast path for the common case. Returns 1 with *n and *e set (the caller frees
   them), 0 when the input is anything else. */
static inline int rehost_rsa_public_numbers(const unsigned char *der, long length, int spki, BIGNUM **n, BIGNUM **e) {
  const unsigned char *p = der;
  STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, length);
  int ok = 0;
  *n = NULL; *e = NULL;
  if (seq == NULL) return 0;
  if (p == der + length && sk_ASN1_TYPE_num(seq) == 2) {
    ASN1_TYPE *first = sk_ASN1_TYPE_value(seq, 0), *second = sk_ASN1_TYPE_value(seq, 1);
    if (!spki && first->type == V_ASN1_INTEGER && second->type == V_ASN1_INTEGER) {
      *n = ASN1_INTEGER_to_BN(first->value.integer, NULL);
      *e = ASN1_INTEGER_to_BN(second->value.integer, NULL);
      ok = *n != NULL && *e != NULL && !BN_is_negative(*n) && !BN_is_negative(*e);
    } else if (spki && first->type == V_ASN1_SEQUENCE && second->type == V_ASN1_BIT_STRING) {
      const unsigned char *a = first->value.sequence->data;
      X509_ALGOR *algorithm = d2i_X509_ALGOR(NULL, &a, first->value.sequence->length);
      const ASN1_OBJECT *oid = NULL;
      if (algorithm != NULL) X509_ALGOR_get0(&oid, NULL, NULL, algorithm);
      if (oid != NULL && OBJ_obj2nid(oid) == NID_rsaEncryption) {
        ok = rehost_rsa_public_numbers(second->value.bit_string->data, second->value.bit_string->length, 0, n, e);
      }
      X509_ALGOR_free(algorithm);
    }
  }
  sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
  if (!ok) { BN_free(*n); BN_free(*e); *n = NULL; *e = NULL; }
  return ok;
}

/* n, e, p and q of an RSA private key, from PKCS#1 RSAPrivateKey DER (pkcs8 = 0: version 0
   and the eight integers n, e, d, p, q, dp, dq, qinv) or from PKCS#8 PrivateKeyInfo DER
   (pkcs8 = 1: version 0, the rsaEncryption algorithm, the RSAPrivateKey in an OCTET
   STRING, optional attributes), with OpenSSL's generic ASN.1 parser: the fast path of
   rehost_rsa_public_numbers, for private keys (PEM_read_bio_PrivateKey's decoder set-up
   and its provider locks cost far more than the checks). Multi-prime keys and anything
   else return 0, and go through OpenSSL's decoders. On 1, the caller frees the four. */
static inline int rehost_rsa_private_numbers(const unsigned char *der, long length, int pkcs8,
                                             BIGNUM **n, BIGNUM **e, BIGNUM **p, BIGNUM **q) {
  const unsigned char *cursor = der;
  STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &cursor, length);
  int ok = 0, count;
  *n = NULL; *e = NULL; *p = NULL; *q = NULL;
  if (seq == NULL) return 0;
  count = sk_ASN1_TYPE_num(seq);
  if (cursor == der + length && !pkcs8 && count == 9) {
    int all = 1;
    for (int i = 0; i < 9; i++) all = all && sk_ASN1_TYPE_value(seq, i)->type == V_ASN1_INTEGER;
    if (all && ASN1_INTEGER_get(sk_ASN1_TYPE_value(seq, 0)->value.integer) == 0) {
      *n = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(seq, 1)->value.integer, NULL);
      *e = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(seq, 2)->value.integer, NULL);
      *p = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(seq, 4)->value.integer, NULL);
      *q = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(seq, 5)->value.integer, NULL);
      ok = *n && *e && *p && *q && !BN_is_negative(*n) && !BN_is_negative(*e) && !BN_is_negative(*p) && !BN_is_negative(*q);
    }
  } else if (cursor == der + length && pkcs8 && (count == 3 || count == 4)) {
    ASN1_TYPE *version = sk_ASN1_TYPE_value(seq, 0), *algorithm = sk_ASN1_TYPE_value(seq, 1), *key = sk_ASN1_TYPE_value(seq, 2);
    if (version->type == V_ASN1_INTEGER && ASN1_INTEGER_get(version->value.integer) == 0
        && algorithm->type == V_ASN1_SEQUENCE && key->type == V_ASN1_OCTET_STRING
        && (count == 3 || sk_ASN1_TYPE_value(seq, 3)->type != V_ASN1_INTEGER)) {
      const unsigned char *a = algorithm->value.sequence->data;
      X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &a, algorithm->value.sequence->length);
      const ASN1_OBJECT *oid = NULL;
      if (alg != NULL) X509_ALGOR_get0(&oid, NULL, NULL, alg);
      if (oid != NULL && OBJ_obj2nid(oid) == NID_rsaEncryption)
        ok = rehost_rsa_private_numbers(key->value.octet_string->data, key->value.octet_string->length, 0, n, e, p, q);
      X509_ALGOR_free(alg);
    }
  }
  sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
  if (!ok) { BN_free(*n); BN_free(*e); BN_free(*p); BN_free(*q); *n = NULL; *e = NULL; *p = NULL; *q = NULL; }
  return ok;
}

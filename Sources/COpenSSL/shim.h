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

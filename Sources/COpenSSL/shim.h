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


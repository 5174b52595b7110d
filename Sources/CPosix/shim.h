#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>

/* Atomically swap two paths on one filesystem (Linux renameat2 RENAME_EXCHANGE).
   Returns 0 or -1 with errno set. */
static inline int rehost_exchange_paths(const char *a, const char *b) {
#ifdef RENAME_EXCHANGE
  return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
  return -1;
#endif
}

/* Rename that fails instead of replacing an existing target. */
static inline int rehost_rename_noreplace(const char *a, const char *b) {
#ifdef RENAME_NOREPLACE
  return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE);
#else
  return -1;
#endif
}

/* A pipe whose ends close on exec (pipe2 needs _GNU_SOURCE, which Glibc's module lacks). */
static inline int rehost_pipe_cloexec(int fds[2]) {
  return pipe2(fds, O_CLOEXEC);
}

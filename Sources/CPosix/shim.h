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

#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/fs.h>
#include <locale.h>

/* The inode flags chattr sets (FS_IOC_GETFLAGS; ioctl is variadic). */
static inline int rehost_inode_flags(int fd, int *flags) {
  return ioctl(fd, FS_IOC_GETFLAGS, flags);
}
static const int rehost_flag_immutable = FS_IMMUTABLE_FL;
static const int rehost_flag_append = FS_APPEND_FL;

/* makedev, major and minor are macros. */
static inline dev_t rehost_makedev(unsigned int major_, unsigned int minor_) { return makedev(major_, minor_); }
static inline unsigned int rehost_major(dev_t dev) { return major(dev); }
static inline unsigned int rehost_minor(dev_t dev) { return minor(dev); }

/* syncfs needs _GNU_SOURCE, which Glibc's module lacks. */
static inline int rehost_syncfs(int fd) { return syncfs(fd); }

/* libarchive converts pax names between UTF-8 and the locale's charset, and under a
   UTF-8 locale normalizes them to NFC on reading (a decomposed name would come back
   composed). Under the C locale it converts nothing: non-ASCII names are written with
   hdrcharset=BINARY and read back as the bytes stored. */
static inline void rehost_use_c_ctype(void) { setlocale(LC_CTYPE, "C"); }

/* Flags Glibc's module hides without _GNU_SOURCE. */
static const int rehost_o_noatime = O_NOATIME;
static const int rehost_o_path = O_PATH;

/* renameat2 relative to directory descriptors (RENAME_NOREPLACE, RENAME_EXCHANGE). */
static inline int rehost_renameat2(int olddirfd, const char *old, int newdirfd, const char *new_, unsigned int flags) {
  return renameat2(olddirfd, old, newdirfd, new_, flags);
}
static const unsigned int rehost_rename_noreplace_flag = RENAME_NOREPLACE;
static const unsigned int rehost_rename_exchange_flag = RENAME_EXCHANGE;

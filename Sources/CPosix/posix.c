#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <locale.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "CPosix.h"

int rehost_open_tmpfile(const char *dir) { return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600); }

int rehost_is_mount_root(int dirfd, const char *name) {
  struct statx sx;
  if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0) return -1;
  if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return -2;
  return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

int rehost_exchange_paths(const char *a, const char *b) { return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE); }
int rehost_rename_noreplace(const char *a, const char *b) { return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE); }
int rehost_renameat2(int olddirfd, const char *old_name, int newdirfd, const char *new_name, unsigned int flags) {
  return renameat2(olddirfd, old_name, newdirfd, new_name, flags);
}
unsigned int rehost_rename_noreplace_flag(void) { return RENAME_NOREPLACE; }
unsigned int rehost_rename_exchange_flag(void) { return RENAME_EXCHANGE; }

int rehost_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int rehost_pipe_grow(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }

int rehost_inode_flags(int fd, int *flags) { return ioctl(fd, FS_IOC_GETFLAGS, flags); }
int rehost_flag_immutable(void) { return FS_IMMUTABLE_FL; }
int rehost_flag_append(void) { return FS_APPEND_FL; }

unsigned long long rehost_makedev(unsigned int major_number, unsigned int minor_number) { return makedev(major_number, minor_number); }
unsigned int rehost_major(unsigned long long device) { return major(device); }
unsigned int rehost_minor(unsigned long long device) { return minor(device); }

long rehost_flistxattr(int fd, char *list, unsigned long size) { return flistxattr(fd, list, size); }
long rehost_fgetxattr(int fd, const char *name, void *value, unsigned long size) { return fgetxattr(fd, name, value, size); }
int rehost_fsetxattr(int fd, const char *name, const void *value, unsigned long size) { return fsetxattr(fd, name, value, size, 0); }

int rehost_syncfs(int fd) { return syncfs(fd); }

int rehost_o_noatime(void) { return O_NOATIME; }
int rehost_o_path(void) { return O_PATH; }

void rehost_use_c_ctype(void) { setlocale(LC_CTYPE, "C"); }

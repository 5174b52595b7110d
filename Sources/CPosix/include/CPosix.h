#ifndef REHOST_CPOSIX_H
#define REHOST_CPOSIX_H

/* System calls and constants that Swift's Glibc module hides: they need _GNU_SOURCE, or
   are macros or variadic. They are defined in posix.c, which is compiled with
   _GNU_SOURCE; this header includes no system header, so no header is seen twice under
   different feature macros (clang's modules then refuse to build, fd_set differing). */

/* statx: 1 when dirfd/name is the root of a mount, 0 when not, -1 on error, -2 when the kernel cannot say. */
int rehost_is_mount_root(int dirfd, const char *name);

/* renameat2: atomically swap two paths, or rename without replacing (0, or -1 and errno). */
int rehost_exchange_paths(const char *a, const char *b);
int rehost_rename_noreplace(const char *a, const char *b);
int rehost_renameat2(int olddirfd, const char *old_name, int newdirfd, const char *new_name, unsigned int flags);
unsigned int rehost_rename_noreplace_flag(void);
unsigned int rehost_rename_exchange_flag(void);

/* A file with no name in dir (O_TMPFILE), read-write, closed on exec: -1 and errno when the
   filesystem cannot make one. */
int rehost_open_tmpfile(const char *dir);

/* A pipe whose ends close on exec. */
int rehost_pipe_cloexec(int fds[2]);
/// Grows a pipe's buffer (F_SETPIPE_SZ); best effort, capped by /proc/sys/fs/pipe-max-size.
int rehost_pipe_grow(int fd, int bytes);

/* The inode flags chattr sets (FS_IOC_GETFLAGS), and the two rehost names. */
int rehost_inode_flags(int fd, int *flags);
int rehost_flag_immutable(void);
int rehost_flag_append(void);

/* makedev, major, minor. */
unsigned long long rehost_makedev(unsigned int major_number, unsigned int minor_number);
unsigned int rehost_major(unsigned long long device);
unsigned int rehost_minor(unsigned long long device);

/* Extended attributes of an open file (sys/xattr.h); sizes as long on LP64 Linux. */
long rehost_flistxattr(int fd, char *list, unsigned long size);
long rehost_fgetxattr(int fd, const char *name, void *value, unsigned long size);
int rehost_fsetxattr(int fd, const char *name, const void *value, unsigned long size);

/* syncfs: flush the filesystem holding fd. */
int rehost_syncfs(int fd);

/* open flags. */
int rehost_o_noatime(void);
int rehost_o_path(void);

/* libarchive converts pax names between UTF-8 and the locale's charset, and under a UTF-8
   locale normalizes them to NFC on reading (a decomposed name would come back composed).
   Under the C locale it converts nothing: non-ASCII names are written with
   hdrcharset=BINARY and read back as the bytes stored. */
void rehost_use_c_ctype(void);

#endif

#include <archive.h>
#include <archive_entry.h>

/* archive_set_error is variadic and does not import into Swift. */
static inline void rehost_archive_set_error(struct archive *a, int code, const char *msg) {
  archive_set_error(a, code, "%s", msg);
}

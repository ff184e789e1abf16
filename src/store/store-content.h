/*
 * store-content: message bytes in a content directory (store.content =
 * dir:PATH) instead of the contents.data column, for providers whose
 * nodes share a filer. Private to src/store/.
 *
 * A content row keeps its hash, sizes and reference count; its data is
 * empty and `location` names its file, PATH/hh/<sha256 hex>.<random>
 * (hh = the hash's first byte: 256 directories). The random part makes
 * every file name new, so a file is never reused: a content deleted on one
 * node and stored again by another gets a file of its own, and the first
 * node's unlink cannot take the second one's bytes. Files are written
 * whole and never changed.
 *
 * Durability: the writer writes a batch's files as its ops run and fsyncs
 * them (and their directories) once, just before COMMIT, so the row never
 * commits before its bytes are on disk. A dropped content's file is
 * unlinked only after the COMMIT that deleted its row. A crash in between
 * leaves an unreferenced file at worst (roost check lists those), never a
 * row without its file. Rows with location NULL keep their bytes in the
 * database: a store can switch from db to dir:PATH at any time.
 */
#ifndef ROOST_STORE_CONTENT_H
#define ROOST_STORE_CONTENT_H
#include "store/store-internal.h"

/* Files of one batch, at most (a batch holds STORE_BATCH_MAX ops). */
#define STORE_CONTENT_FILE_MAX 65536

/* store.content = dir:PATH. */
static inline bool store_content_in_files(const struct store *s)
{
	return s->settings.content_dir[0] != '\0';
}

/* Opening the store: PATH exists (made if missing) and is writable. */
enum store_err store_content_dir_check(struct store *s, char **error_r);

/* Writer: store `data` as a new file; *location_r (caller frees) names it.
 * It is fsynced by store_content_sync, before the batch commits. */
enum store_err store_content_put(struct store_txn *txn, const unsigned char hash[32],
				 const void *data, size_t len, char **location_r);
/* Writer: this content's row was deleted; its file goes after COMMIT. */
void store_content_drop(struct store_txn *txn, const char *location);
/* Writer: marks where an op begins; and undoes its files when it failed
 * (its savepoint rolled back: no row names them). */
void store_content_op_begin(struct store_txn *txn);
void store_content_op_undo(struct store_txn *txn);
/* Writer, before COMMIT: every new file and directory is on disk. */
enum store_err store_content_sync(struct store_txn *txn, char **error_r);
/* Writer, after the batch: committed = unlink the dropped files; else
 * keep every file (a commit whose answer was lost may have committed:
 * an unreferenced file is harmless, a missing one is not). */
void store_content_end(struct store_txn *txn, bool committed);

/* Any thread: up to `max` bytes (the whole file when max >= size) of the
 * file into buf, which holds at least min(size, max) bytes. A missing or
 * short file is ECORRUPT (logged: roost check tells more), an I/O
 * error ETEMP. *len_r: bytes read. */
enum store_err store_content_read(struct store *s, const char *location, int64_t size,
				  size_t max, char *buf, size_t *len_r);

/* roost check: the file of a row exists with its size. 0 if so, else
 * an errno value (ENOENT, EFBIG for a wrong size, ...). */
int store_content_stat(struct store *s, const char *location, int64_t size);
/* roost check: calls fn for every file under PATH older than min_age_s
 * (younger ones may belong to a batch not committed yet). */
typedef int store_content_file_fn(void *ctx, const char *location);
enum store_err store_content_walk(struct store *s, int64_t min_age_s, store_content_file_fn *fn,
				  void *ctx);

#endif

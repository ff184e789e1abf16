/*
 * compress: raw DEFLATE (RFC 1951) in both directions of a connection, as
 * IMAP COMPRESS=DEFLATE (RFC 4978) needs, with zlib. Generic: no protocol
 * knowledge; conn.c stacks it over the socket or TLS bufferevent.
 *
 * Output is deflated as it is written (Z_NO_FLUSH) and pushed out with a
 * sync flush (compress_flush) once per write batch, so replies are never
 * held back in the compressor. Input is inflated at most `limit` bytes at a
 * time: a small compressed chunk can never expand into unbounded memory.
 */
#ifndef ROOST_COMPRESS_H
#define ROOST_COMPRESS_H
#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct evbuffer;
struct compress;

/* RFC 4978 section 4: raw deflate with a 32 KB window; our inflater must
 * accept any window the peer uses, so it is always 15 bits. memLevel 8
 * (zlib's default) sizes the compressor's hash tables: together about
 * 256 KB + 40 KB per compressed connection (compress_memory()). */
#define COMPRESS_WINDOW_BITS 15
#define COMPRESS_MEM_LEVEL 8
#define COMPRESS_LEVEL 6

/* Stack a deflate filter over `under` (which it then owns: freeing the
 * returned bufferevent frees `under` too). `on_error(arg)` runs (from inside
 * libevent, so it must only schedule work) when the peer's stream turns out
 * to be corrupt. NULL when zlib cannot be set up. */
struct bufferevent *compress_filter_new(struct bufferevent *under, int bev_options,
					void (*on_error)(void *arg), void *arg,
					struct compress **z_r);
/* Stop calling on_error (the owner is going away). */
void compress_detach(struct compress *z);

/* Inflate from src into dst, at most `limit` bytes of output. Returns the
 * bytes produced; -1 when the stream is corrupt (then compress_failed()). */
long compress_pull(struct compress *z, struct evbuffer *src, struct evbuffer *dst, size_t limit);
/* Deflate whatever src still holds (output the filter has not taken yet),
 * then sync-flush everything into dst (RFC 4978 section 4: each response
 * is flushed so the peer can act on it at once). */
void compress_flush(struct compress *z, struct evbuffer *src, struct evbuffer *dst);
bool compress_failed(const struct compress *z);
/* Bytes zlib holds for this connection (both directions). */
size_t compress_memory(const struct compress *z);
#endif

/*
 * compress: the zlib state of one compressed connection and the libevent
 * filter that runs it (see compress.h). Owns deflate/inflate streams, the
 * byte accounting of their memory, and the corrupt-stream verdict.
 */
#include "lib/compress.h"
#include "lib/alloc.h"
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Output space reserved per deflate/inflate call. */
#define COMPRESS_CHUNK (16 * 1024)
/* Inflated bytes per filter call when libevent sets no limit. */
#define COMPRESS_PULL_DEFAULT (64 * 1024)

struct compress {
	z_stream def, inf;
	size_t mem;		/* bytes zlib allocated, both streams */
	bool def_ok, inf_ok;
	bool dirty;		/* deflated since the last sync flush */
	bool pending;		/* the last inflate filled its output: maybe more inside */
	bool ended;		/* the peer sent a final block */
	bool failed;
	void (*on_error)(void *arg);
	void *arg;
};

/* zlib allocations, counted so the cost of a compressed connection can be
 * measured (compress_memory). The size sits in front of each block. */
struct zblock {
	size_t size;
	max_align_t align[];
};

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	struct compress *z = opaque;
	size_t n = (size_t)items * size;
	struct zblock *b = xmalloc(sizeof(*b) + n);
	b->size = n;
	z->mem += n;
	return b->align;
}

static void z_free(voidpf opaque, voidpf p)
{
	struct compress *z = opaque;
	if (p == NULL)
		return;
	struct zblock *b = (struct zblock *)((char *)p - offsetof(struct zblock, align));
	z->mem -= b->size;
	free(b);
}

static void compress_free(void *ctx)
{
	struct compress *z = ctx;
	if (z->def_ok)
		deflateEnd(&z->def);
	if (z->inf_ok)
		inflateEnd(&z->inf);
	free(z);
}

static void compress_fail(struct compress *z)
{
	if (z->failed)
		return;
	z->failed = true;
	if (z->on_error != NULL)
		z->on_error(z->arg);
}

long compress_pull(struct compress *z, struct evbuffer *src, struct evbuffer *dst, size_t limit)
{
	size_t produced = 0;
	if (z->failed)
		return -1;
	while (produced < limit) {
		struct evbuffer_iovec in = {0};
		if (evbuffer_peek(src, -1, NULL, &in, 1) < 1)
			in.iov_len = 0;
		if (in.iov_len == 0 && !z->pending)
			break;
		if (z->ended && in.iov_len > 0) {
			/* Nothing may follow the final block: there is no way
			 * to restart compression within a connection. */
			compress_fail(z);
			return -1;
		}
		size_t want = limit - produced;
		if (want > COMPRESS_CHUNK)
			want = COMPRESS_CHUNK;
		struct evbuffer_iovec out;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)want, &out, 1) < 1)
			break;
		if (out.iov_len > want)
			out.iov_len = want;
		size_t in_len = in.iov_len > UINT32_MAX ? UINT32_MAX : in.iov_len;
		z->inf.next_in = in.iov_base;
		z->inf.avail_in = (uInt)in_len;
		z->inf.next_out = out.iov_base;
		z->inf.avail_out = (uInt)out.iov_len;
		int r = inflate(&z->inf, Z_SYNC_FLUSH);
		size_t used = in_len - z->inf.avail_in;
		size_t made = out.iov_len - z->inf.avail_out;
		out.iov_len = made;
		evbuffer_commit_space(dst, &out, 1);
		evbuffer_drain(src, used);
		produced += made;
		z->pending = z->inf.avail_out == 0;
		if (r == Z_STREAM_END) {
			z->ended = true;
			z->pending = false;
		} else if (r != Z_OK && r != Z_BUF_ERROR) {
			/* Z_DATA_ERROR, Z_NEED_DICT (raw deflate has no
			 * dictionary), Z_MEM_ERROR */
			compress_fail(z);
			return -1;
		}
		if (used == 0 && made == 0)
			break;
	}
	return (long)produced;
}

static void deflate_into(struct compress *z, const void *data, size_t len, int flush,
			 struct evbuffer *dst)
{
	z->def.next_in = (Bytef *)(uintptr_t)data;
	z->def.avail_in = (uInt)len;
	do {
		struct evbuffer_iovec out;
		if (evbuffer_reserve_space(dst, COMPRESS_CHUNK, &out, 1) < 1)
			return;
		z->def.next_out = out.iov_base;
		z->def.avail_out = (uInt)out.iov_len;
		deflate(&z->def, flush); /* Z_BUF_ERROR: nothing to do; harmless */
		out.iov_len -= z->def.avail_out;
		evbuffer_commit_space(dst, &out, 1);
	} while (z->def.avail_in > 0 || z->def.avail_out == 0);
}

static void deflate_all(struct compress *z, struct evbuffer *src, struct evbuffer *dst)
{
	struct evbuffer_iovec v;
	while (evbuffer_peek(src, -1, NULL, &v, 1) >= 1 && v.iov_len > 0) {
		size_t n = v.iov_len > UINT32_MAX ? UINT32_MAX : v.iov_len;
		deflate_into(z, v.iov_base, n, Z_NO_FLUSH, dst);
		evbuffer_drain(src, n);
		z->dirty = true;
	}
}

void compress_flush(struct compress *z, struct evbuffer *src, struct evbuffer *dst)
{
	if (src != NULL)
		deflate_all(z, src, dst);
	if (!z->dirty)
		return;
	z->dirty = false;
	deflate_into(z, NULL, 0, Z_SYNC_FLUSH, dst);
}

bool compress_failed(const struct compress *z)
{
	return z->failed;
}

size_t compress_memory(const struct compress *z)
{
	return sizeof(*z) + z->mem;
}

void compress_detach(struct compress *z)
{
	z->on_error = NULL;
	z->arg = NULL;
}

/* --- libevent filter ---------------------------------------------------- */

static enum bufferevent_filter_result filter_in(struct evbuffer *src, struct evbuffer *dst,
						ev_ssize_t dst_limit,
						enum bufferevent_flush_mode mode, void *ctx)
{
	struct compress *z = ctx;
	size_t limit = dst_limit < 0 ? COMPRESS_PULL_DEFAULT : (size_t)dst_limit;
	size_t before = evbuffer_get_length(src);
	long made = compress_pull(z, src, dst, limit);
	if (made < 0) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_ERROR;
	}
	if (made == 0 && evbuffer_get_length(src) == before)
		return BEV_NEED_MORE;
	return BEV_OK;
}

static enum bufferevent_filter_result filter_out(struct evbuffer *src, struct evbuffer *dst,
						 ev_ssize_t dst_limit,
						 enum bufferevent_flush_mode mode, void *ctx)
{
	struct compress *z = ctx;
	deflate_all(z, src, dst);
	if (mode != BEV_NORMAL)
		compress_flush(z, NULL, dst);
	return BEV_OK;
}

struct bufferevent *compress_filter_new(struct bufferevent *under, int bev_options,
					void (*on_error)(void *arg), void *arg,
					struct compress **z_r)
{
	struct compress *z = xcalloc(1, sizeof(*z));
	z->on_error = on_error;
	z->arg = arg;
	z->def.zalloc = z->inf.zalloc = z_alloc;
	z->def.zfree = z->inf.zfree = z_free;
	z->def.opaque = z->inf.opaque = z;
	/* Negative window bits: raw deflate, no zlib header (RFC 4978 4). */
	z->def_ok = deflateInit2(&z->def, COMPRESS_LEVEL, Z_DEFLATED, -COMPRESS_WINDOW_BITS,
				 COMPRESS_MEM_LEVEL, Z_DEFAULT_STRATEGY) == Z_OK;
	z->inf_ok = inflateInit2(&z->inf, -COMPRESS_WINDOW_BITS) == Z_OK;
	if (!z->def_ok || !z->inf_ok) {
		compress_free(z);
		return NULL;
	}
	struct bufferevent *top =
		bufferevent_filter_new(under, filter_in, filter_out, bev_options, compress_free, z);
	if (top == NULL) {
		compress_free(z);
		return NULL;
	}
	*z_r = z;
	return top;
}

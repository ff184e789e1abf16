/* acme-https: the blocking HTTPS client of the ACME thread (see acme-https.h). */
#include "acme/acme-https.h"
#include "lib/alloc.h"
#include "lib/buf.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

void acme_response_clear(struct acme_response *r)
{
	free(r->body);
	free(r->nonce);
	free(r->location);
	free(r->content_type);
	*r = (struct acme_response){.retry_after = -1};
}

SSL_CTX *acme_https_ctx_new(const char *ca_file, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = xstrdup("TLS client context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		ERR_clear_error(); /* no system store: only ca_file then */
	if (*ca_file != '\0' && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		char reason[256];
		ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
		ERR_clear_error();
		*error_r = xasprintf("tls.acme_ca_file %s: %s", ca_file, reason);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int acme_https_parse_url(const char *url, char **host_r, char **port_r, char **path_r)
{
	if (strlen(url) > ACME_HTTPS_MAX_URL || strncasecmp(url, "https://", 8) != 0)
		return -1;
	const char *h = url + 8, *slash = strchr(h, '/');
	const char *end = slash != NULL ? slash : h + strlen(h);
	const char *hend, *port = NULL;
	if (*h == '[') { /* RFC 3986 3.2.2 IP-literal */
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (rb == NULL)
			return -1;
		hend = rb + 1;
		if (hend < end && *hend == ':')
			port = hend + 1;
		else if (hend != end)
			return -1;
		h++;
		hend = rb;
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));
		hend = colon != NULL ? colon : end;
		if (colon != NULL)
			port = colon + 1;
	}
	if (hend == h || memchr(h, '@', (size_t)(end - h)) != NULL) /* no userinfo */
		return -1;
	if (port != NULL) {
		if (port == end || end - port > 5)
			return -1;
		for (const char *p = port; p < end; p++)
			if (*p < '0' || *p > '9')
				return -1;
	}
	for (const char *p = slash != NULL ? slash : end; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return -1;
	*host_r = xstrndup(h, (size_t)(hend - h));
	*port_r = port != NULL ? xstrndup(port, (size_t)(end - port)) : xstrdup("443");
	*path_r = xstrdup(slash != NULL ? slash : "/");
	return 0;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait for fd to become ready for `events`: 0, or -1 with *error_r
 * (deadline passed, stop asked, poll failed). */
static int wait_fd(int fd, short events, const struct timespec *deadline, atomic_bool *stop,
		   char **error_r)
{
	for (;;) {
		if (stop != NULL && atomic_load(stop)) {
			*error_r = xstrdup("stopped");
			return -1;
		}
		long left = ms_left(deadline);
		if (left <= 0) {
			*error_r = xasprintf("no answer within %d ms", ACME_HTTPS_TIMEOUT_MS);
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)(left < ACME_HTTPS_TICK_MS ? left : ACME_HTTPS_TICK_MS));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			*error_r = xasprintf("poll: %s", strerror(errno));
			return -1;
		}
	}
}

static int connect_to(const char *host, const char *port, const struct timespec *deadline,
		      atomic_bool *stop, char **error_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		*error_r = xasprintf("%s: %s", host, gai_strerror(gai));
		return -1;
	}
	int fd = -1;
	char *last = NULL;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		int err = errno;
		if (err == EINPROGRESS) {
			free(last);
			last = NULL;
			if (wait_fd(fd, POLLOUT, deadline, stop, &last) == 0) {
				socklen_t sl = sizeof(err);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
					break;
			}
		}
		if (last == NULL)
			last = xasprintf("connect to %s port %s: %s", host, port, strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		*error_r = last != NULL ? last : xasprintf("%s: no address", host);
	else
		free(last);
	return fd;
}

/* Drive one SSL call to completion; its result, or -1 with *error_r. */
static int ssl_io(SSL *ssl, int fd, int (*op)(SSL *, void *, int), void *buf, int n,
		  const struct timespec *deadline, atomic_bool *stop, char **error_r)
{
	for (;;) {
		ERR_clear_error();
		int r = op(ssl, buf, n);
		if (r > 0)
			return r;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, stop,
				    error_r) < 0)
				return -1;
			continue;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			return 0; /* EOF without close_notify: the length decides */
		char reason[256] = "TLS error";
		unsigned long le = ERR_get_error();
		if (le != 0)
			ERR_error_string_n(le, reason, sizeof(reason));
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK)
			*error_r = xasprintf("TLS: %s (%s)", reason, X509_verify_cert_error_string(v));
		else
			*error_r = xasprintf("TLS: %s", reason);
		ERR_clear_error();
		return -1;
	}
}

static int op_connect(SSL *ssl, void *buf, int n)
{
	(void)buf;
	(void)n;
	return SSL_connect(ssl);
}
static int op_read(SSL *ssl, void *buf, int n)
{
	return SSL_read(ssl, buf, n);
}
static int op_write(SSL *ssl, void *buf, int n)
{
	return SSL_write(ssl, buf, n);
}

static char *trim_dup(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

int acme_https_parse_head(const char *head, size_t len, struct acme_response *resp,
			  long *content_length_r, bool *chunked_r)
{
	*content_length_r = -1;
	*chunked_r = false;
	const char *p = head, *end = head + len;
	const char *eol = memchr(p, '\n', len);
	/* "HTTP/1.x NNN reason" */
	if (eol == NULL || eol - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
		return -1;
	resp->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	for (p = eol + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		size_t n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		/* RFC 9110 5.5: a field with NUL, CR or LF is refused, not cut */
		if (memchr(p, '\0', n) != NULL || memchr(p, '\r', n) != NULL)
			return -1;
		const char *colon = memchr(p, ':', n);
		if (colon == NULL || colon == p)
			return -1;
		size_t klen = (size_t)(colon - p);
		const char *v = colon + 1;
		size_t vlen = n - klen - 1;
		char **slot = NULL;
		if (klen == 8 && strncasecmp(p, "Location", 8) == 0)
			slot = &resp->location;
		else if (klen == 12 && strncasecmp(p, "Content-Type", 12) == 0)
			slot = &resp->content_type;
		if (klen == 12 && strncasecmp(p, "Replay-Nonce", 12) == 0)
			slot = &resp->nonce;
		if (slot != NULL) {
			if (*slot != NULL) /* a repeated header: refuse rather than guess */
				return -1;
			*slot = trim_dup(v, vlen);
			continue;
		}
		char *val = trim_dup(v, vlen);
		if (klen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			char *e;
			errno = 0;
			long cl = strtol(val, &e, 10);
			if (*val == '\0' || *e != '\0' || errno != 0 || cl < 0 ||
			    cl > ACME_HTTPS_MAX_RESPONSE || *content_length_r != -1) {
				free(val);
				return -1;
			}
			*content_length_r = cl;
		} else if (klen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			if (strcasecmp(val, "chunked") != 0) {
				free(val);
				return -1;
			}
			*chunked_r = true;
		} else if (klen == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
			/* RFC 9110 10.2.3: delay-seconds (an HTTP-date is
			 * treated as absent: the caller's own backoff holds) */
			char *e;
			long s = strtol(val, &e, 10);
			if (*val >= '0' && *val <= '9' && *e == '\0')
				resp->retry_after = s > ACME_RETRY_AFTER_MAX ? ACME_RETRY_AFTER_MAX : s;
		}
		free(val);
	}
	return 0;
}

long acme_https_dechunk(char *body, size_t len)
{
	size_t in = 0, out = 0;
	for (;;) {
		size_t size = 0, digits = 0;
		while (in < len) {
			char c = body[in];
			int d = c >= '0' && c <= '9' ? c - '0' :
				c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				break;
			if (++digits > 8)
				return -1;
			size = size * 16 + (size_t)d;
			in++;
		}
		if (digits == 0)
			return -1;
		/* chunk extensions (RFC 9112 7.1.1) are skipped */
		const char *nl = memchr(body + in, '\n', len - in);
		if (nl == NULL)
			return -1;
		in = (size_t)(nl - body) + 1;
		if (size == 0)
			return (long)out; /* trailers are ignored */
		if (size > len - in)
			return -1;
		memmove(body + out, body + in, size);
		out += size;
		in += size;
		if (in < len && body[in] == '\r')
			in++;
		if (in >= len || body[in] != '\n')
			return -1;
		in++;
	}
}

int acme_https_request(SSL_CTX *ctx, const char *method, const char *url, const char *ctype,
		       const char *body, atomic_bool *stop, struct acme_response *resp,
		       char **error_r)
{
	char *host = NULL, *port = NULL, *path = NULL;
	*resp = (struct acme_response){.retry_after = -1};
	*error_r = NULL;
	if (acme_https_parse_url(url, &host, &port, &path) < 0) {
		*error_r = xasprintf("not an https URL: %.200s", url);
		return -1;
	}
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ACME_HTTPS_TIMEOUT_MS / 1000;
	int ret = -1, fd = -1;
	SSL *ssl = NULL;
	struct buf in, req;
	buf_init(&in, ACME_HTTPS_MAX_RESPONSE + 1);
	buf_init(&req, ACME_HTTPS_MAX_RESPONSE);
	fd = connect_to(host, port, &deadline, stop, error_r);
	if (fd < 0)
		goto out;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	struct in6_addr a6;
	struct in_addr a4;
	bool literal = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	if (literal) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host); /* RFC 6066 3: never for literals */
		SSL_set1_host(ssl, host);
	}
	if (ssl_io(ssl, fd, op_connect, NULL, 0, &deadline, stop, error_r) <= 0) {
		if (*error_r == NULL)
			*error_r = xstrdup("TLS: connection closed in the handshake");
		goto out;
	}
	size_t blen = body != NULL ? strlen(body) : 0;
	const char *hostfmt = strchr(host, ':') != NULL ? "[%s]" : "%s";
	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: ", method, path);
	buf_printf(&req, hostfmt, host);
	if (strcmp(port, "443") != 0)
		buf_printf(&req, ":%s", port);
	buf_printf(&req, "\r\nUser-Agent: roost-acme\r\nAccept: */*\r\nConnection: close\r\n");
	if (body != NULL)
		buf_printf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, blen);
	buf_puts(&req, "\r\n");
	if (body != NULL && buf_append(&req, body, blen) < 0) {
		*error_r = xstrdup("request too large");
		goto out;
	}
	for (size_t off = 0; off < req.len;) {
		int n = ssl_io(ssl, fd, op_write, req.data + off,
			       (int)(req.len - off > 65536 ? 65536 : req.len - off), &deadline, stop,
			       error_r);
		if (n <= 0) {
			if (*error_r == NULL)
				*error_r = xstrdup("connection closed while sending");
			goto out;
		}
		off += (size_t)n;
	}
	/* Read until the end of the answer (Content-Length, last chunk or
	 * close), never past ACME_HTTPS_MAX_RESPONSE. */
	char chunk[16384];
	long clen = -1;
	bool chunked = false, have_head = false;
	size_t head_len = 0;
	for (;;) {
		int n = ssl_io(ssl, fd, op_read, chunk, sizeof(chunk), &deadline, stop, error_r);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (buf_append(&in, chunk, (size_t)n) < 0) {
			*error_r = xasprintf("answer larger than %d bytes", ACME_HTTPS_MAX_RESPONSE);
			goto out;
		}
		if (!have_head) {
			char *e = in.data != NULL ? strstr(in.data, "\r\n\r\n") : NULL;
			if (e == NULL && in.len > ACME_HTTPS_MAX_HEADERS) {
				*error_r = xasprintf("headers longer than %d bytes",
						     ACME_HTTPS_MAX_HEADERS);
				goto out;
			}
			if (e == NULL)
				continue;
			head_len = (size_t)(e - in.data) + 4;
			if (head_len > ACME_HTTPS_MAX_HEADERS ||
			    acme_https_parse_head(in.data, head_len, resp, &clen, &chunked) < 0) {
				*error_r = xstrdup("malformed HTTP answer");
				goto out;
			}
			have_head = true;
			if (strcmp(method, "HEAD") == 0 || resp->status == 204 || resp->status == 304)
				break;
		}
		if (have_head && clen >= 0 && !chunked && in.len - head_len >= (size_t)clen)
			break;
		if (have_head && chunked && in.len >= head_len + 5 &&
		    memcmp(in.data + in.len - 5, "0\r\n\r\n", 5) == 0)
			break;
	}
	if (!have_head) {
		*error_r = xstrdup("connection closed before the answer");
		goto out;
	}
	size_t blen_in = strcmp(method, "HEAD") == 0 ? 0 : in.len - head_len;
	if (clen >= 0 && !chunked && strcmp(method, "HEAD") != 0) {
		if (blen_in < (size_t)clen) {
			*error_r = xstrdup("answer shorter than its Content-Length");
			goto out;
		}
		blen_in = (size_t)clen;
	}
	resp->body = xmalloc(blen_in + 1);
	memcpy(resp->body, in.data + head_len, blen_in);
	resp->body[blen_in] = '\0';
	resp->len = blen_in;
	if (chunked && strcmp(method, "HEAD") != 0) {
		long n = acme_https_dechunk(resp->body, resp->len);
		if (n < 0) {
			*error_r = xstrdup("malformed chunked answer");
			goto out;
		}
		resp->len = (size_t)n;
		resp->body[n] = '\0';
	}
	ret = 0;
out:
	if (ret < 0)
		acme_response_clear(resp);
	if (ssl != NULL) {
		SSL_shutdown(ssl); /* nonblocking: best effort */
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	buf_free(&in);
	buf_free(&req);
	free(host);
	free(port);
	free(path);
	return ret;
}

/*
 * mta-sts-fetch: the policy over HTTPS (RFC 8461 3.3), blocking, on a net
 * worker thread. One deadline covers the address lookup, connect, TLS
 * handshake and the whole response, so a host trickling bytes is cut off
 * like one that never answers; the response is read into a buffer of
 * MTA_STS_HEADER_MAX + MTA_STS_BODY_MAX octets and never past it.
 *
 * The request is HTTP/1.0 so the answer is never chunked; only a 200 is
 * a policy (redirects are not followed, 3.3).
 */
#include "outbound/mta-sts.h"
#include "dns/dns-packet.h"
#include "dns/dns-sync.h"
#include "lib/alloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FETCH_BUF_MAX (MTA_STS_HEADER_MAX + MTA_STS_BODY_MAX)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for `events` until the deadline: 1, 0 on
 * timeout, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_one(const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) <= 0) {
		close(fd);
		return -1;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connect to the first address of host that answers. */
static int connect_host(const struct dns_resolver *res, const char *host, int port,
			int64_t deadline, char **error_r)
{
	static const int types[] = {DNS_TYPE_AAAA, DNS_TYPE_A};
	bool any = false, temp = false;
	for (size_t t = 0; t < 2; t++) {
		struct dns_answer *a = xcalloc(1, sizeof(*a));
		res->query(res->ctx, host, types[t], a);
		if (a->status == DNS_ANSWER_TEMPFAIL)
			temp = true;
		for (size_t i = 0; a->status == DNS_ANSWER_OK && i < a->n; i++) {
			any = true;
			struct sockaddr_storage ss;
			socklen_t len;
			memset(&ss, 0, sizeof(ss));
			if (types[t] == DNS_TYPE_A) {
				struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
				sin->sin_family = AF_INET;
				sin->sin_port = htons((uint16_t)port);
				memcpy(&sin->sin_addr, a->recs[i].addr, 4);
				len = sizeof(*sin);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
				sin6->sin6_family = AF_INET6;
				sin6->sin6_port = htons((uint16_t)port);
				memcpy(&sin6->sin6_addr, a->recs[i].addr, 16);
				len = sizeof(*sin6);
			}
			int fd = connect_one((struct sockaddr *)&ss, len, deadline);
			if (fd >= 0) {
				dns_answer_clear(a);
				free(a);
				return fd;
			}
		}
		dns_answer_clear(a);
		free(a);
	}
	*error_r = xasprintf("%s: %s", host,
			     any ? "connection failed"
				 : temp ? "address lookup failed" : "no address");
	return -1;
}

/* Drive one SSL call to completion or the deadline: its result, or -1
 * with *timeout_r set. */
static int ssl_wait(SSL *ssl, int fd, int r, int64_t deadline, bool *timeout_r)
{
	int e = SSL_get_error(ssl, r);
	short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
	if (ev == 0)
		return -1;
	int w = wait_fd(fd, ev, deadline);
	if (w == 0)
		*timeout_r = true;
	return w > 0 ? 0 : -1;
}

static char *tls_error(SSL *ssl, const char *what)
{
	long v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK)
		return xasprintf("%s: certificate: %s", what, X509_verify_cert_error_string(v));
	unsigned long e = ERR_get_error();
	return xasprintf("%s: %s", what, e != 0 ? ERR_reason_error_string(e) : "connection closed");
}

/* The status, headers and body of the response in buf[0..n). */
static int parse_response(char *buf, size_t n, char **body_r, size_t *len_r, char **error_r)
{
	char *hend = NULL;
	size_t hl = 0;
	for (size_t i = 0; i + 1 < n && i < MTA_STS_HEADER_MAX; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			hend = buf + i;
			hl = 2;
			break;
		}
		if (i + 3 < n && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			hend = buf + i;
			hl = 4;
			break;
		}
	}
	if (hend == NULL) {
		*error_r = xstrdup(n >= MTA_STS_HEADER_MAX ? "response headers too long"
							  : "incomplete response");
		return -1;
	}
	*hend = '\0';
	int code = 0;
	if (strncmp(buf, "HTTP/1.", 7) != 0 || sscanf(buf + 8, " %3d", &code) != 1) {
		*error_r = xstrdup("not an HTTP response");
		return -1;
	}
	if (code != 200) {
		*error_r = xasprintf("HTTP status %d (only 200 is a policy)", code);
		return -1;
	}
	bool text_plain = false;
	long long clen = -1;
	for (char *line = strchr(buf, '\n'); line != NULL; line = strchr(line, '\n')) {
		line++;
		if (strncasecmp(line, "Content-Type:", 13) == 0) {
			const char *v = line + 13;
			while (*v == ' ' || *v == '\t')
				v++;
			text_plain = strncasecmp(v, "text/plain", 10) == 0 &&
				     (v[10] == '\0' || v[10] == ';' || v[10] == '\r' ||
				      v[10] == '\n' || v[10] == ' ');
		} else if (strncasecmp(line, "Content-Length:", 15) == 0) {
			clen = strtoll(line + 15, NULL, 10);
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			*error_r = xstrdup("a transfer encoding on an HTTP/1.0 request");
			return -1;
		}
	}
	if (!text_plain) {
		/* RFC 8461 3.2: the policy is served as text/plain */
		*error_r = xstrdup("Content-Type is not text/plain");
		return -1;
	}
	char *body = hend + hl;
	size_t bl = n - (size_t)(body - buf);
	if (bl > MTA_STS_BODY_MAX) {
		*error_r = xasprintf("policy larger than %d octets", MTA_STS_BODY_MAX);
		return -1;
	}
	if (clen >= 0 && (size_t)clen != bl) {
		*error_r = xstrdup("the body does not match its Content-Length (cut off?)");
		return -1;
	}
	*body_r = xstrndup(body, bl);
	*len_r = bl;
	return 0;
}

int mta_sts_fetch(SSL_CTX *ctx, const struct dns_resolver *res, const char *domain, int port,
		  int64_t timeout_ms, char **body_r, size_t *len_r, char **error_r)
{
	int64_t deadline = now_ms() + timeout_ms;
	char *host = xasprintf("mta-sts.%s", domain);
	char *err = NULL;
	int rc = -1;
	char *buf = NULL;
	SSL *ssl = NULL;
	bool timeout = false;
	int fd = connect_host(res, host, port, deadline, &err);
	if (fd < 0)
		goto out;
	ssl = SSL_new(ctx);
	if (ssl == NULL) {
		err = xstrdup("cannot create a TLS session");
		goto out;
	}
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	/* RFC 8461 3.3: the certificate valid for mta-sts.DOMAIN (RFC 6125) */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_set1_host(ssl, host);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	int r;
	while ((r = SSL_connect(ssl)) != 1)
		if (ssl_wait(ssl, fd, r, deadline, &timeout) < 0) {
			err = timeout ? xstrdup("TLS handshake timed out") : tls_error(ssl, "TLS");
			goto out;
		}
	char *req = xasprintf("GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: %s\r\n"
			      "User-Agent: roost\r\nConnection: close\r\n\r\n", host);
	size_t reqlen = strlen(req), off = 0;
	while (off < reqlen) {
		r = SSL_write(ssl, req + off, (int)(reqlen - off));
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (ssl_wait(ssl, fd, r, deadline, &timeout) < 0) {
			free(req);
			err = xstrdup(timeout ? "timed out sending the request" : "sending failed");
			goto out;
		}
	}
	free(req);
	buf = xmalloc(FETCH_BUF_MAX + 2);
	size_t n = 0;
	for (;;) {
		if (n > FETCH_BUF_MAX) {
			/* one octet past the cap: the policy is too large */
			err = xasprintf("response larger than %d octets (cut off)", FETCH_BUF_MAX);
			goto out;
		}
		r = SSL_read(ssl, buf + n, (int)(FETCH_BUF_MAX + 1 - n));
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
			break; /* closed: the response is complete (HTTP/1.0) */
		if (ssl_wait(ssl, fd, r, deadline, &timeout) < 0) {
			err = xstrdup(timeout ? "timed out reading the policy" : "reading failed");
			goto out;
		}
	}
	buf[n] = '\0';
	rc = parse_response(buf, n, body_r, len_r, &err);
out:
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	free(buf);
	if (rc < 0) {
		*error_r = xasprintf("https://%s/.well-known/mta-sts.txt: %s", host,
				     err != NULL ? err : "failed");
		free(err);
	}
	free(host);
	ERR_clear_error();
	return rc;
}

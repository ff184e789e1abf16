/*
 * test-conn: the connection layer against real sockets on 127.0.0.1.
 * The server (a small test protocol below) runs on this thread's event
 * loop; each test's client runs in a second thread with blocking sockets
 * and receive timeouts, so every test is bounded in time.
 *
 * Test protocol: the server greets "HELLO"; a line is echoed as
 * "<len>:<bytes>"; CLOSE, BYTES n, PAUSE, STARTTLS, INFO, INJECT, END and
 * lines starting with 'n' (counted silently) are commands.
 */
#include "unit.h"
#include "lib/conn.h"
#include "lib/alloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
/* From the AddressSanitizer runtime (sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_DEADLINE_MS 20000
#define CLIENT_TIMEOUT_S 5

/* --- server side ----------------------------------------------------- */

static struct {
	int connects, closes, too_long, tls_ready, refusals, timeouts_seen;
	int saw_inject, starttls_ret;
	int64_t timeout_ms;
	size_t max_pending, pending_at_resume, max_output;
	int drains;
	uint64_t bytes_total, bytes_sum;
	int chunks, counted;
	bool count_echoes;	/* echo: count lines in max_output, note pending */
	size_t max_in_output;	/* most output pending when a line arrived */
} srv;

static struct event_base *tb;
/* Closes seen, readable from the client thread. */
static atomic_int stall_closes;

static void note_pending(struct conn *c)
{
	size_t n = conn_input_pending(c);
	if (n > srv.max_pending)
		srv.max_pending = n;
}

static void t_connect(struct conn *c)
{
	srv.connects++;
	if (srv.timeout_ms > 0)
		conn_set_timeout(c, srv.timeout_ms);
	conn_puts(c, "HELLO\r\n");
}

static void t_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	srv.pending_at_resume = conn_input_pending(c);
	conn_puts(c, "RESUMED\r\n");
	conn_resume(c);
}

/* STREAM: write n bytes until the connection says its output is full;
 * on_drain asks for more. Progress lives in the conn's data. */
struct t_stream {
	uint64_t left;
};

static void t_stream_more(struct conn *c)
{
	struct t_stream *st = conn_data(c);
	static char block[16384];
	if (block[0] == '\0')
		memset(block, 's', sizeof(block));
	while (st != NULL && st->left > 0 && !conn_output_full(c)) {
		size_t n = st->left < sizeof(block) ? (size_t)st->left : sizeof(block);
		conn_write(c, block, n);
		st->left -= n;
		if (conn_output_pending(c) > srv.max_output)
			srv.max_output = conn_output_pending(c);
	}
	if (st != NULL && st->left == 0) {
		conn_puts(c, "\r\nDONE\r\n");
		free(st);
		conn_set_data(c, NULL);
	}
}

static void t_drain(struct conn *c)
{
	if (conn_data(c) != NULL) {
		srv.drains++;
		t_stream_more(c);
	}
}

static void t_line(struct conn *c, char *line, size_t len)
{
	note_pending(c);
	if (strncmp(line, "STREAM ", 7) == 0) {
		struct t_stream *st = xcalloc(1, sizeof(*st));
		st->left = strtoull(line + 7, NULL, 10);
		conn_set_data(c, st);
		t_stream_more(c);
	} else if (strncmp(line, "MAX ", 4) == 0) {
		conn_set_line_max(c, strtoull(line + 4, NULL, 10));
		conn_puts(c, "MAXOK\r\n");
	} else if (strcmp(line, "CLOSE") == 0) {
		conn_puts(c, "BYE\r\n");
		conn_close(c);
	} else if (strncmp(line, "BYTES ", 6) == 0) {
		srv.bytes_total = srv.bytes_sum = 0;
		srv.chunks = 0;
		conn_read_bytes(c, strtoull(line + 6, NULL, 10));
	} else if (strncmp(line, "PAUSE ", 6) == 0) {
		long ms = strtol(line + 6, NULL, 10);
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		conn_pause(c);
		conn_puts(c, "PAUSED\r\n");
		event_base_once(conn_base(c), -1, EV_TIMEOUT, t_resume_cb, c, &tv);
	} else if (strcmp(line, "STARTTLS") == 0) {
		conn_puts(c, "GO\r\n");
		srv.starttls_ret = conn_starttls(c);
	} else if (strcmp(line, "INFO") == 0) {
		const char *d = conn_tls_description(c);
		conn_printf(c, "INFO tls=%d loop=%d plain=%d ip=%s idlen=%zu desc=%s\r\n",
			    conn_tls_active(c), conn_is_loopback(c), conn_plaintext_auth_ok(c),
			    conn_remote_ip(c), strlen(conn_id(c)), d != NULL ? d : "-");
	} else if (strcmp(line, "INJECT") == 0) {
		srv.saw_inject++;
		conn_puts(c, "INJECTED\r\n");
	} else if (strcmp(line, "END") == 0) {
		conn_printf(c, "COUNT %d\r\n", srv.counted);
	} else if (line[0] == 'n') {
		srv.counted++;
	} else {
		if (srv.count_echoes) {
			srv.max_output++;
			if (conn_output_pending(c) > srv.max_in_output)
				srv.max_in_output = conn_output_pending(c);
		}
		conn_printf(c, "%zu:", len);
		conn_write(c, line, len);
		conn_puts(c, "\r\n");
	}
}

static void t_line_too_long(struct conn *c)
{
	note_pending(c);
	srv.too_long++;
	conn_puts(c, "TOOLONG\r\n");
}

static void t_bytes(struct conn *c, const char *data, size_t len, bool last)
{
	note_pending(c);
	srv.bytes_total += len;
	if (len > 0)
		srv.chunks++;
	for (size_t i = 0; i < len; i++)
		srv.bytes_sum += (unsigned char)data[i];
	if (last)
		conn_printf(c, "GOT %llu %d %llu\r\n", (unsigned long long)srv.bytes_total,
			    srv.chunks > 1, (unsigned long long)srv.bytes_sum);
}

static void t_tls_ready(struct conn *c)
{
	srv.tls_ready++;
	conn_puts(c, "TLSOK\r\n");
}

static void t_close(struct conn *c)
{
	srv.closes++;
	atomic_fetch_add(&stall_closes, 1);
	free(conn_data(c));
}

static void t_refused(struct conn *c, enum conn_refusal why)
{
	srv.refusals++;
	conn_printf(c, "REFUSED %s\r\n", why == CONN_REFUSE_PER_IP ? "ip" : "total");
}

static const struct conn_handler t_handler = {
	.proto = "test",
	.on_connect = t_connect,
	.on_line = t_line,
	.on_line_too_long = t_line_too_long,
	.on_bytes = t_bytes,
	.on_tls_ready = t_tls_ready,
	.on_drain = t_drain,
	.on_close = t_close,
};

static char cert_path[300], key_path[300];

static EVP_PKEY *make_cert(const char *cert, const char *key)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, pkey, EVP_sha256());
	FILE *f = fopen(cert, "w");
	PEM_write_X509(f, x);
	fclose(f);
	if (key != NULL) {
		f = fopen(key, "w");
		PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	X509_free(x);
	return pkey;
}

static SSL_CTX *make_server_ctx(void)
{
	const char *dir = unit_tmpdir();
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	EVP_PKEY_free(make_cert(cert_path, key_path));
	char *error = NULL;
	SSL_CTX *ctx = tls_server_ctx_new(cert_path, key_path, &error);
	CHECK(ctx != NULL);
	if (error != NULL)
		printf("    tls: %s\n", error);
	free(error);
	return ctx;
}

/* Start a fresh loop and listener; returns the port (0 for unix only). */
static int server_start(const char *listen, bool implicit_tls, const struct conn_limits *limits,
			bool with_tls)
{
	signal(SIGPIPE, SIG_IGN);
	memset(&srv, 0, sizeof(srv));
	srv.starttls_ret = 99;
	tb = event_base_new();
	struct conn_limits def = {.max_connections = 100, .max_connections_per_ip = 50,
				  .allow_plaintext = 1};
	SSL_CTX *ctx = with_tls ? make_server_ctx() : NULL;
	conn_global_init(tb, limits != NULL ? limits : &def, ctx);
	SSL_CTX_free(ctx); /* conn_global_init took its own reference */
	struct conn_listener_spec spec = {.proto = "test", .listen = listen, .handler = &t_handler,
					  .implicit_tls = implicit_tls, .on_refused = t_refused};
	char *error = NULL;
	int r = conn_listen(&spec, &error);
	CHECK_INT(r, 0);
	if (error != NULL)
		printf("    listen: %s\n", error);
	free(error);
	return conn_listen_last_port();
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

struct client_run {
	void (*script)(void *arg);
	void *arg;
	atomic_int done;
};

static void *client_thread(void *p)
{
	struct client_run *r = p;
	r->script(r->arg);
	atomic_store(&r->done, 1);
	return NULL;
}

/* Run the loop while the client script runs, then until every connection
 * is gone; then tear the server down. */
static void run_client(void (*script)(void *arg), void *arg)
{
	struct client_run r = {.script = script, .arg = arg};
	pthread_t th;
	struct event *tick = event_new(tb, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = {0, 5000};
	event_add(tick, &tv);
	pthread_create(&th, NULL, client_thread, &r);
	int64_t deadline = mono_ms() + TEST_DEADLINE_MS;
	while (!atomic_load(&r.done) && mono_ms() < deadline)
		event_base_loop(tb, EVLOOP_ONCE);
	CHECK(atomic_load(&r.done));
	pthread_join(th, NULL);
	conn_listen_stop_all();
	deadline = mono_ms() + 3000;
	while (conn_count() > 0 && mono_ms() < deadline)
		event_base_loop(tb, EVLOOP_ONCE);
	if (conn_count() > 0) {
		conn_close_all();
		deadline = mono_ms() + 12000;
		while (conn_count() > 0 && mono_ms() < deadline)
			event_base_loop(tb, EVLOOP_ONCE);
	}
	CHECK_INT(conn_count(), 0);
	event_free(tick);
	event_base_free(tb);
	tb = NULL;
}

/* --- client side ----------------------------------------------------- */

struct cl {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[16384];
	size_t len;
};

static void cl_timeouts(int fd)
{
	struct timeval tv = {CLIENT_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static bool cl_connect(struct cl *cl, int port)
{
	memset(cl, 0, sizeof(*cl));
	cl->fd = socket(AF_INET, SOCK_STREAM, 0);
	cl_timeouts(cl->fd);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return connect(cl->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
}

static bool cl_connect_unix(struct cl *cl, const char *path)
{
	memset(cl, 0, sizeof(*cl));
	cl->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cl_timeouts(cl->fd);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%.100s", path);
	return connect(cl->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
}

static void cl_close(struct cl *cl)
{
	if (cl->ssl != NULL)
		SSL_free(cl->ssl);
	if (cl->ctx != NULL)
		SSL_CTX_free(cl->ctx);
	if (cl->fd >= 0)
		close(cl->fd);
	cl->ssl = NULL;
	cl->ctx = NULL;
	cl->fd = -1;
}

static bool cl_tls(struct cl *cl)
{
	cl->ctx = SSL_CTX_new(TLS_client_method());
	cl->ssl = SSL_new(cl->ctx);
	SSL_set_fd(cl->ssl, cl->fd);
	bool ok = SSL_connect(cl->ssl) == 1;
	ERR_clear_error();
	return ok;
}

static void cl_send(struct cl *cl, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t w = cl->ssl != NULL ? SSL_write(cl->ssl, s, (int)n)
					    : send(cl->fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void cl_puts(struct cl *cl, const char *s)
{
	cl_send(cl, s, strlen(s));
}

static ssize_t cl_read(struct cl *cl, char *p, size_t n)
{
	if (cl->ssl != NULL) {
		int r = SSL_read(cl->ssl, p, (int)n);
		ERR_clear_error();
		return r > 0 ? r : 0;
	}
	return recv(cl->fd, p, n, 0);
}

/* One reply line without CRLF into out (NUL-terminated); its length, or
 * -1 on EOF, error or timeout. */
static ssize_t cl_line(struct cl *cl, char *out, size_t max)
{
	for (;;) {
		char *lf = memchr(cl->buf, '\n', cl->len);
		if (lf != NULL) {
			size_t n = (size_t)(lf - cl->buf);
			size_t keep = n > 0 && cl->buf[n - 1] == '\r' ? n - 1 : n;
			if (keep >= max)
				keep = max - 1;
			memcpy(out, cl->buf, keep);
			out[keep] = '\0';
			memmove(cl->buf, lf + 1, cl->len - n - 1);
			cl->len -= n + 1;
			return (ssize_t)keep;
		}
		if (cl->len == sizeof(cl->buf))
			return -1;
		ssize_t r = cl_read(cl, cl->buf + cl->len, sizeof(cl->buf) - cl->len);
		if (r <= 0)
			return -1;
		cl->len += (size_t)r;
	}
}

/* Like cl_line, for a reply longer than the client's buffer. */
static ssize_t cl_line_big(struct cl *cl, char *out, size_t max)
{
	size_t n = 0;
	for (;;) {
		if (cl->len == 0) {
			ssize_t r = cl_read(cl, cl->buf, sizeof(cl->buf));
			if (r <= 0)
				return -1;
			cl->len = (size_t)r;
		}
		char *lf = memchr(cl->buf, '\n', cl->len);
		size_t take = lf != NULL ? (size_t)(lf - cl->buf) + 1 : cl->len;
		if (n + take > max)
			return -1;
		memcpy(out + n, cl->buf, take);
		n += take;
		memmove(cl->buf, cl->buf + take, cl->len - take);
		cl->len -= take;
		if (lf != NULL) {
			n -= n >= 2 && out[n - 2] == '\r' ? 2 : 1;
			out[n] = '\0';
			return (ssize_t)n;
		}
	}
}

static bool cl_expect(struct cl *cl, const char *want)
{
	char line[4096];
	ssize_t n = cl_line(cl, line, sizeof(line));
	if (n < 0 || strcmp(line, want) != 0) {
		unit_fail(__FILE__, __LINE__, "expected \"%s\", got \"%s\"", want, n < 0 ? "(eof)" : line);
		return false;
	}
	return true;
}

/* True when the server closed the connection (after any buffered lines). */
static bool cl_eof(struct cl *cl)
{
	if (cl->len > 0)
		return false;
	char c;
	return cl_read(cl, &c, 1) == 0;
}

/* Read and drop whatever comes (e.g. a TLS alert) until the server
 * closes; false on timeout. */
static bool cl_wait_eof(struct cl *cl)
{
	char b[512];
	for (int i = 0; i < 100; i++) {
		ssize_t r = recv(cl->fd, b, sizeof(b), 0);
		if (r == 0)
			return true;
		if (r < 0)
			return errno == ECONNRESET;
	}
	return false;
}

/* --- tests ----------------------------------------------------------- */

static int port;

static void script_framing(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	static const char input[] = "hello\r\nworld\n\r\na\rb\nNul\0x\r\n";
	cl_send(&cl, input, sizeof(input) - 1);
	cl_expect(&cl, "5:hello");
	cl_expect(&cl, "5:world");
	cl_expect(&cl, "0:");
	cl_expect(&cl, "3:a\rb");
	char line[64];
	ssize_t n = cl_line(&cl, line, sizeof(line));
	CHECK_INT(n, 7);
	CHECK(n == 7 && memcmp(line, "5:Nul\0x", 7) == 0);
	/* A line split over several writes. */
	cl_puts(&cl, "spl");
	usleep(20000);
	cl_puts(&cl, "it\r");
	usleep(20000);
	cl_puts(&cl, "\n");
	cl_expect(&cl, "5:split");
	cl_puts(&cl, "INFO\r\n");
	cl_expect(&cl, "INFO tls=0 loop=1 plain=1 ip=127.0.0.1 idlen=8 desc=-");
	cl_close(&cl);
}

TEST(conn_line_framing)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	CHECK(port > 0);
	run_client(script_framing, NULL);
	CHECK_INT(srv.connects, 1);
	CHECK_INT(srv.closes, 1);
}

static void script_too_long(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	char *big = xmalloc(64 * 1024);
	memset(big, 'x', 64 * 1024);
	for (int i = 0; i < 16; i++) /* 1 MB without a line end */
		cl_send(&cl, big, 64 * 1024);
	cl_puts(&cl, "\r\nok\r\n");
	cl_expect(&cl, "TOOLONG");
	cl_expect(&cl, "2:ok");
	/* Exactly at the limit (1000 + CRLF) passes; one more byte does not. */
	big[1000] = '\r';
	big[1001] = '\n';
	cl_send(&cl, big, 1002);
	char line[1100];
	CHECK_INT(cl_line(&cl, line, sizeof(line)), 1005);
	big[1000] = 'x';
	big[1001] = '\n';
	cl_send(&cl, big, 1002);
	cl_expect(&cl, "TOOLONG");
	cl_puts(&cl, "after\n");
	cl_expect(&cl, "5:after");
	/* A raised limit above the input buffer bound: a 90 KB line still
	 * fits (reading must not stop while its LF is outstanding). */
	cl_puts(&cl, "MAX 100000\r\n");
	cl_expect(&cl, "MAXOK");
	for (int i = 0; i < 90; i++)
		cl_send(&cl, big, 1000);
	cl_puts(&cl, "\r\n");
	char *reply = xmalloc(100000);
	CHECK_INT(cl_line_big(&cl, reply, 100000), 90006);
	CHECK(strncmp(reply, "90000:xxxx", 10) == 0);
	free(reply);
	free(big);
	cl_close(&cl);
}

TEST(conn_line_too_long)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	run_client(script_too_long, NULL);
	CHECK_INT(srv.too_long, 2);
	/* The 1 MB line was never buffered whole. */
	CHECK(srv.max_pending < 200 * 1024);
}

static void script_bytes(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "BYTES 300000\r\n");
	char chunk[7000];
	unsigned long long sum = 0;
	size_t sent = 0;
	while (sent < 300000) {
		size_t n = 300000 - sent < sizeof(chunk) ? 300000 - sent : sizeof(chunk);
		for (size_t i = 0; i < n; i++) {
			chunk[i] = (char)((sent + i) * 7 % 251); /* includes CR, LF, NUL */
			sum += (unsigned char)chunk[i];
		}
		cl_send(&cl, chunk, n);
		sent += n;
	}
	cl_puts(&cl, "after\r\n");
	char want[64];
	snprintf(want, sizeof(want), "GOT 300000 1 %llu", sum);
	cl_expect(&cl, want);
	cl_expect(&cl, "5:after");
	/* Zero bytes still ends with last=true, then line mode. */
	cl_puts(&cl, "BYTES 0\r\nx\r\n");
	cl_expect(&cl, "GOT 0 0 0");
	cl_expect(&cl, "1:x");
	/* A huge announced size: chunks flow as they come, memory bounded. */
	cl_puts(&cl, "BYTES 4611686018427387904\r\n");
	memset(chunk, 'z', sizeof(chunk));
	for (int i = 0; i < 150; i++)
		cl_send(&cl, chunk, sizeof(chunk));
	cl_close(&cl);
}

TEST(conn_byte_mode)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	run_client(script_bytes, NULL);
	CHECK_INT(srv.bytes_total, 150 * 7000);
	CHECK(srv.chunks > 1);
	CHECK(srv.max_pending < 200 * 1024);
	CHECK_INT(srv.closes, 1);
}

static void script_pause(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "PAUSE 100\r\nA\r\nB\r\n");
	cl_expect(&cl, "PAUSED");
	cl_expect(&cl, "RESUMED");
	cl_expect(&cl, "1:A");
	cl_expect(&cl, "1:B");
	/* Backpressure: 20000 lines (240 KB) arrive while paused; the server
	 * stops reading instead of buffering them all, and loses none. */
	cl_puts(&cl, "PAUSE 300\r\n");
	char *lines = xmalloc(20000 * 12 + 8);
	size_t off = 0;
	for (int i = 0; i < 20000; i++) {
		char one[32];
		int k = snprintf(one, sizeof(one), "n%09d\r\n", i);
		memcpy(lines + off, one, (size_t)k);
		off += (size_t)k;
	}
	cl_send(&cl, lines, off);
	cl_puts(&cl, "END\r\n");
	free(lines);
	cl_expect(&cl, "PAUSED");
	cl_expect(&cl, "RESUMED");
	cl_expect(&cl, "COUNT 20000");
	cl_close(&cl);
}

TEST(conn_pause_resume)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	run_client(script_pause, NULL);
	CHECK(srv.pending_at_resume > 0);
	CHECK(srv.pending_at_resume < 200 * 1024);
	CHECK_INT(srv.counted, 20000);
	CHECK(srv.max_pending < 200 * 1024);
}

static void script_close(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "CLOSE\r\nafter\r\n");
	cl_expect(&cl, "BYE");
	CHECK(cl_eof(&cl));
	cl_close(&cl);
	/* Peer disconnect. */
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_close(&cl);
	/* Half close: what was sent is served, then the server closes. */
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "x\r\ny\r\npartial");
	shutdown(cl.fd, SHUT_WR);
	cl_expect(&cl, "1:x");
	cl_expect(&cl, "1:y");
	CHECK(cl_eof(&cl));
	cl_close(&cl);
}

static void script_stream(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "STREAM 3000000\r\n");
	const size_t total = 3000000 + 8; /* then "\r\nDONE\r\n" */
	size_t got = 0, bad = 0;
	char b[16384], tail[8] = "";
	usleep(100000); /* let the server hit the socket's limits first */
	while (got < total) {
		ssize_t r = cl_read(&cl, b, sizeof(b));
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (got + (size_t)i < 3000000)
				bad += b[i] != 's';
			else if (got + (size_t)i < total)
				tail[got + (size_t)i - 3000000] = b[i];
		}
		got += (size_t)r;
	}
	CHECK_INT(got, total);
	CHECK_INT(bad, 0);
	CHECK(memcmp(tail, "\r\nDONE\r\n", 8) == 0);
	cl_close(&cl);
}

TEST(conn_stream_on_drain)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	run_client(script_stream, NULL);
	CHECK(srv.drains > 0);
	/* Output stayed bounded: never past the high-water mark plus one
	 * block of the writer. */
	CHECK(srv.max_output < CONN_OUTPUT_HIGH + 32 * 1024);
}

/* A client pipelines many echo commands and does not read: once the
 * replies reach the high-water mark the server stops taking input; when
 * the client reads, every command is answered, in order. */
#define PIPE_LINES 200000
static void script_pipeline_no_read(void *arg)
{
	bool tls = arg != NULL;
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	if (tls)
		CHECK(cl_tls(&cl));
	cl_expect(&cl, "HELLO");
	/* ~20 MB of input whose echoes are 20 MB: more than the socket
	 * buffers hold, so the sender blocks (send timeout) unless it reads. */
	static char line[101];
	memset(line, 'p', 98);
	memcpy(line + 98, "\r\n", 3);
	size_t sent = 0;
	struct timeval tv = {0, 300000};
	setsockopt(cl.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < PIPE_LINES; i++) {
		ssize_t w = tls ? SSL_write(cl.ssl, line, 100) : send(cl.fd, line, 100, MSG_NOSIGNAL);
		if (w != 100)
			break; /* a partial line is never answered: not counted */
		sent++;
	}
	ERR_clear_error();
	/* The server stopped reading long before all was sent. */
	CHECK(sent < PIPE_LINES);
	usleep(200000);
	size_t handled = (size_t)srv.max_output;
	CHECK(handled < PIPE_LINES);
	/* Now read everything: all sent lines are answered, none lost. */
	cl_timeouts(cl.fd);
	for (size_t i = 0; i < sent; i++) {
		char out[200];
		ssize_t n = cl_line(&cl, out, sizeof(out));
		if (n != 101 || strncmp(out, "98:ppp", 6) != 0) {
			unit_fail(__FILE__, __LINE__, "reply %zu of %zu missing (%zd: %.20s)", i, sent,
				  n, n > 0 ? out : "");
			break;
		}
	}
	cl_close(&cl);
}

TEST(conn_output_backpressure)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	srv.count_echoes = true;
	run_client(script_pipeline_no_read, NULL);
	CHECK(srv.max_in_output <= CONN_OUTPUT_HIGH + 1024);
}

TEST(conn_output_backpressure_tls)
{
	port = server_start("127.0.0.1:0", true, NULL, true);
	srv.count_echoes = true;
	run_client(script_pipeline_no_read, (void *)1);
	CHECK(srv.max_in_output <= CONN_OUTPUT_HIGH + 1024);
}

/* A client that sends and never reads is closed by the stall timeout
 * (input does not extend it). */
static void script_stall(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "STREAM 50000000\r\n");
	int64_t t0 = mono_ms();
	/* Keep sending input while not reading: it must not keep it alive. */
	struct timeval tv = {0, 100000};
	setsockopt(cl.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (mono_ms() - t0 < 4000 && atomic_load(&stall_closes) == 0) {
		send(cl.fd, "n\r\n", 3, MSG_NOSIGNAL);
		usleep(20000);
	}
	CHECK_INT(atomic_load(&stall_closes), 1);
	int64_t took = mono_ms() - t0;
	CHECK(took >= 250 && took < 4000);
	cl_close(&cl);
}

TEST(conn_output_stall_timeout)
{
	struct conn_limits lim = {.max_connections = 10, .max_connections_per_ip = 10,
				  .allow_plaintext = 1, .output_stall_ms = 300};
	port = server_start("127.0.0.1:0", false, &lim, false);
	atomic_store(&stall_closes, 0);
	run_client(script_stall, NULL);
	CHECK_INT(srv.closes, 1);
}

TEST(conn_close_and_disconnect)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	run_client(script_close, NULL);
	CHECK_INT(srv.connects, 3);
	CHECK_INT(srv.closes, 3);
}

static void script_idle(void *arg)
{
	struct cl cl;
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	int64_t t0 = mono_ms();
	CHECK(cl_eof(&cl));
	int64_t took = mono_ms() - t0;
	CHECK(took >= 100 && took < 3000);
	cl_close(&cl);
}

TEST(conn_idle_timeout)
{
	port = server_start("127.0.0.1:0", false, NULL, false);
	srv.timeout_ms = 200;
	run_client(script_idle, NULL);
	CHECK_INT(srv.closes, 1);
}

static void script_limits(void *arg)
{
	struct cl a, b, c;
	char line[64];
	CHECK(cl_connect(&a, port));
	cl_expect(&a, "HELLO");
	CHECK(cl_connect(&b, port));
	cl_expect(&b, "HELLO");
	CHECK(cl_connect(&c, port));
	cl_expect(&c, "REFUSED ip");
	CHECK(cl_eof(&c));
	cl_close(&c);
	cl_close(&a);
	/* Once one closes, a new one is admitted (after the server noticed). */
	bool ok = false;
	for (int i = 0; i < 100 && !ok; i++) {
		CHECK(cl_connect(&c, port));
		ok = cl_line(&c, line, sizeof(line)) > 0 && strcmp(line, "HELLO") == 0;
		cl_close(&c);
		if (!ok)
			usleep(20000);
	}
	CHECK(ok);
	cl_close(&b);
}

TEST(conn_per_ip_limit)
{
	struct conn_limits lim = {.max_connections = 10, .max_connections_per_ip = 2};
	port = server_start("127.0.0.1:0", false, &lim, false);
	run_client(script_limits, NULL);
	CHECK_INT(srv.refusals >= 1, 1);
	CHECK_INT(srv.connects, srv.closes);
}

static void script_total(void *arg)
{
	struct cl a, b;
	CHECK(cl_connect(&a, port));
	cl_expect(&a, "HELLO");
	CHECK(cl_connect(&b, port));
	cl_expect(&b, "REFUSED total");
	CHECK(cl_eof(&b));
	cl_puts(&a, "INFO\r\n");
	cl_expect(&a, "INFO tls=0 loop=1 plain=0 ip=127.0.0.1 idlen=8 desc=-");
	cl_close(&b);
	cl_close(&a);
}

TEST(conn_total_limit)
{
	struct conn_limits lim = {.max_connections = 1, .max_connections_per_ip = 5,
				  .allow_plaintext = 0};
	port = server_start("127.0.0.1:0", false, &lim, false);
	run_client(script_total, NULL);
	CHECK_INT(srv.refusals, 1);
	CHECK_INT(srv.connects, 1);
	CHECK_INT(srv.closes, 1);
}

static void script_starttls(void *arg)
{
	struct cl cl;
	char line[256];
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	/* Pipelined after STARTTLS in the same segment: must be dropped. */
	cl_puts(&cl, "STARTTLS\r\nINJECT\r\n");
	cl_expect(&cl, "GO");
	CHECK(cl_tls(&cl));
	cl_expect(&cl, "TLSOK");
	cl_puts(&cl, "after\r\n");
	cl_expect(&cl, "5:after");
	/* Streamed output through the filter's bounded socket buffer. */
	cl_puts(&cl, "STREAM 300000\r\n");
	size_t got = 0;
	while (got < 300000) {
		ssize_t r = cl_read(&cl, cl.buf, 300000 - got < sizeof(cl.buf) ? 300000 - got : sizeof(cl.buf));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	CHECK_INT(got, 300000);
	cl_expect(&cl, "");
	cl_expect(&cl, "DONE");
	cl_puts(&cl, "INFO\r\n");
	CHECK(cl_line(&cl, line, sizeof(line)) > 0);
	CHECK(strncmp(line, "INFO tls=1 loop=1 plain=1 ip=127.0.0.1 idlen=8 desc=TLSv1.", 57) == 0);
	/* STARTTLS again is refused by conn_starttls. */
	cl_puts(&cl, "STARTTLS\r\n");
	cl_expect(&cl, "GO");
	cl_puts(&cl, "CLOSE\r\n");
	cl_expect(&cl, "BYE");
	CHECK(cl_eof(&cl));
	cl_close(&cl);

	/* A failed handshake closes the connection. */
	CHECK(cl_connect(&cl, port));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "STARTTLS\r\n");
	cl_expect(&cl, "GO");
	cl_puts(&cl, "this is not a TLS ClientHello\r\n\r\n");
	CHECK(cl_wait_eof(&cl));
	cl_close(&cl);
}

TEST(conn_starttls_discards_pipelined)
{
	port = server_start("127.0.0.1:0", false, NULL, true);
	run_client(script_starttls, NULL);
	CHECK_INT(srv.saw_inject, 0);
	CHECK_INT(srv.tls_ready, 1);
	CHECK_INT(srv.starttls_ret, 0); /* the last call: second connection */
	CHECK_INT(srv.connects, 2);
	CHECK_INT(srv.closes, 2);
}

static void script_implicit(void *arg)
{
	struct cl cl;
	char line[256];
	CHECK(cl_connect(&cl, port));
	CHECK(cl_tls(&cl));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "ping\r\n");
	cl_expect(&cl, "4:ping");
	cl_puts(&cl, "INFO\r\n");
	CHECK(cl_line(&cl, line, sizeof(line)) > 0);
	CHECK(strstr(line, "INFO tls=1 ") == line);
	/* A long reply arrives whole through TLS. */
	char big[900];
	memset(big, 'q', sizeof(big));
	for (int i = 0; i < 200; i++) {
		cl_send(&cl, big, sizeof(big));
		cl_puts(&cl, "\r\n");
	}
	int ok = 0;
	for (int i = 0; i < 200; i++)
		ok += cl_line(&cl, line, sizeof(line)) > 0 && strncmp(line, "900:qqq", 7) == 0;
	CHECK_INT(ok, 200);
	cl_puts(&cl, "CLOSE\r\n");
	cl_expect(&cl, "BYE");
	CHECK(cl_eof(&cl));
	cl_close(&cl);
	/* Plain text on the TLS port: no session, no crash. */
	CHECK(cl_connect(&cl, port));
	cl_puts(&cl, "HELLO?\r\n");
	CHECK(cl_wait_eof(&cl));
	cl_close(&cl);
}

TEST(conn_implicit_tls)
{
	port = server_start("127.0.0.1:0", true, NULL, true);
	run_client(script_implicit, NULL);
	CHECK_INT(srv.connects, 1);
	CHECK_INT(srv.closes, 1);
}

static char unix_path[300];

static void script_unix(void *arg)
{
	struct cl cl;
	CHECK(cl_connect_unix(&cl, unix_path));
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "INFO\r\n");
	cl_expect(&cl, "INFO tls=0 loop=1 plain=1 ip=unix idlen=8 desc=-");
	cl_close(&cl);
}

TEST(conn_listen_unix_and_errors)
{
	snprintf(unix_path, sizeof(unix_path), "%s/s.sock", unit_tmpdir());
	char value[400];
	snprintf(value, sizeof(value), "unix:%s", unix_path);
	/* A stale socket file from an earlier run is replaced. */
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%.100s", unix_path);
	CHECK(bind(stale, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(stale);
	server_start(value, false, NULL, false);

	static const char *const bad[] = {"bogus", "127.0.0.1:99999", "[::1:25", "::1:25",
					   "127.0.0.1:", "unix:relative/path"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conn_listener_spec spec = {.proto = "test", .listen = bad[i],
						  .handler = &t_handler};
		char *error = NULL;
		CHECK_INT(conn_listen(&spec, &error), -1);
		CHECK(error != NULL && strstr(error, bad[i]) != NULL);
		free(error);
	}
	/* Empty value: nothing to do. */
	struct conn_listener_spec empty = {.proto = "test", .listen = "", .handler = &t_handler};
	char *error = NULL;
	CHECK_INT(conn_listen(&empty, &error), 0);
	run_client(script_unix, NULL);
	CHECK_INT(srv.closes, 1);
	CHECK(access(unix_path, F_OK) != 0); /* removed on stop */
}

TEST(conn_tls_ctx_key_mismatch)
{
	const char *dir = unit_tmpdir();
	char cert2[300], key1[300];
	snprintf(cert_path, sizeof(cert_path), "%s/c1.pem", dir);
	snprintf(key1, sizeof(key1), "%s/k1.pem", dir);
	snprintf(cert2, sizeof(cert2), "%s/c2.pem", dir);
	EVP_PKEY_free(make_cert(cert_path, key1));
	EVP_PKEY_free(make_cert(cert2, NULL));
	char *error = NULL;
	SSL_CTX *ctx = tls_server_ctx_new(cert2, key1, &error);
	CHECK(ctx == NULL);
	CHECK(error != NULL && strstr(error, "does not match") != NULL);
	free(error);
	error = NULL;
	ctx = tls_server_ctx_new(cert_path, key1, &error);
	CHECK(ctx != NULL);
	CHECK(ctx != NULL && SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
	CHECK(ctx != NULL && (SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS) != 0);
	SSL_CTX_free(ctx);
	error = NULL;
	CHECK(tls_server_ctx_new("/nonexistent/cert.pem", key1, &error) == NULL);
	CHECK(error != NULL && strstr(error, "/nonexistent/cert.pem") != NULL);
	free(error);
}

static void script_v6(void *arg)
{
	struct cl cl;
	memset(&cl, 0, sizeof(cl));
	cl.fd = socket(AF_INET6, SOCK_STREAM, 0);
	cl_timeouts(cl.fd);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	sin6.sin6_addr = in6addr_loopback;
	CHECK(connect(cl.fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
	cl_expect(&cl, "HELLO");
	cl_puts(&cl, "INFO\r\n");
	cl_expect(&cl, "INFO tls=0 loop=1 plain=1 ip=::1 idlen=8 desc=-");
	cl_close(&cl);
}

TEST(conn_listen_ipv6)
{
	signal(SIGPIPE, SIG_IGN);
	tb = event_base_new();
	struct conn_limits lim = {.max_connections = 10, .max_connections_per_ip = 10,
				  .allow_plaintext = 1};
	conn_global_init(tb, &lim, NULL);
	memset(&srv, 0, sizeof(srv));
	struct conn_listener_spec spec = {.proto = "test", .listen = "[::1]:0",
					  .handler = &t_handler};
	char *error = NULL;
	if (conn_listen(&spec, &error) == 0) {
		port = conn_listen_last_port();
		run_client(script_v6, NULL);
		CHECK_INT(srv.closes, 1);
	} else {
		/* A host without IPv6: the error still names the address. */
		CHECK(error != NULL && strstr(error, "[::1]:0") != NULL);
		free(error);
		event_base_free(tb);
	}
}

static void tick_script(void *arg)
{
}

/* Memory per idle connection (heap, as malloc counts it). The client runs
 * in a child process so its own allocations are not counted. */
#define MEM_CONNS 100

static void mem_client(int port_, bool tls, int ready_fd, int go_fd)
{
	static struct cl cls[MEM_CONNS];
	bool ok = true;
	for (int i = 0; i < MEM_CONNS && ok; i++) {
		ok = cl_connect(&cls[i], port_) && (!tls || cl_tls(&cls[i]));
		char line[64];
		ok = ok && cl_line(&cls[i], line, sizeof(line)) == 5;
		cl_puts(&cls[i], "ab\r\n");
		ok = ok && cl_line(&cls[i], line, sizeof(line)) == 4;
	}
	char c = ok ? 'y' : 'n';
	if (write(ready_fd, &c, 1) != 1)
		_exit(2);
	if (read(go_fd, &c, 1) != 1)
		_exit(2);
	_exit(0);
}

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	char *c = arg;
	if (read(fd, c, 1) != 1)
		*c = 'n';
}

/* Bytes the process has allocated and not freed. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static size_t mem_per_conn(bool tls)
{
	struct conn_limits lim = {.max_connections = 1000, .max_connections_per_ip = 1000};
	port = server_start("127.0.0.1:0", tls, &lim, tls);
	int ready[2], go[2];
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	size_t before = heap_in_use();
	pid_t pid = fork();
	if (pid == 0)
		mem_client(port, tls, ready[1], go[0]);
	char status = 0;
	struct event *ev = event_new(tb, ready[0], EV_READ, ready_cb, &status);
	event_add(ev, NULL);
	int64_t deadline = mono_ms() + TEST_DEADLINE_MS;
	while (status == 0 && mono_ms() < deadline)
		event_base_loop(tb, EVLOOP_ONCE);
	/* Let the last replies leave and buffers be given back. */
	for (int i = 0; i < 20; i++)
		event_base_loop(tb, EVLOOP_NONBLOCK);
	size_t after = heap_in_use();
	CHECK_INT(status, 'y');
	CHECK_INT(conn_count(), MEM_CONNS);
	if (write(go[1], "g", 1) != 1)
		CHECK(0);
	int wst;
	waitpid(pid, &wst, 0);
	event_free(ev);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	run_client(tick_script, NULL);
	CHECK_INT(srv.closes, MEM_CONNS);
	return after > before ? (after - before) / MEM_CONNS : 0;
}

TEST(conn_memory_per_idle_connection)
{
	size_t plain = mem_per_conn(false);
	size_t tls = mem_per_conn(true);
	printf("    heap per idle connection: plain %zu bytes, TLS %zu bytes\n", plain, tls);
	CHECK(plain > 0 && plain < 32 * 1024);
	CHECK(tls > 0 && tls < 64 * 1024);
}

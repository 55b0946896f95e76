/* socks.c: a SOCKS5 proxy for the tests (RFC 1928, no authentication).
 * It serves one client: records what it was asked (DIR/request), answers
 * as its options say (another method, a refusal, another version, or no
 * answer at all) and, when it grants the CONNECT, relays to 127.0.0.1 on
 * the --forward port whatever host was named: a name that resolves nowhere
 * still reaches the test MSA, so only the proxy can have resolved it.
 * The protocol logic is in the socks_* functions; main and the io_*
 * functions are the socket plumbing. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct socks_script {
	int method;   /* the method byte of the first answer (0: no authentication) */
	int reply;    /* REP of the CONNECT answer (0: granted) */
	int version;  /* VER of both answers */
	bool stall;   /* read the CONNECT request and never answer */
};

/* ---- protocol logic: bytes in, record lines and answers out ---------- */

/* The greeting VER NMETHODS METHODS (RFC 1928 3), as a record line. */
static void socks_record_greeting(const unsigned char *b, size_t n, char *rec, size_t reclen)
{
	size_t i, o;

	o = (size_t)snprintf(rec, reclen, "greeting version %u methods", b[0]);
	for (i = 2; i < n && o + 4 < reclen; i++)
		o += (size_t)snprintf(rec + o, reclen - o, " %02x", b[i]);
	snprintf(rec + o, reclen - o, "\n");
}

/* How many address bytes follow the request head VER CMD RSV ATYP (plus
 * the first address byte for a name), or -1 for an unknown type. */
static int socks_addr_len(const unsigned char head[5])
{
	switch (head[3]) {
	case 1: return 4 - 1 + 2;
	case 4: return 16 - 1 + 2;
	case 3: return head[4] + 2;
	default: return -1;
	}
}

/* The request (RFC 1928 4) as a record line: "connect name H port P",
 * "connect ipv4 A port P" or "connect ipv6 A port P". REQ is the whole
 * request: the 4 byte head, the address, the port. */
static void socks_record_request(const unsigned char *req, size_t n, char *rec, size_t reclen)
{
	char addr[INET6_ADDRSTRLEN + 1] = "";
	const char *kind = "unknown";
	unsigned port = (unsigned)req[n - 2] << 8 | req[n - 1];

	if (req[3] == 1) {
		kind = "ipv4";
		inet_ntop(AF_INET, req + 4, addr, sizeof addr);
	} else if (req[3] == 4) {
		kind = "ipv6";
		inet_ntop(AF_INET6, req + 4, addr, sizeof addr);
	} else if (req[3] == 3) {
		kind = "name";
		snprintf(addr, sizeof addr, "%.*s", (int)req[4], (const char *)req + 5);
	}
	snprintf(rec, reclen, "%s %s %s port %u\n", req[1] == 1 ? "connect" : "command", kind, addr,
		 port);
}

/* The answer to the greeting. */
static size_t socks_method_answer(const struct socks_script *sc, unsigned char out[2])
{
	out[0] = (unsigned char)sc->version;
	out[1] = (unsigned char)sc->method;
	return 2;
}

/* The answer to CONNECT, with the bound IPv4 address BND:PORT. */
static size_t socks_connect_answer(const struct socks_script *sc, const unsigned char bnd[4],
				   unsigned port, unsigned char out[10])
{
	out[0] = (unsigned char)sc->version;
	out[1] = (unsigned char)sc->reply;
	out[2] = 0;
	out[3] = 1;
	memcpy(out + 4, bnd, 4);
	out[8] = (unsigned char)(port >> 8);
	out[9] = (unsigned char)(port & 0xff);
	return 10;
}

/* ---- plumbing --------------------------------------------------------- */

static long io_deadline;

static long io_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for EV on FD until the lifetime ends: 1 ready, 0 not. */
static int io_wait(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };
	long left = io_deadline - io_now_ms();
	int r;

	while (left > 0) {
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
		left = io_deadline - io_now_ms();
	}
	return 0;
}

/* Read exactly N bytes: 0, or -1 on EOF, error or the end of the lifetime. */
static int io_read(int fd, unsigned char *buf, size_t n)
{
	size_t have = 0;

	while (have < n) {
		ssize_t r;
		if (!io_wait(fd, POLLIN))
			return -1;
		r = read(fd, buf + have, n - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	return 0;
}

static int io_write(int fd, const void *buf, size_t n)
{
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void io_record(const char *dir, const char *line)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/request", dir);
	if ((f = fopen(path, "a")) != NULL) {
		fputs(line, f);
		fclose(f);
	}
}

/* Copy between A and B until either side closes. */
static void io_relay(int a, int b)
{
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
		int i;
		long left = io_deadline - io_now_ms();
		if (left <= 0 || poll(p, 2, (int)left) <= 0)
			return;
		for (i = 0; i < 2; i++) {
			ssize_t n;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof buf);
			if (n <= 0 || io_write(p[1 - i].fd, buf, (size_t)n) != 0)
				return;
		}
	}
}

static int io_listen(const char *dir)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	char path[4096], tmp[4096];
	FILE *f;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("socks: listen");
		return -1;
	}
	/* DIR/port appears whole: written aside, then renamed */
	snprintf(tmp, sizeof tmp, "%s/port.tmp", dir);
	snprintf(path, sizeof path, "%s/port", dir);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%u\n", ntohs(sa.sin_port)) < 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		perror("socks: port file");
		return -1;
	}
	return fd;
}

static int io_connect_forward(unsigned port, unsigned char bnd[4], unsigned *bport)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
		memcpy(bnd, &sa.sin_addr, 4);
		*bport = ntohs(sa.sin_port);
	}
	return fd;
}

/* One client, start to end. */
static void serve(int c, const char *dir, const struct socks_script *sc, unsigned forward)
{
	unsigned char buf[4 + 1 + 255 + 2], out[16], bnd[4] = { 0, 0, 0, 0 };
	char rec[1024];
	unsigned bport = 0;
	size_t n;
	int up = -1, rest;

	if (io_read(c, buf, 2) != 0 || io_read(c, buf + 2, buf[1]) != 0) {
		io_record(dir, "no greeting\n");
		return;
	}
	socks_record_greeting(buf, 2 + (size_t)buf[1], rec, sizeof rec);
	io_record(dir, rec);
	n = socks_method_answer(sc, out);
	if (io_write(c, out, n) != 0 || sc->method != 0 || sc->version != 5)
		return;
	if (io_read(c, buf, 5) != 0 || (rest = socks_addr_len(buf)) < 0 ||
	    io_read(c, buf + 5, (size_t)rest) != 0) {
		io_record(dir, "no usable request\n");
		return;
	}
	socks_record_request(buf, 5 + (size_t)rest, rec, sizeof rec);
	io_record(dir, rec);
	if (sc->stall) {
		/* until the client gives up, or the lifetime ends */
		while (io_wait(c, POLLIN) && read(c, buf, sizeof buf) > 0)
			;
		io_record(dir, "client closed\n");
		return;
	}
	if (sc->reply == 0 && (up = io_connect_forward(forward, bnd, &bport)) < 0) {
		struct socks_script refused = *sc;
		refused.reply = 5;
		n = socks_connect_answer(&refused, bnd, 0, out);
		io_write(c, out, n);
		io_record(dir, "forward failed\n");
		return;
	}
	n = socks_connect_answer(sc, bnd, bport, out);
	if (io_write(c, out, n) == 0 && up >= 0)
		io_relay(c, up);
	if (up >= 0)
		close(up);
}

static int parse_int(const char *opt, const char *v, int max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 0 || n > max) {
		fprintf(stderr, "socks: --%s %s: need 0 to %d\n", opt, v, max);
		exit(2);
	}
	return (int)n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "forward", required_argument, NULL, 'f' },
		{ "method", required_argument, NULL, 'm' },
		{ "reply", required_argument, NULL, 'r' },
		{ "version", required_argument, NULL, 'v' },
		{ "stall", no_argument, NULL, 's' },
		{ "lifetime", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct socks_script sc = { 0, 0, 5, false };
	const char *dir = NULL;
	unsigned forward = 0;
	int o, l, c;

	io_deadline = io_now_ms() + 30000;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 'f': forward = (unsigned)parse_int("forward", optarg, 65535); break;
		case 'm': sc.method = parse_int("method", optarg, 255); break;
		case 'r': sc.reply = parse_int("reply", optarg, 255); break;
		case 'v': sc.version = parse_int("version", optarg, 255); break;
		case 's': sc.stall = true; break;
		case 't': io_deadline = io_now_ms() + 1000L * parse_int("lifetime", optarg, 86400); break;
		default: dir = NULL; optind = argc; break;
		}
	}
	if (dir == NULL || optind != argc) {
		fputs("usage: socks --dir DIR [--forward PORT] [--method N] [--reply N] [--version N] "
		      "[--stall] [--lifetime SECONDS]\n", stderr);
		return 2;
	}
	if ((l = io_listen(dir)) < 0)
		return 1;
	if (!io_wait(l, POLLIN) || (c = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return 1;
	serve(c, dir, &sc, forward);
	close(c);
	close(l);
	return 0;
}

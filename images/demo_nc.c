/* /bin/nc of the demo image (`kubec image build-demo`): Debian's busybox-static builds nc
 * without UDP, so this static program does `nc -u` itself and hands everything else to
 * busybox's nc with the same arguments (TCP stays busybox's). That busybox's sh prefers its
 * applets to PATH, so the image's copy has the nc applet renamed nb (see
 * nodeagent/image_build.c): `nc` in a script comes here, and here execs `busybox nb`.
 *
 *   echo data | nc -u [-w SEC] [-p LPORT] IP PORT
 *       client: each read of stdin is sent as one datagram to IP:PORT, every datagram
 *       received is written to stdout; once stdin ends, exits after SEC seconds without a
 *       datagram (without -w, keeps printing what arrives).
 *   data | nc -u -l -p PORT [-w SEC]
 *       server: waits (up to SEC seconds with -w) for the first datagram on PORT, prints it,
 *       then talks only to its sender: stdin is sent to it, its datagrams printed. Once
 *       stdin ends, exits (with -w, after SEC seconds without a datagram), so a shell loop
 *       can answer one client after another.
 *   -v is accepted and ignored; -z sends nothing (a connected socket is all it checks);
 *   -4/-6 choose the family; -n is accepted (addresses are numeric only: no resolver in a
 *   static binary).
 *
 * Built by CMake as a static executable (kubec-demo-nc) next to kubec. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"
#define BUSYBOX_NC "nb" /* the image's name for busybox's nc applet */

struct opts {
    bool udp, listen, zero;
    int family; /* 0: by the address (listeners try IPv6 dual-stack, then IPv4) */
    int wait_s; /* -w, or -1 */
    const char *lport, *laddr, *host, *port;
};

static void die(const char *what)
{
    fprintf(stderr, "nc: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage_exit(const char *msg)
{
    fprintf(stderr,
            "nc: %s\nusage: nc -u [-w SEC] [-p LPORT] IP PORT | nc -u -l -p PORT [-w SEC]\n", msg);
    exit(1);
}

static int parse_port(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 65535)
        usage_exit("bad port");
    return (int)v;
}

/* Fills sa from a numeric address (NULL: the wildcard of family). */
static socklen_t make_addr(struct sockaddr_storage *sa, int family, const char *addr, int port)
{
    memset(sa, 0, sizeof *sa);
    if (addr && family != AF_INET6) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
        if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons((unsigned short)port);
            return sizeof *s4;
        }
    }
    if (addr && family != AF_INET) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons((unsigned short)port);
            return sizeof *s6;
        }
    }
    if (addr)
        usage_exit("bad address (numeric IPv4 or IPv6 only)");
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_any;
        s6->sin6_port = htons((unsigned short)port);
        return sizeof *s6;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_ANY);
    s4->sin_port = htons((unsigned short)port);
    return sizeof *s4;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            exit(1); /* stdout gone (`| head -n 1`): nothing more to do */
        p += w;
        n -= (size_t)w;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A UDP socket bound to laddr:lport (either may be NULL). For a listener without an
 * address or family: IPv6 dual-stack when the kernel has IPv6, else IPv4. */
static int udp_socket(const struct opts *o, int family)
{
    struct sockaddr_storage sa;
    int port = o->lport ? parse_port(o->lport) : 0;
    if (!family && !o->laddr) {
        int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            int off = 0, on = 1;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
            socklen_t len = make_addr(&sa, AF_INET6, NULL, port);
            if (bind(fd, (struct sockaddr *)&sa, len) == 0)
                return fd;
            close(fd);
        }
        family = AF_INET;
    }
    socklen_t len = make_addr(&sa, family, o->laddr, port);
    int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if ((o->lport || o->laddr) && bind(fd, (struct sockaddr *)&sa, len) != 0)
        die("bind");
    return fd;
}

/* Relays between stdin and the connected socket fd until stdin has ended and then -w
 * seconds pass without a datagram (without -w: forever, or, for a listener, at once). */
static int relay(const struct opts *o, int fd)
{
    static char buf[65536];
    bool in_open = true;
    long long last = now_ms();
    for (;;) {
        if (!in_open && o->wait_s < 0 && o->listen)
            return 0;
        int timeout = -1;
        if (!in_open && o->wait_s >= 0) {
            long long left = last + (long long)o->wait_s * 1000 - now_ms();
            if (left <= 0)
                return 0;
            timeout = (int)left;
        }
        struct pollfd p[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
        int r = poll(p, in_open ? 2 : 1, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        if (p[0].revents) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                if (errno == ECONNREFUSED && o->listen)
                    continue; /* the client is gone: its ICMP does not end the server */
                die("recv");
            }
            if (n > 0)
                write_all(buf, (size_t)n);
            last = now_ms();
        }
        if (in_open && p[1].revents) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                in_open = false;
                last = now_ms();
                continue;
            }
            if (send(fd, buf, (size_t)n, 0) < 0 && errno != ECONNREFUSED)
                die("send");
        }
    }
}

static int client(const struct opts *o)
{
    struct sockaddr_storage sa;
    socklen_t len = make_addr(&sa, o->family, o->host, parse_port(o->port));
    int fd = udp_socket(o, sa.ss_family);
    if (connect(fd, (struct sockaddr *)&sa, len) != 0)
        die("connect");
    if (o->zero) /* nothing to send: a probe datagram would reach the server's stdout */
        return 0;
    return relay(o, fd);
}

static int server(const struct opts *o)
{
    static char buf[65536];
    if (!o->lport)
        usage_exit("-l needs -p PORT");
    int fd = udp_socket(o, o->family);
    struct sockaddr_storage peer;
    socklen_t plen;
    ssize_t n;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, o->wait_s >= 0 ? o->wait_s * 1000 : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll");
        if (r == 0)
            return 1; /* nobody came within -w */
        plen = sizeof peer;
        n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
        if (n >= 0)
            break;
        if (errno != EINTR && errno != EAGAIN)
            die("recvfrom");
    }
    /* from now on only the first sender: answers go back to it (from the address the
     * route to it picks, which is the one it sent to when the pod has one address) */
    if (connect(fd, (struct sockaddr *)&peer, plen) != 0)
        die("connect");
    write_all(buf, (size_t)n);
    return relay(o, fd);
}

int main(int argc, char **argv)
{
    struct opts o = {.wait_s = -1};
    /* busybox's nc flags and the usual -u companions; anything else goes to busybox */
    opterr = 0;
    int c;
    bool other = false;
    /* glibc's getopt reorders what it scans: busybox gets the arguments as they came */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        die("calloc");
    memcpy(args, argv, (size_t)argc * sizeof *args);
    while ((c = getopt(argc, args, "46lnuvzw:p:s:i:f:e:q:")) != -1) {
        switch (c) {
        case '4':
            o.family = AF_INET;
            break;
        case '6':
            o.family = AF_INET6;
            break;
        case 'l':
            o.listen = true;
            break;
        case 'u':
            o.udp = true;
            break;
        case 'z':
            o.zero = true;
            break;
        case 'n':
        case 'v':
            break;
        case 'w':
            o.wait_s = atoi(optarg);
            break;
        case 'p':
            o.lport = optarg;
            break;
        case 's':
            o.laddr = optarg;
            break;
        default:
            other = true;
            break;
        }
    }
    if (!o.udp) {
        argv[0] = BUSYBOX_NC; /* busybox picks the applet by argv[0] */
        execv(BUSYBOX, argv);
        die("exec " BUSYBOX);
    }
    if (other)
        usage_exit("only -4 -6 -l -n -u -v -z -w -p -s go with -u");
    if (o.listen) {
        if (optind < argc) /* nc -u -l PORT */
            o.lport = args[optind++];
        if (optind != argc)
            usage_exit("unexpected argument");
        return server(&o);
    }
    if (argc - optind != 2)
        usage_exit("need IP and PORT");
    o.host = args[optind];
    o.port = args[optind + 1];
    return client(&o);
}

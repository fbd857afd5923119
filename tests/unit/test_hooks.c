/* Lifecycle hook handlers: httpGet against a loopback server (the request line, host
 * defaulting to the pod's address, named ports, headers; an error status still succeeds, a
 * refused connection fails), exec through a driver (the command given, its exit code), and
 * a hook without a handler. */
#include "check.h"

#include "nodeagent/hooks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct server {
    int lfd, port;
    char req[2048];
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, s->req, sizeof s->req - 1);
    s->req[n > 0 ? n : 0] = 0;
    static const char resp[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    if (write(fd, resp, sizeof resp - 1) < 0)
        fprintf(stderr, "server: write failed\n");
    close(fd);
    return NULL;
}

static void listen_on(struct server *s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    bind(s->lfd, (struct sockaddr *)&sa, sizeof sa);
    listen(s->lfd, 1);
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
}

/* a driver whose exec records the command and answers exec_rc */
static char exec_argv0[64], exec_argv2[256];
static int exec_rc;
static int fake_exec(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                     int timeout_ms, char *out, size_t outlen)
{
    (void)d, (void)p, (void)timeout_ms;
    snprintf(exec_argv0, sizeof exec_argv0, "%s", argv[0]);
    snprintf(exec_argv2, sizeof exec_argv2, "%s", argv[1] && argv[2] ? argv[2] : "");
    snprintf(out, outlen, "%s", exec_rc ? "boom" : "");
    return exec_rc;
}

int main(void)
{
    struct kc_driver_ops ops = {.name = "fake", .exec = fake_exec};
    struct kc_driver d = {&ops};
    struct kc_run_paths p = {0};
    char why[1200];
    struct server s = {0};
    pthread_t th;

    listen_on(&s);
    pthread_create(&th, NULL, serve, &s);
    json_t *ctr = json_pack("{s:s,s:[{s:s,s:i}]}", "name", "c", "ports", "name", "web",
                            "containerPort", s.port);
    json_t *h = json_pack("{s:{s:s,s:s,s:[{s:s,s:s}]}}", "httpGet", "path", "/echo?msg=poststart",
                          "port", "web", "httpHeaders", "name", "X-Test", "value", "yes");
    CHECK_INT(kc_hook_run(&d, ctr, h, "127.0.0.1", &p, 3000, why, sizeof why), 0);
    pthread_join(th, NULL);
    CHECK(strncmp(s.req, "GET /echo?msg=poststart HTTP/1.1\r\n", 34) == 0);
    CHECK(strstr(s.req, "\r\nX-Test: yes\r\n") != NULL);
    /* nothing listens any more: the hook fails */
    close(s.lfd);
    CHECK_INT(kc_hook_run(&d, ctr, h, "127.0.0.1", &p, 1000, why, sizeof why), -1);
    CHECK(strstr(why, "dial tcp 127.0.0.1") != NULL);
    json_decref(h);

    h = json_pack("{s:{s:[s,s,s]}}", "exec", "command", "sh", "-c", "wget -qO- http://x/");
    exec_rc = 0;
    CHECK_INT(kc_hook_run(&d, ctr, h, "10.0.0.1", &p, 1000, why, sizeof why), 0);
    CHECK_STR(exec_argv0, "sh");
    CHECK_STR(exec_argv2, "wget -qO- http://x/");
    exec_rc = 7;
    CHECK_INT(kc_hook_run(&d, ctr, h, "10.0.0.1", &p, 1000, why, sizeof why), -1);
    CHECK(strstr(why, "exited with 7") != NULL);
    json_decref(h);

    h = json_object();
    CHECK_INT(kc_hook_run(&d, ctr, h, "10.0.0.1", &p, 1000, why, sizeof why), -1);
    json_decref(h);
    json_decref(ctr);
    CHECK_DONE();
}

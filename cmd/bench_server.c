/* cmd/bench_server.c: imgbatch bench's loopback HTTP server (bench.h). */
#include "cmd/bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct conn {
    struct server *s;
    int fd;
};

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Answers one request (head is NUL-terminated); -1 to close. */
static int serve_request(struct server *s, int fd, const char *head)
{
    unsigned n;
    char hdr[160];
    if (sscanf(head, "GET /img/%u.jpg ", &n) != 1) {
        static const char nf[] = "HTTP/1.1 404 Not Found\r\n"
                                 "Content-Length: 0\r\n\r\n";
        return send_all(fd, nf, sizeof nf - 1);
    }
    struct timespec d = {s->delay_ms / 1000,
                         (long)(s->delay_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) && errno == EINTR)
        ;
    const struct blob *body = &s->bodies[n % s->nbodies];
    int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: "
                      "image/jpeg\r\nContent-Length: %zu\r\n\r\n", body->len);
    if (send_all(fd, hdr, (size_t)hl) || send_all(fd, body->buf, body->len))
        return -1;
    return 0;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct server *s = c->s;
    char buf[4096];
    size_t have = 0;

    while (!atomic_load(&s->stop)) {
        ssize_t n = recv(c->fd, buf + have, sizeof buf - 1 - have, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                      errno == EINTR))
            continue;   /* the receive timeout: look at stop again */
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *end;
        while ((end = strstr(buf, "\r\n\r\n"))) {
            *end = '\0';
            if (serve_request(s, c->fd, buf))
                goto out;
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, buf + used, have - used + 1);
            have -= used;
        }
        if (have == sizeof buf - 1)
            break;   /* a head that big is not from libcurl */
    }
out:
    close(c->fd);
    free(c);
    pthread_mutex_lock(&s->mu);
    s->live--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        struct timeval tv = {0, 100000};
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        struct conn *c = malloc(sizeof *c);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&s->mu);
        if (c) {
            *c = (struct conn){s, fd};
            s->live++;
        }
        if (c && pthread_create(&t, &at, conn_main, c)) {
            s->live--;
            free(c);
            c = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        pthread_attr_destroy(&at);
        if (!c)
            close(fd);
    }
    return NULL;
}

int bench_server_start(struct server *s, const struct blob *bodies,
                       unsigned nbodies, unsigned delay_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    memset(s, 0, sizeof *s);
    s->bodies = bodies;
    s->nbodies = nbodies;
    s->delay_ms = delay_ms;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        return -1;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) ||
        listen(s->fd, 512) ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen)) {
        close(s->fd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->acceptor, NULL, accept_main, s)) {
        close(s->fd);
        return -1;
    }
    return 0;
}

void bench_server_stop(struct server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->acceptor, NULL);
    close(s->fd);
    pthread_mutex_lock(&s->mu);
    while (s->live)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}


/* cmd/bench.h: the loopback HTTP server imgbatch bench downloads from. */
#ifndef IB_CMD_BENCH_H
#define IB_CMD_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct blob {
    unsigned char *buf;   /* owned */
    size_t len;
};

/*
 * HTTP/1.1 with keep-alive on 127.0.0.1: GET /img/N.jpg sleeps delay_ms,
 * then sends body N % nbodies with a Content-Length. One thread accepts;
 * each connection gets a thread, as the latency a real server adds (and
 * not this server's own speed) is what the fetch rows are to measure.
 */
struct server {
    int fd;
    unsigned port;
    unsigned delay_ms;
    const struct blob *bodies;   /* borrowed */
    unsigned nbodies;
    pthread_t acceptor;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned live;               /* connection threads running */
};

/* Listens on an ephemeral 127.0.0.1 port (s->port); 0, or -1. */
int bench_server_start(struct server *s, const struct blob *bodies,
                       unsigned nbodies, unsigned delay_ms);
/* Returns once no thread of the server is left (each sees stop <= 100 ms). */
void bench_server_stop(struct server *s);

#endif

// Batched RTP socket I/O for bench/media_bench.py --floor-native (a shared library loaded with
// ctypes, compiled at bench time: gcc -O2 -shared -fPIC). A prototype to measure what the
// media engine's I/O would cost if it left per-datagram Python: one call reads every socket
// with data, one call sends one packet on every socket.
//
//   rtpio_init(fds, n)              register n non-blocking UDP sockets with one epoll
//   rtpio_recv(buf, leg, len, max)  read up to one datagram per ready socket, up to 4 rounds;
//                                   datagram k goes to buf + k * 2048, its socket index to
//                                   leg[k] and its length to len[k]; returns the count. The
//                                   sender's address is latched per socket (symmetric RTP).
//   rtpio_send(pkts, size)          send pkts + i * size on socket i to its latched address;
//                                   returns how many were sent
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOT 2048
#define ROUNDS 4

static int ep = -1;
static int count = 0;
static int *fds = NULL;
static struct sockaddr_in *peers = NULL;
static unsigned char *latched = NULL;
static struct epoll_event *events = NULL;

int rtpio_init(const int *given, int n) {
    ep = epoll_create1(0);
    if (ep < 0) return -1;
    count = n;
    fds = malloc(sizeof(int) * n);
    peers = calloc(n, sizeof(struct sockaddr_in));
    latched = calloc(n, 1);
    events = malloc(sizeof(struct epoll_event) * n);
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        fds[i] = given[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, given[i], &ev) < 0) return -1;
    }
    return 0;
}

int rtpio_recv(unsigned char *buf, int32_t *leg, int32_t *len, int max) {
    int total = 0;
    for (int round = 0; round < ROUNDS && total < max; round++) {
        int ready = epoll_wait(ep, events, count, 0);
        if (ready <= 0) break;
        for (int k = 0; k < ready && total < max; k++) {
            int i = (int)events[k].data.u32;
            socklen_t size = sizeof(struct sockaddr_in);
            ssize_t got = recvfrom(fds[i], buf + (size_t)total * SLOT, SLOT, 0,
                                   (struct sockaddr *)&peers[i], &size);
            if (got <= 0) continue;
            latched[i] = 1;
            leg[total] = i;
            len[total] = (int32_t)got;
            total++;
        }
    }
    return total;
}

int rtpio_send(const unsigned char *pkts, int size) {
    int sent = 0;
    for (int i = 0; i < count; i++) {
        if (!latched[i]) continue;
        if (sendto(fds[i], pkts + (size_t)i * size, size, 0, (struct sockaddr *)&peers[i],
                   sizeof(struct sockaddr_in)) == size)
            sent++;
    }
    return sent;
}

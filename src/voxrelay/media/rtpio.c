/* Batched RTP socket I/O for the media tick: a shared library loaded with ctypes by
 * voxrelay/media/rtpio.py (built by `python -m voxrelay.media.rtpio build`, which
 * scripts/setup runs). No Python API: plain C over POSIX sockets, Linux epoll.
 *
 * Why: handing each datagram to Python through the event loop costs about as much CPU as
 * all the media work of a leg (BENCHMARKS.md, "Media legs per core"). Here one call per
 * tick reads every datagram waiting on any leg's socket into one buffer, and one call sends
 * every packet the tick produced.
 *
 * A set holds up to `capacity` UDP sockets, each in a slot. The caller owns the sockets
 * (opens, binds, closes them) and sets them non-blocking. Each slot has a peer: where its
 * packets go. With latching on, the first datagram received fixes the peer: its source
 * (symmetric RTP, RFC 4961). The socket is then connected to it, so the kernel drops
 * datagrams from anyone else (strict RTP: a third party cannot take the stream over) and
 * sends skip the route lookup of an unconnected sendto (about 1 us of 5-6 per packet here,
 * BENCHMARKS.md). A new peer from the caller (an SDP answer or re-offer with another
 * address) disconnects the socket and latches again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PER_SOCKET 8 /* datagrams read from one socket per call, at most (rounds) */

typedef struct {
    int fd; /* -1: free slot */
    int latch;
    int latched; /* connected to the source of the first datagram */
    socklen_t peer_len; /* 0: no peer yet, sends are skipped */
    struct sockaddr_storage peer;
    socklen_t given_len; /* the peer the caller gave last */
    struct sockaddr_storage given;
} slot_t;

typedef struct {
    int epoll_fd;
    int capacity;
    slot_t *slots;
    struct epoll_event *events;
} rtpio_t;

int rtpio_version(void) { return 1; }

rtpio_t *rtpio_new(int capacity) {
    if (capacity <= 0) return NULL;
    rtpio_t *set = calloc(1, sizeof(rtpio_t));
    if (set == NULL) return NULL;
    set->capacity = capacity;
    set->slots = calloc((size_t)capacity, sizeof(slot_t));
    set->events = calloc((size_t)capacity, sizeof(struct epoll_event));
    set->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (set->slots == NULL || set->events == NULL || set->epoll_fd < 0) {
        if (set->epoll_fd >= 0) close(set->epoll_fd);
        free(set->slots);
        free(set->events);
        free(set);
        return NULL;
    }
    for (int i = 0; i < capacity; i++) set->slots[i].fd = -1;
    return set;
}

void rtpio_free(rtpio_t *set) {
    if (set == NULL) return;
    close(set->epoll_fd);
    free(set->slots);
    free(set->events);
    free(set);
}

/* Register `fd` in `slot` (0 <= slot < capacity, free). Returns 0, or -errno. */
int rtpio_add(rtpio_t *set, int slot, int fd, int latch) {
    if (set == NULL) return -EINVAL;
    if (slot < 0 || slot >= set->capacity || set->slots[slot].fd >= 0) return -EINVAL;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)slot};
    if (epoll_ctl(set->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) return -errno;
    slot_t *s = &set->slots[slot];
    s->fd = fd;
    s->latch = latch;
    s->latched = 0;
    s->peer_len = 0;
    s->given_len = 0;
    return 0;
}

/* Latch `s` onto `from`: the peer, and the only source the socket accepts from now on. */
static void latch_onto(slot_t *s, const struct sockaddr_storage *from, socklen_t from_len) {
    memcpy(&s->peer, from, from_len);
    s->peer_len = from_len;
    s->latched = connect(s->fd, (const struct sockaddr *)from, from_len) == 0;
}

/* Undo latch_onto: accept datagrams from anyone again (the bound address stays). */
static void unlatch(slot_t *s) {
    if (!s->latched) return;
    struct sockaddr any = {.sa_family = AF_UNSPEC};
    connect(s->fd, &any, sizeof(any));
    s->latched = 0;
}

/* Forget `slot` (before the caller closes its socket). Returns 0, or -errno. */
int rtpio_remove(rtpio_t *set, int slot) {
    if (set == NULL) return -EINVAL;
    if (slot < 0 || slot >= set->capacity || set->slots[slot].fd < 0) return -EINVAL;
    slot_t *s = &set->slots[slot];
    epoll_ctl(set->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
    s->fd = -1;
    s->latched = 0;
    s->peer_len = 0;
    return 0;
}

/* Set where `slot` sends: a sockaddr_in or sockaddr_in6 of `len` bytes (0: nowhere). With
 * `latch`, the next datagram's source replaces it; giving the same peer again (a re-offer
 * with the same address) keeps a slot latched where it is. */
int rtpio_set_peer(rtpio_t *set, int slot, const void *addr, int len, int latch) {
    if (set == NULL) return -EINVAL;
    if (slot < 0 || slot >= set->capacity || set->slots[slot].fd < 0) return -EINVAL;
    if (len < 0 || (size_t)len > sizeof(struct sockaddr_storage)) return -EINVAL;
    slot_t *s = &set->slots[slot];
    int same = len > 0 && (socklen_t)len == s->given_len && !memcmp(addr, &s->given, (size_t)len);
    if (same && latch && s->latch && s->latched) return 0;
    unlatch(s);
    if (len > 0) {
        memcpy(&s->peer, addr, (size_t)len);
        memcpy(&s->given, addr, (size_t)len);
    }
    s->peer_len = s->given_len = (socklen_t)len;
    s->latch = latch;
    return 0;
}

/* Copy `slot`'s peer into `out` (room for `room` bytes); returns its length (0: none). */
int rtpio_get_peer(rtpio_t *set, int slot, void *out, int room) {
    if (set == NULL) return -EINVAL;
    if (slot < 0 || slot >= set->capacity || set->slots[slot].fd < 0) return -EINVAL;
    slot_t *s = &set->slots[slot];
    if ((int)s->peer_len > room) return -ENOSPC;
    memcpy(out, &s->peer, s->peer_len);
    return (int)s->peer_len;
}

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of Python's time.monotonic() */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read the datagrams waiting on every socket, without blocking, up to `max`.
 *
 * In rounds: each round asks epoll which sockets have data and reads one datagram from
 * each, up to PER_SOCKET rounds. A socket with one datagram (the usual case: one packet
 * per 20 ms tick) costs one recvfrom and is gone from the next round's answer, which is
 * cheaper than a second recvfrom per socket to learn that it is drained (BENCHMARKS.md).
 * A socket's datagrams come out in the order they arrived.
 *
 * Datagram k goes to buf + k * size; slots[k] is its slot, lens[k] its length (-1: longer
 * than `size`, cut off; the caller drops it) and arrivals[k] when it was read
 * (CLOCK_MONOTONIC seconds). Returns the count (max when more may wait), or -errno. */
int rtpio_recv(rtpio_t *set, uint8_t *buf, int size, int32_t *slots, int32_t *lens,
               double *arrivals, int max) {
    if (set == NULL) return -EINVAL;
    int total = 0;
    for (int round = 0; round < PER_SOCKET && total < max; round++) {
        int ready = epoll_wait(set->epoll_fd, set->events, set->capacity, 0);
        if (ready < 0) return total > 0 || errno == EINTR ? total : -errno;
        if (ready == 0) break;
        for (int k = 0; k < ready && total < max; k++) {
            int index = (int)set->events[k].data.u32;
            slot_t *s = &set->slots[index];
            if (s->fd < 0) continue;
            struct sockaddr_storage from;
            socklen_t from_len = sizeof(from);
            ssize_t got = recvfrom(s->fd, buf + (size_t)total * (size_t)size, (size_t)size,
                                   MSG_TRUNC, (struct sockaddr *)&from, &from_len);
            if (got < 0) continue; /* EAGAIN after all; errors (ICMP) are not fatal */
            if (s->latch && !s->latched) latch_onto(s, &from, from_len);
            slots[total] = index;
            lens[total] = got > size ? -1 : (int32_t)got;
            arrivals[total] = monotonic_now();
            total++;
        }
    }
    return total;
}

/* Send `count` packets: packet k is buf[offsets[k] .. offsets[k] + lens[k]) on slots[k],
 * to that slot's peer (skipped while it has none). Returns how many were sent. */
int rtpio_send(rtpio_t *set, const uint8_t *buf, const int32_t *slots, const int64_t *offsets,
               const int32_t *lens, int count) {
    if (set == NULL) return 0;
    int sent = 0;
    for (int k = 0; k < count; k++) {
        int index = slots[k];
        if (index < 0 || index >= set->capacity) continue;
        slot_t *s = &set->slots[index];
        if (s->fd < 0 || s->peer_len == 0) continue;
        ssize_t done = s->latched ? send(s->fd, buf + offsets[k], (size_t)lens[k], 0)
                                  : sendto(s->fd, buf + offsets[k], (size_t)lens[k], 0,
                                           (struct sockaddr *)&s->peer, s->peer_len);
        if (done >= 0) sent++;
    }
    return sent;
}

// RTP load generator for bench/media_bench.py (compiled at bench time: gcc -O2).
//
//   rtpload PORTS_FILE WARMUP_S MEASURE_S [HOST]
//
// PORTS_FILE holds one UDP port per line: one leg each. For every leg the generator opens its
// own socket (connected to HOST:port), sends 20 ms PCMU packets (12-byte RTP header + 160
// bytes, PT 0, seq +1, timestamp +160, one SSRC per leg) at 50 pps with the legs' phases
// spread over the 20 ms frame, and receives the leg's packets. Sends are paced from absolute
// deadlines (start + k * 1 ms), so a late wake-up never drifts the schedule.
//
// Receive times are kernel timestamps (SO_TIMESTAMPNS): on loopback that is when the
// server's sendto() queued the packet, so the load generator's own scheduling does not add
// to the measured jitter. During the measurement window (after WARMUP_S) it counts, per leg,
// packets received, losses from sequence-number gaps, and for each pair of consecutive
// sequence numbers the deviation of the inter-arrival time from 20 ms.
//
// Output on stdout (one line each): "MEASURE" when the window starts, "END" when it ends
// (the driver samples CPU times at both), then after a 300 ms drain one JSON object.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 160
#define HIST_US 1000000 /* 10 us buckets up to 10 s: [0, 1e6) */
#define BUCKET_US 10

typedef struct {
    int fd;
    uint16_t seq;
    uint32_t ts, ssrc;
    /* receive side, measurement window only */
    int have_last;
    uint16_t last_seq;
    uint64_t last_ns;
    uint64_t received, gaps, jumps;
} leg_t;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint32_t hist[HIST_US / BUCKET_US + 1];
static uint64_t hist_n;
static double dev_sum;
static uint64_t dev_max_us;

static double pctl(double q) {
    uint64_t want = (uint64_t)ceil(q * (double)hist_n), acc = 0;
    if (!hist_n) return 0;
    for (size_t b = 0; b <= HIST_US / BUCKET_US; b++) {
        acc += hist[b];
        if (acc >= want) return (double)(b * BUCKET_US) / 1000.0; /* ms, lower bucket edge */
    }
    return (double)HIST_US / 1000.0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORTS_FILE WARMUP_S MEASURE_S [HOST]\n", argv[0]);
        return 2;
    }
    const char *host = argc > 4 ? argv[4] : "127.0.0.1";
    double warmup = atof(argv[2]), measure = atof(argv[3]);
    FILE *pf = fopen(argv[1], "r");
    if (!pf) { perror("ports file"); return 1; }
    int cap = 1024, n = 0;
    int *ports = malloc(sizeof(int) * (size_t)cap);
    int p;
    while (fscanf(pf, "%d", &p) == 1) {
        if (n == cap) { cap *= 2; ports = realloc(ports, sizeof(int) * (size_t)cap); }
        ports[n++] = p;
    }
    fclose(pf);
    leg_t *legs = calloc((size_t)n, sizeof(leg_t));
    int ep = epoll_create1(0);
    unsigned char payload[PAYLOAD];
    for (int i = 0; i < PAYLOAD; i++) /* a 1 kHz square wave, about -12 dBFS (mu-law 0x9f/0x1f) */
        payload[i] = (i % 8) < 4 ? 0x9f : 0x1f;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fd < 0) { perror("socket"); return 1; }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ports[i])};
        inet_pton(AF_INET, host, &a.sin_addr);
        if (connect(fd, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        legs[i].fd = fd;
        legs[i].seq = (uint16_t)(i * 7919);
        legs[i].ts = (uint32_t)i * 104729u;
        legs[i].ssrc = 0x10000000u + (uint32_t)i;
    }
    printf("READY %d\n", n);
    fflush(stdout);

    unsigned char pkt[12 + PAYLOAD], rb[2048];
    memcpy(pkt + 12, payload, PAYLOAD);
    pkt[0] = 0x80;
    pkt[1] = 0; /* PCMU */
    uint64_t rtcp = 0, sent = 0, senderr = 0, rx_total = 0, rx_window = 0, late_sends = 0;
    uint64_t max_send_lag_ns = 0;
    uint64_t t0 = now_ns();
    uint64_t t_measure = t0 + (uint64_t)(warmup * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(measure * 1e9);
    int measuring = 0, ended = 0;
    uint64_t slot_k = 0;
    struct epoll_event ev[1024];
    char cbuf[256];
    while (1) {
        uint64_t t = now_ns();
        if (!measuring && t >= t_measure) {
            measuring = 1;
            printf("MEASURE\n");
            fflush(stdout);
        }
        if (measuring && !ended && t >= t_end) {
            ended = 1;
            printf("END\n");
            fflush(stdout);
        }
        if (ended && t >= t_end + 300000000ull) break;
        if (!ended) {
            uint64_t due = t0 + slot_k * 1000000ull; /* 1 ms slots; leg i sends in slot i % 20 */
            if (t >= due) {
                if (t - due > max_send_lag_ns) max_send_lag_ns = t - due;
                if (t - due > 1000000ull) late_sends++;
                int slot = (int)(slot_k % 20);
                for (int i = slot; i < n; i += 20) {
                    leg_t *L = &legs[i];
                    L->seq++;
                    L->ts += PAYLOAD;
                    pkt[2] = (unsigned char)(L->seq >> 8);
                    pkt[3] = (unsigned char)L->seq;
                    uint32_t ts = htonl(L->ts), ss = htonl(L->ssrc);
                    memcpy(pkt + 4, &ts, 4);
                    memcpy(pkt + 8, &ss, 4);
                    if (send(L->fd, pkt, sizeof pkt, 0) == (ssize_t)sizeof pkt) sent++;
                    else senderr++;
                }
                slot_k++;
                continue;
            }
        }
        uint64_t next = ended ? t + 1000000ull : t0 + slot_k * 1000000ull;
        int timeout_ms = next > t ? (int)((next - t + 999999) / 1000000) : 0;
        int k = epoll_wait(ep, ev, 1024, timeout_ms > 1 ? 1 : timeout_ms);
        for (int e = 0; e < k; e++) {
            leg_t *L = &legs[ev[e].data.u32];
            while (1) {
                struct iovec iov = {.iov_base = rb, .iov_len = sizeof rb};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                                    .msg_control = cbuf, .msg_controllen = sizeof cbuf};
                ssize_t r = recvmsg(L->fd, &mh, 0);
                if (r < 0) break;
                rx_total++;
                if (r < 12 || !measuring || ended) continue;
                if (rb[1] >= 200 && rb[1] <= 204) { rtcp++; continue; } /* RTCP (RFC 5761 mux) */
                uint64_t at = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                        struct timespec ts;
                        memcpy(&ts, CMSG_DATA(c), sizeof ts);
                        at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
                    }
                }
                if (!at) at = now_ns();
                uint16_t seq = (uint16_t)((rb[2] << 8) | rb[3]);
                rx_window++;
                L->received++;
                if (!L->have_last) {
                    L->have_last = 1;
                } else {
                    int d = (int16_t)(uint16_t)(seq - L->last_seq);
                    if (d > 1) L->gaps += (uint64_t)(d - 1); /* lost (or reordered) packets */
                    if (d > 1000 || d < -1000) L->jumps++;
                    if (d == 1) {
                        int64_t dev = (int64_t)(at - L->last_ns) - 20000000;
                        uint64_t us = (uint64_t)(dev < 0 ? -dev : dev) / 1000;
                        dev_sum += (double)us;
                        if (us > dev_max_us) dev_max_us = us;
                        size_t b = us / BUCKET_US;
                        hist[b > HIST_US / BUCKET_US ? HIST_US / BUCKET_US : b]++;
                        hist_n++;
                    }
                }
                L->last_seq = seq;
                L->last_ns = at;
            }
        }
    }
    int64_t expected = 0, legs_heard = 0, jumps = 0;
    for (int i = 0; i < n; i++) {
        if (legs[i].have_last) {
            expected += (int64_t)(legs[i].received + legs[i].gaps);
            jumps += (int64_t)legs[i].jumps;
            legs_heard++;
        }
    }
    int64_t lost = expected - (int64_t)rx_window;
    printf("{\"legs\": %d, \"legs_heard\": %ld, \"seq_jumps\": %ld, \"rtcp\": %lu, \"sent\": %lu, \"senderr\": %lu, "
           "\"late_send_slots\": %lu, \"max_send_lag_ms\": %.3f, "
           "\"rx_total\": %lu, \"rx_window\": %lu, \"rx_expected\": %ld, \"rx_lost\": %ld, "
           "\"rx_loss_pct\": %.4f, \"intervals\": %lu, \"jitter_mean_ms\": %.3f, "
           "\"jitter_p50_ms\": %.3f, \"jitter_p99_ms\": %.3f, \"jitter_p999_ms\": %.3f, "
           "\"jitter_max_ms\": %.3f}\n",
           n, (long)legs_heard, (long)jumps, rtcp, sent, senderr, late_sends, max_send_lag_ns / 1e6, rx_total,
           rx_window, (long)expected, (long)lost, expected ? 100.0 * (double)lost / (double)expected : 0.0,
           hist_n, hist_n ? dev_sum / (double)hist_n / 1000.0 : 0.0, pctl(0.50), pctl(0.99),
           pctl(0.999), dev_max_us / 1000.0);
    return 0;
}

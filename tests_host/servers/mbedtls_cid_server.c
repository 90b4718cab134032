/*
 * Mbed TLS 3.6 DTLS 1.2 echo server with Connection ID (RFC 9146), for host tests.
 *
 * Built by tests_host/servers/build_mbedtls36.sh against Debian trixie's Mbed TLS 3.6
 * static libraries (bookworm's 2.28 has no RFC 9146 Connection ID).
 *
 *   mbedtls_cid_server --port P [--host 127.0.0.1]
 *       [--psk-identity ID] [--psk-key HEX]       PSK (default Client_identity / 000102..0f)
 *       [--cert PEM --key PEM]                     also ECDHE-ECDSA (cert file may hold a chain)
 *       [--ca PEM]                                 require and verify a client certificate
 *       [--cipher NAME]...                         Mbed TLS suite names; replaces the defaults
 *       [--cid-len N]                              our CID length, 0..32 (default 4)
 *       [--no-cid] [--no-cookie] [--no-cache] [--no-tickets]
 *       [--renegotiate-after N]                    send HelloRequest after N records
 *       [--idle-timeout S] [--max-sessions N] [--debug LEVEL]
 *
 * Default suites: TLS-PSK-WITH-AES-128-CCM-8, plus TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 (first)
 * when --cert/--key are given.
 *
 * One unconnected UDP socket serves up to --max-sessions clients (recvfrom/sendto through
 * custom bio callbacks). A datagram goes to:
 *   - the session whose current address it came from, or else
 *   - the session named by the CID in its header, if every record in it is a tls12_cid
 *     record (content type 25) carrying that session's CID: the client may have moved
 *     (NAT rebinding, new source port). The reply address switches to the new one only
 *     after mbedtls_ssl_read() authenticated a record of that datagram and its
 *     epoch/sequence number is above every record authenticated so far (RFC 9146 §6);
 *     until then replies go to the old address, so a forged or replayed datagram cannot
 *     redirect the session.
 *   - a new session if it is an epoch-0 handshake record (a ClientHello); the cookie
 *     exchange (mbedtls_ssl_cookie) keeps that stateless until the client proves its
 *     address.
 * Anything else is dropped. Each session gets its own random server CID.
 *
 * Output (line-buffered): "ready"; per session "hello-verify-request sent" (each cookie
 * exchange), then "connected", "peer: ADDR:PORT", "cipher: NAME", "resumed: yes|no",
 * "resumed-from: session-id|ticket" (when resumed), "cid: negotiated SERVERHEX/CLIENTHEX"
 * or "cid: none", "max_fragment_length: N" (largest record payload we send: 16384 unless
 * the client negotiated max_fragment_length), then "recv: TEXT" per record (echoed back;
 * bytes outside printable ASCII as '.', a final newline dropped), "peer: ADDR:PORT" each
 * time the client moves, "alert: LEVEL:DESCRIPTION" per alert received (numbers, e.g.
 * 1:100 is a warning no_renegotiation, 1:0 close_notify), "renegotiation: hello-request
 * sent (RET)" / "renegotiation: refused by the client (no_renegotiation alert)",
 * "closed: WHY" (close_notify, idle timeout, or the Mbed TLS error), "stopped" on SIGTERM.
 * "cid: negotiated" shows the server's CID (in the client's records) then the client's
 * (in ours); a zero-length CID shows as nothing. Mbed TLS reports CID as off when both
 * are empty.
 *
 * Resumption (by session ID from mbedtls_ssl_cache, by RFC 5077 ticket from
 * mbedtls_ssl_ticket) and the alerts are read from Mbed TLS's debug messages (level 3 is
 * always collected; --debug N prints levels up to N on stderr): 3.6 has no public call
 * for them. Not in Mbed TLS 3.6: heartbeat (RFC 6520), and record_size_limit for DTLS 1.2
 * (MBEDTLS_SSL_RECORD_SIZE_LIMIT is TLS 1.3 only and off in Debian's build);
 * max_fragment_length (RFC 6066) is on and needs no server setting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/debug.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#define MAX_SESSIONS_LIMIT 64
#define DATAGRAM_MAX (16384 + 512)
#define CT_HANDSHAKE 22
#define CT_TLS12_CID 25

/* One DTLS session: the Mbed TLS context, where to reply, and the datagram it is handed. */
struct session {
    int used;
    int connected;
    mbedtls_ssl_context ssl;
    struct sockaddr_in peer;        /* replies go here */
    unsigned char cid[MBEDTLS_SSL_CID_IN_LEN_MAX];  /* our CID for this session */
    /* the datagram being processed */
    const unsigned char *pending;
    size_t pending_len;
    struct sockaddr_in pending_from;
    int pending_is_cid;             /* came from another address, routed by CID */
    uint64_t pending_seq;           /* epoch << 48 | seq of its first record */
    uint64_t max_seq;               /* highest epoch/seq authenticated so far */
    int max_seq_valid;
    /* retransmission timer (mbedtls_ssl_set_timer_cb) */
    int64_t timer_start, timer_int, timer_fin;     /* ms; timer_fin < 0: cancelled */
    int64_t last_activity;
    unsigned records;
    int resumed;
    const char *resumed_from;       /* "session-id" (cache) or "ticket" */
    int renegotiating;
};

static struct {
    int fd;
    int cid_on;
    size_t cid_len;
    unsigned idle_timeout_ms;
    unsigned max_sessions;
    unsigned renegotiate_after;
    int debug_level;
    struct session sessions[MAX_SESSIONS_LIMIT];
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_context entropy;
} g;

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what, int ret)
{
    char buf[200];
    mbedtls_strerror(ret, buf, sizeof buf);
    fprintf(stderr, "error: %s: -0x%04x %s\n", what, (unsigned)-ret, buf);
    exit(1);
}

static const char *addr_text(const struct sockaddr_in *a)
{
    static char buf[64];
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(buf, sizeof buf, "%s:%u", ip, ntohs(a->sin_port));
    return buf;
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static void hex(char *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = 0;
}

static void print_error(const char *what, int ret)
{
    char buf[200];
    mbedtls_strerror(ret, buf, sizeof buf);
    printf("closed: %s: -0x%04x %s\n", what, (unsigned)-ret, buf);
}

/* ---- bio and timer callbacks: the session's datagram in, sendto() out ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct session *s = ctx;
    ssize_t n = sendto(g.fd, buf, len, 0, (struct sockaddr *)&s->peer, sizeof s->peer);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                    : MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct session *s = ctx;
    if (!s->pending)
        return MBEDTLS_ERR_SSL_WANT_READ;
    if (s->pending_len > len) {     /* larger than Mbed TLS's buffer: drop it */
        s->pending = NULL;
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    memcpy(buf, s->pending, s->pending_len);
    s->pending = NULL;
    return (int)s->pending_len;
}

static void timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
    struct session *s = ctx;
    s->timer_start = now_ms();
    s->timer_int = int_ms;
    s->timer_fin = fin_ms ? (int64_t)fin_ms : -1;
}

/* -1 cancelled, 0 running, 1 intermediate delay passed, 2 final delay passed */
static int timer_get(void *ctx)
{
    struct session *s = ctx;
    if (s->timer_fin < 0)
        return -1;
    int64_t elapsed = now_ms() - s->timer_start;
    if (elapsed >= s->timer_fin)
        return 2;
    if (elapsed >= s->timer_int)
        return 1;
    return 0;
}

/* ---- debug hook: Mbed TLS has no public "was this handshake resumed?" call ---- */

static void debug_cb(void *ctx, int level, const char *file, int line, const char *msg)
{
    struct session *cur = *(struct session **)ctx;
    (void)file; (void)line;
    if (cur && strstr(msg, "a session has been resumed") && strncmp(msg, "no ", 3) != 0)
        cur->resumed = 1;
    if (cur && strstr(msg, "session successfully restored from cache"))
        cur->resumed_from = "session-id";
    if (cur && strstr(msg, "session successfully restored from ticket"))
        cur->resumed_from = "ticket";
    unsigned alert_level, alert_desc;
    const char *a = strstr(msg, "got an alert message, type: [");
    if (a && sscanf(a, "got an alert message, type: [%u:%u]", &alert_level, &alert_desc) == 2)
        printf("alert: %u:%u\n", alert_level, alert_desc);   /* level:description */
    if (cur && cur->renegotiating && strstr(msg, "is a no renegotiation alert")) {
        printf("renegotiation: refused by the client (no_renegotiation alert)\n");
        cur->renegotiating = 0;
    }
    if (level <= g.debug_level)
        fprintf(stderr, "debug: %s", msg);
}

static struct session *current;     /* the session being stepped, for debug_cb */

/* ---- sessions ---- */

static void session_free(struct session *s, const char *why)
{
    if (why)
        printf("closed: %s\n", why);
    mbedtls_ssl_free(&s->ssl);
    memset(s, 0, sizeof *s);
}

static struct session *session_new(const struct sockaddr_in *from)
{
    struct session *s = NULL;
    for (unsigned i = 0; i < g.max_sessions; i++)
        if (!g.sessions[i].used) {
            s = &g.sessions[i];
            break;
        }
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->peer = *from;
    s->timer_fin = -1;
    s->last_activity = now_ms();
    mbedtls_ssl_init(&s->ssl);
    int ret = mbedtls_ssl_setup(&s->ssl, &g.conf);
    if (ret)
        die("mbedtls_ssl_setup", ret);
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    mbedtls_ssl_set_timer_cb(&s->ssl, s, timer_set, timer_get);
    /* the cookie binds to the client's address and port (RFC 6347 4.2.1) */
    unsigned char tid[6];
    memcpy(tid, &from->sin_addr, 4);
    memcpy(tid + 4, &from->sin_port, 2);
    mbedtls_ssl_set_client_transport_id(&s->ssl, tid, sizeof tid);
    if (g.cid_on) {
        /* a fresh random CID per session: it is how a moved client is found */
        for (;;) {
            mbedtls_ctr_drbg_random(&g.drbg, s->cid, g.cid_len);
            int clash = 0;
            for (unsigned i = 0; i < g.max_sessions && g.cid_len; i++) {
                struct session *o = &g.sessions[i];
                if (o != s && o->used && !memcmp(o->cid, s->cid, g.cid_len))
                    clash = 1;
            }
            if (!clash)
                break;
        }
        ret = mbedtls_ssl_set_cid(&s->ssl, MBEDTLS_SSL_CID_ENABLED, s->cid, g.cid_len);
        if (ret)
            die("mbedtls_ssl_set_cid", ret);
    }
    return s;
}

static void report_handshake(struct session *s)
{
    printf("connected\n");
    printf("peer: %s\n", addr_text(&s->peer));
    printf("cipher: %s\n", mbedtls_ssl_get_ciphersuite(&s->ssl));
    printf("resumed: %s\n", s->resumed ? "yes" : "no");
    if (s->resumed && s->resumed_from)
        printf("resumed-from: %s\n", s->resumed_from);
    if (g.cid_on) {
        int enabled = 0;
        unsigned char peer_cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
        size_t peer_len = 0;
        int ret = mbedtls_ssl_get_peer_cid(&s->ssl, &enabled, peer_cid, &peer_len);
        if (ret == 0 && enabled == MBEDTLS_SSL_CID_ENABLED) {
            char a[2 * sizeof s->cid + 1], b[2 * sizeof peer_cid + 1];
            hex(a, s->cid, g.cid_len);
            hex(b, peer_cid, peer_len);
            printf("cid: negotiated %s/%s\n", a, b);
        } else {
            printf("cid: none\n");
        }
    } else {
        printf("cid: none\n");
    }
    printf("max_fragment_length: %d\n", mbedtls_ssl_get_max_out_record_payload(&s->ssl));
}

/* Read every record Mbed TLS can give from the datagram just handed over; echo each. */
static void session_read(struct session *s)
{
    unsigned char buf[DATAGRAM_MAX];
    for (;;) {
        int ret = mbedtls_ssl_read(&s->ssl, buf, sizeof buf);
        if (ret >= 0) {
            /* authenticated: now a move to a new address may be believed (RFC 9146 §6) */
            int newer = !s->max_seq_valid || s->pending_seq > s->max_seq;
            if (s->pending_is_cid && newer && !same_addr(&s->pending_from, &s->peer)) {
                s->peer = s->pending_from;
                printf("peer: %s\n", addr_text(&s->peer));
            }
            s->pending_is_cid = 0;
            if (newer) {
                s->max_seq = s->pending_seq;
                s->max_seq_valid = 1;
            }
            s->records++;
            /* one line per record: printable ASCII, other bytes as '.', a final \n dropped */
            int shown = ret > 0 && buf[ret - 1] == '\n' ? ret - 1 : ret;
            printf("recv: ");
            for (int i = 0; i < shown; i++)
                putchar(buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.');
            putchar('\n');
            int w = mbedtls_ssl_write(&s->ssl, buf, (size_t)ret);
            if (w < 0 && w != MBEDTLS_ERR_SSL_WANT_WRITE)
                print_error("write", w);
            if (g.renegotiate_after && s->records == g.renegotiate_after) {
                int r = mbedtls_ssl_renegotiate(&s->ssl);
                printf("renegotiation: hello-request sent (%d)\n", r);
                s->renegotiating = 1;
            }
            continue;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            return;
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            mbedtls_ssl_close_notify(&s->ssl);
            session_free(s, "close_notify");
            return;
        }
        if (ret == MBEDTLS_ERR_SSL_CLIENT_RECONNECT) {
            /* same address and port, new ClientHello with a valid cookie */
            printf("reconnect\n");
            s->connected = 0;
            s->resumed = 0;
            s->resumed_from = NULL;
            s->max_seq_valid = 0;
            return;     /* the caller continues the handshake */
        }
        print_error("read", ret);
        session_free(s, NULL);
        return;
    }
}

/* Drive one session after a datagram arrived or its timer ran out. */
static void session_step(struct session *s)
{
    current = s;
    if (!s->connected) {
        int ret = mbedtls_ssl_handshake(&s->ssl);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            current = NULL;
            return;
        }
        if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
            printf("hello-verify-request sent\n");
            session_free(s, NULL);      /* stateless until the cookie comes back */
            current = NULL;
            return;
        }
        if (ret) {
            print_error("handshake", ret);
            session_free(s, NULL);
            current = NULL;
            return;
        }
        s->connected = 1;
        report_handshake(s);
    }
    session_read(s);
    if (s->used && !s->connected)       /* a reconnect: go on with its handshake */
        session_step(s);
    current = NULL;
}

/* epoch << 48 | sequence number of the record at p (DTLS header bytes 3..10) */
static uint64_t record_seq(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 3; i < 11; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The session whose CID the datagram carries, if it holds only tls12_cid records with
 * that CID and consistent lengths. */
static struct session *session_by_cid(const unsigned char *d, size_t n)
{
    size_t hdr = 11 + g.cid_len + 2;
    if (!g.cid_on || g.cid_len == 0 || n < hdr || d[0] != CT_TLS12_CID)
        return NULL;
    struct session *found = NULL;
    for (unsigned i = 0; i < g.max_sessions; i++) {
        struct session *s = &g.sessions[i];
        if (s->used && s->connected && !memcmp(d + 11, s->cid, g.cid_len))
            found = s;
    }
    if (!found)
        return NULL;
    size_t off = 0;
    while (off < n) {
        if (n - off < hdr || d[off] != CT_TLS12_CID || memcmp(d + off + 11, found->cid, g.cid_len))
            return NULL;
        size_t len = ((size_t)d[off + hdr - 2] << 8) | d[off + hdr - 1];
        if (len > n - off - hdr)
            return NULL;
        off += hdr + len;
    }
    return found;
}

static void handle_datagram(const unsigned char *d, size_t n, const struct sockaddr_in *from)
{
    struct session *s = NULL;
    int by_cid = 0;
    for (unsigned i = 0; i < g.max_sessions; i++)
        if (g.sessions[i].used && same_addr(&g.sessions[i].peer, from)) {
            s = &g.sessions[i];
            break;
        }
    if (!s) {
        s = session_by_cid(d, n);
        by_cid = s != NULL;
    }
    if (!s) {
        /* a new client: only an epoch-0 handshake record (ClientHello) opens a session */
        if (n < 13 || d[0] != CT_HANDSHAKE || d[3] || d[4])
            return;
        s = session_new(from);
        if (!s)
            return;
        if (g.debug_level)
            fprintf(stderr, "debug: new session from %s\n", addr_text(from));
    }
    s->pending = d;
    s->pending_len = n;
    s->pending_from = *from;
    s->pending_is_cid = by_cid;
    s->pending_seq = n >= 11 ? record_seq(d) : 0;
    s->last_activity = now_ms();
    if (by_cid && g.debug_level)
        fprintf(stderr, "debug: CID datagram from %s\n", addr_text(from));
    session_step(s);
    if (s->used)
        s->pending = NULL;
}

static void handle_timers(void)
{
    int64_t now = now_ms();
    for (unsigned i = 0; i < g.max_sessions; i++) {
        struct session *s = &g.sessions[i];
        if (!s->used)
            continue;
        if (now - s->last_activity >= g.idle_timeout_ms) {
            if (s->connected)
                mbedtls_ssl_close_notify(&s->ssl);
            session_free(s, "idle timeout");
            continue;
        }
        if (s->timer_fin >= 0 && now - s->timer_start >= s->timer_fin)
            session_step(s);        /* retransmits our last flight, or gives up */
    }
}

static int poll_timeout(void)
{
    int64_t now = now_ms(), next = now + 1000;
    for (unsigned i = 0; i < g.max_sessions; i++) {
        struct session *s = &g.sessions[i];
        if (!s->used)
            continue;
        if (s->last_activity + g.idle_timeout_ms < next)
            next = s->last_activity + g.idle_timeout_ms;
        if (s->timer_fin >= 0 && s->timer_start + s->timer_fin < next)
            next = s->timer_start + s->timer_fin;
    }
    return next <= now ? 0 : (int)(next - now);
}

static int parse_hex(const char *text, unsigned char *out, size_t max)
{
    size_t n = strlen(text);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(text + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)(n / 2);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: mbedtls_cid_server --port P [--host ADDR] [--psk-identity ID] [--psk-key HEX]\n"
            "  [--cert PEM --key PEM] [--ca PEM] [--cipher NAME]... [--cid-len N] [--no-cid]\n"
            "  [--no-cookie] [--no-cache] [--no-tickets] [--renegotiate-after N]\n"
            "  [--idle-timeout S] [--max-sessions N] [--debug LEVEL]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *identity = "Client_identity";
    const char *key_hex = "000102030405060708090a0b0c0d0e0f";
    const char *cert_file = NULL, *key_file = NULL, *ca_file = NULL;
    const char *cipher_names[16];
    int n_ciphers = 0, port = 0, cookies = 1, cache_on = 1, tickets_on = 1;
    g.cid_on = 1;
    g.cid_len = 4;
    g.idle_timeout_ms = 20000;
    g.max_sessions = 8;

    enum { O_HOST = 1, O_PORT, O_ID, O_KEY, O_CERT, O_PKEY, O_CA, O_CIPHER, O_CIDLEN, O_NOCID,
           O_NOCOOKIE, O_NOCACHE, O_NOTICKETS, O_RENEG, O_IDLE, O_MAXS, O_DEBUG };
    static const struct option opts[] = {
        {"host", 1, 0, O_HOST}, {"port", 1, 0, O_PORT}, {"psk-identity", 1, 0, O_ID},
        {"psk-key", 1, 0, O_KEY}, {"cert", 1, 0, O_CERT}, {"key", 1, 0, O_PKEY},
        {"ca", 1, 0, O_CA}, {"cipher", 1, 0, O_CIPHER}, {"cid-len", 1, 0, O_CIDLEN},
        {"no-cid", 0, 0, O_NOCID}, {"no-cookie", 0, 0, O_NOCOOKIE},
        {"no-cache", 0, 0, O_NOCACHE}, {"no-tickets", 0, 0, O_NOTICKETS},
        {"renegotiate-after", 1, 0, O_RENEG}, {"idle-timeout", 1, 0, O_IDLE},
        {"max-sessions", 1, 0, O_MAXS}, {"debug", 1, 0, O_DEBUG}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_HOST: host = optarg; break;
        case O_PORT: port = atoi(optarg); break;
        case O_ID: identity = optarg; break;
        case O_KEY: key_hex = optarg; break;
        case O_CERT: cert_file = optarg; break;
        case O_PKEY: key_file = optarg; break;
        case O_CA: ca_file = optarg; break;
        case O_CIPHER:
            if (n_ciphers == 15)
                usage();
            cipher_names[n_ciphers++] = optarg;
            break;
        case O_CIDLEN: g.cid_len = (size_t)atoi(optarg); break;
        case O_NOCID: g.cid_on = 0; break;
        case O_NOCOOKIE: cookies = 0; break;
        case O_NOCACHE: cache_on = 0; break;
        case O_NOTICKETS: tickets_on = 0; break;
        case O_RENEG: g.renegotiate_after = (unsigned)atoi(optarg); break;
        case O_IDLE: g.idle_timeout_ms = (unsigned)(atof(optarg) * 1000); break;
        case O_MAXS: g.max_sessions = (unsigned)atoi(optarg); break;
        case O_DEBUG: g.debug_level = atoi(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || port > 65535 || optind != argc || g.cid_len > MBEDTLS_SSL_CID_IN_LEN_MAX ||
        g.max_sessions < 1 || g.max_sessions > MAX_SESSIONS_LIMIT || !cert_file != !key_file)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);

    psa_status_t st = psa_crypto_init();     /* Mbed TLS 3.6 uses PSA for TLS crypto */
    if (st != PSA_SUCCESS) {
        fprintf(stderr, "error: psa_crypto_init: %d\n", (int)st);
        return 1;
    }
    int ret;
    mbedtls_entropy_init(&g.entropy);
    mbedtls_ctr_drbg_init(&g.drbg);
    if ((ret = mbedtls_ctr_drbg_seed(&g.drbg, mbedtls_entropy_func, &g.entropy,
                                     (const unsigned char *)"cid-server", 10)))
        die("mbedtls_ctr_drbg_seed", ret);

    mbedtls_ssl_config *conf = &g.conf;
    mbedtls_ssl_config_init(conf);
    if ((ret = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER,
                                           MBEDTLS_SSL_TRANSPORT_DATAGRAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)))
        die("mbedtls_ssl_config_defaults", ret);
    mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &g.drbg);
    mbedtls_ssl_conf_dbg(conf, debug_cb, &current);
    /* level 3 carries "a session has been resumed"; debug_cb prints only up to --debug */
    mbedtls_debug_set_threshold(g.debug_level > 3 ? g.debug_level : 3);
    mbedtls_ssl_conf_handshake_timeout(conf, 1000, 60000);

    unsigned char psk[64];
    int psk_len = parse_hex(key_hex, psk, sizeof psk);
    if (psk_len <= 0)
        usage();
    if ((ret = mbedtls_ssl_conf_psk(conf, psk, (size_t)psk_len, (const unsigned char *)identity,
                                    strlen(identity))))
        die("mbedtls_ssl_conf_psk", ret);

    static mbedtls_x509_crt crt, ca;
    static mbedtls_pk_context pkey;
    mbedtls_x509_crt_init(&crt);
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&pkey);
    if (cert_file) {
        if ((ret = mbedtls_x509_crt_parse_file(&crt, cert_file)))
            die("certificate", ret);
        if ((ret = mbedtls_pk_parse_keyfile(&pkey, key_file, NULL, mbedtls_ctr_drbg_random,
                                            &g.drbg)))
            die("private key", ret);
        if ((ret = mbedtls_ssl_conf_own_cert(conf, &crt, &pkey)))
            die("mbedtls_ssl_conf_own_cert", ret);
    }
    if (ca_file) {
        if ((ret = mbedtls_x509_crt_parse_file(&ca, ca_file)))
            die("CA certificate", ret);
        mbedtls_ssl_conf_ca_chain(conf, &ca, NULL);
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    }

    static int suites[17];
    int n = 0;
    if (n_ciphers) {
        for (int i = 0; i < n_ciphers; i++) {
            suites[n] = mbedtls_ssl_get_ciphersuite_id(cipher_names[i]);
            if (!suites[n]) {
                fprintf(stderr, "error: unknown cipher suite %s\n", cipher_names[i]);
                return 2;
            }
            n++;
        }
    } else {
        if (cert_file)
            suites[n++] = MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
        suites[n++] = MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8;
    }
    suites[n] = 0;
    mbedtls_ssl_conf_ciphersuites(conf, suites);

    static mbedtls_ssl_cookie_ctx cookie;
    mbedtls_ssl_cookie_init(&cookie);
    if (cookies) {
        if ((ret = mbedtls_ssl_cookie_setup(&cookie, mbedtls_ctr_drbg_random, &g.drbg)))
            die("mbedtls_ssl_cookie_setup", ret);
        mbedtls_ssl_conf_dtls_cookies(conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check,
                                      &cookie);
    } else {
        mbedtls_ssl_conf_dtls_cookies(conf, NULL, NULL, NULL);
    }

    static mbedtls_ssl_cache_context cache;
    mbedtls_ssl_cache_init(&cache);
    if (cache_on)
        mbedtls_ssl_conf_session_cache(conf, &cache, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);

    static mbedtls_ssl_ticket_context ticket;
    mbedtls_ssl_ticket_init(&ticket);
    if (tickets_on) {
        if ((ret = mbedtls_ssl_ticket_setup(&ticket, mbedtls_ctr_drbg_random, &g.drbg,
                                            MBEDTLS_CIPHER_AES_128_GCM, 86400)))
            die("mbedtls_ssl_ticket_setup", ret);
        mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write,
                                            mbedtls_ssl_ticket_parse, &ticket);
    }

    if (g.cid_on) {
        /* a client CID we do not expect is ignored rather than fatal */
        if ((ret = mbedtls_ssl_conf_cid(conf, g.cid_len, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE)))
            die("mbedtls_ssl_conf_cid", ret);
    }
    if (g.renegotiate_after)
        mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);

    g.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (g.fd < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(g.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "error: --host must be an IPv4 address\n");
        return 2;
    }
    if (bind(g.fd, (struct sockaddr *)&addr, sizeof addr)) {
        perror("bind");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready\n");

    static unsigned char dgram[DATAGRAM_MAX];
    while (!stopping) {
        struct pollfd pfd = {.fd = g.fd, .events = POLLIN};
        int pr = poll(&pfd, 1, poll_timeout());
        if (pr > 0 && (pfd.revents & POLLIN)) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t got = recvfrom(g.fd, dgram, sizeof dgram, 0, (struct sockaddr *)&from, &fl);
            if (got > 0 && from.sin_family == AF_INET)
                handle_datagram(dgram, (size_t)got, &from);
        }
        handle_timers();
    }
    for (unsigned i = 0; i < g.max_sessions; i++)
        if (g.sessions[i].used) {
            if (g.sessions[i].connected)
                mbedtls_ssl_close_notify(&g.sessions[i].ssl);
            session_free(&g.sessions[i], NULL);
        }
    printf("stopped\n");
    return 0;
}

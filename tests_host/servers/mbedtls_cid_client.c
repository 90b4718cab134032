/*
 * Mbed TLS 3.6 DTLS 1.2 reference client, to check mbedtls_cid_server independently of the
 * MicroPython client: Connection ID (RFC 9146) across a change of UDP source port, session
 * resumption, max_fragment_length.
 *
 *   mbedtls_cid_client HOST PORT [--psk-identity ID] [--psk-key HEX] [--ca PEM]
 *       [--cipher NAME]... [--cid HEX | --no-cid] [--send TEXT]... [--rebind-after N]
 *       [--reconnect] [--no-tickets] [--mfl 512|1024|2048|4096] [--interval S]
 *       [--keylog FILE] [--timeout S] [--debug LEVEL]
 *
 * --ca verifies the server certificate (ECDHE-ECDSA, name "localhost"); without it PSK is
 * used. --cid sets our CID (default: empty, i.e. we ask the server for none but use its).
 * --rebind-after N sends the records after the first N from a NEW UDP socket (new source
 * port) in the same DTLS session. --reconnect closes after the exchange and connects again
 * (new socket) offering the saved session (ID or ticket), then sends the same records.
 * --interval S waits S seconds before each record after the first. --keylog appends NSS
 * key-log lines ("CLIENT_RANDOM <client random> <master secret>", hex) for tshark.
 *
 * Output: per handshake "connected", "cipher: NAME", "resumed: yes|no",
 * "cid: negotiated OWNHEX/PEERHEX" (ours, then the server's) or "cid: none",
 * "max_fragment_length: N"; "rebound: PORT" when the socket changes; "recv: TEXT" per
 * echoed record. Exit 0 when every record came back, 1 otherwise ("error: ..." on stderr;
 * a record not echoed within --timeout is reported and the next one is still sent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <mbedtls/ssl.h>
#include <mbedtls/timing.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

struct transport {
    int fd;
};

static int resumed;
static const char *keylog_path;
static int debug_level;

static void fail(const char *what, int ret)
{
    char buf[200];
    mbedtls_strerror(ret, buf, sizeof buf);
    fprintf(stderr, "error: %s: -0x%04x %s\n", what, (unsigned)-ret, buf);
    exit(1);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct transport *t = ctx;
    ssize_t n = send(t->fd, buf, len, 0);
    if (n < 0)
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)n;
}

static int bio_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms)
{
    struct transport *t = ctx;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, timeout_ms ? (int)timeout_ms : -1);
    if (pr == 0)
        return MBEDTLS_ERR_SSL_TIMEOUT;
    if (pr < 0)
        return errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n < 0)      /* e.g. ECONNREFUSED from an ICMP error: keep waiting */
        return errno == ECONNREFUSED || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
                                                        : MBEDTLS_ERR_NET_RECV_FAILED;
    return (int)n;
}

static void debug_cb(void *ctx, int level, const char *file, int line, const char *msg)
{
    (void)ctx; (void)file; (void)line;
    if (strstr(msg, "a session has been resumed"))
        resumed = 1;
    if (level <= debug_level)
        fprintf(stderr, "debug: %s", msg);
}

/* NSS key log line for Wireshark/tshark: CLIENT_RANDOM <client_random> <master_secret> */
static void export_keys(void *ctx, mbedtls_ssl_key_export_type type, const unsigned char *secret,
                        size_t secret_len, const unsigned char client_random[32],
                        const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    (void)ctx; (void)server_random; (void)prf;
    if (type != MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET || !keylog_path)
        return;
    FILE *f = fopen(keylog_path, "a");
    if (!f)
        return;
    fprintf(f, "CLIENT_RANDOM ");
    for (int i = 0; i < 32; i++)
        fprintf(f, "%02x", client_random[i]);
    fputc(' ', f);
    for (size_t i = 0; i < secret_len; i++)
        fprintf(f, "%02x", secret[i]);
    fputc('\n', f);
    fclose(f);
}

static int udp_connect(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "error: HOST must be an IPv4 address\n");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("error: socket");
        exit(1);
    }
    return fd;
}

static int local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &l);
    return ntohs(sa.sin_port);
}

static void hex(char *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = 0;
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
    fprintf(stderr, "usage: mbedtls_cid_client HOST PORT [--psk-identity ID] [--psk-key HEX]\n"
                    "  [--ca PEM] [--cipher NAME]... [--cid HEX | --no-cid] [--send TEXT]...\n"
                    "  [--rebind-after N] [--reconnect] [--no-tickets] [--mfl BYTES]\n"
                    "  [--interval S] [--keylog FILE] [--timeout S] [--debug LEVEL]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *identity = "Client_identity", *key_hex = "000102030405060708090a0b0c0d0e0f";
    const char *ca_file = NULL, *cid_hex = "";
    const char *sends[32], *cipher_names[16];
    int n_sends = 0, n_ciphers = 0, cid_on = 1, rebind_after = -1, reconnect = 0;
    int tickets = 1, mfl = 0;
    unsigned timeout_ms = 5000, interval_ms = 0;

    enum { O_ID = 1, O_KEY, O_CA, O_CIPHER, O_CID, O_NOCID, O_SEND, O_REBIND, O_RECONNECT,
           O_NOTICKETS, O_MFL, O_TIMEOUT, O_DEBUG, O_INTERVAL, O_KEYLOG };
    static const struct option opts[] = {
        {"psk-identity", 1, 0, O_ID}, {"psk-key", 1, 0, O_KEY}, {"ca", 1, 0, O_CA},
        {"cipher", 1, 0, O_CIPHER}, {"cid", 1, 0, O_CID}, {"no-cid", 0, 0, O_NOCID},
        {"send", 1, 0, O_SEND}, {"rebind-after", 1, 0, O_REBIND},
        {"reconnect", 0, 0, O_RECONNECT}, {"no-tickets", 0, 0, O_NOTICKETS},
        {"mfl", 1, 0, O_MFL}, {"timeout", 1, 0, O_TIMEOUT}, {"debug", 1, 0, O_DEBUG},
        {"interval", 1, 0, O_INTERVAL}, {"keylog", 1, 0, O_KEYLOG},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_ID: identity = optarg; break;
        case O_KEY: key_hex = optarg; break;
        case O_CA: ca_file = optarg; break;
        case O_CIPHER:
            if (n_ciphers == 15)
                usage();
            cipher_names[n_ciphers++] = optarg;
            break;
        case O_CID: cid_hex = optarg; break;
        case O_NOCID: cid_on = 0; break;
        case O_SEND:
            if (n_sends == 32)
                usage();
            sends[n_sends++] = optarg;
            break;
        case O_REBIND: rebind_after = atoi(optarg); break;
        case O_RECONNECT: reconnect = 1; break;
        case O_NOTICKETS: tickets = 0; break;
        case O_MFL: mfl = atoi(optarg); break;
        case O_TIMEOUT: timeout_ms = (unsigned)(atof(optarg) * 1000); break;
        case O_DEBUG: debug_level = atoi(optarg); break;
        case O_INTERVAL: interval_ms = (unsigned)(atof(optarg) * 1000); break;
        case O_KEYLOG: keylog_path = optarg; break;
        default: usage();
        }
    }
    if (argc - optind != 2)
        usage();
    const char *host = argv[optind];
    int port = atoi(argv[optind + 1]);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (psa_crypto_init() != PSA_SUCCESS) {
        fprintf(stderr, "error: psa_crypto_init\n");
        return 1;
    }
    int ret;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                     (const unsigned char *)"cid-client", 10)))
        fail("mbedtls_ctr_drbg_seed", ret);

    mbedtls_ssl_config conf;
    mbedtls_ssl_config_init(&conf);
    if ((ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
                                           MBEDTLS_SSL_TRANSPORT_DATAGRAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)))
        fail("mbedtls_ssl_config_defaults", ret);
    mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_dbg(&conf, debug_cb, NULL);
    mbedtls_debug_set_threshold(debug_level > 3 ? debug_level : 3);
    mbedtls_ssl_conf_read_timeout(&conf, timeout_ms);
    mbedtls_ssl_conf_handshake_timeout(&conf, 1000, timeout_ms > 1000 ? timeout_ms : 1000);
    mbedtls_ssl_conf_session_tickets(&conf, tickets ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                    : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);

    mbedtls_x509_crt ca;
    mbedtls_x509_crt_init(&ca);
    static int suites[17];
    int n = 0;
    if (ca_file) {
        if ((ret = mbedtls_x509_crt_parse_file(&ca, ca_file)))
            fail("CA certificate", ret);
        mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
        mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        suites[n++] = MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    } else {
        unsigned char psk[64];
        int psk_len = parse_hex(key_hex, psk, sizeof psk);
        if (psk_len <= 0)
            usage();
        if ((ret = mbedtls_ssl_conf_psk(&conf, psk, (size_t)psk_len,
                                        (const unsigned char *)identity, strlen(identity))))
            fail("mbedtls_ssl_conf_psk", ret);
        suites[n++] = MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8;
    }
    if (n_ciphers) {
        n = 0;
        for (int i = 0; i < n_ciphers; i++)
            if (!(suites[n++] = mbedtls_ssl_get_ciphersuite_id(cipher_names[i]))) {
                fprintf(stderr, "error: unknown cipher suite %s\n", cipher_names[i]);
                return 2;
            }
    }
    suites[n] = 0;
    mbedtls_ssl_conf_ciphersuites(&conf, suites);

    unsigned char own_cid[MBEDTLS_SSL_CID_IN_LEN_MAX];
    int own_cid_len = parse_hex(cid_hex, own_cid, sizeof own_cid);
    if (own_cid_len < 0)
        usage();
    if (cid_on && (ret = mbedtls_ssl_conf_cid(&conf, (size_t)own_cid_len,
                                              MBEDTLS_SSL_UNEXPECTED_CID_IGNORE)))
        fail("mbedtls_ssl_conf_cid", ret);
    if (mfl) {
        unsigned char code = mfl == 512 ? MBEDTLS_SSL_MAX_FRAG_LEN_512
                           : mfl == 1024 ? MBEDTLS_SSL_MAX_FRAG_LEN_1024
                           : mfl == 2048 ? MBEDTLS_SSL_MAX_FRAG_LEN_2048
                           : mfl == 4096 ? MBEDTLS_SSL_MAX_FRAG_LEN_4096 : 0;
        if (!code || (ret = mbedtls_ssl_conf_max_frag_len(&conf, code)))
            usage();
    }

    mbedtls_ssl_session saved;
    mbedtls_ssl_session_init(&saved);
    int failures = 0;
    for (int round = 0; round <= reconnect; round++) {
        struct transport t = {.fd = udp_connect(host, port)};
        mbedtls_timing_delay_context timer;
        mbedtls_ssl_context ssl;
        mbedtls_ssl_init(&ssl);
        if ((ret = mbedtls_ssl_setup(&ssl, &conf)))
            fail("mbedtls_ssl_setup", ret);
        mbedtls_ssl_set_bio(&ssl, &t, bio_send, NULL, bio_recv_timeout);
        mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay,
                                 mbedtls_timing_get_delay);
        if (keylog_path)
            mbedtls_ssl_set_export_keys_cb(&ssl, export_keys, NULL);
        if (ca_file && (ret = mbedtls_ssl_set_hostname(&ssl, "localhost")))
            fail("mbedtls_ssl_set_hostname", ret);
        if (cid_on && (ret = mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, own_cid,
                                                 (size_t)own_cid_len)))
            fail("mbedtls_ssl_set_cid", ret);
        if (round > 0 && (ret = mbedtls_ssl_set_session(&ssl, &saved)))
            fail("mbedtls_ssl_set_session", ret);
        resumed = 0;
        while ((ret = mbedtls_ssl_handshake(&ssl)) != 0)
            if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
                fail("handshake", ret);
        printf("connected\n");
        printf("cipher: %s\n", mbedtls_ssl_get_ciphersuite(&ssl));
        printf("resumed: %s\n", resumed ? "yes" : "no");
        int enabled = 0;
        unsigned char peer_cid[MBEDTLS_SSL_CID_OUT_LEN_MAX];
        size_t peer_len = 0;
        if (cid_on && mbedtls_ssl_get_peer_cid(&ssl, &enabled, peer_cid, &peer_len) == 0 &&
            enabled == MBEDTLS_SSL_CID_ENABLED) {
            char a[2 * sizeof own_cid + 1], b[2 * sizeof peer_cid + 1];
            hex(a, own_cid, (size_t)own_cid_len);
            hex(b, peer_cid, peer_len);
            printf("cid: negotiated %s/%s\n", a, b);
        } else {
            printf("cid: none\n");
        }
        printf("max_fragment_length: %d\n", mbedtls_ssl_get_max_out_record_payload(&ssl));

        for (int i = 0; i < n_sends; i++) {
            if (i > 0 && interval_ms)
                usleep(interval_ms * 1000);
            if (i == rebind_after) {
                /* a new socket: the kernel gives it a new source port; same DTLS session */
                int fd = udp_connect(host, port);
                close(t.fd);
                t.fd = fd;
                printf("rebound: %d\n", local_port(fd));
            }
            size_t len = strlen(sends[i]);
            while ((ret = mbedtls_ssl_write(&ssl, (const unsigned char *)sends[i], len)) < 0)
                if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
                    fail("write", ret);
            unsigned char buf[4096];
            do
                ret = mbedtls_ssl_read(&ssl, buf, sizeof buf);
            while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
            if (ret < 0) {
                char e[200];
                mbedtls_strerror(ret, e, sizeof e);
                fprintf(stderr, "error: read after record %d: -0x%04x %s\n", i + 1,
                        (unsigned)-ret, e);
                failures++;
                if (ret == MBEDTLS_ERR_SSL_TIMEOUT)
                    continue;       /* no echo: go on with the next record */
                break;
            }
            printf("recv: %.*s\n", ret, buf);
            if ((size_t)ret != len || memcmp(buf, sends[i], len)) {
                fprintf(stderr, "error: record %d came back different\n", i + 1);
                failures++;
            }
        }
        if (round < reconnect && (ret = mbedtls_ssl_get_session(&ssl, &saved)))
            fail("mbedtls_ssl_get_session", ret);
        mbedtls_ssl_close_notify(&ssl);
        mbedtls_ssl_free(&ssl);
        close(t.fd);
    }
    mbedtls_ssl_session_free(&saved);
    return failures ? 1 : 0;
}

/*
 * Botan 2.19 (Debian bookworm) DTLS 1.2 PSK echo server and client, for host tests of the
 * RFC 8442 suites TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256 (0xD003) and
 * TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256 (0xD005): PSK with forward secrecy and CCM. None of
 * OpenSSL 3.0, GnuTLS 3.7, Mbed TLS 2.28/3.6 or tinydtls has them; Botan's library does,
 * but its `botan tls_server` command has no PSK option, hence this program.
 * Built by tests_host/servers/build_botan.sh.
 *
 *   botan_psk_peer server --port P [--host 127.0.0.1] [--psk-identity ID] [--psk-key HEX]
 *       [--hint TEXT] [--kex LIST] [--ciphers LIST] [--idle-timeout S]
 *   botan_psk_peer client HOST PORT [--psk-identity ID] [--psk-key HEX] [--kex LIST]
 *       [--ciphers LIST] [--send TEXT]... [--timeout S]
 *
 * LIST is comma-separated Botan names. Defaults: --kex ECDHE_PSK,DHE_PSK,PSK and
 * --ciphers "AES-128/CCM(8),AES-128/CCM" (MAC AEAD only, DTLS 1.2 only, key exchange
 * groups secp256r1 then x25519). The server prefers its own order, so a client offering
 * several gets ECDHE_PSK with CCM_8 first. Cookie exchange (HelloVerifyRequest) always;
 * session IDs and tickets for resumption (in memory).
 *
 * Output, one line each, flushed: server "ready", then per session "connected",
 * "cipher: NAME 0xCODE" (Botan's IANA-style name without TLS_), "recv: TEXT" per
 * record (echoed), "alert: NAME", "closed: WHY"; client "cipher: NAME 0xCODE",
 * "recv: TEXT" per echoed record. The client exits 0 when every record came back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <botan/auto_rng.h>
#include <botan/credentials_manager.h>
#include <botan/hex.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_client.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_policy.h>
#include <botan/tls_server.h>
#include <botan/tls_session_manager.h>

namespace {

volatile sig_atomic_t stopping = 0;

void on_signal(int) { stopping = 1; }

std::vector<std::string> split(const std::string& text)
{
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

struct Options {
    std::string host = "127.0.0.1", identity = "Client_identity", hint = "hint";
    std::string key_hex = "000102030405060708090a0b0c0d0e0f";
    std::vector<std::string> kex = {"ECDHE_PSK", "DHE_PSK", "PSK"};
    std::vector<std::string> ciphers = {"AES-128/CCM(8)", "AES-128/CCM"};
    std::vector<std::string> sends;
    int port = 0;
    double idle_timeout = 20.0, timeout = 5.0;
};

/* DTLS 1.2 only, AEAD only, the key exchanges and ciphers asked for. */
class Policy final : public Botan::TLS::Policy {
  public:
    explicit Policy(const Options& o) : m_kex(o.kex), m_ciphers(o.ciphers) {}
    std::vector<std::string> allowed_ciphers() const override { return m_ciphers; }
    std::vector<std::string> allowed_macs() const override { return {"AEAD"}; }
    std::vector<std::string> allowed_key_exchange_methods() const override { return m_kex; }
    std::vector<Botan::TLS::Group_Params> key_exchange_groups() const override
    {
        return {Botan::TLS::Group_Params::SECP256R1, Botan::TLS::Group_Params::X25519,
                Botan::TLS::Group_Params::FFDHE_2048};
    }
    bool allow_tls10() const override { return false; }
    bool allow_tls11() const override { return false; }
    bool allow_tls12() const override { return false; }
    bool allow_dtls10() const override { return false; }
    bool allow_dtls12() const override { return true; }
    bool negotiate_encrypt_then_mac() const override { return false; }

  private:
    std::vector<std::string> m_kex, m_ciphers;
};

/* The PSK, plus the server's cookie and ticket secrets (Botan asks for them as PSKs). */
class Credentials final : public Botan::Credentials_Manager {
  public:
    Credentials(const Options& o, Botan::RandomNumberGenerator& rng)
        : m_identity(o.identity), m_hint(o.hint), m_key(Botan::hex_decode(o.key_hex)),
          m_cookie(rng, 32), m_ticket(rng, 32) {}

    std::string psk_identity_hint(const std::string&, const std::string&) override
    {
        return m_hint;
    }
    std::string psk_identity(const std::string&, const std::string&, const std::string&) override
    {
        return m_identity;
    }
    Botan::SymmetricKey psk(const std::string& type, const std::string& context,
                            const std::string& identity) override
    {
        if (type == "tls-server" && context == "dtls-cookie-secret")
            return m_cookie;
        if (type == "tls-server" && context == "session-ticket")
            return m_ticket;
        if (identity == m_identity)
            return Botan::SymmetricKey(m_key);
        throw Botan::Invalid_Argument("unknown PSK identity");
    }

  private:
    std::string m_identity, m_hint;
    std::vector<uint8_t> m_key;
    Botan::SymmetricKey m_cookie, m_ticket;
};

std::string printable(const uint8_t data[], size_t size)
{
    std::string s;
    for (size_t i = 0; i < size; i++) {
        if (i + 1 == size && data[i] == '\n')
            break;
        s += (data[i] >= 0x20 && data[i] < 0x7f) ? char(data[i]) : '.';
    }
    return s;
}

std::string suite_text(const Botan::TLS::Session& session)
{
    char code[16];
    snprintf(code, sizeof code, "0x%04x", session.ciphersuite_code());
    return session.ciphersuite().to_string() + " " + code;
}

/* Callbacks shared by both sides: datagrams out through sendto(), events printed. */
class Peer : public Botan::TLS::Callbacks {
  public:
    Peer(int fd, bool echo) : m_fd(fd), m_echo(echo) {}
    Botan::TLS::Channel* channel = nullptr;
    sockaddr_in to{};
    bool active = false, closed = false;
    std::vector<std::string> received;

    void tls_emit_data(const uint8_t data[], size_t size) override
    {
        sendto(m_fd, data, size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
    void tls_record_received(uint64_t, const uint8_t data[], size_t size) override
    {
        printf("recv: %s\n", printable(data, size).c_str());
        received.emplace_back(reinterpret_cast<const char*>(data), size);
        if (m_echo && channel)
            channel->send(data, size);
    }
    void tls_alert(Botan::TLS::Alert alert) override
    {
        printf("alert: %s\n", alert.type_string().c_str());
        if (alert.type() == Botan::TLS::Alert::CLOSE_NOTIFY || alert.is_fatal())
            closed = true;
    }
    bool tls_session_established(const Botan::TLS::Session& session) override
    {
        printf("cipher: %s\n", suite_text(session).c_str());
        return true;        /* keep it for resumption */
    }
    void tls_session_activated() override { active = true; }
    std::string tls_peer_network_identity() override
    {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &to.sin_addr, ip, sizeof ip);
        return std::string(ip) + ":" + std::to_string(ntohs(to.sin_port));
    }

  private:
    int m_fd;
    bool m_echo;
};

double now()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

int serve(const Options& o)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr)) {
        perror("error: bind");
        return 1;
    }
    Botan::AutoSeeded_RNG rng;
    Credentials creds(o, rng);
    Policy policy(o);
    Botan::TLS::Session_Manager_In_Memory sessions(rng);
    printf("ready\n");

    std::unique_ptr<Peer> peer;
    std::unique_ptr<Botan::TLS::Server> server;
    double last = now();
    std::vector<uint8_t> buf(65536);
    while (!stopping) {
        pollfd pfd{fd, POLLIN, 0};
        int n = poll(&pfd, 1, 100);
        if (n > 0) {
            sockaddr_in from{};
            socklen_t fl = sizeof from;
            ssize_t got = recvfrom(fd, buf.data(), buf.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &fl);
            if (got <= 0)
                continue;
            bool same = peer && peer->to.sin_addr.s_addr == from.sin_addr.s_addr &&
                        peer->to.sin_port == from.sin_port;
            if (!same) {
                if (peer && !peer->closed && now() - last < o.idle_timeout)
                    continue;       /* one client at a time */
                if (buf[0] != 22)
                    continue;       /* only a handshake record starts a session */
                peer.reset(new Peer(fd, true));
                peer->to = from;
                server.reset(new Botan::TLS::Server(*peer, sessions, creds, policy, rng, true));
                peer->channel = server.get();
            }
            last = now();
            bool was_active = peer->active;
            try {
                server->received_data(buf.data(), size_t(got));
            } catch (std::exception& e) {
                printf("closed: error: %s\n", e.what());
                peer->closed = true;
            }
            if (!was_active && peer->active)
                printf("connected\n");
            if (peer->closed) {
                if (peer->active)
                    printf("closed: %s\n", "close_notify or alert");
                server.reset();
                peer.reset();
            }
        } else if (server) {
            try {
                server->timeout_check();
            } catch (std::exception& e) {
                printf("closed: error: %s\n", e.what());
                server.reset();
                peer.reset();
                continue;
            }
            if (now() - last > o.idle_timeout) {
                printf("closed: idle timeout\n");
                server.reset();
                peer.reset();
            }
        }
    }
    printf("stopped\n");
    return 0;
}

int client(const Options& o)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    Peer peer(fd, false);
    peer.to.sin_family = AF_INET;
    peer.to.sin_port = htons(uint16_t(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &peer.to.sin_addr) != 1) {
        fprintf(stderr, "error: HOST must be an IPv4 address\n");
        return 2;
    }
    connect(fd, reinterpret_cast<sockaddr*>(&peer.to), sizeof peer.to);
    Botan::AutoSeeded_RNG rng;
    Credentials creds(o, rng);
    Policy policy(o);
    Botan::TLS::Session_Manager_Noop sessions;
    std::vector<uint8_t> buf(65536);
    try {
        Botan::TLS::Client tls(peer, sessions, creds, policy, rng,
                               Botan::TLS::Server_Information(o.host, uint16_t(o.port)),
                               Botan::TLS::Protocol_Version::DTLS_V12);
        peer.channel = &tls;
        auto pump = [&](double until, size_t want) {
            while (now() < until && !peer.closed && (!peer.active || peer.received.size() < want)) {
                pollfd pfd{fd, POLLIN, 0};
                if (poll(&pfd, 1, 50) > 0) {
                    ssize_t got = recv(fd, buf.data(), buf.size(), 0);
                    if (got > 0)
                        tls.received_data(buf.data(), size_t(got));
                } else {
                    tls.timeout_check();
                }
            }
        };
        pump(now() + o.timeout, 0);
        if (!peer.active) {
            fprintf(stderr, "error: no handshake within %.1f s\n", o.timeout);
            return 1;
        }
        for (size_t i = 0; i < o.sends.size(); i++) {
            tls.send(o.sends[i]);
            pump(now() + o.timeout, i + 1);
            if (peer.received.size() != i + 1 || peer.received[i] != o.sends[i]) {
                fprintf(stderr, "error: record %zu did not come back\n", i + 1);
                return 1;
            }
        }
        tls.close();
    } catch (std::exception& e) {
        fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}

void usage()
{
    fprintf(stderr,
            "usage: botan_psk_peer server --port P [--host A] [--psk-identity ID] [--psk-key HEX]\n"
            "           [--hint TEXT] [--kex LIST] [--ciphers LIST] [--idle-timeout S]\n"
            "       botan_psk_peer client HOST PORT [--psk-identity ID] [--psk-key HEX]\n"
            "           [--kex LIST] [--ciphers LIST] [--send TEXT]... [--timeout S]\n");
    exit(2);
}

}  // namespace

int main(int argc, char** argv)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc < 2)
        usage();
    std::string mode = argv[1];
    Options o;
    int i = 2;
    if (mode == "client") {
        if (argc < 4)
            usage();
        o.host = argv[2];
        o.port = atoi(argv[3]);
        i = 4;
    } else if (mode != "server") {
        usage();
    }
    for (; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            usage();
        std::string v = argv[++i];
        if (a == "--port") o.port = atoi(v.c_str());
        else if (a == "--host") o.host = v;
        else if (a == "--psk-identity") o.identity = v;
        else if (a == "--psk-key") o.key_hex = v;
        else if (a == "--hint") o.hint = v;
        else if (a == "--kex") o.kex = split(v);
        else if (a == "--ciphers") o.ciphers = split(v);
        else if (a == "--send") o.sends.push_back(v);
        else if (a == "--idle-timeout") o.idle_timeout = atof(v.c_str());
        else if (a == "--timeout") o.timeout = atof(v.c_str());
        else usage();
    }
    if (o.port <= 0 || o.port > 65535)
        usage();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    return mode == "server" ? serve(o) : client(o);
}

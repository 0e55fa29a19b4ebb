// dtls.hpp: a header-only C++17 RAII wrapper over dtls.h (libdtls).
//
// Handles own their C objects through std::unique_ptr with the matching _free as deleter
// (dtls::Config shares its reference-counted dtls_config through std::shared_ptr, mirroring the
// C ownership rule). Failures throw dtls::Error, a std::system_error whose code() is a
// std::error_code in dtls::category() holding the dtls_result, and whose result() gives the raw
// number. Calls that can report "nothing to do" (DTLS_EMPTY) return std::optional instead.
//
//   dtls::Context ctx(cfg, DTLS_ROLE_CLIENT, "example.com", now);
//   while (auto d = ctx.poll_output(now)) send_udp(*d);
//
// Build: c++ -std=c++17 app.cpp $(pkg-config --cflags --libs dtls)
#ifndef DTLS_HPP
#define DTLS_HPP

#include "dtls.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace dtls {

// The error category of dtls_result values: message() is dtls_result_str, name() the C name.
class Category final : public std::error_category {
 public:
  const char *name() const noexcept override { return "dtls"; }
  std::string message(int ev) const override {
    return dtls_result_str(static_cast<dtls_result>(ev));
  }
};

inline const std::error_category &category() noexcept {
  static const Category c;
  return c;
}

inline std::error_code make_error_code(dtls_result r) noexcept {
  return {static_cast<int>(r), category()};
}

// Thrown by every wrapper call whose C call did not return DTLS_OK (or DTLS_EMPTY where that
// is an expected answer).
class Error : public std::system_error {
 public:
  Error(dtls_result r, const std::string &what)
      : std::system_error(make_error_code(r), what + ": " + dtls_result_name(r)), result_(r) {}
  dtls_result result() const noexcept { return result_; }
  // "DTLS_ERR_FINGERPRINT_MISMATCH" etc.
  const char *result_name() const noexcept { return dtls_result_name(result_); }

 private:
  dtls_result result_;
};

inline void check(dtls_result r, const char *what) {
  if (r != DTLS_OK) throw Error(r, what);
}

inline std::string version() { return dtls_version(); }

namespace detail {
struct CertificateFree {
  void operator()(dtls_certificate *p) const noexcept { dtls_certificate_free(p); }
};
struct BuilderFree {
  void operator()(dtls_config_builder *p) const noexcept { dtls_config_builder_free(p); }
};
struct ConfigFree {
  void operator()(const dtls_config *p) const noexcept { dtls_config_free(p); }
};
struct CtxFree {
  void operator()(dtls_ctx *p) const noexcept { dtls_ctx_free(p); }
};

// Calls f(buf, cap, &len) with a growing buffer until it fits (DTLS_ERR_BUFFER_TOO_SMALL
// reports the size needed and loses nothing). nullopt on DTLS_EMPTY.
template <class F>
std::optional<std::vector<std::uint8_t>> read_sized(F f, std::size_t initial, const char *what) {
  std::vector<std::uint8_t> buf(initial);
  for (int attempt = 0; attempt < 2; attempt++) {
    std::size_t len = 0;
    dtls_result r = f(buf.data(), buf.size(), &len);
    if (r == DTLS_OK) {
      buf.resize(len);
      return buf;
    }
    if (r == DTLS_EMPTY) return std::nullopt;
    if (r != DTLS_ERR_BUFFER_TOO_SMALL) throw Error(r, what);
    buf.resize(len);
  }
  throw Error(DTLS_ERR_BUFFER_TOO_SMALL, what);
}

// The fingerprint calls: NUL-terminated text; nullopt on DTLS_EMPTY.
template <class F>
std::optional<std::string> read_text(F f, const char *what) {
  char buf[192];
  std::size_t len = 0;
  dtls_result r = f(buf, sizeof buf, &len);
  if (r == DTLS_EMPTY) return std::nullopt;
  check(r, what);
  return std::string(buf, len);
}
}  // namespace detail

// A certificate chain and its private key.
class Certificate {
 public:
  // A self-signed ECDSA P-256 certificate for `common_name` (WebRTC style).
  static Certificate generate(const std::string &common_name) {
    dtls_certificate *p = nullptr;
    check(dtls_certificate_generate(common_name.c_str(), &p), "dtls_certificate_generate");
    return Certificate(p);
  }
  static Certificate from_pem(std::string_view chain_pem, std::string_view key_pem) {
    dtls_certificate *p = nullptr;
    check(dtls_certificate_from_pem(reinterpret_cast<const std::uint8_t *>(chain_pem.data()),
                                    chain_pem.size(),
                                    reinterpret_cast<const std::uint8_t *>(key_pem.data()),
                                    key_pem.size(), &p),
          "dtls_certificate_from_pem");
    return Certificate(p);
  }
  // "AB:CD:..." (prepend "sha-256 " for pinning).
  std::string fingerprint(std::uint32_t hash = DTLS_HASH_SHA256) const {
    return *detail::read_text(
        [&](char *b, std::size_t c, std::size_t *l) {
          return dtls_certificate_fingerprint(p_.get(), hash, b, c, l);
        },
        "dtls_certificate_fingerprint");
  }
  // The SDP form "sha-256 AB:CD:...".
  std::string sdp_fingerprint() const { return "sha-256 " + fingerprint(DTLS_HASH_SHA256); }
  const dtls_certificate *get() const noexcept { return p_.get(); }

 private:
  explicit Certificate(dtls_certificate *p) : p_(p) {}
  std::unique_ptr<dtls_certificate, detail::CertificateFree> p_;
};

// Immutable, shareable settings (copies share one dtls_config reference).
class Config {
 public:
  const dtls_config *get() const noexcept { return p_.get(); }

 private:
  friend class ConfigBuilder;
  explicit Config(const dtls_config *p) : p_(p, detail::ConfigFree{}) {}
  std::shared_ptr<const dtls_config> p_;
};

// Collects settings; build() consumes it.
class ConfigBuilder {
 public:
  ConfigBuilder() {
    dtls_config_builder *p = nullptr;
    check(dtls_config_builder_new(&p), "dtls_config_builder_new");
    p_.reset(p);
  }
  ConfigBuilder &certificate(const Certificate &c) {
    check(dtls_config_builder_set_certificate(live(), c.get()), "set_certificate");
    return *this;
  }
  ConfigBuilder &versions(std::uint32_t mask) {
    check(dtls_config_builder_set_versions(live(), mask), "set_versions");
    return *this;
  }
  ConfigBuilder &peer_verification(std::uint32_t mode) {
    check(dtls_config_builder_set_peer_verification(live(), mode), "set_peer_verification");
    return *this;
  }
  ConfigBuilder &root_certificates_pem(std::string_view pem) {
    check(dtls_config_builder_add_root_certificates_pem(
              live(), reinterpret_cast<const std::uint8_t *>(pem.data()), pem.size()),
          "add_root_certificates_pem");
    return *this;
  }
  ConfigBuilder &peer_fingerprint(const std::string &sdp) {
    check(dtls_config_builder_add_peer_fingerprint(live(), sdp.c_str()), "add_peer_fingerprint");
    return *this;
  }
  ConfigBuilder &require_client_certificate(bool on) {
    check(dtls_config_builder_set_require_client_certificate(live(), on),
          "set_require_client_certificate");
    return *this;
  }
  ConfigBuilder &cookie_exchange(bool on) {
    check(dtls_config_builder_set_cookie_exchange(live(), on), "set_cookie_exchange");
    return *this;
  }
  ConfigBuilder &srtp_profiles(const std::vector<std::uint16_t> &ids) {
    static const std::uint16_t none = 0;
    check(dtls_config_builder_set_srtp_profiles(live(), ids.empty() ? &none : ids.data(),
                                                ids.size()),
          "set_srtp_profiles");
    return *this;
  }
  ConfigBuilder &cipher_suites(const std::vector<std::uint16_t> &ids) {
    check(dtls_config_builder_set_cipher_suites(live(), ids.data(), ids.size()),
          "set_cipher_suites");
    return *this;
  }
  ConfigBuilder &mtu(std::uint16_t mtu) {
    check(dtls_config_builder_set_mtu(live(), mtu), "set_mtu");
    return *this;
  }
  ConfigBuilder &timers(std::uint32_t initial_rto_ms, std::uint32_t max_rto_ms,
                        std::uint32_t handshake_timeout_ms) {
    check(dtls_config_builder_set_timers(live(), initial_rto_ms, max_rto_ms,
                                         handshake_timeout_ms),
          "set_timers");
    return *this;
  }
  // Consumes the builder (the C call frees it whatever the outcome).
  Config build() {
    const dtls_config *cfg = nullptr;
    dtls_result r = dtls_config_builder_build(live(), &cfg);
    p_.release();  // consumed by dtls_config_builder_build, success or not
    check(r, "dtls_config_builder_build");
    return Config(cfg);
  }

 private:
  dtls_config_builder *live() {
    if (!p_) throw Error(DTLS_ERR_NULL_POINTER, "ConfigBuilder used after build()");
    return p_.get();
  }
  std::unique_ptr<dtls_config_builder, detail::BuilderFree> p_;
};

// One association. Movable, not copyable.
class Context {
 public:
  Context(const Config &cfg, std::uint32_t role, const char *server_name, std::uint64_t now_ms) {
    dtls_ctx *p = nullptr;
    check(dtls_ctx_new(cfg.get(), role, server_name, now_ms, &p), "dtls_ctx_new");
    p_.reset(p);
  }
  void add_peer_fingerprint(const std::string &sdp) {
    check(dtls_ctx_add_peer_fingerprint(p_.get(), sdp.c_str()), "dtls_ctx_add_peer_fingerprint");
  }
  void set_peer_address(const void *addr, std::size_t len) {
    check(dtls_ctx_set_peer_address(p_.get(), static_cast<const std::uint8_t *>(addr), len),
          "dtls_ctx_set_peer_address");
  }
  // Throws on a fatal result (the association is then dead; poll_output may still hold an alert).
  void feed(const std::uint8_t *data, std::size_t len, std::uint64_t now_ms) {
    check(dtls_feed(p_.get(), data, len, now_ms), "dtls_feed");
  }
  void feed(const std::vector<std::uint8_t> &d, std::uint64_t now_ms) {
    feed(d.data(), d.size(), now_ms);
  }
  // The non-throwing form: the result as a std::error_code (empty on DTLS_OK).
  std::error_code feed(const std::vector<std::uint8_t> &d, std::uint64_t now_ms,
                       std::error_code &ec) noexcept {
    dtls_result r = dtls_feed(p_.get(), d.data(), d.size(), now_ms);
    ec = r == DTLS_OK ? std::error_code() : make_error_code(r);
    return ec;
  }
  // The next datagram to send, or nullopt when none is pending.
  std::optional<std::vector<std::uint8_t>> poll_output(std::uint64_t now_ms) {
    return detail::read_sized(
        [&](std::uint8_t *b, std::size_t c, std::size_t *l) {
          return dtls_poll_output(p_.get(), now_ms, b, c, l);
        },
        1500, "dtls_poll_output");
  }
  std::optional<dtls_event> poll_event() {
    dtls_event ev{};
    dtls_result r = dtls_poll_event(p_.get(), &ev);
    if (r == DTLS_EMPTY) return std::nullopt;
    check(r, "dtls_poll_event");
    return ev;
  }
  std::optional<std::uint64_t> next_timeout() const noexcept {
    std::uint64_t d = 0;
    if (dtls_next_timeout(p_.get(), &d)) return d;
    return std::nullopt;
  }
  void handle_timeout(std::uint64_t now_ms) {
    check(dtls_handle_timeout(p_.get(), now_ms), "dtls_handle_timeout");
  }
  void send(std::string_view data) {
    check(dtls_send(p_.get(), reinterpret_cast<const std::uint8_t *>(data.data()), data.size()),
          "dtls_send");
  }
  // The next received application record, or nullopt.
  std::optional<std::vector<std::uint8_t>> recv() {
    return detail::read_sized(
        [&](std::uint8_t *b, std::size_t c, std::size_t *l) {
          return dtls_recv(p_.get(), b, c, l);
        },
        2048, "dtls_recv");
  }
  void close() { check(dtls_close(p_.get()), "dtls_close"); }
  std::optional<std::string> peer_fingerprint(std::uint32_t hash = DTLS_HASH_SHA256) const {
    return detail::read_text(
        [&](char *b, std::size_t c, std::size_t *l) {
          return dtls_ctx_peer_fingerprint(p_.get(), hash, b, c, l);
        },
        "dtls_ctx_peer_fingerprint");
  }
  // RFC 5705 exporter without a context value.
  std::vector<std::uint8_t> export_keying_material(std::string_view label, std::size_t len) const {
    std::vector<std::uint8_t> out(len);
    check(dtls_export_keying_material(p_.get(),
                                      reinterpret_cast<const std::uint8_t *>(label.data()),
                                      label.size(), nullptr, 0, out.data(), out.size()),
          "dtls_export_keying_material");
    return out;
  }
  dtls_ctx *get() noexcept { return p_.get(); }

 private:
  std::unique_ptr<dtls_ctx, detail::CtxFree> p_;
};

}  // namespace dtls

#endif  // DTLS_HPP

#include "TlsLayer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "torcht1/dicom/DicomError.h"

namespace torcht1::dicom {

namespace {

void check(const OFCondition& condition, const std::string& what) {
  if (condition.bad()) throw DicomError("TLS: " + what + " (" + condition.text() + ")");
}

std::string peerAddress(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "";
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = address.ss_family == AF_INET6
                        ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr)
                        : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&address)->sin_addr);
  return ::inet_ntop(address.ss_family, raw, text, sizeof text) ? text : "";
}

/// OpenSSL's info callback: the end of a server-side handshake that did not succeed.
void onHandshakeEvent(const SSL* ssl, int where, int result) {
  if ((where & SSL_CB_ACCEPT_EXIT) != SSL_CB_ACCEPT_EXIT || result > 0) return;
  const int error = SSL_get_error(ssl, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return;  // not over yet
  const auto* report = static_cast<const HandshakeFailed*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (report == nullptr || !*report) return;
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  (*report)(peerAddress(SSL_get_fd(ssl)), reason != nullptr ? reason : "connection closed during the handshake");
}

}  // namespace

void reportFailedHandshakes(DcmTLSTransportLayer& layer, const HandshakeFailed* report) {
  SSL_CTX* context = layer.getNativeHandle();
  SSL_CTX_set_app_data(context, const_cast<HandshakeFailed*>(report));
  SSL_CTX_set_info_callback(context, onHandshakeEvent);
}

std::unique_ptr<DcmTLSTransportLayer> makeTlsLayer(T_ASC_NetworkRole role, const TlsFiles& files) {
  static std::once_flag once;
  std::call_once(once, [] { DcmTLSTransportLayer::initializeOpenSSL(); });
  auto layer = std::make_unique<DcmTLSTransportLayer>(role, nullptr, OFFalse);
  if (!*layer) throw DicomError("TLS: cannot set up an OpenSSL context");
  check(layer->setTLSProfile(TSP_Profile_BCP195_ND), "the non-downgrading BCP 195 profile is not available");
  check(layer->activateCipherSuites(), "cannot activate the BCP 195 cipher suites");
  if (!files.certificateFile.empty() || !files.privateKeyFile.empty()) {
    // An encrypted key fails to load with this (empty) password instead of OpenSSL asking
    // for one on the terminal.
    layer->setPrivateKeyPasswd("");
    check(layer->setPrivateKeyFile(files.privateKeyFile.c_str(), DCF_Filetype_PEM),
          "cannot load the private key " + files.privateKeyFile);
    check(layer->setCertificateFile(files.certificateFile.c_str(), DCF_Filetype_PEM),
          "cannot load the certificate " + files.certificateFile);
    if (!layer->checkPrivateKeyMatchesCertificate()) {
      throw DicomError("TLS: the private key " + files.privateKeyFile + " does not match the certificate " +
                       files.certificateFile);
    }
  }
  if (!files.caFile.empty()) {
    check(layer->addTrustedCertificateFile(files.caFile.c_str(), DCF_Filetype_PEM),
          "cannot load the CA certificates " + files.caFile);
  }
  layer->setCertificateVerification(files.requirePeerCertificate ? DCV_requireCertificate : DCV_ignoreCertificate);
  return layer;
}

}  // namespace torcht1::dicom

#pragma once

// DICOM TLS transport layers (DCMTK dcmtls over OpenSSL) for the receiver and the sender.

#include <functional>
#include <memory>
#include <string>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmtls/tlslayer.h>

namespace torcht1::dicom {

struct TlsFiles {
  std::string certificateFile;  // PEM; with privateKeyFile, or both empty (no own certificate)
  std::string privateKeyFile;   // PEM, not encrypted (an encrypted key is an error, never a prompt)
  std::string caFile;           // PEM, one or more CA certificates; empty: none trusted
  /// The peer must present a certificate that chains to caFile; false: not checked.
  bool requirePeerCertificate = true;
};

/// A TLS layer for `role` (NET_ACCEPTOR: the receiver; NET_REQUESTOR: the sender) with the
/// non-downgrading BCP 195 profile (TLS 1.2 or later, AES-GCM suites only; the plain BCP 195
/// profile would fall back to TLS 1.0 and 3DES). Throws DicomError, one line naming the
/// file, when a file cannot be used or the key does not match the certificate.
std::unique_ptr<DcmTLSTransportLayer> makeTlsLayer(T_ASC_NetworkRole role, const TlsFiles& files);

/// Called when a caller's TLS handshake fails (a plain DICOM association on the TLS port, no
/// or an untrusted certificate): the peer's address and OpenSSL's reason. DCMTK drops such
/// a connection without a word; this is how the node gets to log it.
using HandshakeFailed = std::function<void(const std::string& peer, const std::string& reason)>;
/// `report` must outlive the layer; it runs on the thread doing the handshake.
void reportFailedHandshakes(DcmTLSTransportLayer& layer, const HandshakeFailed* report);

}  // namespace torcht1::dicom

#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torcht1::dicom {

/// DICOM TLS to a peer (PEM files; the non-downgrading BCP 195 profile).
struct ClientTls {
  bool enabled = false;
  std::string caFile;           // CAs the peer's certificate must chain to (always verified)
  std::string certificateFile;  // our certificate, when the peer asks for one (else empty) ...
  std::string privateKeyFile;   // ... and its key, not encrypted
};

/// A C-STORE peer: where to send and as whom.
struct StorePeer {
  std::string host = "127.0.0.1";
  int port = 104;
  std::string calledAeTitle = "ANY-SCP";
  std::string callingAeTitle = "TORCHT1";
  int timeoutSeconds = 30;
  ClientTls tls;
};

/// Outcome of one instance.
struct StoreResult {
  std::string file;
  bool ok = false;
  uint16_t status = 0xFFFF;  // DIMSE status; 0x0000 success, 0xB000/0xB006/0xB007 warnings
  std::string error;         // one line when !ok
};

/// Sends DICOM files by C-STORE over one association (MR and Enhanced MR image storage,
/// explicit and implicit little endian). Every instance's response status is checked:
/// DCMTK reports success for the request even when the peer refused the instance.
class StoreClient {
 public:
  explicit StoreClient(StorePeer peer);

  /// Throws DicomError when no association can be made (with TLS: also when a TLS file
  /// cannot be used or the handshake fails); otherwise one result per file.
  std::vector<StoreResult> send(const std::vector<std::string>& files) const;

 private:
  StorePeer peer_;
};

}  // namespace torcht1::dicom

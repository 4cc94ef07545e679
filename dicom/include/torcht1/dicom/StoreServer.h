#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "torcht1/dicom/ReceivedInstance.h"

namespace torcht1::dicom {

/// DICOM TLS for the receiver (PEM files; the non-downgrading BCP 195 profile).
struct ServerTls {
  bool enabled = false;
  std::string certificateFile;
  std::string privateKeyFile;  // not encrypted
  std::string caFile;          // CAs that sign the callers' certificates
  /// Callers must present a certificate that chains to caFile; false: not asked for.
  bool requirePeerCertificate = true;
};

struct StoreServerOptions {
  std::string aeTitle = "TORCHT1";
  int port = 11112;
  /// Associations served at once; a caller beyond them is rejected (transient, local limit
  /// exceeded). Callers still sending their association request do not count: at most
  /// max(maxAssociations, 16) of those at once, and a connection beyond them is closed unread.
  int maxAssociations = 8;
  int maxPduBytes = 65536;
  /// A caller's TLS handshake and association request must be in within this time of its
  /// connection being accepted, or it is hung up on.
  int acseTimeoutSeconds = 30;
  int dimseTimeoutSeconds = 60;
  /// Associations must call this node's AE title.
  bool checkCalledAeTitle = true;
  /// Calling AE titles allowed; empty: everyone.
  std::vector<std::string> allowedCallingAes;
  /// Hosts (IP addresses or names, resolved once at start()) allowed to connect; empty:
  /// everyone. Others are rejected (permanent, service user, no reason given: DICOM has no
  /// reason for a host) before their AE titles are looked at.
  std::vector<std::string> allowedHosts;
  ServerTls tls;
  /// Where received instances are written (and fsync'd) before the handler takes them.
  std::string tempDir;
};

class StoreWorker;

/// What the node does with what the server receives. Called from association threads.
class StoreHandler {
 public:
  virtual ~StoreHandler() = default;
  /// The instance is in `instance.file` (a temporary file on disk, fsync'd). Take it (move
  /// it) and return the DIMSE status: 0x0000 success, 0xA700 out of resources, 0xC000 cannot
  /// process. On failure the server removes the file.
  virtual uint16_t stored(const ReceivedInstance& instance) = 0;
  /// Called before an instance is received: blocks while the node is overloaded.
  virtual void waitForCapacity() {}
  /// An instance that could not be taken (with why), or an association refused.
  virtual void storeFailed(const std::string& callingAe, const std::string& what, const std::string& reason) = 0;
  virtual void associationRejected(const std::string& callingAe, const std::string& calledAe,
                                   const std::string& peer, const std::string& reason) = 0;
};

/// The DICOM receiver: C-ECHO and C-STORE of MR, Enhanced MR (and the map objects we write,
/// when PACS forwards them back) in uncompressed, deflated and lossless compressed transfer
/// syntaxes, one thread per association (DCMTK DcmThreadSCP). The listening thread only
/// accepts: each connection's TLS handshake and association request are read on its own
/// thread, so a caller that connects and sends nothing holds up no other. Every instance is
/// written to disk and fsync'd before the handler sees it; the success response goes out
/// only when the handler has taken it. A dropped association leaves no file behind.
class StoreServer {
 public:
  StoreServer(StoreServerOptions options, StoreHandler& handler);
  ~StoreServer();

  /// Starts listening on its own thread; throws DicomError (one line) when the port cannot
  /// be bound, an allowed host does not resolve, or a TLS file cannot be used.
  void start();
  /// Stops accepting, hangs up on callers whose association request is not in yet, lets
  /// running associations finish (within the DIMSE timeout), returns.
  void stop();

 private:
  friend class StoreWorker;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torcht1::dicom

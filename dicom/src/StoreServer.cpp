#include "torcht1/dicom/StoreServer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcwcache.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scpthrd.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "ReceivedInstanceFields.h"
#include "TlsLayer.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {

namespace {

constexpr Uint16 kSuccess = 0x0000;
constexpr Uint16 kOutOfResources = 0xA700;
constexpr Uint16 kCannotUnderstand = 0xC000;

bool writeAll(int fd, const void* data, size_t length) {
  const char* p = static_cast<const char*>(data);
  while (length > 0) {
    const ssize_t n = ::write(fd, p, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

/// Writes `format` as a new file `path` and fsyncs it, every write checked; "" when it is
/// all on disk, else why not. Not DcmFileFormat::saveFile: in DCMTK 3.6.7 it ignores an
/// error when its last buffer is flushed at close, so a full disk could leave a truncated
/// file that it called a success (and the node would acknowledge it).
std::string writeDurably(DcmFileFormat& format, const std::string& path, E_TransferSyntax syntax) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::strerror(errno);
  std::vector<char> buffer(64 * 1024);
  DcmOutputBufferStream out(buffer.data(), static_cast<offile_off_t>(buffer.size()));
  DcmWriteCache cache;
  std::string error;
  format.transferInit();
  // The encoder fills the buffer and asks for it to be emptied (EC_StreamNotifyClient)
  // until the whole file is out, then the stream is flushed (the deflate filter holds the
  // last compressed bytes), as DCMTK's own network code does.
  for (bool encoded = false, last = false; !last && error.empty();) {
    if (!encoded) {
      const OFCondition written = format.write(out, syntax, EET_ExplicitLength, &cache, EGL_recalcGL, EPD_noChange, 0, 0,
                                               0, EWM_createNewMeta);
      if (written.bad() && written != EC_StreamNotifyClient) {
        error = written.text();
        break;
      }
      encoded = written.good();
    }
    if (encoded) {
      out.flush();
      last = out.isFlushed();
    }
    void* data = nullptr;
    offile_off_t length = 0;
    out.flushBuffer(data, length);
    if (length > 0 && !writeAll(fd, data, static_cast<size_t>(length))) error = std::strerror(errno);
  }
  format.transferEnd();
  if (error.empty() && ::fsync(fd) != 0) error = std::strerror(errno);
  if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
  return error;
}

/// The port is free to listen on (DCMTK's listen() reports a busy port only from its thread).
void checkPortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  const int error = errno;
  ::close(fd);
  if (!bound) throw DicomError("DICOM port " + std::to_string(port) + ": cannot listen (" + std::strerror(error) + ")");
}

/// Every address `host` (an IP address or a name) resolves to, as DCMTK reports a peer's.
std::set<std::string> addressesOf(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (error != 0) throw DicomError("allowed host '" + host + "' does not resolve (" + ::gai_strerror(error) + ")");
  std::set<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && ::inet_ntop(a->ai_family, raw, text, sizeof text)) {
      addresses.insert(text);
    }
  }
  ::freeaddrinfo(found);
  return addresses;
}

}  // namespace

/// One association: DcmThreadSCP with the node's checks and C-STORE handling, run on a
/// thread of the server's own (see StoreServer::Impl::listen for why not DcmSCPPool).
class StoreWorker : public DcmThreadSCP {
 public:
  explicit StoreWorker(StoreServer::Impl& server) : server_(server) {}

 protected:
  OFCondition handleIncomingCommand(T_DIMSE_Message* message, const DcmPresentationContextInfo& info) override;
  void notifyAssociationRequest(const T_ASC_Parameters& params, DcmSCPActionType& desiredAction) override;
  OFBool checkCalledAETitleAccepted(const OFString& calledAe) override;
  OFBool checkCallingAETitleAccepted(const OFString& callingAe) override;
  OFBool checkCallingHostAccepted(const OFString& hostOrIp) override;

 private:
  uint16_t store(T_DIMSE_C_StoreRQ& request, DcmDataset& dataset);
  StoreServer::Impl& server_;
  std::string callingAe_, calledAe_;
};

struct StoreServer::Impl {
  StoreServerOptions options;
  StoreHandler& handler;
  HandshakeFailed handshakeFailed;            // reports to the handler; outlives tls
  std::unique_ptr<DcmTLSTransportLayer> tls;  // when options.tls.enabled; outlives the listener
  std::set<std::string> allowedAddresses;     // options.allowedHosts, resolved at start()
  DcmSCPConfig config;
  std::thread listener;
  std::atomic<bool> running{false};
  std::atomic<uint64_t> counter{0};

  Impl(StoreServerOptions o, StoreHandler& h) : options(std::move(o)), handler(h) {}

  /// One thread per association, joined by the listener once its association is over.
  struct Association {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  /// The listening loop, in place of DcmBaseSCPPool::listen() (DCMTK 3.6.7), which has two
  /// faults that matter to a node that runs for months: a worker deletes itself when its
  /// association ends, and OFThread::start() stores the thread id into the worker after
  /// pthread_create returns, so an association that ends at once (a rejected caller) can
  /// have that store land in freed memory (heap corruption, seen in the tests); and the
  /// worker threads are neither joined nor detached, so each association leaks its thread's
  /// stack (about 8 MiB of address space and two mappings; measured: +885 MiB VmSize after
  /// 100 C-ECHOs). Here each association's thread is joined, and the object it runs on
  /// lives on that thread's stack. `bound` gets "" once the port is open, else why not.
  void listen(std::promise<std::string>& bound) {
    T_ASC_Network* network = nullptr;
    OFCondition result = ASC_initializeNetwork(NET_ACCEPTOR, options.port, options.acseTimeoutSeconds, &network);
    if (result.good() && tls) result = ASC_setTransportLayer(network, tls.get(), 0 /* not owned */);
    if (result.bad()) {
      if (network != nullptr) ASC_dropNetwork(&network);
      bound.set_value(result.text());
      return;
    }
    bound.set_value("");
    const DcmSharedSCPConfig shared(config);
    std::vector<std::unique_ptr<Association>> associations;
    auto reap = [&associations] {
      for (auto it = associations.begin(); it != associations.end();) {
        if ((*it)->done) {
          (*it)->thread.join();
          it = associations.erase(it);
        } else {
          ++it;
        }
      }
    };
    while (running) {
      reap();
      T_ASC_Association* association = nullptr;
      // Waits at most a second (non-blocking mode), so that stop() is seen.
      const OFCondition received = ASC_receiveAssociation(network, &association, options.maxPduBytes, nullptr, nullptr,
                                                          tls != nullptr, DUL_NOBLOCK, 1);
      if (received == DUL_NOASSOCIATIONREQUEST) {
        ASC_destroyAssociation(&association);
        continue;
      }
      if (received.bad()) {  // e.g. a failed TLS handshake (reported by its callback)
        ASC_dropAssociation(association);
        ASC_destroyAssociation(&association);
        continue;
      }
      reap();  // what ended while this one was waiting
      if (associations.size() >= static_cast<size_t>(options.maxAssociations)) {
        const auto& p = association->params->DULparams;
        handler.associationRejected(p.callingAPTitle, p.calledAPTitle, p.callingPresentationAddress,
                                    "busy: node.max_associations (" + std::to_string(options.maxAssociations) +
                                        ") associations at once");
        T_ASC_RejectParameters reject{ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                                      ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED};
        ASC_rejectAssociation(association, &reject);
        ASC_dropAssociation(association);
        ASC_destroyAssociation(&association);
        continue;
      }
      auto slot = std::make_unique<Association>();
      Association* self = slot.get();
      slot->thread = std::thread([this, self, association, shared] {
        {
          StoreWorker worker(*this);
          worker.setSharedConfig(shared);
          worker.run(association);  // the worker's destructor drops and frees the association
        }
        self->done = true;
      });
      associations.push_back(std::move(slot));
    }
    for (auto& a : associations) a->thread.join();  // the associations in progress finish
    ASC_dropNetwork(&network);
  }
};

void StoreWorker::notifyAssociationRequest(const T_ASC_Parameters& params, DcmSCPActionType& desiredAction) {
  callingAe_ = params.DULparams.callingAPTitle;
  calledAe_ = params.DULparams.calledAPTitle;
  DcmThreadSCP::notifyAssociationRequest(params, desiredAction);
}

OFBool StoreWorker::checkCallingHostAccepted(const OFString&) {
  // DCMTK 3.6.7 hands this the called presentation address; the caller's is the peer IP
  // (host lookup is off, so it is an address, never a name the caller controls).
  if (server_.options.allowedHosts.empty()) return OFTrue;
  const std::string peer = getPeerIP().c_str();
  if (server_.allowedAddresses.count(peer) != 0) return OFTrue;
  server_.handler.associationRejected(callingAe_, calledAe_, peer, "host " + peer + " not in node.allowed_hosts");
  return OFFalse;
}

OFBool StoreWorker::checkCalledAETitleAccepted(const OFString& calledAe) {
  if (!server_.options.checkCalledAeTitle || calledAe == server_.options.aeTitle.c_str()) return OFTrue;
  server_.handler.associationRejected(callingAe_, calledAe.c_str(), getPeerIP().c_str(),
                                      "called AE title '" + std::string(calledAe.c_str()) + "' is not '" +
                                          server_.options.aeTitle + "'");
  return OFFalse;
}

OFBool StoreWorker::checkCallingAETitleAccepted(const OFString& callingAe) {
  const auto& allowed = server_.options.allowedCallingAes;
  if (allowed.empty() || std::find(allowed.begin(), allowed.end(), callingAe.c_str()) != allowed.end()) return OFTrue;
  server_.handler.associationRejected(callingAe.c_str(), server_.options.aeTitle, getPeerIP().c_str(),
                                      "calling AE title not in node.allowed_calling_aes");
  return OFFalse;
}

OFCondition StoreWorker::handleIncomingCommand(T_DIMSE_Message* message, const DcmPresentationContextInfo& info) {
  if (message->CommandField != DIMSE_C_STORE_RQ) return DcmThreadSCP::handleIncomingCommand(message, info);
  server_.handler.waitForCapacity();
  T_DIMSE_C_StoreRQ& request = message->msg.CStoreRQ;
  DcmDataset* dataset = nullptr;
  OFCondition received = receiveSTORERequest(request, info.presentationContextID, dataset);
  if (received.bad()) {
    // The association broke mid-instance: nothing was written, nothing is acknowledged.
    delete dataset;
    server_.handler.storeFailed(getPeerAETitle().c_str(), request.AffectedSOPInstanceUID,
                                "not received: " + std::string(received.text()));
    return received;
  }
  const uint16_t status = store(request, *dataset);
  delete dataset;
  return sendSTOREResponse(info.presentationContextID, request, status);
}

uint16_t StoreWorker::store(T_DIMSE_C_StoreRQ& request, DcmDataset& dataset) {
  const std::string calling = getPeerAETitle().c_str();
  ReceivedInstance instance = receivedFields(dataset);
  instance.callingAeTitle = calling;
  instance.peerAddress = getPeerIP().c_str();
  const std::string what = instance.sopInstanceUid.empty() ? std::string(request.AffectedSOPInstanceUID) : instance.sopInstanceUid;
  const std::string missing = missingUid(instance);
  if (!missing.empty()) {
    server_.handler.storeFailed(calling, what, "refused: no " + missing);
    return kCannotUnderstand;
  }
  if (instance.sopInstanceUid != request.AffectedSOPInstanceUID) {
    server_.handler.storeFailed(calling, what, "refused: SOPInstanceUID differs from the request's (" +
                                                   std::string(request.AffectedSOPInstanceUID) + ")");
    return kCannotUnderstand;
  }
  const std::string file = (fs::path(server_.options.tempDir) /
                            (std::to_string(::getpid()) + "-" + std::to_string(server_.counter++) + ".part")).string();
  E_TransferSyntax syntax = dataset.getOriginalXfer();
  if (syntax == EXS_Unknown) syntax = EXS_LittleEndianExplicit;
  DcmFileFormat format(&dataset);
  const std::string notWritten = writeDurably(format, file, syntax);
  if (!notWritten.empty()) {
    std::error_code ec;
    fs::remove(file, ec);
    server_.handler.storeFailed(calling, what, "not stored, answered 'out of resources': cannot write " + file +
                                                   " (" + notWritten + ")");
    return kOutOfResources;
  }
  instance.file = file;
  uint16_t status = kOutOfResources;
  try {
    status = server_.handler.stored(instance);
  } catch (const std::exception& e) {
    server_.handler.storeFailed(calling, what, std::string("not stored: ") + e.what());
  }
  if (status != kSuccess) {
    std::error_code ec;
    fs::remove(file, ec);
  }
  return status;
}

StoreServer::StoreServer(StoreServerOptions options, StoreHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

StoreServer::~StoreServer() { stop(); }

void StoreServer::start() {
  quietDcmtk();
  static std::once_flag decoders;
  std::call_once(decoders, [] {
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
  const StoreServerOptions& o = impl_->options;
  fs::create_directories(o.tempDir);
  checkPortFree(o.port);
  impl_->allowedAddresses.clear();
  for (const auto& host : o.allowedHosts) {
    const auto addresses = addressesOf(host);
    impl_->allowedAddresses.insert(addresses.begin(), addresses.end());
  }
  if (o.tls.enabled) {
    impl_->tls = makeTlsLayer(NET_ACCEPTOR, {o.tls.certificateFile, o.tls.privateKeyFile, o.tls.caFile,
                                             o.tls.requirePeerCertificate});
    impl_->handshakeFailed = [this](const std::string& peer, const std::string& reason) {
      impl_->handler.associationRejected("", "", peer, "TLS handshake failed: " + reason);
    };
    reportFailedHandshakes(*impl_->tls, &impl_->handshakeFailed);
  }
  DcmSCPConfig& config = impl_->config;
  config.setAETitle(o.aeTitle.c_str());
  config.setPort(static_cast<Uint16>(o.port));
  config.setMaxReceivePDULength(static_cast<Uint32>(o.maxPduBytes));
  config.setACSETimeout(static_cast<Uint32>(o.acseTimeoutSeconds));
  config.setDIMSETimeout(static_cast<Uint32>(o.dimseTimeoutSeconds));
  config.setConnectionBlockingMode(DUL_NOBLOCK);  // wakes every second to see whether to stop
  config.setConnectionTimeout(1);
  config.setHostLookupEnabled(OFFalse);
  config.setTransportLayer(impl_->tls.get());  // TLS on this port instead of plain TCP, when set
  OFList<OFString> syntaxes;
  for (const char* s : {UID_LittleEndianExplicitTransferSyntax, UID_BigEndianExplicitTransferSyntax,
                        UID_LittleEndianImplicitTransferSyntax, UID_DeflatedExplicitVRLittleEndianTransferSyntax,
                        UID_JPEGProcess14SV1TransferSyntax, UID_JPEGProcess14TransferSyntax,
                        UID_JPEGLSLosslessTransferSyntax, UID_RLELosslessTransferSyntax}) {
    syntaxes.push_back(s);
  }
  for (const char* sopClass : {UID_MRImageStorage, UID_EnhancedMRImageStorage, UID_EnhancedMRColorImageStorage,
                               UID_LegacyConvertedEnhancedMRImageStorage, UID_SecondaryCaptureImageStorage,
                               UID_ParametricMapStorage}) {
    config.addPresentationContext(sopClass, syntaxes);
  }
  OFList<OFString> echo;
  echo.push_back(UID_LittleEndianExplicitTransferSyntax);
  echo.push_back(UID_LittleEndianImplicitTransferSyntax);
  config.addPresentationContext(UID_VerificationSOPClass, echo);

  std::promise<std::string> bound;
  std::future<std::string> opened = bound.get_future();
  impl_->running = true;
  impl_->listener = std::thread([this, promise = std::move(bound)]() mutable { impl_->listen(promise); });
  const std::string error = opened.get();  // set before listen() does anything else
  if (!error.empty()) {
    impl_->listener.join();
    impl_->running = false;
    throw DicomError("DICOM port " + std::to_string(o.port) + ": cannot listen (" + error + ")");
  }
}

void StoreServer::stop() {
  if (!impl_->running.exchange(false)) return;
  if (impl_->listener.joinable()) impl_->listener.join();
}

}  // namespace torcht1::dicom

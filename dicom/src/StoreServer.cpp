#include "torcht1/dicom/StoreServer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
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
#include <dcmtk/dcmnet/dcmlayer.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dul.h>
#include <dcmtk/dcmnet/scpthrd.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/TcpNoDelay.h"
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

/// The numeric address of an accepted connection's peer.
std::string addressOf(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = address.ss_family == AF_INET6
                        ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr)
                        : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&address)->sin_addr);
  return ::inet_ntop(address.ss_family, raw, text, sizeof text) ? text : "";
}

// Handing an accepted socket to DCMTK.
//
// ASC_receiveAssociation (DCMTK 3.6.7) accepts a connection and then, in the same call, does
// the TLS handshake and reads the A-ASSOCIATE-RQ. The only way to have it start from a socket
// accepted elsewhere is a process-wide global, dcmExternalSocketHandle (its "inetd mode"):
// while it holds a socket, ASC_receiveAssociation takes that socket instead of calling
// accept(). DCMTK reads the global once, at the start, and then hands the socket to the
// network's transport layer (createConnection) before the handshake and the request. So each
// association thread sets the global under handoffLock(), and HandoffLayer releases the lock
// the moment DCMTK has taken the socket: the lock is held over a few system calls (host
// lookup is off), never while a caller is waited for. An acceptor's ASC_initializeNetwork
// looks at the global too (set, it would open no port), so it takes the lock as well.
std::mutex& handoffLock() {
  static std::mutex lock;
  return lock;
}

constexpr DcmNativeSocketType kNoSocket = static_cast<DcmNativeSocketType>(-1);

thread_local std::unique_lock<std::mutex>* handingOff = nullptr;  // this thread's hold, until DCMTK has its socket
thread_local bool socketTaken = false;  // DCMTK took this thread's socket (and will close it)

/// The network's transport layer: plain TCP, or the TLS layer given; it lets the next
/// association thread hand over its socket as soon as DCMTK has taken this one.
class HandoffLayer : public DcmTransportLayer {
 public:
  explicit HandoffLayer(DcmTransportLayer* tls) : tls_(tls) {}

  DcmTransportConnection* createConnection(DcmNativeSocketType socket, OFBool secure) override {
    socketTaken = true;
    if (handingOff != nullptr && handingOff->owns_lock()) {
      dcmExternalSocketHandle.set(kNoSocket);
      handingOff->unlock();
    }
    return tls_ != nullptr ? tls_->createConnection(socket, secure) : DcmTransportLayer::createConnection(socket, secure);
  }

 private:
  DcmTransportLayer* tls_;
};

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
  using Clock = std::chrono::steady_clock;

  StoreServerOptions options;
  StoreHandler& handler;
  HandshakeFailed handshakeFailed;            // reports to the handler; outlives tls
  std::unique_ptr<DcmTLSTransportLayer> tls;  // when options.tls.enabled; outlives the listener
  std::unique_ptr<HandoffLayer> transport;    // the network's transport layer (over tls when set)
  std::set<std::string> allowedAddresses;     // options.allowedHosts, resolved at start()
  DcmSCPConfig config;
  std::thread listener;
  std::atomic<bool> running{false};
  std::atomic<uint64_t> counter{0};
  std::atomic<int> negotiating{0};  // connections whose association request is not in yet
  std::atomic<int> associating{0};  // associations past their request: at most options.maxAssociations

  Impl(StoreServerOptions o, StoreHandler& h) : options(std::move(o)), handler(h) {}

  /// Callers that may be sending their association request (or TLS handshake) at once; beyond
  /// that a new connection is closed unread. Not node.max_associations itself: callers that
  /// send nothing must not keep the associations that node.max_associations allows from
  /// being used.
  int maxNegotiating() const { return std::max(options.maxAssociations, 16); }

  /// One caller's connection, on its own thread from accept() on, joined by the listener
  /// once it is over.
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
    std::string peer;            // IP address
    Clock::time_point deadline;  // accepted + the ACSE timeout: its association request is in by then
    std::mutex mutex;            // guards watch
    int watch = -1;              // a duplicate of the socket while the request is awaited; -1 after
    std::atomic<bool> cut{false};  // hung up on while its request was awaited (deadline, or stop)
  };
  /// The connection this thread serves (for the TLS handshake report).
  static inline thread_local const Connection* current = nullptr;

  /// Ends the wait for `c`'s association request when it is due by `now` (always when
  /// `now` is max()): shutdown() wakes the TLS handshake or the read blocked on the socket.
  /// Through the duplicate, so it can never hit a descriptor that DCMTK has closed and the
  /// process has reused. Moves `wake` to c's deadline when that is sooner and still ahead.
  static void hangUpWhenDue(Connection& c, Clock::time_point now, Clock::time_point& wake) {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.watch < 0 || c.cut) return;  // its request is in, or it was hung up on already
    if (c.deadline > now) {
      wake = std::min(wake, c.deadline);
      return;
    }
    c.cut = true;
    ::shutdown(c.watch, SHUT_RDWR);
  }

  /// The listening loop, in place of DcmBaseSCPPool::listen() (DCMTK 3.6.7), which has two
  /// faults that matter to a node that runs for months: a worker deletes itself when its
  /// association ends, and OFThread::start() stores the thread id into the worker after
  /// pthread_create returns, so an association that ends at once (a rejected caller) can
  /// have that store land in freed memory (heap corruption, seen in the tests); and the
  /// worker threads are neither joined nor detached, so each association leaks its thread's
  /// stack (about 8 MiB of address space and two mappings; measured: +885 MiB VmSize after
  /// 100 C-ECHOs). Here each connection's thread is joined, and the object it runs on
  /// lives on that thread's stack.
  ///
  /// This thread only accepts. ASC_receiveAssociation would also read the A-ASSOCIATE-RQ
  /// (and do the TLS handshake) here, so that one caller that connects and sends nothing
  /// held up every other caller for the ACSE timeout (over TLS: until it hung up). Each
  /// connection's thread reads its own request (see handoffLock), and is hung up on when
  /// the request is not in within the ACSE timeout of the accept. `bound` gets "" once the
  /// port is open, else why not.
  void listen(std::promise<std::string>& bound) {
    T_ASC_Network* network = nullptr;
    OFCondition result;
    {
      std::lock_guard<std::mutex> lock(handoffLock());
      result = ASC_initializeNetwork(NET_ACCEPTOR, options.port, options.acseTimeoutSeconds, &network);
    }
    if (result.good()) result = ASC_setTransportLayer(network, transport.get(), 0 /* not owned */);
    std::string error = result.bad() ? result.text() : "";
    const int listening = result.good() ? static_cast<int>(DUL_networkSocket(network->network)) : -1;
    if (error.empty()) {
      // Non-blocking, so that a caller gone between poll() and accept() cannot stall the loop.
      const int flags = ::fcntl(listening, F_GETFL);
      if (listening < 0 || flags < 0 || ::fcntl(listening, F_SETFL, flags | O_NONBLOCK) != 0) error = std::strerror(errno);
    }
    if (!error.empty()) {
      if (network != nullptr) ASC_dropNetwork(&network);
      bound.set_value(error);
      return;
    }
    bound.set_value("");
    const DcmSharedSCPConfig shared(config);
    std::vector<std::unique_ptr<Connection>> connections;
    auto reap = [&connections] {
      for (auto it = connections.begin(); it != connections.end();) {
        if ((*it)->done) {
          (*it)->thread.join();
          it = connections.erase(it);
        } else {
          ++it;
        }
      }
    };
    while (running) {
      reap();
      // Hang up on those whose request is overdue; wake for the next deadline, or within a
      // second to see whether to stop.
      const Clock::time_point now = Clock::now();
      Clock::time_point wake = now + std::chrono::seconds(1);
      for (auto& c : connections) hangUpWhenDue(*c, now, wake);
      pollfd p{listening, POLLIN, 0};
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1;
      if (::poll(&p, 1, static_cast<int>(wait)) <= 0) continue;
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      int socket = ::accept4(listening, reinterpret_cast<sockaddr*>(&from), &length, SOCK_CLOEXEC);
      if (socket < 0) {
        // EAGAIN: gone before accept(); EMFILE and the like: give the process a moment.
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        continue;
      }
      if (socket == 0) {  // (only when stdin is closed) DCMTK takes a socket only when it is > 0
        const int moved = ::fcntl(socket, F_DUPFD_CLOEXEC, 3);
        ::close(socket);
        if (moved < 0) continue;
        socket = moved;
      }
      const std::string peer = addressOf(from);
      reap();
      if (negotiating >= maxNegotiating()) {
        // Such a caller cannot be told "busy" without reading its request, which is what
        // those before it are doing. Each of them is gone within the ACSE timeout.
        ::close(socket);
        handler.associationRejected("", "", peer,
                                    "busy: " + std::to_string(maxNegotiating()) +
                                        " callers are already sending their association requests; closed unread");
        continue;
      }
      auto slot = std::make_unique<Connection>();
      Connection* self = slot.get();
      self->peer = peer;
      self->deadline = Clock::now() + std::chrono::seconds(options.acseTimeoutSeconds);
      self->watch = ::fcntl(socket, F_DUPFD_CLOEXEC, 0);
      if (self->watch < 0) {  // out of descriptors: it could not be bounded
        ::close(socket);
        continue;
      }
      ++negotiating;
      try {
        slot->thread = std::thread([this, self, socket, network, shared] {
          associate(*self, socket, network, shared);
          self->done = true;
        });
      } catch (const std::system_error&) {  // no thread to be had: as if it had never connected
        --negotiating;
        ::close(self->watch);
        ::close(socket);
        continue;
      }
      connections.push_back(std::move(slot));
    }
    // Callers still sending their request are hung up on (nothing of theirs is lost); the
    // associations in progress finish.
    Clock::time_point unused;
    for (auto& c : connections) hangUpWhenDue(*c, Clock::time_point::max(), unused);
    for (auto& c : connections) c->thread.join();
    ASC_dropNetwork(&network);
  }

  /// One connection, on its thread: its association request is read and, unless
  /// node.max_associations are already in progress, served by a StoreWorker.
  void associate(Connection& c, int socket, T_ASC_Network* network, const DcmSharedSCPConfig& shared) {
    current = &c;
    T_ASC_Association* association = nullptr;
    OFCondition received = EC_Normal;
    {
      std::unique_lock<std::mutex> lock(handoffLock());
      dcmExternalSocketHandle.set(static_cast<DcmNativeSocketType>(socket));
      socketTaken = false;
      handingOff = &lock;  // HandoffLayer unlocks it once DCMTK has the socket
      received = ASC_receiveAssociation(network, &association, options.maxPduBytes, nullptr, nullptr, tls != nullptr,
                                        DUL_NOBLOCK, options.acseTimeoutSeconds);
      handingOff = nullptr;
      if (lock.owns_lock()) dcmExternalSocketHandle.set(kNoSocket);
    }
    if (!socketTaken) ::close(socket);  // DCMTK gave up before taking it; what it takes, it closes
    {
      std::lock_guard<std::mutex> lock(c.mutex);
      ::close(c.watch);
      c.watch = -1;
    }
    --negotiating;
    if (received.bad() || c.cut) {
      // A caller that hung up, failed its TLS handshake (reported by its callback), sent no
      // DICOM, or sent no request in time (DCMTK's own read timeout, or hung up on here);
      // the last is reported, unless the server is stopping.
      if (Clock::now() >= c.deadline) {
        handler.associationRejected("", "", c.peer,
                                    "no association request within node.acse_timeout_seconds (" +
                                        std::to_string(options.acseTimeoutSeconds) + ")");
      }
      ASC_dropAssociation(association);
      ASC_destroyAssociation(&association);
      return;
    }
    int open = associating.load();
    while (open < options.maxAssociations && !associating.compare_exchange_weak(open, open + 1)) {
    }
    if (open >= options.maxAssociations) {
      const auto& p = association->params->DULparams;
      handler.associationRejected(p.callingAPTitle, p.calledAPTitle, p.callingPresentationAddress,
                                  "busy: node.max_associations (" + std::to_string(options.maxAssociations) +
                                      ") associations at once");
      T_ASC_RejectParameters reject{ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED,
                                    ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED};
      ASC_rejectAssociation(association, &reject);
      ASC_dropAssociation(association);
      ASC_destroyAssociation(&association);
      return;
    }
    {
      StoreWorker worker(*this);
      worker.setSharedConfig(shared);
      worker.run(association);  // the worker's destructor drops and frees the association
    }
    --associating;
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
  preferTcpNoDelay();
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
      // Runs on the connection's thread. One that was hung up on (no handshake within the
      // ACSE timeout, or the server stopping) is reported as such, not as a failed handshake.
      const Impl::Connection* c = Impl::current;
      if (c != nullptr && c->cut) return;
      impl_->handler.associationRejected("", "", c != nullptr ? c->peer : peer, "TLS handshake failed: " + reason);
    };
    reportFailedHandshakes(*impl_->tls, &impl_->handshakeFailed);
  }
  impl_->transport = std::make_unique<HandoffLayer>(impl_->tls.get());
  DcmSCPConfig& config = impl_->config;
  config.setAETitle(o.aeTitle.c_str());
  config.setPort(static_cast<Uint16>(o.port));
  config.setMaxReceivePDULength(static_cast<Uint32>(o.maxPduBytes));
  config.setACSETimeout(static_cast<Uint32>(o.acseTimeoutSeconds));
  config.setDIMSETimeout(static_cast<Uint32>(o.dimseTimeoutSeconds));
  config.setConnectionBlockingMode(DUL_NOBLOCK);  // wakes every second to see whether to stop
  config.setConnectionTimeout(1);
  // (Process-wide in DCMTK.) Also keeps a reverse lookup from running while an accepted
  // socket is handed to DCMTK, under handoffLock().
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

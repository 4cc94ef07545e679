// Faults with real peers on 127.0.0.1, `torcht1 serve` as a process:
// - killed (SIGKILL) at random moments while 20 series arrive from 4 senders, restarted on
//   the same spool each time: every acknowledged instance is on disk at every kill, every
//   series is fitted from all its instances, and its maps reach the PACS (Orthanc) once;
// - the PACS is down while maps are due, then comes back: everything arrives, in full, with
//   the retries in /metrics and the log;
// - the spool disk is full (a tmpfs): C-STORE answers 0xA700 and nothing is acknowledged
//   that is not on disk, whole; the node goes on once there is space again;
// - a sender drops its association in the middle of an instance: no file for it, and the
//   node goes on serving.
// The senders are DCMTK's storescu and our StoreClient (DcmSCU), which reports the status
// of every instance: acknowledged means the node answered success.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/StoreClient.h"
#include "ChildProcess.h"
#include "FreePort.h"
#include "NodeLog.h"
#include "RunToEnd.h"
#include "WaitFor.h"
#include "HttpClient.h"
#include "OrthancServer.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace torcht1 {
namespace {

using testing::events;
using testing::readFile;
using testing::Ran;
using testing::filesIn;
using testing::kExitedOk;
using testing::runToEnd;
using testing::waitFor;

// ---------------------------------------------------------------------------------------
// Helpers

std::string text(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

/// Job folders waiting in an outbox (not the ".new-" ones being built).
size_t jobsIn(const fs::path& outbox) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(outbox, ec)) {
    n += e.is_directory() && e.path().filename().string().rfind(".new-", 0) != 0;
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// Simulated series (torcht1 simulate)

struct Series {
  int seed = 0, size = 0, slices = 0;
  std::vector<std::string> files;  // IM_<slice>_<n>.dcm, sorted
  std::string seriesUid, patientId, description;
  std::map<std::string, std::string> sopOfFile;
  std::map<std::string, int> sliceOfSop;  // 0-based
};

/// `torcht1 simulate` for every (seed, size, slices), four at a time, read back.
std::vector<Series> simulate(const fs::path& root, const std::vector<std::array<int, 3>>& specs) {
  std::vector<Series> all(specs.size());
  for (size_t first = 0; first < specs.size(); first += 4) {
    std::vector<std::unique_ptr<testing::ChildProcess>> running;
    for (size_t i = first; i < std::min(specs.size(), first + 4); ++i) {
      const auto& [seed, size, slices] = specs[i];
      const fs::path dir = root / ("series-" + std::to_string(seed));
      fs::remove_all(dir);
      running.push_back(std::make_unique<testing::ChildProcess>(
          std::vector<std::string>{TORCHT1_BINARY, "simulate", "--out", dir.string(), "--size", std::to_string(size),
                                   "--slices", std::to_string(slices), "--seed", std::to_string(seed)},
          (root / ("simulate-" + std::to_string(seed) + ".log")).string()));
    }
    for (auto& p : running) {
      EXPECT_TRUE(p->waitForExit(120s));
      EXPECT_EQ(p->state(), kExitedOk);
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    Series& s = all[i];
    std::tie(s.seed, s.size, s.slices) = std::tuple(specs[i][0], specs[i][1], specs[i][2]);
    for (const auto& f : filesIn(root / ("series-" + std::to_string(s.seed)))) {
      if (f.extension() != ".dcm") continue;
      DcmFileFormat format;
      if (format.loadFile(f.c_str()).bad()) continue;
      DcmDataset& ds = *format.getDataset();
      const std::string sop = text(ds, DCM_SOPInstanceUID);
      s.files.push_back(f.string());
      s.seriesUid = text(ds, DCM_SeriesInstanceUID);
      s.patientId = text(ds, DCM_PatientID);
      s.description = text(ds, DCM_SeriesDescription);
      s.sopOfFile[f.string()] = sop;
      const std::string name = f.filename().string();
      s.sliceOfSop[sop] = std::stoi(name.substr(3, name.find('_', 3) - 3)) - 1;
    }
    EXPECT_EQ(s.files.size(), static_cast<size_t>(8 * s.slices)) << "seed " << s.seed;
  }
  return all;
}

/// Where the spool keeps a received instance (plain UIDs are their own names).
fs::path spooled(const fs::path& spool, const Series& s, const std::string& sop) {
  return spool / "series" / s.seriesUid / (sop + ".dcm");
}

// ---------------------------------------------------------------------------------------
// The node as a process, on a fixed DICOM port (it comes back where the senders look)

class NodeProcess {
 public:
  NodeProcess(const fs::path& config, int port, fs::path logFile) : logFile_(std::move(logFile)) {
    process_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{TORCHT1_BINARY, "serve", "--config", config.string()}, logFile_.string(),
        std::vector<std::string>{"TORCHT1_NODE__PORT=" + std::to_string(port)});
    waitFor([&] { return !process_->running() || !events(log(), "started").empty(); }, 120s);
  }
  ~NodeProcess() { process_->stop(10s); }

  bool started() { return process_->running() && !events(log(), "started").empty(); }
  testing::ChildProcess& process() { return *process_; }
  std::string log() const { return readFile(logFile_); }
  std::string describe() { return "torcht1 serve: " + process_->state() + "\n--- its output:\n" + log(); }
  /// The HTTP port it logged at start ("http=127.0.0.1:PORT"); 0 when not found.
  int httpPort() const {
    const auto started = events(log(), "started");
    if (started.empty()) return 0;
    const size_t at = started[0].find("http=127.0.0.1:");
    return at == std::string::npos ? 0 : std::atoi(started[0].c_str() + at + 15);
  }
  std::string metrics() const { return testing::HttpClient("127.0.0.1", httpPort(), 10s).get("/metrics").body; }
  void kill() {
    process_->signal(SIGKILL);
    process_->waitForExit(10s);
  }
  std::string stop() {
    process_->stop(10s);
    return process_->state();
  }
  bool waitForEvents(const std::string& event, const std::vector<std::string>& fragments, size_t count,
                     std::chrono::milliseconds timeout = 60s) {
    return waitFor([&] { return events(log(), event, fragments).size() >= count || !process_->running(); }, timeout) &&
           events(log(), event, fragments).size() >= count;
  }

 private:
  fs::path logFile_;
  std::unique_ptr<testing::ChildProcess> process_;
};

/// A metric's value from Prometheus text, e.g. name = `x_total{destination="pacs"}`; -1 when absent.
double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

// ---------------------------------------------------------------------------------------
// Senders that retry what was not acknowledged

/// What the senders got acknowledged (the node answered success), shared between threads.
class Acknowledged {
 public:
  void add(const std::string& file) {
    std::lock_guard<std::mutex> lock(mutex_);
    files_.insert(file);
  }
  bool has(const std::string& file) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return files_.count(file) != 0;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return files_.size();
  }
  std::set<std::string> snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return files_;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::string> files_;
};

/// Sends `files` to the node until every one is acknowledged, `deadline` passes or `stop` is
/// set, a few at a time (one association each; 1 to 6 instances); an association refused or
/// lost (the node is down) is tried again 50 to 150 ms later. Returns the associations that
/// failed.
size_t sendUntilAcknowledged(const std::vector<std::string>& files, int port, const std::string& callingAe,
                             Acknowledged& acknowledged, std::mt19937 random,
                             std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* stop = nullptr) {
  dicom::StorePeer peer;
  peer.port = port;
  peer.calledAeTitle = "TORCHT1";
  peer.callingAeTitle = callingAe;
  peer.timeoutSeconds = 10;
  const dicom::StoreClient client(peer);
  size_t failures = 0;
  while (std::chrono::steady_clock::now() < deadline && (stop == nullptr || !*stop)) {
    std::vector<std::string> remaining;
    for (const auto& f : files) {
      if (!acknowledged.has(f)) remaining.push_back(f);
    }
    if (remaining.empty()) break;
    remaining.resize(std::min(remaining.size(), static_cast<size_t>(std::uniform_int_distribution<int>(1, 6)(random))));
    bool lost = false;
    try {
      for (const auto& r : client.send(remaining)) {
        if (r.ok) {
          acknowledged.add(r.file);
        } else {
          lost = true;
        }
      }
    } catch (const dicom::DicomError&) {
      lost = true;  // the node is down (or going down)
    }
    if (lost) {
      ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 150)(random)));
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------
// A TCP relay to the node that drops the connection after a number of bytes from the caller

class CuttingRelay {
 public:
  CuttingRelay(int targetPort, size_t cutAfter) : targetPort_(targetPort), cutAfter_(cutAfter) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ >= 0 && ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(listener_, 4) == 0 && ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
      thread_ = std::thread([this] { serveOne(); });
    }
  }
  ~CuttingRelay() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) ::close(listener_);
  }
  int port() const { return port_; }
  /// Bytes from the caller passed on to the node; the cut came when this reached cutAfter.
  size_t forwarded() const { return forwarded_; }
  bool cut() const { return cut_; }

 private:
  static int connectTo(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    if (fd >= 0) ::close(fd);
    return -1;
  }
  static bool sendAll(int fd, const char* data, size_t n) {
    while (n > 0) {
      const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data += sent;
      n -= static_cast<size_t>(sent);
    }
    return true;
  }
  void serveOne() {
    pollfd waiting{listener_, POLLIN, 0};
    while (!stopping_ && ::poll(&waiting, 1, 100) <= 0) {
    }
    if (stopping_) return;
    const int caller = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    const int node = caller >= 0 ? connectTo(targetPort_) : -1;
    std::vector<char> buffer(16384);
    while (!stopping_ && caller >= 0 && node >= 0) {
      pollfd fds[2] = {{caller, POLLIN, 0}, {node, POLLIN, 0}};
      if (::poll(fds, 2, 100) <= 0) continue;
      if (fds[1].revents != 0) {  // node -> caller, unchanged
        const ssize_t n = ::recv(node, buffer.data(), buffer.size(), 0);
        if (n <= 0 || !sendAll(caller, buffer.data(), static_cast<size_t>(n))) break;
      }
      if (fds[0].revents != 0) {  // caller -> node, up to the cut
        const ssize_t n = ::recv(caller, buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        const size_t pass = std::min(static_cast<size_t>(n), cutAfter_ - forwarded_);
        if (!sendAll(node, buffer.data(), pass)) break;
        forwarded_ += pass;
        if (forwarded_ >= cutAfter_) {
          cut_ = true;
          break;  // the connection drops here: no A-ABORT, no A-RELEASE, half an instance sent
        }
      }
    }
    if (node >= 0) ::close(node);
    if (caller >= 0) ::close(caller);
  }

  int targetPort_;
  size_t cutAfter_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<size_t> forwarded_{0};
  std::atomic<bool> cut_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A peer that vanishes mid-write must be an error, not the end of the test process.
    ::signal(SIGPIPE, SIG_IGN);
    root_ = fs::temp_directory_path() / ("torcht1-fault-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    dir_ = root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  /// The node's configuration: `spool`, a free HTTP port, maps to dir_/maps unless a
  /// destination is given in `more`, the fit on the CPU.
  fs::path writeConfig(const fs::path& spool, const std::string& more) const {
    const fs::path file = dir_ / "torcht1.yaml";
    std::ofstream(file) << "node:\n  ae_title: TORCHT1\n  spool_dir: " << spool.string() << "\n"
                        << "http:\n  port: 0\n"
                        << "output:\n  dir: " << (dir_ / "maps").string() << "\n"
                        << "fit:\n  device: cpu\n"
                        << more;
    return file;
  }

  static std::string orthancDestination(const testing::OrthancServer& orthanc, const std::string& extra) {
    return "destinations:\n  - {name: pacs, ae_title: " + orthanc.aeTitle() + ", host: 127.0.0.1, port: " +
           std::to_string(orthanc.dicomPort()) + ", timeout_seconds: 10, " + extra + "}\n";
  }

  /// What Orthanc holds per PatientID: each series' description and its instances' Orthanc ids.
  static std::map<std::string, std::vector<std::pair<std::string, std::vector<std::string>>>> byPatient(
      const testing::OrthancServer& orthanc) {
    std::map<std::string, std::vector<std::pair<std::string, std::vector<std::string>>>> all;
    for (const auto& patient : orthanc.json("/patients?expand")) {
      const std::string id = patient.at("MainDicomTags").value("PatientID", "");
      for (const auto& series : orthanc.json("/patients/" + patient.at("ID").get<std::string>() + "/series")) {
        std::vector<std::string> instances;
        for (const auto& i : series.at("Instances")) instances.push_back(i.get<std::string>());
        all[id].emplace_back(series.at("MainDicomTags").value("SeriesDescription", ""), instances);
      }
    }
    return all;
  }

  /// Every series has exactly its T1 and T1 SD map series at the PACS, one instance per slice,
  /// no "(v2)", and each T1 map image references every source image of its slice.
  void expectMapsOnceEach(const testing::OrthancServer& orthanc, const std::vector<Series>& all) {
    const auto held = byPatient(orthanc);
    size_t expectedInstances = 0;
    for (const auto& s : all) {
      SCOPED_TRACE("seed " + std::to_string(s.seed) + ", " + std::to_string(s.slices) + " slice(s), patient " + s.patientId);
      expectedInstances += 2 * static_cast<size_t>(s.slices);
      const auto found = held.find(s.patientId);
      ASSERT_NE(found, held.end()) << "no maps at the PACS";
      std::multiset<std::string> descriptions;
      for (const auto& [description, instances] : found->second) {
        descriptions.insert(description);
        EXPECT_EQ(instances.size(), static_cast<size_t>(s.slices)) << description << ": one image per slice";
        if (description != s.description + " T1 map") continue;
        for (const auto& id : instances) {
          const fs::path file = dir_ / "from-orthanc" / (id + ".dcm");
          fs::create_directories(file.parent_path());
          orthanc.downloadInstance(id, file);
          DcmFileFormat format;
          ASSERT_TRUE(format.loadFile(file.c_str()).good()) << file;
          DcmDataset& ds = *format.getDataset();
          const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
          std::set<std::string> referenced, expected;
          DcmSequenceOfItems* sources = nullptr;
          if (ds.findAndGetSequence(DCM_SourceImageSequence, sources).good() && sources != nullptr) {
            for (unsigned long i = 0; i < sources->card(); ++i) referenced.insert(text(*sources->getItem(i), DCM_ReferencedSOPInstanceUID));
          }
          for (const auto& [sop, sliceOfSop] : s.sliceOfSop) {
            if (sliceOfSop == slice) expected.insert(sop);
          }
          EXPECT_EQ(referenced, expected) << "the T1 map of slice " << slice + 1 << " is fitted from all 8 images";
        }
      }
      EXPECT_EQ(descriptions, (std::multiset<std::string>{s.description + " T1 map", s.description + " T1 SD map"}))
          << "T1 and T1 SD once each, no (v2)";
    }
    EXPECT_EQ(held.size(), all.size()) << "maps of these series only";
    EXPECT_EQ(orthanc.instanceCount(), expectedInstances);
  }

  static inline fs::path root_;
  fs::path dir_;
};

// ---------------------------------------------------------------------------------------

TEST_F(FaultTest, KilledAtRandomWhileFourSendersSendTwentySeriesEverySeriesReachesThePacsOnce) {
  // The moments of the kills are random; the seed is printed to replay a failure
  // (TORCHT1_FAULT_SEED=N).
  const char* given = std::getenv("TORCHT1_FAULT_SEED");
  const unsigned seed = given != nullptr ? static_cast<unsigned>(std::stoul(given)) : std::random_device{}();
  std::cout << "[          ] TORCHT1_FAULT_SEED=" << seed << "\n";
  SCOPED_TRACE("TORCHT1_FAULT_SEED=" + std::to_string(seed));
  std::mt19937 random(seed);

  std::vector<std::array<int, 3>> specs;  // seed, size 32..64, slices 1..2
  for (int i = 0; i < 20; ++i) specs.push_back({1000 + i, 32 + 8 * (i % 5), 1 + (i * 7 / 3) % 2});
  const std::vector<Series> all = simulate(dir_, specs);
  ASSERT_FALSE(HasFailure()) << "the simulated series could not be made";
  size_t total = 0;
  for (const auto& s : all) total += s.files.size();

  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  const fs::path spool = dir_ / "spool";
  // Complete on ImagesInAcquisition; the idle rule (30 s) never cuts a series in this test,
  // so a version 2 could only come from a resent duplicate, which must not make one.
  const fs::path config = writeConfig(spool, "series:\n  idle_seconds: 30\n  use_expected_count: true\n" +
                                                 orthancDestination(orthanc, "retry_initial_seconds: 0.2, "
                                                                             "retry_max_seconds: 1, max_attempts: 1000"));
  const int port = testing::freePort();
  int incarnation = 1;
  auto node = std::make_unique<NodeProcess>(config, port, dir_ / "serve-1.log");
  ASSERT_TRUE(node->started()) << node->describe();

  // Four senders, five series each, one after the other. Should the test stop early, they
  // are told to give up and joined.
  Acknowledged acknowledged;
  std::vector<std::thread> senders;
  std::atomic<bool> giveUp{false};
  struct JoinSenders {
    std::vector<std::thread>& threads;
    std::atomic<bool>& giveUp;
    ~JoinSenders() {
      giveUp = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } joinSenders{senders, giveUp};
  std::vector<size_t> failedAssociations(4, 0);
  const auto deadline = std::chrono::steady_clock::now() + 150s;
  for (int k = 0; k < 4; ++k) {
    std::vector<std::string> files;
    for (size_t i = static_cast<size_t>(k); i < all.size(); i += 4) files.insert(files.end(), all[i].files.begin(), all[i].files.end());
    senders.emplace_back([&, k, files, stream = std::mt19937(random())] {
      failedAssociations[static_cast<size_t>(k)] =
          sendUntilAcknowledged(files, port, "SCANNER" + std::to_string(k + 1), acknowledged, stream, deadline, &giveUp);
    });
  }

  // Two or three kills, each once a random share of the instances is acknowledged.
  const int kills = std::uniform_int_distribution<int>(2, 3)(random);
  std::vector<double> at = kills == 3 ? std::vector<double>{std::uniform_real_distribution<double>(0.10, 0.30)(random),
                                                            std::uniform_real_distribution<double>(0.40, 0.60)(random),
                                                            std::uniform_real_distribution<double>(0.70, 0.90)(random)}
                                      : std::vector<double>{std::uniform_real_distribution<double>(0.15, 0.40)(random),
                                                            std::uniform_real_distribution<double>(0.55, 0.85)(random)};
  std::string history;
  for (double share : at) {
    const size_t threshold = static_cast<size_t>(share * static_cast<double>(total));
    ASSERT_TRUE(waitFor([&] { return acknowledged.size() >= threshold; }, 90s))
        << acknowledged.size() << " of " << total << " acknowledged, waiting for " << threshold << "\n" << node->describe();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(random)));
    node->kill();
    ASSERT_EQ(node->process().state(), "killed by signal 9");
    history += " killed at " + std::to_string(acknowledged.size()) + "/" + std::to_string(total) + " acknowledged (" +
               std::to_string(jobsIn(spool / "outbox" / "pacs")) + " map series in the outbox, " +
               std::to_string(filesIn(spool / "tmp").size()) + " partial instances);";
    // Whatever was acknowledged before the kill is in the spool now, with the node dead.
    size_t missing = 0;
    for (const auto& s : all) {
      for (const auto& f : s.files) {
        if (acknowledged.has(f) && !fs::exists(spooled(spool, s, s.sopOfFile.at(f)))) {
          ADD_FAILURE() << f << " was acknowledged but is not in the spool after kill " << incarnation;
          ++missing;
        }
      }
    }
    ASSERT_EQ(missing, 0u) << history;
    ++incarnation;
    node = std::make_unique<NodeProcess>(config, port, dir_ / ("serve-" + std::to_string(incarnation) + ".log"));
    ASSERT_TRUE(node->started()) << history << "\n" << node->describe();
  }
  for (auto& t : senders) t.join();
  SCOPED_TRACE(history);
  ASSERT_EQ(acknowledged.size(), total) << "the senders gave up\n" << node->describe();

  size_t expectedMaps = 0;
  for (const auto& s : all) expectedMaps += 2 * static_cast<size_t>(s.slices);
  ASSERT_TRUE(orthanc.waitForInstances([&](size_t n) { return n >= expectedMaps; }, 90s))
      << orthanc.instanceCount() << " of " << expectedMaps << " map instances at the PACS\n" << node->describe();
  ASSERT_TRUE(waitFor([&] { return jobsIn(spool / "outbox" / "pacs") == 0; }, 30s)) << node->describe();
  EXPECT_EQ(node->stop(), kExitedOk);

  expectMapsOnceEach(orthanc, all);
  // Every series' maps are in the PACS once (above); none was fitted twice as a new version
  // and nothing was given up. (A series' `fitted` line itself may be missing: a kill between
  // publishing its maps and writing the line leaves the maps, and the state says fitted.)
  std::string logs;
  for (int i = 1; i <= incarnation; ++i) logs += readFile(dir_ / ("serve-" + std::to_string(i) + ".log"));
  EXPECT_EQ(events(logs, "refitted").size(), 0u) << logs;
  EXPECT_EQ(events(logs, "send_failed").size(), 0u) << logs;
  EXPECT_EQ(events(logs, "failed").size(), 0u) << logs;
  EXPECT_EQ(filesIn(spool / "tmp").size(), 0u);
  size_t lost = 0;
  for (size_t n : failedAssociations) lost += n;
  std::cout << "[          ] " << kills << " kills:" << history << " " << lost << " associations refused or lost\n";
  EXPECT_GT(lost, 0u) << "the kills interrupted no sender";
}

TEST_F(FaultTest, APacsThatIsDownWhileMapsAreDueGetsEverythingWhenItComesBack) {
  const std::vector<Series> all = simulate(dir_, {{2001, 32, 1}, {2002, 40, 2}, {2003, 48, 2}});
  ASSERT_FALSE(HasFailure());
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  const fs::path spool = dir_ / "spool";
  const fs::path config = writeConfig(
      spool, "series:\n  idle_seconds: 30\n" +
                 orthancDestination(orthanc, "retry_initial_seconds: 0.3, retry_max_seconds: 1, max_attempts: 1000"));
  const int port = testing::freePort();
  NodeProcess node(config, port, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();
  auto send = [&](const Series& s) {
    Acknowledged acknowledged;
    sendUntilAcknowledged(s.files, port, "SCANNER", acknowledged, std::mt19937(s.seed), std::chrono::steady_clock::now() + 30s);
    return acknowledged.size() == s.files.size();
  };

  // Up: the first series' maps arrive.
  ASSERT_TRUE(send(all[0])) << node.describe();
  ASSERT_TRUE(orthanc.waitForInstances(2, 30s)) << node.describe();
  // Down: the next two are fitted, their sends fail and are retried.
  orthanc.stop();
  ASSERT_TRUE(send(all[1])) << node.describe();
  ASSERT_TRUE(send(all[2])) << node.describe();
  for (const Series* s : {&all[1], &all[2]}) {
    ASSERT_TRUE(node.waitForEvents("send_retry", {"job=" + s->seriesUid + "-v1", "destination=pacs"}, 2, 60s))
        << "two failed attempts for seed " << s->seed << "\n" << node.describe();
  }
  const std::string during = node.metrics();
  EXPECT_GE(metric(during, "torcht1_dispatch_attempts_failed_total{destination=\"pacs\"}"), 4) << during;
  EXPECT_EQ(metric(during, "torcht1_outbox_jobs{destination=\"pacs\"}"), 2) << during;
  EXPECT_EQ(metric(during, "torcht1_dispatch_instances_total{destination=\"pacs\",outcome=\"success\"}"), 2) << during;
  // Back: everything arrives, with no operator action.
  ASSERT_TRUE(orthanc.restart()) << orthanc.startError();
  for (const Series* s : {&all[1], &all[2]}) {
    ASSERT_TRUE(node.waitForEvents("sent", {"job=" + s->seriesUid + "-v1", "destination=pacs", "instances=4"}, 1, 60s))
        << node.describe();
  }
  ASSERT_TRUE(orthanc.waitForInstances(10, 30s)) << orthanc.instanceCount() << "\n" << node.describe();
  const std::string after = node.metrics();
  EXPECT_EQ(metric(after, "torcht1_dispatch_instances_total{destination=\"pacs\",outcome=\"success\"}"), 10) << after;
  EXPECT_EQ(metric(after, "torcht1_dispatch_instances_total{destination=\"pacs\",outcome=\"failure\"}"), 0) << after;
  EXPECT_EQ(metric(after, "torcht1_outbox_jobs{destination=\"pacs\"}"), 0) << after;
  EXPECT_EQ(metric(after, "torcht1_failed_jobs{destination=\"pacs\"}"), 0) << after;
  EXPECT_EQ(node.stop(), kExitedOk);

  const std::string log = node.log();
  const std::string peer = "ORTHANC@127.0.0.1:" + std::to_string(orthanc.dicomPort());
  for (const Series* s : {&all[1], &all[2]}) {
    const auto retries = events(log, "send_retry", {"job=" + s->seriesUid + "-v1", "peer=" + peer});
    ASSERT_GE(retries.size(), 2u) << log;
    EXPECT_NE(retries[0].find("reason=\"" + peer + ": no association"), std::string::npos) << retries[0];
    EXPECT_NE(retries[0].find("remaining=4"), std::string::npos) << retries[0];
    const auto sent = events(log, "sent", {"job=" + s->seriesUid + "-v1"});
    ASSERT_EQ(sent.size(), 1u) << log;
    EXPECT_EQ(sent[0].find("attempt=1 "), std::string::npos) << "sent on a later attempt: " << sent[0];
  }
  EXPECT_EQ(events(log, "send_failed").size(), 0u) << log;
  expectMapsOnceEach(orthanc, all);
}

TEST_F(FaultTest, AFullSpoolDiskAnswersOutOfResourcesAndAcknowledgesOnlyWhatIsOnDisk) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs as the spool disk";
  const fs::path spool = dir_ / "spool";
  fs::create_directories(spool);
  if (::mount("tmpfs", spool.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs on " << spool << ": " << std::strerror(errno);
  }
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{spool};

  const std::vector<Series> all = simulate(dir_, {{3001, 64, 2}});
  ASSERT_FALSE(HasFailure());
  const Series& s = all[0];
  const int port = testing::freePort();
  NodeProcess node(writeConfig(spool, "series:\n  idle_seconds: 30\n"), port, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();
  dicom::StorePeer peer;
  peer.port = port;
  peer.calledAeTitle = "TORCHT1";
  peer.callingAeTitle = "SCANNER";
  peer.timeoutSeconds = 10;
  const dicom::StoreClient client(peer);

  // The first instance while there is room: its series folder and state are made.
  const auto first = client.send({s.files[0]});
  ASSERT_TRUE(first.at(0).ok) << first.at(0).error << node.describe();
  const fs::path firstFile = spooled(spool, s, s.sopOfFile.at(s.files[0]));
  ASSERT_TRUE(fs::exists(firstFile));
  // Then the disk fills up, up to all but the last partial page of an instance like it: every
  // full buffer of the next one fits, its last one does not.
  const uintmax_t size = fs::file_size(firstFile);
  ASSERT_GT(size % 4096, 256u) << "an instance must end mid-page for this test (" << size << " bytes)";
  ASSERT_LT(size % 4096, 3840u) << size << " bytes";
  struct statvfs disk {};
  ASSERT_EQ(::statvfs(spool.c_str(), &disk), 0);
  if (disk.f_frsize != 4096) GTEST_SKIP() << "tmpfs pages of " << disk.f_frsize << " bytes; the test is made for 4 KiB";
  const uintmax_t room = static_cast<uintmax_t>(disk.f_bavail) * disk.f_frsize;
  const uintmax_t keep = size / 4096 * 4096;
  ASSERT_GT(room, keep);
  {
    std::ofstream filler(spool / "filler", std::ios::binary);
    const std::vector<char> page(4096, 'x');
    for (uintmax_t written = 0; written + keep < room; written += page.size()) filler.write(page.data(), page.size());
    ASSERT_TRUE(filler.flush()) << "filler";
  }
  ASSERT_EQ(::statvfs(spool.c_str(), &disk), 0);
  ASSERT_EQ(static_cast<uintmax_t>(disk.f_bavail) * disk.f_frsize, keep) << "free space left for the next instance";

  const std::vector<std::string> rest(s.files.begin() + 1, s.files.end());
  const auto full = client.send(rest);
  ASSERT_EQ(full.size(), rest.size());
  for (const auto& r : full) {
    EXPECT_FALSE(r.ok) << r.file << ": acknowledged on a full disk";
    EXPECT_EQ(r.status, 0xA700) << r.file << ": " << r.error;
    EXPECT_FALSE(fs::exists(spooled(spool, s, s.sopOfFile.at(r.file)))) << r.file;
  }
  EXPECT_TRUE(filesIn(spool / "tmp").empty()) << "no partial file left behind";
  const std::string log = node.log();
  EXPECT_EQ(events(log, "store_failed", {"from=SCANNER", "answered 'out of resources'"}).size(), rest.size()) << log;
  EXPECT_EQ(events(log, "complete").size(), 0u) << log;
  EXPECT_EQ(metric(node.metrics(), "torcht1_instances_refused_total"), static_cast<double>(rest.size()));

  // Space returns: the sender resends what was refused; the series completes and is fitted.
  fs::remove(spool / "filler");
  const auto resent = client.send(rest);
  for (const auto& r : resent) EXPECT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(node.waitForEvents("fitted", {"series=" + s.seriesUid, "version=1", "slices=2", "maps=4"}, 1, 60s))
      << node.describe();
  EXPECT_EQ(events(node.log(), "complete", {"series=" + s.seriesUid, "instances=16", "by=\"expected count\""}).size(), 1u)
      << node.log();
  EXPECT_EQ(node.stop(), kExitedOk);
  // Every acknowledged instance is whole on disk.
  for (const auto& f : s.files) {
    DcmFileFormat format;
    const fs::path file = spooled(spool, s, s.sopOfFile.at(f));
    ASSERT_TRUE(format.loadFile(file.c_str()).good()) << file;
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    EXPECT_TRUE(format.getDataset()->findAndGetUint16Array(DCM_PixelData, pixels, &count).good()) << file;
    EXPECT_EQ(count, 64u * 64u) << file;
  }
}

TEST_F(FaultTest, ASenderThatDropsTheAssociationMidInstanceLeavesNoFile) {
  // 128 KiB of pixels per image: the cut falls inside the second instance.
  const std::vector<Series> all = simulate(dir_, {{4001, 256, 1}});
  ASSERT_FALSE(HasFailure());
  const Series& s = all[0];
  const fs::path spool = dir_ / "spool";
  const int port = testing::freePort();
  NodeProcess node(writeConfig(spool, "series:\n  idle_seconds: 30\n"), port, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();
  const uintmax_t instance = fs::file_size(s.files[0]);
  CuttingRelay relay(port, instance + instance / 2);
  ASSERT_NE(relay.port(), 0);
  std::vector<std::string> arguments = {"storescu", "-aet", "SCANNER", "-aec", "TORCHT1", "127.0.0.1",
                                        std::to_string(relay.port())};
  arguments.insert(arguments.end(), s.files.begin(), s.files.end());
  const Ran dropped = runToEnd(arguments, dir_ / "storescu-dropped.log");
  EXPECT_NE(dropped.state, kExitedOk) << dropped.output;
  EXPECT_TRUE(relay.cut());
  ASSERT_TRUE(node.waitForEvents("store_failed", {"from=SCANNER", "not received"}, 1, 30s)) << node.describe();

  // The first instance was acknowledged and is there; of the second, half came: nothing of it.
  const std::string firstSop = s.sopOfFile.at(s.files[0]), secondSop = s.sopOfFile.at(s.files[1]);
  EXPECT_NE(node.log().find("event=received series=" + s.seriesUid + " sop=" + firstSop), std::string::npos)
      << node.log();
  std::vector<fs::path> spooledFiles;
  for (const auto& f : filesIn(spool / "series" / s.seriesUid)) {
    if (f.extension() == ".dcm") spooledFiles.push_back(f.filename());
  }
  EXPECT_EQ(spooledFiles, std::vector<fs::path>{firstSop + ".dcm"});
  EXPECT_TRUE(filesIn(spool / "tmp").empty());
  EXPECT_EQ(events(node.log(), "received", {"sop=" + secondSop}).size(), 0u) << node.log();

  // The node goes on: the whole series, sent again directly, is taken and fitted.
  arguments[6] = std::to_string(port);
  const Ran whole = runToEnd(arguments, dir_ / "storescu-whole.log");
  ASSERT_EQ(whole.state, kExitedOk) << whole.output << node.describe();
  ASSERT_TRUE(node.waitForEvents("fitted", {"series=" + s.seriesUid, "version=1", "slices=1"}, 1, 60s))
      << node.describe();
  const std::string log = node.log();
  EXPECT_EQ(events(log, "complete", {"series=" + s.seriesUid, "instances=8", "by=\"expected count\""}).size(), 1u) << log;
  EXPECT_EQ(events(log, "received", {"sop=" + firstSop, "duplicate=yes"}).size(), 1u) << log;
  EXPECT_EQ(events(log, "received", {"sop=" + secondSop, "duplicate=no"}).size(), 1u) << log;
  EXPECT_EQ(node.stop(), kExitedOk);
}

}  // namespace
}  // namespace torcht1

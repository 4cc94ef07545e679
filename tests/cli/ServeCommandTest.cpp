// `torcht1 serve` as a process, the way it is deployed: DCMTK's storescu sends a simulated
// MOLLI study, the node fits it and sends the maps on to DCMTK's storescp or to Orthanc; the
// maps are read back with DCMTK and compared with the simulator's truth. Also restarts after
// SIGKILL, a destination that is down, `requeue`, `check-config` and SIGTERM.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "ChildProcess.h"
#include "FreePort.h"
#include "NodeLog.h"
#include "RunToEnd.h"
#include "WaitFor.h"
#include "OrthancServer.h"
#include "StoreScpProcess.h"

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
// Small helpers

std::string text(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

/// A TCP port on 127.0.0.1 that accepts connections and never answers: a destination that
/// hangs (a stuck PACS). Closing it resets the connections it holds.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // not inherited: close() must close it
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~SilentListener() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// ---------------------------------------------------------------------------------------
// The simulated study and its truth

struct Study {
  fs::path dir;
  std::vector<std::string> files;  // IM_<slice>_<n>.dcm, sorted
  std::string seriesUid, studyUid, description;
  std::map<std::string, int> sliceOfSop;  // SOP Instance UID -> 0-based slice
  int slices = 0, rows = 0, cols = 0;
  std::vector<float> t1;        // [slice][row][col], ms
  std::vector<uint8_t> labels;  // [slice][row][col]
};

// ---------------------------------------------------------------------------------------
// A map image as it arrived

struct MapImage {
  fs::path file;
  std::string sopUid, seriesUid, studyUid, description, imageType;
  int instanceNumber = 0;
  std::vector<uint16_t> pixels;
  std::vector<std::string> references;  // SourceImageSequence's ReferencedSOPInstanceUIDs
};

MapImage readMap(const fs::path& file) {
  MapImage m;
  m.file = file;
  DcmFileFormat format;
  if (format.loadFile(file.c_str()).bad()) return m;
  DcmDataset& ds = *format.getDataset();
  m.sopUid = text(ds, DCM_SOPInstanceUID);
  m.seriesUid = text(ds, DCM_SeriesInstanceUID);
  m.studyUid = text(ds, DCM_StudyInstanceUID);
  m.description = text(ds, DCM_SeriesDescription);
  m.imageType = text(ds, DCM_ImageType);
  const std::string number = text(ds, DCM_InstanceNumber);
  m.instanceNumber = number.empty() ? 0 : std::stoi(number);
  const Uint16* pixels = nullptr;
  unsigned long count = 0;
  if (ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good() && pixels != nullptr) {
    m.pixels.assign(pixels, pixels + count);
  }
  DcmSequenceOfItems* sources = nullptr;
  if (ds.findAndGetSequence(DCM_SourceImageSequence, sources).good() && sources != nullptr) {
    for (unsigned long i = 0; i < sources->card(); ++i) {
      OFString uid;
      sources->getItem(i)->findAndGetOFString(DCM_ReferencedSOPInstanceUID, uid);
      m.references.push_back(uid.c_str());
    }
  }
  return m;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The T1 map image of slice `slice` against the truth in blood and myocardium: most voxels
/// within 5%, the median within 2% (SNR 40).
void expectT1MatchesTruth(const MapImage& map, const Study& study, int slice) {
  const size_t perSlice = static_cast<size_t>(study.rows) * static_cast<size_t>(study.cols);
  ASSERT_EQ(map.pixels.size(), perSlice) << map.file;
  for (const uint8_t label : {uint8_t{1}, uint8_t{2}}) {  // blood, myocardium
    const char* name = label == 1 ? "blood" : "myocardium";
    std::vector<double> errors;
    for (size_t v = 0; v < perSlice; ++v) {
      const size_t i = static_cast<size_t>(slice) * perSlice + v;
      if (study.labels[i] != label) continue;
      errors.push_back(std::abs(map.pixels[v] - study.t1[i]) / study.t1[i]);
    }
    ASSERT_GT(errors.size(), 20u) << name << " voxels in slice " << slice;
    const size_t close = static_cast<size_t>(std::count_if(errors.begin(), errors.end(), [](double e) { return e < 0.05; }));
    EXPECT_GE(close * 10, errors.size() * 9)
        << name << ", slice " << slice << ": " << close << " of " << errors.size() << " voxels within 5% of the truth";
    std::nth_element(errors.begin(), errors.begin() + errors.size() / 2, errors.end());
    EXPECT_LT(errors[errors.size() / 2], 0.02) << "median T1 error in " << name << ", slice " << slice;
  }
}

/// What every delivery of the default maps must be: a T1 and a T1 SD series, one image per
/// slice each, in the source study, with references to the source images of their slice, and
/// the T1 values of the truth. Returns the map series' UIDs (T1 first).
std::vector<std::string> expectMapsOfStudy(const std::vector<MapImage>& maps, const Study& study) {
  std::map<std::string, std::vector<const MapImage*>> bySeries;
  for (const auto& m : maps) bySeries[m.seriesUid].push_back(&m);
  EXPECT_EQ(maps.size(), 2u * static_cast<size_t>(study.slices)) << "T1 and T1 SD, one instance per slice";
  EXPECT_EQ(bySeries.size(), 2u) << "two map series";
  std::string t1Uid, sdUid;
  for (const auto& [uid, images] : bySeries) {
    EXPECT_NE(uid, study.seriesUid);
    std::set<int> numbers;
    for (const MapImage* m : images) {
      EXPECT_EQ(m->studyUid, study.studyUid) << m->file << ": the maps join the source study";
      EXPECT_EQ(m->description, images.front()->description);
      numbers.insert(m->instanceNumber);
      // Provenance: every source image of the map's slice, and nothing else.
      std::set<std::string> expected, referenced(m->references.begin(), m->references.end());
      for (const auto& [sop, slice] : study.sliceOfSop) {
        if (slice == m->instanceNumber - 1) expected.insert(sop);
      }
      EXPECT_EQ(m->references.size(), expected.size()) << m->file;
      EXPECT_EQ(referenced, expected) << m->file << ": SourceImageSequence of slice " << m->instanceNumber;
    }
    std::set<int> slices;
    for (int s = 1; s <= study.slices; ++s) slices.insert(s);
    EXPECT_EQ(numbers, slices) << images.front()->description << ": one image per slice";

    const std::string& description = images.front()->description;
    if (images.front()->imageType == "DERIVED\\PRIMARY\\T1 MAP") {
      EXPECT_TRUE(t1Uid.empty()) << "a single T1 map series";
      t1Uid = uid;
      EXPECT_TRUE(endsWith(description, "T1 map")) << description;
      EXPECT_EQ(description, study.description + " T1 map");
      for (const MapImage* m : images) {
        if (m->instanceNumber >= 1 && m->instanceNumber <= study.slices) {
          expectT1MatchesTruth(*m, study, m->instanceNumber - 1);
        }
      }
    } else {
      sdUid = uid;
      EXPECT_EQ(images.front()->imageType, "DERIVED\\PRIMARY\\T1 MAP\\UNCERTAINTY");
      EXPECT_TRUE(endsWith(description, "T1 SD map")) << description;
    }
  }
  EXPECT_FALSE(t1Uid.empty()) << "no T1 map series";
  EXPECT_FALSE(sdUid.empty()) << "no T1 SD map series";
  return {t1Uid, sdUid};
}

// ---------------------------------------------------------------------------------------
// The node as a process

/// `torcht1 serve --config FILE`, its stdout and stderr in `logFile`. The DICOM port comes
/// from TORCHT1_NODE__PORT: a free one, and another when it was taken before the node
/// could listen. The constructor returns when the node logged event=started, or gave up.
class ServeProcess {
 public:
  ServeProcess(const fs::path& config, fs::path logFile, const std::vector<std::string>& environment = {})
      : logFile_(std::move(logFile)) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = testing::freePort();
      std::vector<std::string> variables = environment;
      variables.push_back("TORCHT1_NODE__PORT=" + std::to_string(port_));
      process_ = std::make_unique<testing::ChildProcess>(
          std::vector<std::string>{TORCHT1_BINARY, "serve", "--config", config.string()}, logFile_.string(), variables);
      waitFor([&] { return !process_->running() || !events(log(), "started").empty(); }, 120s);
      if (started() || log().find("cannot listen") == std::string::npos) return;
    }
  }
  ~ServeProcess() { process_->stop(10s); }

  /// Logged event=started and has not exited since.
  bool started() { return process_->running() && !events(log(), "started").empty(); }
  int port() const { return port_; }
  std::string log() const { return readFile(logFile_); }
  /// For failure messages: how the process is and what it logged.
  std::string describe() { return "torcht1 serve: " + process_->state() + "\n--- its output:\n" + log(); }
  testing::ChildProcess& process() { return *process_; }
  /// SIGTERM, at most 10 s to exit (then SIGKILL); "exited with status 0" when it went well.
  std::string stop() {
    process_->stop(10s);
    return process_->state();
  }
  /// Waits for `count` lines of `event` (with every fragment) in the log.
  bool waitForEvents(const std::string& event, const std::vector<std::string>& fragments = {}, size_t count = 1,
                     std::chrono::milliseconds timeout = 60s) {
    return waitFor([&] { return events(log(), event, fragments).size() >= count || !process_->running(); }, timeout) &&
           events(log(), event, fragments).size() >= count;
  }

 private:
  fs::path logFile_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> process_;
};

class ServeCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("torcht1-serve-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    study_ = simulate(root_ / "study");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    ASSERT_FALSE(study_.files.empty()) << "the simulated study could not be made";
    dir_ = root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  /// `torcht1 simulate --size 64 --slices 2` into `dir`, read back with its truth.
  static Study simulate(const fs::path& dir) {
    Study study;
    study.dir = dir;
    const Ran sim = runToEnd({TORCHT1_BINARY, "simulate", "--out", dir.string(), "--size", "64", "--slices", "2", "--seed", "7"},
                             root_ / "simulate.log");
    EXPECT_EQ(sim.state, kExitedOk) << sim.output;
    if (sim.state != kExitedOk) return study;
    study.slices = 2;
    study.rows = study.cols = 64;
    for (const auto& f : filesIn(dir)) {
      if (f.extension() != ".dcm") continue;
      DcmFileFormat format;
      EXPECT_TRUE(format.loadFile(f.c_str()).good()) << f;
      DcmDataset& ds = *format.getDataset();
      study.files.push_back(f.string());
      study.seriesUid = text(ds, DCM_SeriesInstanceUID);
      study.studyUid = text(ds, DCM_StudyInstanceUID);
      study.description = text(ds, DCM_SeriesDescription);
      const std::string name = f.filename().string();  // IM_<slice>_<n>.dcm, 1-based
      study.sliceOfSop[text(ds, DCM_SOPInstanceUID)] = std::stoi(name.substr(3, name.find('_', 3) - 3)) - 1;
    }
    EXPECT_EQ(study.files.size(), 16u) << "2 slices x 8 inversion times";
    const size_t voxels = static_cast<size_t>(study.slices * study.rows * study.cols);
    study.t1.resize(voxels);
    study.labels.resize(voxels);
    std::ifstream(dir / "truth" / "t1.f32", std::ios::binary)
        .read(reinterpret_cast<char*>(study.t1.data()), static_cast<std::streamsize>(voxels * sizeof(float)));
    std::ifstream(dir / "truth" / "labels.u8", std::ios::binary)
        .read(reinterpret_cast<char*>(study.labels.data()), static_cast<std::streamsize>(voxels));
    EXPECT_NE(readFile(dir / "truth" / "truth.json").find(study.seriesUid), std::string::npos);
    return study;
  }

  /// A configuration file in the test's folder: `spool` as spool_dir, the status page on any
  /// free port, the fit on the CPU, then `more` (series: and destinations: sections).
  fs::path writeConfig(const fs::path& spool, const std::string& more, const std::string& name = "torcht1.yaml") const {
    const fs::path file = dir_ / name;
    std::ofstream(file) << "node:\n"
                        << "  ae_title: TORCHT1\n"
                        << "  spool_dir: " << spool.string() << "\n"
                        << "http:\n  port: 0\n"
                        << "output:\n  dir: " << (dir_ / "maps").string() << "\n"
                        << "fit:\n  device: cpu\n"
                        << more;
    return file;
  }

  static std::string destination(const std::string& name, const std::string& aeTitle, int port,
                                 const std::string& extra = "") {
    return "  - {name: " + name + ", ae_title: " + aeTitle + ", host: 127.0.0.1, port: " + std::to_string(port) +
           (extra.empty() ? "" : ", " + extra) + "}\n";
  }

  /// DCMTK's storescu, as a scanner would send: SCANNER -> TORCHT1.
  Ran storescu(int port, const std::vector<std::string>& files, const std::string& name = "storescu.log") const {
    std::vector<std::string> arguments = {"storescu", "-aet", "SCANNER", "-aec", "TORCHT1", "127.0.0.1", std::to_string(port)};
    arguments.insert(arguments.end(), files.begin(), files.end());
    return runToEnd(arguments, dir_ / name);
  }

  /// The log says the whole study came in and went out once to `destination`, one line per
  /// event: received (per instance), complete, fitted, sent.
  static void expectOneLinePerEvent(const std::string& log, const std::string& destination) {
    const std::string series = "series=" + study_.seriesUid;
    EXPECT_EQ(events(log, "received", {series, "from=SCANNER", "duplicate=no"}).size(), study_.files.size()) << log;
    const auto complete = events(log, "complete", {series});
    ASSERT_EQ(complete.size(), 1u) << log;
    EXPECT_NE(complete[0].find("instances=16"), std::string::npos) << complete[0];
    EXPECT_NE(complete[0].find("by=\"expected count\""), std::string::npos) << complete[0];
    EXPECT_EQ(events(log, "fitted", {series, "version=1", "slices=2", "maps=4"}).size(), 1u) << log;
    EXPECT_EQ(events(log, "refitted").size(), 0u) << log;
    // One line per slice, with the share fitted but invalid and the noise level behind the mask.
    EXPECT_EQ(events(log, "slice", {series, "% fitted but invalid", "noise sigma", "(background)"}).size(), 2u) << log;
    EXPECT_EQ(events(log, "not_inherited").size(), 0u) << "the phantom's source is valid DICOM\n" << log;
    EXPECT_EQ(events(log, "sent", {"job=" + study_.seriesUid + "-v1", "destination=" + destination, "instances=4"}).size(),
              1u)
        << "all 4 map instances in one attempt\n" << log;
    EXPECT_EQ(events(log, "store_failed").size(), 0u) << log;
  }

  /// Every image Orthanc holds, series by series (GET /series, then /instances/{id}/file).
  std::vector<MapImage> mapsIn(const testing::OrthancServer& orthanc) const {
    std::vector<MapImage> maps;
    const fs::path dir = dir_ / "from-orthanc";
    fs::create_directories(dir);
    for (const auto& seriesId : orthanc.json("/series")) {
      const nlohmann::json series = orthanc.json("/series/" + seriesId.get<std::string>());
      for (const auto& id : series.at("Instances")) {
        const fs::path file = dir / (id.get<std::string>() + ".dcm");
        orthanc.downloadInstance(id.get<std::string>(), file);
        maps.push_back(readMap(file));
      }
    }
    return maps;
  }

  static inline fs::path root_;
  static inline Study study_;
  fs::path dir_;
};

// ---------------------------------------------------------------------------------------

TEST_F(ServeCommandTest, StorescuToNodeToStorescpMapsMatchTruthAndAreDeterministic) {
  std::vector<std::string> uidsOfRun[2];
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run + 1) + ", fresh spool");
    testing::StoreScpProcess pacs(dir_ / ("received-" + std::to_string(run)), "PACS");
    ASSERT_TRUE(pacs.running()) << pacs.state();
    const fs::path config = writeConfig(dir_ / ("spool-" + std::to_string(run)),
                                        "series:\n  idle_seconds: 30\n  use_expected_count: true\n"
                                        "destinations:\n" + destination("pacs", "PACS", pacs.port()),
                                        "run" + std::to_string(run) + ".yaml");
    ServeProcess node(config, dir_ / ("serve-" + std::to_string(run) + ".log"));
    ASSERT_TRUE(node.started()) << node.describe();

    const Ran sent = storescu(node.port(), study_.files);
    ASSERT_EQ(sent.state, kExitedOk) << sent.output << node.describe();
    ASSERT_TRUE(node.waitForEvents("sent", {"destination=pacs"})) << node.describe();
    EXPECT_EQ(node.stop(), kExitedOk);
    const std::string log = node.log();
    expectOneLinePerEvent(log, "pacs");

    std::vector<MapImage> maps;
    for (const auto& f : pacs.files()) maps.push_back(readMap(f));
    ASSERT_EQ(maps.size(), 4u) << "T1 and T1 SD maps, 2 slices each, at storescp";
    for (const auto& m : expectMapsOfStudy(maps, study_)) uidsOfRun[run].push_back(m);
    for (const auto& m : maps) uidsOfRun[run].push_back(m.sopUid);
    std::sort(uidsOfRun[run].begin() + 2, uidsOfRun[run].end());
  }
  EXPECT_EQ(uidsOfRun[0], uidsOfRun[1]) << "the same map series and instance UIDs from a fresh spool";
}

TEST_F(ServeCommandTest, OrthancAsThePacsHoldsTheMapsOnce) {
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  const fs::path config =
      writeConfig(dir_ / "spool", "series:\n  idle_seconds: 30\ndestinations:\n" +
                                      destination("pacs", orthanc.aeTitle(), orthanc.dicomPort(), "timeout_seconds: 10"));
  ServeProcess node(config, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();

  const Ran sent = storescu(node.port(), study_.files);
  ASSERT_EQ(sent.state, kExitedOk) << sent.output << node.describe();
  ASSERT_TRUE(node.waitForEvents("sent", {"destination=pacs"})) << node.describe();
  ASSERT_TRUE(orthanc.waitForInstances(4)) << orthanc.instanceCount() << " instances in Orthanc\n" << node.describe();
  EXPECT_EQ(node.stop(), kExitedOk);
  expectOneLinePerEvent(node.log(), "pacs");

  const auto series = orthanc.json("/series?expand");
  ASSERT_EQ(series.size(), 2u) << series.dump(1);
  std::set<std::string> restUids;
  for (const auto& s : series) {
    restUids.insert(s.at("MainDicomTags").value("SeriesInstanceUID", ""));
    EXPECT_EQ(s.at("Instances").size(), 2u) << s.dump(1);
  }
  EXPECT_EQ(orthanc.instanceCount(), 4u) << "only the maps, once each";
  EXPECT_EQ(orthanc.seriesDescriptions(),
            (std::vector<std::string>{study_.description + " T1 SD map", study_.description + " T1 map"}));
  const auto maps = mapsIn(orthanc);
  ASSERT_EQ(maps.size(), 4u);
  const auto uids = expectMapsOfStudy(maps, study_);
  EXPECT_EQ(restUids, std::set<std::string>(uids.begin(), uids.end()));
}

TEST_F(ServeCommandTest, KilledMidSeriesTheRestartedNodeSendsTheMapsOnce) {
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  // Completion on ImagesInAcquisition (16); a short idle time, which must not fit the half
  // that was in the spool when the node died.
  const fs::path spool = dir_ / "spool";
  const fs::path config =
      writeConfig(spool, "series:\n  idle_seconds: 2\n  use_expected_count: true\ndestinations:\n" +
                             destination("pacs", orthanc.aeTitle(), orthanc.dicomPort(), "timeout_seconds: 10"));
  const std::vector<std::string> firstSlice(study_.files.begin(), study_.files.begin() + 8);
  const std::vector<std::string> secondSlice(study_.files.begin() + 8, study_.files.end());
  {
    ServeProcess node(config, dir_ / "serve-1.log");
    ASSERT_TRUE(node.started()) << node.describe();
    const Ran sent = storescu(node.port(), firstSlice, "storescu-1.log");
    ASSERT_EQ(sent.state, kExitedOk) << sent.output << node.describe();
    // Acknowledged: the node logs each instance before its success response.
    ASSERT_EQ(events(node.log(), "received", {"series=" + study_.seriesUid}).size(), 8u) << node.describe();
    ASSERT_EQ(events(node.log(), "store_failed").size(), 0u) << node.describe();
    ASSERT_TRUE(node.process().signal(SIGKILL));
    ASSERT_TRUE(node.process().waitForExit(10s));
    EXPECT_EQ(node.process().state(), "killed by signal 9");
    ASSERT_EQ(events(node.log(), "complete").size(), 0u) << "killed before the idle time: " << node.describe();
  }
  ServeProcess node(config, dir_ / "serve-2.log");
  ASSERT_TRUE(node.started()) << node.describe();
  EXPECT_EQ(events(node.log(), "recovered", {"series=" + study_.seriesUid, "instances=8"}).size(), 1u) << node.describe();
  const Ran sent = storescu(node.port(), secondSlice, "storescu-2.log");
  ASSERT_EQ(sent.state, kExitedOk) << sent.output << node.describe();
  ASSERT_TRUE(node.waitForEvents("sent", {"destination=pacs"})) << node.describe();
  ASSERT_TRUE(orthanc.waitForInstances(4)) << orthanc.instanceCount() << " instances in Orthanc\n" << node.describe();
  EXPECT_EQ(node.stop(), kExitedOk);

  const std::string log = node.log();
  const auto complete = events(log, "complete", {"series=" + study_.seriesUid});
  ASSERT_EQ(complete.size(), 1u) << log;
  EXPECT_NE(complete[0].find("instances=16"), std::string::npos) << complete[0];
  EXPECT_NE(complete[0].find("by=\"expected count\""), std::string::npos)
      << "ImagesInAcquisition still counts after the restart: " << complete[0];
  EXPECT_EQ(events(log, "fitted", {"version=1", "slices=2"}).size(), 1u) << log;
  EXPECT_EQ(events(log, "refitted").size(), 0u) << log;

  EXPECT_EQ(orthanc.json("/series").size(), 2u) << "the T1 and T1 SD series, once";
  EXPECT_EQ(orthanc.instanceCount(), 4u);
  for (const auto& description : orthanc.seriesDescriptions()) {
    EXPECT_EQ(description.find("(v2)"), std::string::npos) << description;
  }
  const auto maps = mapsIn(orthanc);
  ASSERT_EQ(maps.size(), 4u);
  expectMapsOfStudy(maps, study_);  // both slices, both series
}

TEST_F(ServeCommandTest, ADestinationThatIsDownEndsInFailedAndRequeueDeliversIt) {
  const int port = testing::freePort();  // nothing listens here (yet)
  const fs::path spool = dir_ / "spool";
  const fs::path config = writeConfig(
      spool, "series:\n  idle_seconds: 30\ndestinations:\n" +
                 destination("pacs", "PACS", port,
                             "max_attempts: 3, retry_initial_seconds: 0.2, retry_max_seconds: 0.5, timeout_seconds: 5"));
  ServeProcess node(config, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();
  const Ran sent = storescu(node.port(), study_.files);
  ASSERT_EQ(sent.state, kExitedOk) << sent.output << node.describe();
  ASSERT_TRUE(node.waitForEvents("send_failed")) << node.describe();

  const std::string job = study_.seriesUid + "-v1";
  const std::string peer = "PACS@127.0.0.1:" + std::to_string(port);
  const std::string log = node.log();
  const auto retries = events(log, "send_retry", {"job=" + job, "destination=pacs", "peer=" + peer});
  ASSERT_EQ(retries.size(), 2u) << "attempts 1 and 2 of 3\n" << log;
  EXPECT_NE(retries[0].find("reason=\"" + peer + ": no association"), std::string::npos) << retries[0];
  EXPECT_NE(retries[1].find("attempt=2"), std::string::npos) << retries[1];
  const auto failed =
      events(log, "send_failed", {"job=" + job, "destination=pacs", "peer=" + peer, "attempts=3", "remaining=4"});
  ASSERT_EQ(failed.size(), 1u) << log;
  EXPECT_NE(failed[0].find("requeue="), std::string::npos) << "says how to requeue: " << failed[0];
  const fs::path failedJob = spool / "failed" / "pacs" / job;
  size_t kept = 0;
  for (const auto& f : filesIn(failedJob)) kept += f.extension() == ".dcm";
  EXPECT_EQ(kept, 4u) << failedJob;
  EXPECT_NE(readFile(failedJob / "job").find(peer), std::string::npos) << "the last error is kept with the job";

  // The peer comes up; an operator requeues; the running node sends.
  testing::StoreScpProcess pacs(dir_ / "received", "PACS", testing::StoreScpProcess::Mode::Accept, port);
  ASSERT_TRUE(pacs.running()) << pacs.state();
  const Ran requeue = runToEnd({TORCHT1_BINARY, "requeue", "--config", config.string()}, dir_ / "requeue.log");
  ASSERT_EQ(requeue.state, kExitedOk) << requeue.output;
  EXPECT_NE(requeue.output.find("requeued 1 map series"), std::string::npos) << requeue.output;
  ASSERT_TRUE(node.waitForEvents("sent", {"job=" + job, "destination=pacs", "peer=" + peer, "instances=4"}, 1, 30s))
      << node.describe();
  EXPECT_EQ(pacs.files().size(), 4u);
  EXPECT_FALSE(fs::exists(failedJob));
  EXPECT_FALSE(fs::exists(spool / "outbox" / "pacs" / job));
  EXPECT_EQ(node.stop(), kExitedOk);

  std::vector<MapImage> maps;
  for (const auto& f : pacs.files()) maps.push_back(readMap(f));
  expectMapsOfStudy(maps, study_);
}

TEST_F(ServeCommandTest, ADestinationThatHangsHoldsUpNoOther) {
  SilentListener stuck;  // accepts the connection, never answers the association request
  ASSERT_NE(stuck.port(), 0);
  testing::StoreScpProcess pacs(dir_ / "received", "PACS");
  ASSERT_TRUE(pacs.running()) << pacs.state();
  const fs::path spool = dir_ / "spool";
  const fs::path config =
      writeConfig(spool, "series:\n  idle_seconds: 30\ndestinations:\n" +
                             destination("stuck", "PACS", stuck.port(), "timeout_seconds: 20") +
                             destination("pacs", "PACS", pacs.port()));
  ServeProcess node(config, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();
  const Ran sent = storescu(node.port(), study_.files);
  ASSERT_EQ(sent.state, kExitedOk) << sent.output << node.describe();

  const std::string job = study_.seriesUid + "-v1";
  ASSERT_TRUE(node.waitForEvents("sent", {"job=" + job, "destination=pacs", "instances=4"})) << node.describe();
  // Everything is at the live peer while the first attempt at the stuck one is still waiting
  // for its 20 s timeout: the destinations do not wait for each other.
  EXPECT_EQ(pacs.files().size(), 4u);
  const std::string log = node.log();
  EXPECT_EQ(events(log, "send_retry", {"destination=stuck"}).size(), 0u) << log;
  EXPECT_EQ(events(log, "sent", {"destination=stuck"}).size(), 0u) << log;
  EXPECT_TRUE(fs::exists(spool / "outbox" / "stuck" / job)) << "still queued for the stuck peer";
  EXPECT_FALSE(fs::exists(spool / "outbox" / "pacs" / job)) << "done for the live peer";

  stuck.close();  // resets the node's connection: the stop need not wait for the timeout
  EXPECT_EQ(node.stop(), kExitedOk);
  EXPECT_TRUE(fs::exists(spool / "outbox" / "stuck" / job)) << "kept for the next start";
}

TEST_F(ServeCommandTest, CheckConfigAcceptsTheExampleAndNamesWhatIsWrong) {
  const Ran example = runToEnd({TORCHT1_BINARY, "check-config", std::string(TORCHT1_SOURCE_DIR) + "/config/torcht1.yaml"},
                               dir_ / "example.log");
  EXPECT_EQ(example.state, kExitedOk) << example.output;
  EXPECT_NE(example.output.find("torcht1.yaml: valid"), std::string::npos) << example.output;

  auto expectOneLineError = [&](const Ran& ran, const std::string& expected) {
    EXPECT_EQ(ran.state, "exited with status 2") << ran.output;
    EXPECT_EQ(std::count(ran.output.begin(), ran.output.end(), '\n'), 1) << "one line:\n" << ran.output;
    EXPECT_NE(ran.output.find(expected), std::string::npos) << ran.output;
  };
  const fs::path unknownKey = dir_ / "unknown-key.yaml";
  std::ofstream(unknownKey) << "node:\n  ae_title: TORCHT1\n  prot: 104\n";
  expectOneLineError(runToEnd({TORCHT1_BINARY, "check-config", unknownKey.string()}, dir_ / "unknown-key.log"),
                     unknownKey.string() + ":3:3: node.prot: unknown key");

  const fs::path badPort = dir_ / "bad-port.yaml";
  std::ofstream(badPort) << "node:\n  port: 70000\n";
  expectOneLineError(runToEnd({TORCHT1_BINARY, "check-config", badPort.string()}, dir_ / "bad-port.log"),
                     badPort.string() + ":2:9: node.port: 70000 is out of range (1..65535)");

  expectOneLineError(runToEnd({TORCHT1_BINARY, "check-config", std::string(TORCHT1_SOURCE_DIR) + "/config/torcht1.yaml"},
                              dir_ / "bad-variable.log", {"TORCHT1_NODE__PORT=0"}),
                     "environment variable TORCHT1_NODE__PORT: node.port: 0 is out of range (1..65535)");
}

TEST_F(ServeCommandTest, SigtermStopsTheNodeCleanly) {
  const fs::path config = writeConfig(dir_ / "spool", "series:\n  idle_seconds: 30\n");
  ServeProcess node(config, dir_ / "serve.log");
  ASSERT_TRUE(node.started()) << node.describe();
  ASSERT_TRUE(node.process().signal(SIGTERM));
  ASSERT_TRUE(node.process().waitForExit(10s)) << "no exit 10 s after SIGTERM\n" << node.describe();
  EXPECT_EQ(node.process().state(), kExitedOk) << node.log();
  const std::string log = node.log();
  EXPECT_EQ(events(log, "signal", {"name=SIGTERM"}).size(), 1u) << log;
  EXPECT_EQ(events(log, "stopped").size(), 1u) << log;
}

}  // namespace
}  // namespace torcht1

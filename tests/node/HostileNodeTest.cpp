// Hostile instances sent to the node by C-STORE (real associations on 127.0.0.1): each
// series gets its one-line reason, and the node keeps serving: a good series sent after it
// is still fitted.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "FreePort.h"
#include "HostileDicom.h"
#include "HttpClient.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"
#include "torcht1/node/Node.h"
#include "torcht1/node/Spool.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class HostileNodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("torcht1-hostile-node-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    phantom::PhantomOptions options;
    options.size = 16;
    options.slices = 1;
    options.seed = 31;
    const auto phantom = phantom::PhantomGenerator(options).generate();
    good_ = dicom::MolliSeriesWriter(options, "hostile-node").write(phantom, (root_ / "good").string());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = c == '/' ? '_' : c;
    dir_ = root_ / name;
    fs::create_directories(dir_);
    settings_.node.port = testing::freePort();
    settings_.node.spoolDir = (dir_ / "spool").string();
    settings_.output.dir = (dir_ / "maps").string();
    settings_.series.idleSeconds = 1;
    settings_.fit.device = "cpu";
    settings_.http.port = 0;
  }

  dicom::StorePeer peer() const {
    dicom::StorePeer p;
    p.port = settings_.node.port;
    p.calledAeTitle = settings_.node.aeTitle;
    p.callingAeTitle = "SCANNER";
    p.timeoutSeconds = 30;
    return p;
  }

  static std::optional<node::SeriesRecord> record(const node::Node& node, const std::string& uid) {
    for (const auto& r : node.series()) {
      if (r.uid == uid) return r;
    }
    return std::nullopt;
  }
  static bool settled(const std::optional<node::SeriesRecord>& r) {
    return r && (r->phase == node::SeriesPhase::Fitted || r->phase == node::SeriesPhase::NotT1 ||
                 r->phase == node::SeriesPhase::Failed);
  }
  /// Waits until the series has an outcome (at most `seconds`).
  static std::optional<node::SeriesRecord> outcome(const node::Node& node, const std::string& uid, int seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto r = record(node, uid); settled(r)) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return record(node, uid);
  }

  /// The good series is fitted: the node is still serving.
  void expectGoodSeriesFitted(node::Node& node) {
    for (const auto& r : dicom::StoreClient(peer()).send(good_.files)) ASSERT_TRUE(r.ok) << r.error;
    const auto good = outcome(node, good_.seriesInstanceUid);
    ASSERT_TRUE(good.has_value());
    EXPECT_EQ(good->phase, node::SeriesPhase::Fitted) << good->message << "\n" << log_.str();
  }

  static std::string inversionTimeOf(const std::string& file) {
    DcmFileFormat format;
    OFString ti;
    format.loadFile(file.c_str());
    format.getDataset()->findAndGetOFString(DCM_InversionTime, ti);
    return ti.c_str();
  }

  static inline fs::path root_;
  static inline dicom::WrittenStudy good_;
  fs::path dir_;
  config::Settings settings_;
  std::stringstream log_;
};

class HostileCaseTest : public HostileNodeTest, public ::testing::WithParamInterface<testing::HostileCase> {};

TEST_P(HostileCaseTest, TheSeriesIsRejectedWithItsReasonAndTheNodeKeepsServing) {
  const testing::HostileCase& c = GetParam();
  const std::string uid = "1.2.826.0.1.3680043.10.1099.7." + std::to_string(std::hash<std::string>()(c.name) % 100000);
  const auto hostile = testing::copySeries(good_.files, dir_.string(), uid, ".7", 3, c.change);
  ASSERT_EQ(hostile.size(), good_.files.size());
  node::Node node(settings_, log_);
  node.start();
  for (const auto& r : dicom::StoreClient(peer()).send(hostile)) EXPECT_TRUE(r.ok) << r.error << " (received and spooled)";
  const auto rejected = outcome(node, uid);
  ASSERT_TRUE(rejected.has_value()) << log_.str();
  EXPECT_EQ(rejected->phase, node::SeriesPhase::NotT1) << rejected->message;
  EXPECT_NE(rejected->message.find(c.reason), std::string::npos) << rejected->message;
  if (c.name != "DuplicateInversionTime") {
    EXPECT_NE(rejected->message.find(".dcm: " + c.reason), std::string::npos) << "names the file: " << rejected->message;
  }
  expectGoodSeriesFitted(node);
  node.stop();
  EXPECT_NE(log_.str().find("event=not_t1 series=" + uid), std::string::npos) << log_.str();
}

// Every simulated MOLLI slice starts at TI 100 ms: image 3 at 100 ms is a duplicate of image 0.
INSTANTIATE_TEST_SUITE_P(Hand, HostileCaseTest, ::testing::ValuesIn(testing::hostileCases("100")),
                         [](const auto& info) { return info.param.name; });

TEST_F(HostileNodeTest, ATruncatedInstanceInTheSpoolIsNamedAndTheRestIsFitted) {
  settings_.series.useExpectedCount = false;
  settings_.series.idleSeconds = 3600;
  {
    node::Node node(settings_, log_);
    node.start();
    for (const auto& r : dicom::StoreClient(peer()).send(good_.files)) ASSERT_TRUE(r.ok) << r.error;
    node.stop();
  }
  // The disk lost the end of one instance while the node was down.
  std::vector<fs::path> spooled;
  for (const auto& e : fs::directory_iterator(dir_ / "spool" / "series" / good_.seriesInstanceUid)) {
    if (e.path().extension() == ".dcm") spooled.push_back(e.path());
  }
  ASSERT_EQ(spooled.size(), 8u);
  std::sort(spooled.begin(), spooled.end());
  fs::resize_file(spooled[3], fs::file_size(spooled[3]) / 2);

  settings_.series.idleSeconds = 0.5;
  node::Node node(settings_, log_);
  node.start();
  const auto r = outcome(node, good_.seriesInstanceUid);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->phase, node::SeriesPhase::Fitted) << r->message << log_.str();
  EXPECT_NE(log_.str().find("event=unreadable series=" + good_.seriesInstanceUid + " files=1 first=\"" +
                            spooled[3].string() + ": not a readable DICOM file"),
            std::string::npos)
      << log_.str();
  // And the next sender is served.
  const auto next = testing::copySeries(good_.files, dir_.string(), "1.2.826.0.1.3680043.10.1099.8", ".8", 0,
                                        [](DcmDataset&) {});
  for (const auto& s : dicom::StoreClient(peer()).send(next)) ASSERT_TRUE(s.ok) << s.error;
  const auto second = outcome(node, "1.2.826.0.1.3680043.10.1099.8");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->phase, node::SeriesPhase::Fitted) << second->message;
  node.stop();
}

TEST_F(HostileNodeTest, UidsWithPathCharactersStayInsideTheSpool) {
  const std::string uid = "../../escaped/series";
  std::vector<std::string> files;
  for (size_t i = 0; i < good_.files.size(); ++i) {
    const std::string target = (dir_ / ("IM_" + std::to_string(i + 1) + ".dcm")).string();
    ASSERT_TRUE(testing::rewrite(good_.files[i], target, [&](DcmDataset& ds) {
      ds.putAndInsertString(DCM_SeriesInstanceUID, uid.c_str());
      ds.putAndInsertString(DCM_SOPInstanceUID, ("../../../escaped/" + std::to_string(i)).c_str());
    }));
    files.push_back(target);
  }
  node::Node node(settings_, log_);
  node.start();
  for (const auto& r : dicom::StoreClient(peer()).send(files)) EXPECT_TRUE(r.ok) << r.error;
  const auto r = outcome(node, uid);
  ASSERT_TRUE(r.has_value()) << log_.str();
  EXPECT_EQ(r->phase, node::SeriesPhase::Fitted) << r->message << "\n" << log_.str();
  ASSERT_EQ(r->key.size(), 17u);
  EXPECT_EQ(r->key[0], 'x') << "a hashed folder: " << r->key;
  expectGoodSeriesFitted(node);
  node.stop();

  // Every file the node wrote is in the spool's folders or the output folder, and the
  // received instances of that series are in its hashed folder under hashed names.
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    EXPECT_EQ(e.path().string().find("escaped"), std::string::npos) << e.path();
  }
  size_t spooled = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "spool" / "series" / r->key)) {
    if (e.path().extension() != ".dcm") continue;
    ++spooled;
    EXPECT_EQ(e.path().filename().string()[0], 'x') << e.path();
  }
  EXPECT_EQ(spooled, files.size());
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    const std::string path = e.path().string();
    const bool inSpool = path.rfind((dir_ / "spool").string() + "/", 0) == 0;
    const bool inMaps = path.rfind((dir_ / "maps").string() + "/", 0) == 0;
    const bool sent = e.path().parent_path() == dir_;  // the files this test made
    EXPECT_TRUE(inSpool || inMaps || sent) << path;
  }
}

/// 10,000 tiny instances of one series in the spool (received before a restart: C-STORE
/// takes about 100 ms per instance with DCMTK's default Nagle setting, see README
/// Hardening), recovered at start-up. While the node reads them, /healthz answers and a
/// good series sent by C-STORE is received and fitted; the 10,000 get one reason.
TEST_F(HostileNodeTest, TenThousandInstancesInOneSeriesGetAClearOutcomeWhileTheNodeServes) {
  const auto start = std::chrono::steady_clock::now();
  const std::string uid = "1.2.826.0.1.3680043.10.1099.10000";
  {
    const node::Spool spool(settings_.node.spoolDir);
    const fs::path series = spool.seriesDir(uid);
    fs::create_directories(series);
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile(good_.files[0].c_str()).good());
    DcmDataset& ds = *file.getDataset();
    ds.putAndInsertString(DCM_SeriesInstanceUID, uid.c_str());
    ds.putAndInsertUint16(DCM_Rows, 4);
    ds.putAndInsertUint16(DCM_Columns, 4);
    const std::vector<Uint16> pixels(16, 300);
    ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), 16);
    ds.putAndInsertString(DCM_ImagesInAcquisition, "10000");
    for (int i = 0; i < 10000; ++i) {
      const std::string sop = uid + "." + std::to_string(i + 1);
      ds.putAndInsertString(DCM_SOPInstanceUID, sop.c_str());
      ds.putAndInsertString(DCM_InversionTime, (std::to_string(100 + i / 2) + (i % 2 ? ".5" : "")).c_str());
      ASSERT_TRUE(file.saveFile((series / (sop + ".dcm")).c_str(), EXS_LittleEndianExplicit).good());
    }
  }
  const double written = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  node::Node node(settings_, log_);
  node.start();
  const testing::HttpClient http("127.0.0.1", node.httpPort());
  EXPECT_EQ(http.get("/healthz").status, 200);
  EXPECT_EQ(http.get("/readyz").status, 200);
  const auto goodStart = std::chrono::steady_clock::now();
  expectGoodSeriesFitted(node);
  const double goodSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - goodStart).count();
  const auto r = outcome(node, uid, 120);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->phase, node::SeriesPhase::NotT1);
  EXPECT_EQ(r->instances, 10000u);
  EXPECT_EQ(r->completedBy, "expected count");
  EXPECT_EQ(r->message, "slice 1 has 10000 images; at most 64 inversion times are fitted");
  EXPECT_EQ(http.get("/healthz").status, 200);
  node.stop();
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "10000 instances: written in " << written << " s, good series fitted " << goodSeconds
            << " s after it was sent, whole test " << total << " s\n";
}

}  // namespace
}  // namespace torcht1

// The node in this process, with real DICOM associations on 127.0.0.1: DCMTK's SCU (our
// StoreClient) sends, the node writes the maps to its output folder.

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"
#include "torcht1/dicom/ReceivedInstance.h"
#include "torcht1/node/Node.h"
#include "torcht1/node/Spool.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"
#include "FreePort.h"
#include "HttpClient.h"
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

class NodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("torcht1-node-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    options_.size = 64;
    options_.slices = 2;
    options_.seed = 11;
    phantom_ = phantom::PhantomGenerator(options_).generate();
    study_ = dicom::MolliSeriesWriter(options_, "nodetest").write(phantom_, (root_ / "study").string());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    dir_ = root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    settings_.node.port = testing::freePort();
    settings_.node.spoolDir = (dir_ / "spool").string();
    settings_.output.dir = (dir_ / "maps").string();
    settings_.series.idleSeconds = 1;
    settings_.fit.device = "cpu";
    settings_.http.port = 0;  // tests run side by side: no fixed HTTP port
  }

  dicom::StorePeer peer(const std::string& calling = "SCANNER") const {
    dicom::StorePeer p;
    p.port = settings_.node.port;
    p.calledAeTitle = settings_.node.aeTitle;
    p.callingAeTitle = calling;
    p.timeoutSeconds = 10;
    return p;
  }

  /// Waits until `predicate` holds for the node's series, or 60 s.
  template <typename Predicate>
  static bool waitFor(const node::Node& node, Predicate predicate) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (predicate(node.series())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static bool fittedAs(const std::vector<node::SeriesRecord>& all, int version) {
    return all.size() == 1 && all[0].phase == node::SeriesPhase::Fitted && all[0].version == version;
  }

  /// The stored T1 values of every map file under `dir` whose description has "T1 map".
  std::vector<std::pair<std::string, std::vector<uint16_t>>> t1Maps(const fs::path& dir) const {
    std::vector<std::pair<std::string, std::vector<uint16_t>>> maps;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() != ".dcm") continue;
      DcmFileFormat file;
      EXPECT_TRUE(file.loadFile(entry.path().c_str()).good());
      OFString description;
      file.getDataset()->findAndGetOFString(DCM_SeriesDescription, description);
      if (std::string(description.c_str()).find("T1 map") == std::string::npos) continue;
      const Uint16* pixels = nullptr;
      unsigned long count = 0;
      file.getDataset()->findAndGetUint16Array(DCM_PixelData, pixels, &count);
      maps.emplace_back(description.c_str(), std::vector<uint16_t>(pixels, pixels + count));
    }
    return maps;
  }

  static inline fs::path root_;
  static inline phantom::PhantomOptions options_;
  static inline phantom::Phantom phantom_;
  static inline dicom::WrittenStudy study_;
  fs::path dir_;
  config::Settings settings_;
  std::stringstream log_;
};

TEST_F(NodeTest, ReceivesFitsAndWritesTheMapsOfACompleteSeries) {
  node::Node node(settings_, log_);
  node.start();
  const auto results = dicom::StoreClient(peer()).send(study_.files);
  for (const auto& r : results) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return fittedAs(all, 1); }));
  const auto record = node.series().at(0);
  EXPECT_EQ(record.completedBy, "expected count") << "16 of ImagesInAcquisition 16: no idle wait";
  EXPECT_EQ(record.instances, study_.files.size());
  EXPECT_EQ(record.uid, study_.seriesInstanceUid);
  EXPECT_EQ(record.callingAe, "SCANNER");
  EXPECT_EQ(record.mapSeriesUids.size(), 2u) << "T1 and T1 SD";
  node.stop();

  // The T1 map against the phantom's truth, in the myocardium.
  const auto maps = t1Maps(settings_.output.dir);
  ASSERT_EQ(maps.size(), 2u) << "one T1 map image per slice";
  size_t checked = 0, close = 0;
  for (size_t s = 0; s < 2; ++s) {
    // Slices are written as MAP_1, MAP_2 in slice order; find each by its content.
    const auto& values = maps[s].second;
    ASSERT_EQ(values.size(), static_cast<size_t>(phantom_.voxelsPerSlice()));
  }
  for (const auto& [description, values] : maps) {
    for (size_t s = 0; s < 2; ++s) {
      size_t slc = 0, slClose = 0;
      for (int64_t v = 0; v < phantom_.voxelsPerSlice(); ++v) {
        const size_t i = s * static_cast<size_t>(phantom_.voxelsPerSlice()) + static_cast<size_t>(v);
        if (phantom_.labels[i] != static_cast<uint8_t>(phantom::TissueLabel::Myocardium)) continue;
        ++slc;
        slClose += std::abs(values[static_cast<size_t>(v)] - phantom_.t1[i]) < 0.1 * phantom_.t1[i];
      }
      if (slClose * 10 > slc * 9) {
        checked += slc;
        close += slClose;
      }
    }
  }
  EXPECT_GT(checked, 0u) << "each map matches a slice of the truth";
  EXPECT_GT(close, checked * 9 / 10);
  EXPECT_NE(log_.str().find("event=fitted series=" + study_.seriesInstanceUid + " version=1"), std::string::npos)
      << log_.str();
  EXPECT_NE(log_.str().find("event=received series=" + study_.seriesInstanceUid), std::string::npos);
  EXPECT_NE(log_.str().find("event=complete series=" + study_.seriesInstanceUid), std::string::npos);
}

TEST_F(NodeTest, LateInstancesMakeANewVersionAndResentOnesChangeNothing) {
  settings_.series.useExpectedCount = false;
  node::Node node(settings_, log_);
  node.start();
  // First slice only, then the first slice again (resent), then the second slice.
  const std::vector<std::string> first(study_.files.begin(), study_.files.begin() + 8);
  const std::vector<std::string> second(study_.files.begin() + 8, study_.files.end());
  for (const auto& r : dicom::StoreClient(peer()).send(first)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return fittedAs(all, 1); }));
  for (const auto& r : dicom::StoreClient(peer()).send(first)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) {
    return all.size() == 1 && all[0].phase == node::SeriesPhase::Fitted && all[0].completedAt > all[0].fittedAt;
  })) << "complete again, nothing new";
  EXPECT_EQ(node.series().at(0).version, 1);
  for (const auto& r : dicom::StoreClient(peer()).send(second)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return fittedAs(all, 2); }));
  const auto v2 = node.series().at(0);
  EXPECT_EQ(v2.instances, 16u);
  node.stop();

  const auto maps = t1Maps(settings_.output.dir);
  size_t v1 = 0, v2files = 0;
  for (const auto& [description, values] : maps) {
    if (description.find("(v2)") != std::string::npos) {
      ++v2files;
    } else {
      ++v1;
    }
  }
  EXPECT_EQ(v1, 1u) << "version 1: the first slice";
  EXPECT_EQ(v2files, 2u) << "version 2: both slices, in a series of its own";
  EXPECT_NE(log_.str().find("event=unchanged"), std::string::npos);
  EXPECT_NE(log_.str().find("event=refitted series=" + study_.seriesInstanceUid + " version=2"), std::string::npos);
}

TEST_F(NodeTest, ARestartedNodeFinishesWhatItHadReceivedAndDoesNotFitTwice) {
  settings_.series.useExpectedCount = false;
  settings_.series.idleSeconds = 3600;  // nothing completes before the restart
  {
    node::Node node(settings_, log_);
    node.start();
    for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(node.series().at(0).phase, node::SeriesPhase::Receiving);
    node.stop();
  }
  settings_.series.idleSeconds = 0.5;
  {
    node::Node node(settings_, log_);
    node.start();
    ASSERT_TRUE(waitFor(node, [](const auto& all) { return fittedAs(all, 1); }));
    EXPECT_EQ(node.series().at(0).instances, 16u) << "every acknowledged instance came back from the spool";
    node.stop();
  }
  {
    node::Node node(settings_, log_);
    node.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_TRUE(fittedAs(node.series(), 1)) << "fitted already: not again";
    node.stop();
  }
  EXPECT_EQ(t1Maps(settings_.output.dir).size(), 2u);
}

TEST_F(NodeTest, AfterARestartAHalfSeriesStillCompletesOnItsExpectedCount) {
  settings_.series.idleSeconds = 3600;  // only ImagesInAcquisition (16) can complete it
  const std::vector<std::string> first(study_.files.begin(), study_.files.begin() + 8);
  const std::vector<std::string> second(study_.files.begin() + 8, study_.files.end());
  {
    node::Node node(settings_, log_);
    node.start();
    for (const auto& r : dicom::StoreClient(peer()).send(first)) ASSERT_TRUE(r.ok) << r.error;
    node.stop();
  }
  node::Node node(settings_, log_);
  node.start();
  ASSERT_EQ(node.series().size(), 1u);
  EXPECT_EQ(node.series().at(0).expected, 16) << "read back from the spooled instances";
  for (const auto& r : dicom::StoreClient(peer()).send(second)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return fittedAs(all, 1); })) << log_.str();
  EXPECT_EQ(node.series().at(0).completedBy, "expected count");
  EXPECT_EQ(node.series().at(0).fittedInstances, 16u);
  node.stop();
}

TEST_F(NodeTest, SendersWaitWhileTooManySeriesWaitForTheFit) {
  // Three larger series in the spool when the node starts: they are due at once and keep
  // the fit busy. With max_pending_series 1 a new instance must wait for them.
  settings_.node.maxPendingSeries = 1;
  settings_.series.idleSeconds = 0.1;
  phantom::PhantomOptions big = options_;
  big.size = 192;
  big.slices = 3;
  {
    node::Spool spool(settings_.node.spoolDir);
    for (uint64_t seed : {21, 22, 23}) {
      big.seed = seed;
      const std::string name = "busy" + std::to_string(seed);
      const auto study = dicom::MolliSeriesWriter(big, name)
                             .write(phantom::PhantomGenerator(big).generate(), (dir_ / name).string());
      for (const auto& f : study.files) {
        auto instance = dicom::ReceivedInstance::fromFile(f);
        instance.file = (fs::path(spool.tempDir()) / "copy.part").string();
        fs::copy_file(f, instance.file, fs::copy_options::overwrite_existing);
        spool.commit(instance);
      }
    }
  }
  node::Node node(settings_, log_);
  node.start();
  ASSERT_TRUE(waitFor(node, [](const auto& all) {
    return std::any_of(all.begin(), all.end(), [](const node::SeriesRecord& r) {
      return r.phase == node::SeriesPhase::Queued || r.phase == node::SeriesPhase::Fitting;
    });
  }));
  const auto results = dicom::StoreClient(peer()).send({study_.files[0]});
  EXPECT_TRUE(results.at(0).ok) << results.at(0).error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) {
    return std::count_if(all.begin(), all.end(), [](const node::SeriesRecord& r) { return r.version == 1; }) == 3;
  }));
  node.stop();
  const std::string log = log_.str();
  const size_t waited = log.find("event=backpressure");
  ASSERT_NE(waited, std::string::npos) << log;
  EXPECT_LT(waited, log.find("event=received series=" + study_.seriesInstanceUid)) << "the sender waited first";
}

TEST_F(NodeTest, SeriesThatAreNotT1AreRecordedNotFitted) {
  settings_.input.selection.descriptionPattern = "^cine$";
  node::Node node(settings_, log_);
  node.start();
  for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return all.size() == 1 && all[0].phase == node::SeriesPhase::NotT1; }));
  EXPECT_NE(node.series().at(0).message.find("description"), std::string::npos) << node.series().at(0).message;
  node.stop();
  EXPECT_FALSE(fs::exists(settings_.output.dir) && !fs::is_empty(settings_.output.dir));
  EXPECT_NE(log_.str().find("event=not_t1"), std::string::npos);
}

TEST_F(NodeTest, SettledSeriesLeaveTheSpoolAfterTheRetentionTime) {
  settings_.input.selection.descriptionPattern = "^cine$";
  settings_.node.retentionHours = 1.0 / 3600;  // one second
  node::Node node(settings_, log_);
  node.start();
  for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
  const fs::path series = dir_ / "spool" / "series" / study_.seriesInstanceUid;
  EXPECT_TRUE(fs::exists(series));
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return all.empty(); })) << "recorded, then dropped";
  EXPECT_FALSE(fs::exists(series));
  node.stop();
  EXPECT_NE(log_.str().find("event=not_t1"), std::string::npos);
  EXPECT_NE(log_.str().find("event=expired series=" + study_.seriesInstanceUid + " state=not_t1"), std::string::npos)
      << log_.str();
}

TEST_F(NodeTest, AFittedSeriesThatComesBackAfterItExpiredIsANewVersion) {
  settings_.node.retentionHours = 1.0 / 3600;  // one second
  node::Node node(settings_, log_);
  node.start();
  // Each state lasts about a second here, so the waits are on what stays: an empty list
  // (expired) and the map files.
  auto mapFiles = [&] {
    size_t n = 0;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(settings_.output.dir, ec)) n += entry.is_regular_file();
    return n;
  };
  for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return all.empty(); })) << "fitted, then expired";
  EXPECT_EQ(mapFiles(), 4u) << "T1 and SD of 2 slices";
  // The same study again (a PACS rule that resends it): new UIDs, not version 1's again.
  for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return all.empty(); })) << "fitted again, then expired";
  node.stop();
  EXPECT_EQ(mapFiles(), 8u);
  EXPECT_NE(log_.str().find("event=expired series=" + study_.seriesInstanceUid + " state=fitted"), std::string::npos)
      << log_.str();
  EXPECT_NE(log_.str().find("event=refitted series=" + study_.seriesInstanceUid + " version=2"), std::string::npos);
  std::set<std::string> seriesUids;
  size_t v2 = 0;
  for (const auto& entry : fs::recursive_directory_iterator(settings_.output.dir)) {
    if (!entry.is_regular_file()) continue;
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile(entry.path().c_str()).good()) << entry.path();
    OFString uid, description;
    file.getDataset()->findAndGetOFString(DCM_SeriesInstanceUID, uid);
    file.getDataset()->findAndGetOFString(DCM_SeriesDescription, description);
    seriesUids.insert(uid.c_str());
    if (std::string(description.c_str()).find("(v2)") != std::string::npos) ++v2;
  }
  EXPECT_EQ(seriesUids.size(), 4u) << "T1 and SD, versions 1 and 2: four map series";
  EXPECT_GT(v2, 0u);
}

TEST_F(NodeTest, RefusesCallersNotAllowedAndKeepsServing) {
  settings_.node.allowedCallingAes = {"SCANNER"};
  node::Node node(settings_, log_);
  node.start();
  EXPECT_THROW(dicom::StoreClient(peer("INTRUDER")).send({study_.files[0]}), dicom::DicomError);
  dicom::StorePeer wrongCalled = peer();
  wrongCalled.calledAeTitle = "SOMEONE";
  EXPECT_THROW(dicom::StoreClient(wrongCalled).send({study_.files[0]}), dicom::DicomError);
  const auto results = dicom::StoreClient(peer()).send({study_.files[0]});
  EXPECT_TRUE(results.at(0).ok) << results.at(0).error;
  node.stop();
  EXPECT_NE(log_.str().find("event=association_rejected from=INTRUDER"), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("called AE title 'SOMEONE' is not 'TORCHT1'"), std::string::npos) << log_.str();
}

TEST_F(NodeTest, AnInstanceWithoutSeriesUidIsRefusedWithAStatus) {
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(study_.files[0].c_str()).good());
  file.getDataset()->findAndDeleteElement(DCM_SeriesInstanceUID);
  const std::string bad = (dir_ / "no-series.dcm").string();
  fs::create_directories(dir_);
  ASSERT_TRUE(file.saveFile(bad.c_str(), EXS_LittleEndianExplicit).good());
  node::Node node(settings_, log_);
  node.start();
  const auto results = dicom::StoreClient(peer()).send({bad, study_.files[1]});
  EXPECT_FALSE(results.at(0).ok);
  EXPECT_EQ(results.at(0).status, 0xC000);
  EXPECT_TRUE(results.at(1).ok) << "the association goes on";
  node.stop();
  EXPECT_NE(log_.str().find("refused: no SeriesInstanceUID"), std::string::npos) << log_.str();
}

TEST_F(NodeTest, HttpShowsHealthMetricsSeriesAndPreviews) {
  node::Node node(settings_, log_);
  node.start();
  ASSERT_GT(node.httpPort(), 0);
  const testing::HttpClient http("127.0.0.1", node.httpPort());
  EXPECT_EQ(http.get("/healthz").status, 200);
  EXPECT_EQ(http.get("/readyz").body, "ready\n");
  for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(waitFor(node, [](const auto& all) { return fittedAs(all, 1); }));

  const std::string metrics = http.get("/metrics").body;
  EXPECT_NE(metrics.find("torcht1_instances_received_total 16\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("torcht1_series_completed_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("torcht1_series_total{outcome=\"fitted\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("torcht1_fit_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("torcht1_queue_depth 0\n"), std::string::npos);

  const auto series = nlohmann::json::parse(http.get("/api/series").body);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0]["series_instance_uid"], study_.seriesInstanceUid);
  EXPECT_EQ(series[0]["state"], "fitted");
  EXPECT_EQ(series[0]["instances"], 16);
  EXPECT_EQ(series[0]["map_series_uids"].size(), 2u);
  const std::string preview = series[0]["preview"];
  const auto png = http.get(preview);
  EXPECT_EQ(png.status, 200);
  ASSERT_GT(png.body.size(), 8u);
  EXPECT_EQ(png.body.substr(1, 3), "PNG");
  EXPECT_EQ(http.get("/preview/..%2F..%2Fetc%2Fpasswd.png").status, 404);
  EXPECT_EQ(http.get("/preview/1.2.3.png").status, 404);

  const std::string page = http.get("/").body;
  EXPECT_NE(page.find("MOLLI 5(3)3 native (TorchT1 phantom)"), std::string::npos);
  EXPECT_NE(page.find(preview), std::string::npos) << "the page shows the preview";
  EXPECT_NE(page.find(">fitted<"), std::string::npos);
  node.stop();
}

TEST_F(NodeTest, FailedSendsAreRequeuedOverHttp) {
  config::DestinationSettings down;
  down.name = "down";
  down.aeTitle = "NOBODY";
  down.host = "127.0.0.1";
  down.port = testing::freePort();  // nothing listens there
  down.callingAeTitle = "TORCHT1";
  down.maxAttempts = 1;
  down.timeoutSeconds = 2;
  settings_.destinations = {down};
  node::Node node(settings_, log_);
  node.start();
  for (const auto& r : dicom::StoreClient(peer()).send(study_.files)) ASSERT_TRUE(r.ok) << r.error;
  const fs::path failed = dir_ / "spool" / "failed" / "down";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((!fs::exists(failed) || fs::is_empty(failed)) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(fs::is_empty(failed)) << "one attempt, then failed/";
  const testing::HttpClient http("127.0.0.1", node.httpPort());
  EXPECT_NE(http.get("/metrics").body.find("torcht1_failed_jobs{destination=\"down\"} 1\n"), std::string::npos);
  const auto requeued = http.post("/api/requeue?destination=down");
  EXPECT_EQ(requeued.status, 200);
  EXPECT_EQ(nlohmann::json::parse(requeued.body)["requeued"], 1);
  EXPECT_EQ(http.get("/api/requeue").status, 405) << "a GET changes nothing";
  node.stop();
  EXPECT_NE(log_.str().find("event=send_failed"), std::string::npos);
  EXPECT_NE(log_.str().find("event=requeued jobs=1 destination=down"), std::string::npos) << log_.str();
}

TEST_F(NodeTest, HttpTokenGuardsEverythingButHealth) {
  settings_.http.port = 0;
  settings_.http.token = "s3cret";
  node::Node node(settings_, log_);
  node.start();
  const testing::HttpClient http("127.0.0.1", node.httpPort());
  EXPECT_EQ(http.get("/healthz").status, 200);
  EXPECT_EQ(http.get("/metrics").status, 401);
  EXPECT_EQ(http.get("/api/series").status, 401);
  EXPECT_EQ(http.get("/").status, 401);
  node.stop();
}

TEST_F(NodeTest, ABusyPortIsAOneLineErrorAtStart) {
  node::Node first(settings_, log_);
  first.start();
  config::Settings other = settings_;
  other.node.spoolDir = (dir_ / "spool2").string();
  node::Node second(other, log_);
  try {
    second.start();
    FAIL() << "started twice on one port";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("DICOM port " + std::to_string(settings_.node.port) + ": cannot listen"),
              std::string::npos)
        << e.what();
  }
  first.stop();
}

}  // namespace
}  // namespace torcht1

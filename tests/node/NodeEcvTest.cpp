// ECV in the node: a native and a post-contrast MOLLI series of one study arrive minutes
// apart (in either order, across a restart), the node pairs them from its spool and sends
// ECV maps that match the phantom's truth; a measured hematocrit comes over HTTP before or
// after the series, or is required.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include <nlohmann/json.hpp>

#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"
#include "torcht1/node/Node.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"
#include "Dciodvfy.h"
#include "FreePort.h"
#include "HttpClient.h"
#include "OrthancServer.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

std::string text(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  item.findAndGetOFStringArray(tag, value);
  return value.c_str();
}

class NodeEcvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("torcht1-node-ecv-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    phantom::PhantomOptions options;
    options.size = 192;
    options.slices = 2;
    options.snr = 120;
    options.seed = 31;
    options.hematocrit = 0.418;
    native_ = phantom::PhantomGenerator(options).generate();
    nativeStudy_ = dicom::MolliSeriesWriter(options, "nodeecv").write(native_, (root_ / "native").string());
    options.postContrast = true;  // the next breath-hold, 15 minutes later: moved and turned
    options.poseShiftXMm = 4;
    options.poseShiftYMm = -5;
    options.poseRotationDeg = 3;
    const phantom::Phantom post = phantom::PhantomGenerator(options).generate();
    postStudy_ = dicom::MolliSeriesWriter(options, "nodeecv").write(post, (root_ / "post").string());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    dir_ = root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    settings_.node.port = testing::freePort();
    settings_.node.spoolDir = (dir_ / "spool").string();
    settings_.output.dir = (dir_ / "maps").string();
    settings_.series.idleSeconds = 1;
    settings_.fit.device = "cpu";
    settings_.http.port = 0;
  }

  void send(const dicom::WrittenStudy& study) const {
    dicom::StorePeer p;
    p.port = settings_.node.port;
    p.calledAeTitle = settings_.node.aeTitle;
    p.callingAeTitle = "SCANNER";
    p.timeoutSeconds = 10;
    for (const auto& r : dicom::StoreClient(p).send(study.files)) ASSERT_TRUE(r.ok) << r.error;
  }

  /// The post-contrast series' record once `done` holds for it (60 s at most).
  template <typename Done>
  static std::optional<node::SeriesRecord> waitForPost(const node::Node& node, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& r : node.series()) {
        if (r.uid == postStudy_.seriesInstanceUid && r.phase == node::SeriesPhase::Fitted && done(r) && node.ecvIdle()) return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }
  static bool fitted(const node::Node& node, const std::string& uid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& r : node.series()) {
        if (r.uid == uid && r.phase == node::SeriesPhase::Fitted && node.ecvIdle()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  /// Every ECV image under `dir` of SOP class `sopClass` (MR: the ECV map; Secondary
  /// Capture: its colour pictures; Parametric Map: its float form), by series description.
  static std::vector<fs::path> ecvFiles(const fs::path& dir, const std::string& sopClass = UID_MRImageStorage) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".dcm") continue;
      DcmFileFormat f;
      if (f.loadFile(entry.path().c_str()).good() && text(*f.getDataset(), DCM_SOPClassUID) == sopClass &&
          text(*f.getDataset(), DCM_SeriesDescription).find("ECV map") != std::string::npos) {
        out.push_back(entry.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Checks one ECV image against the truth: references to both series, the hematocrit in
  /// the description, and ECV within 1 percentage point on >= 95% of the myocardium away from
  /// its edges (at an edge a voxel holds blood in one breath-hold and not in the other).
  static void expectMatchesTruth(const fs::path& file, const std::string& hematocritLabel) {
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmDataset& ds = *format.getDataset();
    EXPECT_EQ(text(ds, DCM_ImageType), "DERIVED\\PRIMARY\\OTHER\\ECV");
    EXPECT_EQ(text(ds, DCM_StudyInstanceUID), nativeStudy_.studyInstanceUid);
    EXPECT_NE(text(ds, DCM_SeriesDescription).find(hematocritLabel), std::string::npos) << text(ds, DCM_SeriesDescription);
    EXPECT_NE(text(ds, DCM_DerivationDescription).find("blood T1 native"), std::string::npos);
    DcmSequenceOfItems* references = nullptr;
    ASSERT_TRUE(ds.findAndGetSequence(DCM_SourceImageSequence, references).good());
    std::set<std::string> referenced;
    for (unsigned long i = 0; i < references->card(); ++i) referenced.insert(text(*references->getItem(i), DCM_ReferencedSOPInstanceUID));
    const int slice = std::stoi(text(ds, DCM_InstanceNumber)) - 1;
    ASSERT_TRUE(slice == 0 || slice == 1);
    auto sopOf = [](const std::string& path) {
      DcmFileFormat f;
      EXPECT_TRUE(f.loadFile(path.c_str()).good());
      return text(*f.getDataset(), DCM_SOPInstanceUID);
    };
    EXPECT_TRUE(referenced.count(sopOf(nativeStudy_.files[static_cast<size_t>(slice) * 8]))) << "a native image of the slice";
    EXPECT_TRUE(referenced.count(sopOf(postStudy_.files[static_cast<size_t>(slice) * 9]))) << "a post-contrast image of the slice";
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    const int n = 192;
    ASSERT_EQ(count, static_cast<unsigned long>(n * n));
    const auto myo = static_cast<uint8_t>(phantom::TissueLabel::Myocardium);
    const size_t base = static_cast<size_t>(slice) * n * n;
    int64_t inner = 0, good = 0;
    for (int r = 1; r + 1 < n; ++r) {
      for (int c = 1; c + 1 < n; ++c) {
        const size_t v = static_cast<size_t>(r) * n + c, i = base + v;
        const auto& l = native_.labels;
        if (l[i] != myo || l[i - 1] != myo || l[i + 1] != myo || l[i - n] != myo || l[i + n] != myo) continue;
        ++inner;
        good += std::abs(pixels[v] / 10.0 - 100.0 * native_.ecv[i]) <= 1.0;
      }
    }
    ASSERT_GT(inner, 100);
    const double share = 100.0 * static_cast<double>(good) / static_cast<double>(inner);
    std::printf("[ node ecv ] %s slice %d: %.1f%% of %lld interior myocardial voxels within 1 pp\n", hematocritLabel.c_str(),
                slice + 1, share, static_cast<long long>(inner));
    EXPECT_GE(share, 95.0);
  }

  static inline fs::path root_;
  static inline phantom::Phantom native_;
  static inline dicom::WrittenStudy nativeStudy_, postStudy_;
  fs::path dir_;
  config::Settings settings_;
  std::stringstream log_;
};

TEST_F(NodeEcvTest, AHematocritPostedBeforeTheSeriesMakesEcvMapsThatMatchTheTruth) {
  settings_.ecv.maps = {"ECV", "ECV_COLOUR", "ECV_PARAMETRIC"};
  node::Node node(settings_, log_);
  node.start();
  const testing::HttpClient http("127.0.0.1", node.httpPort());
  // By accession number, before anything of the study has arrived.
  const auto posted = http.postJson("/api/hematocrit", R"({"accession_number": "TT1A31", "hematocrit": 0.418})");
  ASSERT_EQ(posted.status, 200) << posted.body;
  send(nativeStudy_);
  ASSERT_TRUE(fitted(node, nativeStudy_.seriesInstanceUid));
  send(postStudy_);
  const auto post = waitForPost(node, [](const node::SeriesRecord& r) { return r.ecv.outcome == "made"; });
  ASSERT_TRUE(post) << log_.str();
  EXPECT_EQ(post->ecv.version, 1);
  EXPECT_EQ(post->ecv.nativeUid, nativeStudy_.seriesInstanceUid);
  EXPECT_EQ(post->ecv.hematocrit, "measured Hct 0.42");
  EXPECT_EQ(post->ecv.slicesMade, 2);
  EXPECT_GT(post->ecv.maxDisplacementMm, 3.0) << "the breath-holds are 6.4 mm apart";

  const auto series = nlohmann::json::parse(http.get("/api/series").body);
  nlohmann::json ecv;
  for (const auto& s : series) {
    if (s["series_instance_uid"] == postStudy_.seriesInstanceUid) ecv = s.at("ecv");
  }
  ASSERT_FALSE(ecv.is_null()) << series.dump(2);
  EXPECT_EQ(ecv["state"], "made");
  EXPECT_EQ(ecv["native_series_instance_uid"], nativeStudy_.seriesInstanceUid);
  EXPECT_EQ(ecv["hematocrit"], "measured Hct 0.42");
  EXPECT_NE(ecv["blood_t1_native_post_ms"].get<std::string>().find('/'), std::string::npos);
  EXPECT_EQ(ecv["map_series_uids"].size(), 3u) << "the ECV map, its colour pictures and its Parametric Map";
  const auto png = http.get(ecv["preview"].get<std::string>());
  ASSERT_EQ(png.status, 200);
  EXPECT_EQ(png.body.substr(1, 3), "PNG");
  const std::string page = http.get("/").body;
  EXPECT_NE(page.find(ecv["preview"].get<std::string>()), std::string::npos) << "the page shows the ECV preview";
  EXPECT_NE(page.find("measured Hct 0.42"), std::string::npos);
  node.stop();

  const auto files = ecvFiles(settings_.output.dir);
  ASSERT_EQ(files.size(), 2u);
  for (const auto& f : files) expectMatchesTruth(f, "measured Hct 0.42");
  testing::expectValid(files.front().string(), "MRImage");
  const auto colour = ecvFiles(settings_.output.dir, UID_SecondaryCaptureImageStorage);
  ASSERT_EQ(colour.size(), 2u);
  testing::expectValid(colour.front().string(), "SCImage");
  const auto parametric = ecvFiles(settings_.output.dir, UID_ParametricMapStorage);
  ASSERT_EQ(parametric.size(), 1u);
  testing::expectValid(parametric.front().string(), "ParametricMap");
  EXPECT_NE(log_.str().find("event=ecv series=" + postStudy_.seriesInstanceUid), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("images=5"), std::string::npos) << "2 + 2 + 1: " << log_.str();
}

TEST_F(NodeEcvTest, APostContrastSeriesThatComesFirstWaitsForItsNativePartner) {
  node::Node node(settings_, log_);
  node.start();
  send(postStudy_);
  const auto waiting = waitForPost(node, [](const node::SeriesRecord& r) { return !r.ecv.outcome.empty(); });
  ASSERT_TRUE(waiting) << log_.str();
  EXPECT_EQ(waiting->ecv.outcome, "waiting");
  EXPECT_NE(waiting->ecv.reason.find("no native T1 series of this study (yet)"), std::string::npos) << waiting->ecv.reason;
  EXPECT_TRUE(ecvFiles(settings_.output.dir).empty());
  send(nativeStudy_);
  const auto made = waitForPost(node, [](const node::SeriesRecord& r) { return r.ecv.outcome == "made"; });
  ASSERT_TRUE(made) << log_.str();
  EXPECT_NE(made->ecv.hematocrit.find("synthetic Hct 0.4"), std::string::npos) << made->ecv.hematocrit;
  node.stop();
  const auto files = ecvFiles(settings_.output.dir);
  ASSERT_EQ(files.size(), 2u);
  DcmFileFormat f;
  ASSERT_TRUE(f.loadFile(files.front().c_str()).good());
  EXPECT_NE(text(*f.getDataset(), DCM_SeriesDescription).find("synthetic Hct 0.4"), std::string::npos);
  EXPECT_NE(text(*f.getDataset(), DCM_DerivationDescription).find("Treibel"), std::string::npos);
}

TEST_F(NodeEcvTest, ARequiredHematocritPostedAfterARestartMakesTheMapsAndALaterOneANewVersion) {
  settings_.ecv.hematocrit = "required";
  std::string v1Uid, v2Uid;
  {
    node::Node node(settings_, log_);
    node.start();
    send(nativeStudy_);
    ASSERT_TRUE(fitted(node, nativeStudy_.seriesInstanceUid));
    node.stop();
  }
  {
    // The post-contrast series comes to a node that was restarted since the native one.
    node::Node node(settings_, log_);
    node.start();
    send(postStudy_);
    const auto waiting = waitForPost(node, [](const node::SeriesRecord& r) { return !r.ecv.outcome.empty(); });
    ASSERT_TRUE(waiting) << log_.str();
    EXPECT_EQ(waiting->ecv.outcome, "waiting");
    EXPECT_NE(waiting->ecv.reason.find("measured hematocrit"), std::string::npos) << waiting->ecv.reason;
    EXPECT_EQ(waiting->ecv.nativeUid, nativeStudy_.seriesInstanceUid) << "paired with the series fitted before the restart";
    EXPECT_TRUE(ecvFiles(settings_.output.dir).empty()) << "nothing without the measured value";

    const testing::HttpClient http("127.0.0.1", node.httpPort());
    const auto percent = http.postJson("/api/hematocrit", "{\"study_instance_uid\": \"" + nativeStudy_.studyInstanceUid + "\", \"hematocrit\": 42}");
    EXPECT_EQ(percent.status, 400);
    EXPECT_NE(percent.body.find("percentage"), std::string::npos) << percent.body;
    EXPECT_EQ(http.postJson("/api/hematocrit", "{\"hematocrit\": 0.4}").status, 400) << "no study named";
    EXPECT_EQ(http.postJson("/api/hematocrit", "not json").status, 400);

    const auto ok = http.postJson("/api/hematocrit", "{\"study_instance_uid\": \"" + nativeStudy_.studyInstanceUid + "\", \"hematocrit\": 0.418}");
    ASSERT_EQ(ok.status, 200) << ok.body;
    const auto v1 = waitForPost(node, [](const node::SeriesRecord& r) { return r.ecv.outcome == "made"; });
    ASSERT_TRUE(v1) << log_.str();
    EXPECT_EQ(v1->ecv.version, 1);
    const auto first = ecvFiles(settings_.output.dir);
    ASSERT_EQ(first.size(), 2u);
    for (const auto& f : first) expectMatchesTruth(f, "measured Hct 0.42");

    // A corrected value from the lab: a new version with its own UIDs; the first stays.
    ASSERT_EQ(http.postJson("/api/hematocrit", "{\"study_instance_uid\": \"" + nativeStudy_.studyInstanceUid + "\", \"hematocrit\": \"0.45\"}").status, 200);
    const auto v2 = waitForPost(node, [](const node::SeriesRecord& r) { return r.ecv.version == 2; });
    ASSERT_TRUE(v2) << log_.str();
    EXPECT_EQ(v2->ecv.hematocrit, "measured Hct 0.45");
    EXPECT_NE(v2->ecv.mapSeriesUid, v1->ecv.mapSeriesUid);
    v1Uid = v1->ecv.mapSeriesUid;
    v2Uid = v2->ecv.mapSeriesUid;
    node.stop();
  }
  const auto both = ecvFiles(settings_.output.dir);
  ASSERT_EQ(both.size(), 4u);
  // ECV is proportional to 1 - Hct: the v2 maps are the v1 maps times 0.55 / 0.582.
  std::map<std::string, std::map<std::string, std::vector<uint16_t>>> bySeries;  // series -> instance -> pixels
  std::map<std::string, std::string> descriptions;
  for (const auto& file : both) {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(file.c_str()).good());
    DcmDataset& ds = *f.getDataset();
    const Uint16* pixels = nullptr;
    unsigned long count = 0;
    ASSERT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good());
    bySeries[text(ds, DCM_SeriesInstanceUID)][text(ds, DCM_InstanceNumber)].assign(pixels, pixels + count);
    descriptions[text(ds, DCM_SeriesInstanceUID)] = text(ds, DCM_SeriesDescription);
  }
  ASSERT_EQ(bySeries.size(), 2u);
  ASSERT_TRUE(bySeries.count(v1Uid) && bySeries.count(v2Uid));
  EXPECT_NE(descriptions[v2Uid].find("(v2)"), std::string::npos) << descriptions[v2Uid];
  for (const auto& [instance, first] : bySeries[v1Uid]) {
    const auto& second = bySeries[v2Uid].at(instance);
    double sum1 = 0, sum2 = 0;
    for (size_t v = 0; v < first.size(); ++v) {
      if (first[v] < 100 || first[v] > 900) continue;  // 10-90 %: tissue, not background
      sum1 += first[v];
      sum2 += second[v];
    }
    ASSERT_GT(sum1, 0);
    EXPECT_NEAR(sum2 / sum1, 0.55 / 0.582, 0.005) << "slice " << instance;
  }
  {
    // Restarted again: nothing new, nothing made again; the record comes back from the spool.
    node::Node node(settings_, log_);
    node.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    bool found = false;
    for (const auto& r : node.series()) {
      if (r.uid != postStudy_.seriesInstanceUid) continue;
      found = true;
      EXPECT_EQ(r.ecv.outcome, "made");
      EXPECT_EQ(r.ecv.version, 2);
    }
    EXPECT_TRUE(found);
    node.stop();
  }
  EXPECT_EQ(ecvFiles(settings_.output.dir).size(), 4u);
  EXPECT_NE(log_.str().find("event=ecv_remade series=" + postStudy_.seriesInstanceUid + " native=" +
                            nativeStudy_.seriesInstanceUid + " version=2"),
            std::string::npos)
      << log_.str();
}

TEST_F(NodeEcvTest, TheEcvMapsReachOrthancAndMatchTheTruth) {
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  config::DestinationSettings pacs;
  pacs.name = "pacs";
  pacs.aeTitle = orthanc.aeTitle();
  pacs.host = "127.0.0.1";
  pacs.port = orthanc.dicomPort();
  pacs.timeoutSeconds = 10;
  pacs.callingAeTitle = settings_.node.aeTitle;  // the config reader defaults it so
  settings_.destinations = {pacs};
  node::Node node(settings_, log_);
  node.start();
  send(nativeStudy_);
  send(postStudy_);
  ASSERT_TRUE(waitForPost(node, [](const node::SeriesRecord& r) { return r.ecv.outcome == "made"; })) << log_.str();
  // T1 and T1 SD of both series (2 slices each) and the 2 ECV images.
  ASSERT_TRUE(orthanc.waitForInstances(10, std::chrono::seconds(30))) << orthanc.instanceCount() << "\n" << log_.str();
  node.stop();
  const fs::path from = dir_ / "from-orthanc";
  fs::create_directories(from);
  size_t ecv = 0;
  for (const auto& seriesId : orthanc.json("/series")) {
    const auto series = orthanc.json("/series/" + seriesId.get<std::string>());
    for (const auto& id : series.at("Instances")) {
      const fs::path file = from / (id.get<std::string>() + ".dcm");
      orthanc.downloadInstance(id.get<std::string>(), file);
      DcmFileFormat f;
      ASSERT_TRUE(f.loadFile(file.c_str()).good());
      if (text(*f.getDataset(), DCM_ImageType).find("ECV") == std::string::npos) continue;
      ++ecv;
      expectMatchesTruth(file, "synthetic Hct 0.4");
    }
  }
  EXPECT_EQ(ecv, 2u);
  EXPECT_NE(log_.str().find("event=sent series=" + postStudy_.seriesInstanceUid + " job="), std::string::npos) << log_.str();
}

}  // namespace
}  // namespace torcht1

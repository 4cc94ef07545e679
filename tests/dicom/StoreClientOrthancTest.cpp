// dicom::StoreClient against a real PACS (Orthanc on 127.0.0.1): what Orthanc holds after a
// send, a resend, a refused association and a refused instance, seen through its REST API.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "OrthancServer.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"
#include "torcht1/phantom/PhantomGenerator.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

std::string text(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

std::string fileText(const std::string& file, const DcmTagKey& tag) {
  DcmFileFormat format;
  if (format.loadFile(file.c_str()).bad()) return "";
  return text(*format.getDataset(), tag);
}

std::vector<Uint16> pixels(DcmDataset& ds) {
  const Uint16* data = nullptr;
  unsigned long count = 0;
  if (ds.findAndGetUint16Array(DCM_PixelData, data, &count).bad() || data == nullptr) return {};
  return std::vector<Uint16>(data, data + count);
}

/// Orthanc's instance ID for each SOP Instance UID it holds.
std::map<std::string, std::string> instancesByUid(const testing::OrthancServer& orthanc) {
  std::map<std::string, std::string> ids;
  for (const auto& instance : orthanc.json("/instances?expand")) {
    ids[instance.at("MainDicomTags").value("SOPInstanceUID", "")] = instance.at("ID").get<std::string>();
  }
  return ids;
}

class StoreClientOrthancTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-storeclient-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    phantom::PhantomOptions options;
    options.size = 32;
    options.slices = 2;
    options.seed = 5;
    study_ = dicom::MolliSeriesWriter(options, "storeclient-orthanc")
                 .write(phantom::PhantomGenerator(options).generate(), (dir_ / "study").string());
    ASSERT_EQ(study_.files.size(), 16u) << "2 slices x 8 inversion times";
    for (const auto& file : study_.files) sentUids_.insert(fileText(file, DCM_SOPInstanceUID));
    ASSERT_EQ(sentUids_.size(), 16u);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static dicom::StorePeer peerOf(const testing::OrthancServer& orthanc) {
    dicom::StorePeer peer;
    peer.host = "127.0.0.1";
    peer.port = orthanc.dicomPort();
    peer.calledAeTitle = orthanc.aeTitle();
    peer.callingAeTitle = "TORCHT1";
    peer.timeoutSeconds = 10;
    return peer;
  }

  fs::path dir_;
  dicom::WrittenStudy study_;
  std::set<std::string> sentUids_;
};

void expectAllStored(const std::vector<dicom::StoreResult>& results, size_t count) {
  ASSERT_EQ(results.size(), count);
  for (const auto& r : results) {
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 0x0000) << r.file;
    EXPECT_EQ(r.error, "") << r.file;
  }
}

TEST_F(StoreClientOrthancTest, TheStudyArrivesWholeAndUnchanged) {
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();

  expectAllStored(dicom::StoreClient(peerOf(orthanc)).send(study_.files), 16);
  ASSERT_TRUE(orthanc.waitForInstances(16)) << orthanc.instanceCount() << " instances in Orthanc";

  const auto studies = orthanc.json("/studies?expand");
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0].at("MainDicomTags").value("StudyInstanceUID", ""), study_.studyInstanceUid);
  const auto series = orthanc.json("/series?expand");
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].at("MainDicomTags").value("SeriesInstanceUID", ""), study_.seriesInstanceUid);
  EXPECT_EQ(series[0].at("Instances").size(), 16u);
  EXPECT_EQ(orthanc.seriesDescriptions(), std::vector<std::string>{fileText(study_.files[0], DCM_SeriesDescription)});

  const auto held = instancesByUid(orthanc);
  std::set<std::string> heldUids;
  for (const auto& [uid, id] : held) heldUids.insert(uid);
  EXPECT_EQ(heldUids, sentUids_);

  // One instance back from Orthanc: the same SOP instance with the same pixels.
  const std::string& sentFile = study_.files[9];
  DcmFileFormat sent;
  ASSERT_TRUE(sent.loadFile(sentFile.c_str()).good());
  const std::string uid = text(*sent.getDataset(), DCM_SOPInstanceUID);
  ASSERT_EQ(held.count(uid), 1u) << uid;
  const fs::path downloaded = dir_ / "downloaded.dcm";
  orthanc.downloadInstance(held.at(uid), downloaded);
  DcmFileFormat back;
  ASSERT_TRUE(back.loadFile(downloaded.c_str()).good()) << downloaded;
  EXPECT_EQ(text(*back.getDataset(), DCM_SOPInstanceUID), uid);
  EXPECT_EQ(text(*back.getDataset(), DCM_SOPClassUID), UID_MRImageStorage);
  EXPECT_EQ(text(*back.getDataset(), DCM_InversionTime), text(*sent.getDataset(), DCM_InversionTime));
  const auto sentPixels = pixels(*sent.getDataset());
  ASSERT_EQ(sentPixels.size(), 32u * 32u);
  EXPECT_EQ(pixels(*back.getDataset()), sentPixels);
}

TEST_F(StoreClientOrthancTest, AResentStudyIsHeldOnce) {
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  const dicom::StoreClient client(peerOf(orthanc));
  expectAllStored(client.send(study_.files), 16);
  ASSERT_TRUE(orthanc.waitForInstances(16)) << orthanc.instanceCount() << " instances in Orthanc";

  // Orthanc keeps the copy it has (OverwriteInstances is false) and answers success.
  expectAllStored(client.send(study_.files), 16);
  EXPECT_EQ(orthanc.instanceCount(), 16u);
  EXPECT_EQ(orthanc.json("/studies").size(), 1u);
  EXPECT_EQ(orthanc.json("/series").size(), 1u);
  std::set<std::string> heldUids;
  for (const auto& [uid, id] : instancesByUid(orthanc)) heldUids.insert(uid);
  EXPECT_EQ(heldUids, sentUids_);
}

TEST_F(StoreClientOrthancTest, AWrongCalledAeTitleIsARejectedAssociationInOneLine) {
  testing::OrthancServer orthanc;
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();
  dicom::StorePeer peer = peerOf(orthanc);
  peer.calledAeTitle = "NOT-ORTHANC";
  try {
    dicom::StoreClient(peer).send(study_.files);
    FAIL() << "Orthanc checks the called AE title; the association should have been rejected";
  } catch (const dicom::DicomError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind("NOT-ORTHANC@127.0.0.1:" + std::to_string(orthanc.dicomPort()) + ": no association", 0), 0u)
        << message;
    EXPECT_NE(message.find("Association Rejected"), std::string::npos) << message;
  }
  EXPECT_EQ(orthanc.instanceCount(), 0u);
}

TEST_F(StoreClientOrthancTest, AnInstanceThePeerRefusesIsReportedWithItsStatus) {
  const std::string refusedFile = study_.files[3];
  const std::string refusedUid = fileText(refusedFile, DCM_SOPInstanceUID);
  // Orthanc 1.10 answers 0xA700 (Refused: Out of Resources) for an instance whose filter
  // fails, and goes on with the association. A filter that returns false instead would
  // discard the instance but answer success.
  testing::OrthancOptions options;
  options.luaScript = "function ReceivedInstanceFilter(dicom, origin, info)\n"
                      "  if dicom.SOPInstanceUID == '" + refusedUid + "' then error('refused by the test') end\n"
                      "  return true\n"
                      "end";
  testing::OrthancServer orthanc(options);
  ASSERT_TRUE(orthanc.running()) << orthanc.startError();

  const auto results = dicom::StoreClient(peerOf(orthanc)).send(study_.files);
  ASSERT_EQ(results.size(), 16u);
  for (const auto& r : results) {
    if (r.file != refusedFile) {
      EXPECT_TRUE(r.ok) << r.error;
      continue;
    }
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, 0xA700);
    EXPECT_NE(r.error.find(refusedFile), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("status 0xA700"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  }
  ASSERT_TRUE(orthanc.waitForInstances(15)) << orthanc.instanceCount() << " instances in Orthanc\n" << orthanc.logTail();
  const auto held = instancesByUid(orthanc);
  EXPECT_EQ(held.count(refusedUid), 0u);
  EXPECT_EQ(held.size(), 15u);
}

}  // namespace
}  // namespace torcht1

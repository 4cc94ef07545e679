// The T1 map as a DICOM Parametric Map: valid, float values as given, what they mean, where
// they are, where they come from, and the same UIDs on every write.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmpmap/dpmparametricmapiod.h>

#include "Dciodvfy.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/ParametricMapWriter.h"
#include "torcht1/dicom/SeriesAssembler.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

std::string text(DcmItem& item, const DcmTagKey& tag) {
  OFString value;
  item.findAndGetOFStringArray(tag, value);
  return value.c_str();
}

/// Item `index` of `sequence` in `item`, or a test failure.
DcmItem& itemOf(DcmItem& item, const DcmTagKey& sequence, int index = 0) {
  DcmItem* found = nullptr;
  item.findAndGetSequenceItem(sequence, found, index);
  if (found == nullptr) {
    ADD_FAILURE() << "no item " << index << " in " << DcmTag(sequence).getTagName();
    static DcmItem empty;
    return empty;
  }
  return *found;
}

class ParametricMapWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torcht1-pmap-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.size = 32;
    options_.slices = 3;
    options_.seed = 5;
    phantom_ = phantom::PhantomGenerator(options_).generate();
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// The phantom written as DICOM (single frames, or one Enhanced MR object), read and assembled.
  dicom::MolliSeries source(bool enhanced = false) {
    const auto written = dicom::MolliSeriesWriter(options_, "pmap-test", {}, enhanced).write(phantom_, (dir_ / "in").string());
    std::vector<dicom::DicomInstance> instances;
    for (const auto& file : written.files) {
      for (auto& i : dicom::DicomInstanceReader().read(file)) instances.push_back(i);
    }
    auto assembled = dicom::SeriesAssembler(dicom::SeriesSelection{}).assemble(instances);
    EXPECT_EQ(assembled.series.size(), 1u);
    return assembled.series.at(0);
  }

  /// A T1 map: the phantom's truth with a fraction that 16-bit maps would lose, 0 in the background.
  dicom::MapSeries t1Map(const dicom::MolliSeries& series) const {
    dicom::MapSeries map{"T1_PARAMETRIC", "T1 map (float)", "DERIVED\\PRIMARY\\CARDIAC\\T1_MAP", "ms", 107,
                         1300, 1300, 1, 1, {}};
    const size_t voxels = static_cast<size_t>(series.rows) * series.cols;
    for (size_t s = 0; s < series.slices.size(); ++s) {
      dicom::SliceMap slice;
      for (size_t v = 0; v < voxels; ++v) {
        const size_t i = s * voxels + v;
        slice.values.push_back(phantom_.labels[i] == 0 ? 0.0f : phantom_.t1[i] + 0.123f * static_cast<float>(v % 7));
      }
      map.slices.push_back(std::move(slice));
    }
    return map;
  }

  fs::path dir_;
  phantom::PhantomOptions options_;
  phantom::Phantom phantom_;
};

TEST_F(ParametricMapWriterTest, PassesDciodvfyAndCarriesTheFloatValues) {
  const auto series = source();
  const auto map = t1Map(series);
  const auto files = dicom::ParametricMapWriter("9.9", "test fit").write(series, map, (dir_ / "out").string());
  ASSERT_EQ(files.size(), 1u) << "one multi-frame object per source series";
  testing::expectValid(files[0], "ParametricMap");

  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(files[0].c_str()).good());
  DcmDataset& ds = *format.getDataset();
  EXPECT_EQ(text(ds, DCM_SOPClassUID), "1.2.840.10008.5.1.4.1.1.30");
  EXPECT_EQ(text(ds, DCM_NumberOfFrames), "3") << "one frame per slice";
  EXPECT_EQ(text(ds, DCM_BitsAllocated), "32");
  EXPECT_FALSE(ds.tagExists(DCM_PixelData)) << "float values, not integers";
  const Float32* values = nullptr;
  unsigned long count = 0;
  ASSERT_TRUE(ds.findAndGetFloat32Array(DCM_FloatPixelData, values, &count).good());
  const size_t voxels = 32 * 32;
  ASSERT_EQ(count, 3 * voxels);
  size_t zeros = 0;
  for (size_t s = 0; s < 3; ++s) {
    for (size_t v = 0; v < voxels; ++v) {
      ASSERT_EQ(values[s * voxels + v], map.slices[s].values[v]) << "slice " << s << " voxel " << v << ": float32 as given";
      zeros += map.slices[s].values[v] == 0;
    }
  }
  EXPECT_GT(zeros, 100u) << "invalid voxels stay 0";

  // What the values are: T1 in ms, through an identity mapping.
  DcmItem& shared = itemOf(ds, DCM_SharedFunctionalGroupsSequence);
  DcmItem& rwvm = itemOf(shared, DCM_RealWorldValueMappingSequence);
  DcmItem& unit = itemOf(rwvm, DCM_MeasurementUnitsCodeSequence);
  EXPECT_EQ(text(unit, DCM_CodeValue), "ms");
  EXPECT_EQ(text(unit, DCM_CodingSchemeDesignator), "UCUM");
  EXPECT_EQ(text(unit, DCM_CodeMeaning), "millisecond");
  EXPECT_EQ(text(rwvm, DCM_RealWorldValueSlope), "1");
  EXPECT_EQ(text(rwvm, DCM_RealWorldValueIntercept), "0");
  DcmItem& quantity = itemOf(rwvm, DCM_QuantityDefinitionSequence);
  EXPECT_EQ(text(itemOf(quantity, DCM_ConceptNameCodeSequence), DCM_CodeMeaning), "Quantity");
  EXPECT_EQ(text(itemOf(quantity, DCM_ConceptCodeSequence), DCM_CodeValue), "113063");
  EXPECT_EQ(text(itemOf(quantity, DCM_ConceptCodeSequence), DCM_CodeMeaning), "T1");
  EXPECT_EQ(text(itemOf(shared, DCM_FrameVOILUTSequence), DCM_WindowCenter), "1300");

  // What it is and where it belongs.
  EXPECT_EQ(text(ds, DCM_ImageType), "DERIVED\\PRIMARY\\CARDIAC\\T1_MAP");
  EXPECT_EQ(text(itemOf(shared, DCM_ParametricMapFrameTypeSequence), DCM_FrameType), "DERIVED\\PRIMARY\\CARDIAC\\T1_MAP");
  EXPECT_EQ(text(ds, DCM_ContentLabel), "T1_MAP");
  EXPECT_FALSE(text(ds, DCM_ContentDate).empty());
  EXPECT_FALSE(text(ds, DCM_ContentTime).empty());
  EXPECT_EQ(text(ds, DCM_Manufacturer), "TorchT1 node");
  EXPECT_EQ(text(ds, DCM_SoftwareVersions), "9.9");
  EXPECT_EQ(text(ds, DCM_SeriesNumber), "112") << "source 5 + offset 107";
  EXPECT_EQ(text(ds, DCM_SeriesDescription), series.description + " T1 map (float)");
  const dicom::DicomInstance& first = series.slices[0].images[0];
  EXPECT_EQ(text(ds, DCM_StudyInstanceUID), first.studyInstanceUid);
  EXPECT_EQ(text(ds, DCM_FrameOfReferenceUID), first.frameOfReferenceUid);
  EXPECT_EQ(text(ds, DCM_PatientID), "TT1-5");
  EXPECT_EQ(text(ds, DCM_PatientName), "TorchT1^Phantom");
  EXPECT_NE(text(ds, DCM_SeriesInstanceUID), series.seriesInstanceUid);

  // DCMTK's own Parametric Map reader takes it as float frames.
  auto loaded = DPMParametricMapIOD::loadFile(files[0].c_str());
  DPMParametricMapIOD** pmap = OFget<DPMParametricMapIOD*>(&loaded);
  ASSERT_NE(pmap, nullptr) << "dcmpmap cannot read it back";
  std::unique_ptr<DPMParametricMapIOD> owned(*pmap);
  EXPECT_EQ(owned->getNumberOfFrames(), 3u);
  DPMParametricMapIOD::FramesType frames = owned->getFrames();
  auto* floats = OFget<DPMParametricMapIOD::Frames<Float32>>(&frames);
  ASSERT_NE(floats, nullptr);
  EXPECT_EQ(floats->getFrame(2)[500], map.slices[2].values[500]);
}

TEST_F(ParametricMapWriterTest, EveryFrameHasItsSliceGeometryAndSourceImages) {
  const auto series = source();
  const auto files = dicom::ParametricMapWriter("9.9", "test fit").write(series, t1Map(series), (dir_ / "out").string());
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(files[0].c_str()).good());
  DcmDataset& ds = *format.getDataset();
  std::set<std::string> allSources;
  for (size_t s = 0; s < series.slices.size(); ++s) {
    DcmItem& frame = itemOf(ds, DCM_PerFrameFunctionalGroupsSequence, static_cast<int>(s));
    const dicom::DicomInstance& image = series.slices[s].images[0];
    Float64 v = 0;
    for (unsigned k = 0; k < 3; ++k) {
      ASSERT_TRUE(itemOf(frame, DCM_PlanePositionSequence).findAndGetFloat64(DCM_ImagePositionPatient, v, k).good());
      EXPECT_NEAR(v, image.position[k], 1e-9) << "slice " << s;
    }
    for (unsigned k = 0; k < 6; ++k) {
      ASSERT_TRUE(itemOf(frame, DCM_PlaneOrientationSequence).findAndGetFloat64(DCM_ImageOrientationPatient, v, k).good());
      EXPECT_NEAR(v, image.orientation[k], 1e-9);
    }
    DcmItem& measures = itemOf(frame, DCM_PixelMeasuresSequence);
    for (unsigned k = 0; k < 2; ++k) {
      ASSERT_TRUE(measures.findAndGetFloat64(DCM_PixelSpacing, v, k).good());
      EXPECT_NEAR(v, image.spacing[k], 1e-9);
    }
    ASSERT_TRUE(measures.findAndGetFloat64(DCM_SliceThickness, v).good());
    EXPECT_EQ(v, 8.0);
    EXPECT_EQ(text(itemOf(frame, DCM_FrameContentSequence), DCM_DimensionIndexValues), std::to_string(s + 1));

    // The frame is derived from exactly its slice's images.
    DcmItem& derivation = itemOf(frame, DCM_DerivationImageSequence);
    EXPECT_NE(text(derivation, DCM_DerivationDescription).find("TorchT1 node 9.9: test fit"), std::string::npos);
    DcmSequenceOfItems* sources = nullptr;
    ASSERT_TRUE(derivation.findAndGetSequence(DCM_SourceImageSequence, sources).good());
    std::set<std::string> referenced, expected;
    for (unsigned long i = 0; i < sources->card(); ++i) {
      referenced.insert(text(*sources->getItem(i), DCM_ReferencedSOPInstanceUID));
      EXPECT_EQ(text(*sources->getItem(i), DCM_ReferencedSOPClassUID), UID_MRImageStorage);
    }
    for (const auto& i : series.slices[s].images) expected.insert(i.sopInstanceUid);
    EXPECT_EQ(referenced, expected) << "slice " << s;
    allSources.insert(expected.begin(), expected.end());
  }
  EXPECT_EQ(allSources.size(), 3u * 8u);
  // And the series as a whole (Common Instance Reference).
  DcmItem& referencedSeries = itemOf(ds, DCM_ReferencedSeriesSequence);
  EXPECT_EQ(text(referencedSeries, DCM_SeriesInstanceUID), series.seriesInstanceUid);
  DcmSequenceOfItems* instances = nullptr;
  ASSERT_TRUE(referencedSeries.findAndGetSequence(DCM_ReferencedInstanceSequence, instances).good());
  EXPECT_EQ(instances->card(), allSources.size());
}

TEST_F(ParametricMapWriterTest, WritingAgainGivesTheSameUids) {
  const auto series = source();
  const auto map = t1Map(series);
  const dicom::ParametricMapWriter writer("9.9", "test fit");
  const auto a = writer.write(series, map, (dir_ / "a").string());
  const auto b = writer.write(series, map, (dir_ / "b").string());
  DcmFileFormat fa, fb;
  ASSERT_TRUE(fa.loadFile(a[0].c_str()).good());
  ASSERT_TRUE(fb.loadFile(b[0].c_str()).good());
  for (const auto& tag : {DCM_SOPInstanceUID, DCM_SeriesInstanceUID, DCM_StudyInstanceUID, DCM_FrameOfReferenceUID}) {
    EXPECT_EQ(text(*fa.getDataset(), tag), text(*fb.getDataset(), tag)) << DcmTag(tag).getTagName();
    EXPECT_FALSE(text(*fa.getDataset(), tag).empty());
  }
  EXPECT_EQ(text(itemOf(*fa.getDataset(), DCM_DimensionOrganizationSequence), DCM_DimensionOrganizationUID),
            text(itemOf(*fb.getDataset(), DCM_DimensionOrganizationSequence), DCM_DimensionOrganizationUID));
  EXPECT_EQ(fs::path(a[0]).filename(), fs::path(b[0]).filename());
  EXPECT_EQ(fs::path(a[0]).parent_path().filename(), text(*fa.getDataset(), DCM_SeriesInstanceUID));
  // A re-fit (version 2) is a new series; so is the MR T1 map of the same source.
  auto refit = map;
  refit.version = 2;
  const auto c = writer.write(series, refit, (dir_ / "c").string());
  DcmFileFormat fc;
  ASSERT_TRUE(fc.loadFile(c[0].c_str()).good());
  EXPECT_NE(text(*fc.getDataset(), DCM_SeriesInstanceUID), text(*fa.getDataset(), DCM_SeriesInstanceUID));
  EXPECT_NE(text(*fc.getDataset(), DCM_SOPInstanceUID), text(*fa.getDataset(), DCM_SOPInstanceUID));
}

TEST_F(ParametricMapWriterTest, EnhancedSourceFramesAreReferencedByNumber) {
  options_.slices = 2;
  phantom_ = phantom::PhantomGenerator(options_).generate();
  const auto series = source(true);
  const auto files = dicom::ParametricMapWriter("9.9", "test fit").write(series, t1Map(series), (dir_ / "out").string());
  testing::expectValid(files[0], "ParametricMap");
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(files[0].c_str()).good());
  DcmItem& frame = itemOf(*format.getDataset(), DCM_PerFrameFunctionalGroupsSequence, 1);
  DcmItem& derivation = itemOf(frame, DCM_DerivationImageSequence);
  DcmItem& reference = itemOf(derivation, DCM_SourceImageSequence, 0);
  EXPECT_EQ(text(reference, DCM_ReferencedSOPClassUID), UID_EnhancedMRImageStorage);
  EXPECT_EQ(text(reference, DCM_ReferencedFrameNumber), std::to_string(series.slices[1].images[0].frame));
}

TEST_F(ParametricMapWriterTest, LongDescriptionsKeepTheSuffixWithinSixtyFourCharacters) {
  auto series = source();
  series.description = std::string(70, 'x');
  const auto files = dicom::ParametricMapWriter("9.9", "test fit").write(series, t1Map(series), (dir_ / "out").string());
  DcmFileFormat format;
  ASSERT_TRUE(format.loadFile(files[0].c_str()).good());
  const std::string description = text(*format.getDataset(), DCM_SeriesDescription);
  EXPECT_EQ(description.size(), 64u);
  EXPECT_EQ(description.substr(description.size() - 15), " T1 map (float)");
  testing::expectValid(files[0], "ParametricMap");
}

TEST_F(ParametricMapWriterTest, WrongSizesAreOneLineErrors) {
  const auto series = source();
  auto map = t1Map(series);
  map.slices[1].values.pop_back();
  try {
    dicom::ParametricMapWriter("9.9", "test fit").write(series, map, (dir_ / "out").string());
    FAIL() << "expected an error";
  } catch (const dicom::DicomError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("PMAP_1.dcm: map has 1023 values for a 32x32 image"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
  map = t1Map(series);
  map.slices.pop_back();
  try {
    dicom::ParametricMapWriter("9.9", "test fit").write(series, map, (dir_ / "out").string());
    FAIL() << "expected an error";
  } catch (const dicom::DicomError& e) {
    EXPECT_NE(std::string(e.what()).find("PMAP_1.dcm: 2 map slices for 3 source slices"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace torcht1

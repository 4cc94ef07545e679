// What a derived object takes over from its source: valid values as they are, repairable
// ones repaired, the rest left out, empty or replaced as the attribute's type demands.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "SourceAttributes.h"

namespace fs = std::filesystem;

namespace torcht1::dicom {
namespace {

using Rule = SourceAttributes::Rule;
using Type = SourceAttributes::Type;

class SourceAttributesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = fs::temp_directory_path() / ("torcht1-srcattr-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".dcm");
  }
  void TearDown() override { fs::remove(file_); }

  /// A source with `values` (tag, text) and nothing else of note.
  SourceAttributes source(const std::vector<std::pair<DcmTagKey, std::string>>& values) {
    DcmFileFormat ff;
    DcmDataset& ds = *ff.getDataset();
    ds.putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage);
    ds.putAndInsertString(DCM_SOPInstanceUID, "1.2.3.4");
    for (const auto& [tag, text] : values) {
      EXPECT_TRUE(ds.putAndInsertOFStringArray(tag, text.c_str()).good()) << DcmTag(tag).getTagName();
    }
    EXPECT_TRUE(ff.saveFile(file_.c_str(), EXS_LittleEndianExplicit).good());
    DicomInstance instance;
    instance.path = file_.string();
    return SourceAttributes(instance);
  }

  static std::string value(DcmItem& ds, const DcmTagKey& tag) {
    OFString v;
    ds.findAndGetOFStringArray(tag, v);
    return v.c_str();
  }
  static bool has(DcmItem& ds, const DcmTagKey& tag) { return ds.tagExists(tag); }

  fs::path file_;
};

TEST_F(SourceAttributesTest, ValidValuesAreCopiedAsTheyAreWithoutANote) {
  const auto src = source({{DCM_PatientName, "Doe^Jane"}, {DCM_PatientSex, "F"}, {DCM_StudyDate, "20261206"},
                           {DCM_PatientPosition, "HFS"}, {DCM_ScanningSequence, "GR\\IR"}});
  DcmDataset out;
  const std::vector<Rule> rules = {{DCM_PatientName, Type::Present},
                                   {DCM_PatientSex, Type::Present, "1", {"M", "F", "O"}},
                                   {DCM_StudyDate, Type::Present},
                                   {DCM_PatientPosition, Type::Present, "1", {"HFS", "FFS"}},
                                   {DCM_ScanningSequence, Type::Required, "1-n", {"SE", "IR", "GR"}, "RM"}};
  EXPECT_TRUE(src.copy(out, rules).empty());
  EXPECT_EQ(value(out, DCM_PatientName), "Doe^Jane");
  EXPECT_EQ(value(out, DCM_PatientSex), "F");
  EXPECT_EQ(value(out, DCM_StudyDate), "20261206");
  EXPECT_EQ(value(out, DCM_PatientPosition), "HFS");
  EXPECT_EQ(value(out, DCM_ScanningSequence), "GR\\IR");
}

TEST_F(SourceAttributesTest, EachTypeHasItsOwnAnswerToAnUnusableValue) {
  const auto src = source({{DCM_PatientSex, "X"}, {DCM_ScanningSequence, "XX"}, {DCM_PatientAge, "fifty"}});
  DcmDataset out;
  const auto notes = src.copy(out, {{DCM_PatientSex, Type::Present, "1", {"M", "F", "O"}},
                                    {DCM_ScanningSequence, Type::Required, "1-n", {"SE", "IR", "GR"}, "RM"},
                                    {DCM_PatientAge, Type::Optional},
                                    {DCM_PatientWeight, Type::Optional},
                                    {DCM_PatientBirthDate, Type::Present}});
  // Type 2: present and empty; type 1: the fallback; type 3: left out.
  EXPECT_TRUE(has(out, DCM_PatientSex));
  EXPECT_EQ(value(out, DCM_PatientSex), "");
  EXPECT_EQ(value(out, DCM_ScanningSequence), "RM");
  EXPECT_FALSE(has(out, DCM_PatientAge)) << "AS 'fifty' is not valid";
  EXPECT_FALSE(has(out, DCM_PatientWeight));
  EXPECT_TRUE(has(out, DCM_PatientBirthDate)) << "absent type 2 is written empty";
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_EQ(notes[0], "PatientSex 'X' not valid, written empty");
  EXPECT_EQ(notes[1], "ScanningSequence 'XX' not valid, written as RM");
  EXPECT_EQ(notes[2], "PatientAge 'fifty' not valid, left out");
  EXPECT_EQ(notes[3], "PatientBirthDate absent, written empty");
}

TEST_F(SourceAttributesTest, RepairableValuesAreRepairedAndSaidSo) {
  const auto src = source({{DCM_StudyDate, "2026-12-06"},
                           {DCM_StudyTime, "06:49:47.25"},
                           {DCM_MRAcquisitionType, "2d"},
                           {DCM_ScanOptions, "PFP\\WEIRD\\FS"},
                           {DCM_SeriesDate, "2026.12.06"}});
  DcmDataset out;
  const auto notes = src.copy(out, {{DCM_StudyDate, Type::Present},
                                    {DCM_StudyTime, Type::Present},
                                    {DCM_MRAcquisitionType, Type::Present, "1", {"2D", "3D"}},
                                    {DCM_ScanOptions, Type::Present, "1-n", {"PFP", "FS"}},
                                    {DCM_SeriesDate, Type::Optional}});
  EXPECT_EQ(value(out, DCM_StudyDate), "20261206");
  EXPECT_EQ(value(out, DCM_StudyTime), "064947.25");
  EXPECT_EQ(value(out, DCM_MRAcquisitionType), "2D");
  EXPECT_EQ(value(out, DCM_ScanOptions), "PFP\\FS") << "the term that is not a defined one is dropped";
  EXPECT_EQ(value(out, DCM_SeriesDate), "20261206");
  ASSERT_EQ(notes.size(), 5u);
  EXPECT_EQ(notes[0], "StudyDate '2026-12-06' written as 20261206");
  EXPECT_EQ(notes[2], "MRAcquisitionType '2d' written as 2D");
}

TEST_F(SourceAttributesTest, LengthAndMultiplicityAreCheckedPerVr) {
  const std::string group(65, 'a');
  const auto src = source({{DCM_StudyID, std::string(17, '1')},
                           {DCM_PatientName, group},
                           {DCM_AccessionNumber, "A\\B"},
                           {DCM_PatientID, std::string(64, 'x')},
                           {DCM_ReferringPhysicianName, "Smith^John=" + std::string(60, 'b')}});
  DcmDataset out;
  src.copy(out, {{DCM_StudyID, Type::Present},
                 {DCM_PatientName, Type::Present},
                 {DCM_AccessionNumber, Type::Present},
                 {DCM_PatientID, Type::Present},
                 {DCM_ReferringPhysicianName, Type::Present}});
  EXPECT_EQ(value(out, DCM_StudyID), "") << "SH holds 16 characters";
  EXPECT_EQ(value(out, DCM_PatientName), "") << "a PN component group holds 64";
  EXPECT_EQ(value(out, DCM_AccessionNumber), "") << "VM 1";
  EXPECT_EQ(value(out, DCM_PatientID), std::string(64, 'x')) << "LO holds exactly 64";
  EXPECT_EQ(value(out, DCM_ReferringPhysicianName), "Smith^John=" + std::string(60, 'b')) << "64 per group";
}

TEST_F(SourceAttributesTest, Utf8ValuesAreMeasuredInCharactersNotBytes) {
  std::string name;
  for (int i = 0; i < 60; ++i) name += "\xC3\xA9";  // é: 120 bytes, 60 characters
  const auto src = source({{DCM_SpecificCharacterSet, "ISO_IR 192"}, {DCM_PatientName, name}});
  DcmDataset out;
  EXPECT_TRUE(src.copy(out, SourceAttributes::patientAndStudy()).size() > 0);  // the absent type 2 ones
  EXPECT_EQ(value(out, DCM_PatientName), name);
  EXPECT_EQ(value(out, DCM_SpecificCharacterSet), "ISO_IR 192");
}

TEST_F(SourceAttributesTest, TheStudyUidIsKeptWhateverItHolds) {
  const auto src = source({{DCM_StudyInstanceUID, "1.2.03.x"}});
  DcmDataset out;
  src.copy(out, SourceAttributes::patientAndStudy());
  EXPECT_EQ(value(out, DCM_StudyInstanceUID), "1.2.03.x") << "a map outside its study is worse";
}

TEST_F(SourceAttributesTest, LateralityFollowsTheBodyPart) {
  struct Case {
    std::string bodyPart, laterality;
    bool frameLaterality;
    std::string wantPart;
    bool wantLaterality;
    std::string wantLateralityValue;
  };
  const std::vector<Case> cases = {
      {"HEART", "L", false, "HEART", false, ""},     // unpaired: none, whatever the source says
      {"heart", "", false, "HEART", false, ""},      // uppercased when that makes it valid
      {"THORAX", "", false, "CHEST", false, ""},     // the standard's term for it
      {"CARDIAC", "", false, "HEART", false, ""},
      {"", "", false, "", true, ""},                  // unknown part: laterality unknown (empty)
      {"KNEE", "R", false, "KNEE", true, "R"},        // paired: the source's
      {"KNEE", "X", false, "KNEE", true, ""},         // paired, invalid laterality: unknown
      {"KNEE", "R", true, "KNEE", false, ""},         // Parametric Map: each frame states its own
  };
  for (const auto& c : cases) {
    std::vector<std::pair<DcmTagKey, std::string>> values;
    if (!c.bodyPart.empty()) values.emplace_back(DCM_BodyPartExamined, c.bodyPart);
    if (!c.laterality.empty()) values.emplace_back(DCM_Laterality, c.laterality);
    const auto src = source(values);
    DcmDataset out;
    src.copyBodyPart(out, c.frameLaterality);
    const std::string what = c.bodyPart + "/" + c.laterality + (c.frameLaterality ? "/frame" : "");
    EXPECT_EQ(value(out, DCM_BodyPartExamined), c.wantPart) << what;
    EXPECT_EQ(has(out, DCM_BodyPartExamined), !c.wantPart.empty()) << what;
    EXPECT_EQ(has(out, DCM_Laterality), c.wantLaterality) << what;
    EXPECT_EQ(value(out, DCM_Laterality), c.wantLateralityValue) << what;
  }
}

TEST_F(SourceAttributesTest, EveryUnpairedTermGetsNoLaterality) {
  for (const auto& term : SourceAttributes::unpairedTerms()) {
    const auto src = source({{DCM_BodyPartExamined, term}, {DCM_Laterality, "R"}});
    DcmDataset out;
    src.copyBodyPart(out);
    EXPECT_EQ(value(out, DCM_BodyPartExamined), term);
    EXPECT_FALSE(has(out, DCM_Laterality)) << term;
  }
  EXPECT_FALSE(SourceAttributes::unpaired("KIDNEY"));
  EXPECT_FALSE(SourceAttributes::unpaired("BREAST"));
}

TEST_F(SourceAttributesTest, DescribeMakesAValidLoAndKeepsTheSuffix) {
  EXPECT_EQ(SourceAttributes::describe("MOLLI 5(3)3", "T1 map"), "MOLLI 5(3)3 T1 map");
  EXPECT_EQ(SourceAttributes::describe("", "T1 map"), "MOLLI T1 map");
  EXPECT_EQ(SourceAttributes::describe("a\\b\tc", "T1 map"), "a b c T1 map");
  const std::string d = SourceAttributes::describe(std::string(100, 'x'), "T1 SD map");
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d.substr(d.size() - 10), " T1 SD map");
  std::string accents;
  for (int i = 0; i < 40; ++i) accents += "\xC3\xA9";
  const std::string u = SourceAttributes::describe(accents, "T1 map");
  EXPECT_LE(u.size(), 64u);
  const std::string head = u.substr(0, u.size() - 7);
  EXPECT_EQ(head.size() % 2, 0u) << "no UTF-8 sequence cut in half: " << u;
}

}  // namespace
}  // namespace torcht1::dicom

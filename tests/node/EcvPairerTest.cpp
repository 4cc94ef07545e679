// Which native series a post-contrast series pairs with, slice by slice: the latest native
// series of the study acquired before it, at the same position and orientation; the post one
// arriving first; other studies; two native series.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "torcht1/node/EcvPairer.h"

namespace torcht1 {
namespace {

constexpr double kRow[3] = {1, 0, 0}, kCol[3] = {0, 1, 0};  // axial: normal (0, 0, 1)

node::FittedT1Series series(const std::string& uid, const std::string& study, bool post, const std::string& when,
                            int number, const std::vector<double>& positions, bool tilted = false) {
  node::FittedT1Series s;
  s.series.seriesInstanceUid = uid;
  s.series.description = uid;
  s.series.postContrast = post;
  s.series.rows = s.series.cols = 16;
  for (const double z : positions) {
    dicom::MolliSlice slice;
    dicom::DicomInstance im;
    im.studyInstanceUid = study;
    im.seriesInstanceUid = uid;
    im.seriesDateTime = when;
    im.seriesNumber = number;
    for (int k = 0; k < 3; ++k) {
      im.orientation[k] = kRow[k];
      im.orientation[3 + k] = kCol[k];
    }
    if (tilted) {  // rows turned 20 degrees about the column direction
      im.orientation[0] = 0.9397;
      im.orientation[2] = 0.342;
    }
    im.position = {0, 0, z};
    im.spacing = {1.5, 1.5};
    slice.images.push_back(im);
    s.series.slices.push_back(slice);
    s.t1.emplace_back(256, 1000.0f);
  }
  return s;
}

TEST(EcvPairerTest, ThePostSeriesPairsWithTheLatestNativeSeriesBeforeIt) {
  const node::EcvPairer pairer(mapping::EcvOptions{});
  const auto early = series("native-1", "study", false, "20261207100000", 5, {-10, 0, 10});
  const auto late = series("native-2", "study", false, "20261207101000", 6, {-10, 0, 10});
  const auto after = series("native-3", "study", false, "20261207103000", 9, {-10, 0, 10});  // after the post one
  const auto post = series("post", "study", true, "20261207102000", 8, {0.8, 10});
  const auto pairing = pairer.pair(post, {&early, &after, &late, &post});
  ASSERT_NE(pairing.native, nullptr) << pairing.reason;
  EXPECT_EQ(pairing.native->series.seriesInstanceUid, "native-2");
  EXPECT_EQ(pairing.nativeSlice, (std::vector<int>{1, 2}));
  EXPECT_NE(pairing.note.find("the latest of 2 native series before it"), std::string::npos) << pairing.note;
  // Only native series acquired after it: none is a native partner (they saw the contrast).
  const auto none = pairer.pair(post, {&after});
  EXPECT_EQ(none.native, nullptr);
  EXPECT_NE(none.reason.find("acquired before it"), std::string::npos) << none.reason;
}

TEST(EcvPairerTest, WithoutTimesTheSeriesNumberOrdersThem) {
  const node::EcvPairer pairer(mapping::EcvOptions{});
  const auto a = series("native-a", "study", false, "", 3, {0});
  const auto b = series("native-b", "study", false, "", 4, {0});
  const auto post = series("post", "study", true, "", 7, {0});
  const auto pairing = pairer.pair(post, {&b, &a});
  ASSERT_NE(pairing.native, nullptr) << pairing.reason;
  EXPECT_EQ(pairing.native->series.seriesInstanceUid, "native-b");
}

TEST(EcvPairerTest, APostSeriesFirstOrFromAnotherStudyHasNoPartnerYet) {
  const node::EcvPairer pairer(mapping::EcvOptions{});
  const auto post = series("post", "study", true, "20261207102000", 8, {0});
  EXPECT_EQ(pairer.pair(post, {&post}).native, nullptr);
  EXPECT_NE(pairer.pair(post, {&post}).reason.find("no native T1 series of this study"), std::string::npos);
  const auto other = series("native", "another study", false, "20261207100000", 5, {0});
  EXPECT_EQ(pairer.pair(post, {&other}).native, nullptr);
  const auto otherPost = series("post-2", "study", true, "20261207101000", 7, {0});
  EXPECT_EQ(pairer.pair(post, {&otherPost}).native, nullptr) << "a post-contrast series is never the native partner";
}

TEST(EcvPairerTest, SlicesElsewhereOrTiltedDoNotPairAndSayWhy) {
  const node::EcvPairer pairer(mapping::EcvOptions{});
  const auto native = series("native", "study", false, "20261207100000", 5, {-10, 0, 10});
  const auto post = series("post", "study", true, "20261207102000", 8, {0, 4.5});
  const auto pairing = pairer.pair(post, {&native});
  ASSERT_NE(pairing.native, nullptr);
  EXPECT_EQ(pairing.nativeSlice, (std::vector<int>{1, -1}));
  EXPECT_EQ(pairing.sliceReasons[1], "no native slice within 2.0 mm (nearest 4.5 mm away)");
  const auto tilted = series("tilted", "study", true, "20261207102000", 8, {0}, true);
  const auto none = pairer.pair(tilted, {&native});
  EXPECT_EQ(none.native, nullptr);
  EXPECT_NE(none.reason.find("no native slice of the same orientation"), std::string::npos) << none.reason;
  // make() of a pairing with unpaired slices reports them, one line each.
  const auto outcome = pairer.make(pairing, 0.42);
  ASSERT_EQ(outcome.lines.size(), 2u);
  EXPECT_NE(outcome.lines[1].find("slice 2: no ECV: no native slice within 2.0 mm"), std::string::npos) << outcome.lines[1];
  EXPECT_NE(outcome.lines[0].find("slice 1: no ECV: no blood pool"), std::string::npos) << outcome.lines[0];
  EXPECT_EQ(outcome.made, 0);
}

TEST(EcvPairerTest, EachSlicePairsWithTheLatestNativeSeriesThatHasIt) {
  // A full native stack, then a native repeat of the mid slice only (a breath-hold redone):
  // the mid post slice pairs with the repeat, the others with the full stack.
  const node::EcvPairer pairer(mapping::EcvOptions{});
  const auto stack = series("native-stack", "study", false, "20261207100000", 5, {-10, 0, 10});
  const auto repeat = series("native-repeat", "study", false, "20261207100500", 6, {0.5});
  const auto post = series("post", "study", true, "20261207102000", 8, {-10, 0, 10, 20});
  const auto pairing = pairer.pair(post, {&repeat, &stack, &post});
  ASSERT_NE(pairing.native, nullptr) << pairing.reason;
  EXPECT_EQ(pairing.native->series.seriesInstanceUid, "native-repeat") << "the latest one used is the source";
  ASSERT_EQ(pairing.nativeOf.size(), 4u);
  EXPECT_EQ(pairing.nativeOf[0], &stack);
  EXPECT_EQ(pairing.nativeOf[1], &repeat);
  EXPECT_EQ(pairing.nativeOf[2], &stack);
  EXPECT_EQ(pairing.nativeOf[3], nullptr);
  EXPECT_EQ(pairing.nativeSlice, (std::vector<int>{0, 0, 2, -1}));
  EXPECT_NE(pairing.sliceReasons[3].find("nearest 10.0 mm away"), std::string::npos) << pairing.sliceReasons[3];
  EXPECT_EQ(pairing.natives.size(), 2u);
  EXPECT_NE(pairing.note.find("slice 2 with native-repeat"), std::string::npos) << pairing.note;
  EXPECT_NE(pairing.note.find("slice 1 with native-stack"), std::string::npos) << pairing.note;
}

}  // namespace
}  // namespace torcht1

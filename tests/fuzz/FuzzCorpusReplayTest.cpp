// The committed fuzzing corpus (fuzz/corpus/), seeds and the inputs that once found a bug,
// through the fuzzers' own functions in the normal build: every input ends in a result, not
// a crash, an escaped exception or a reason of more than one line.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "FuzzHarness.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

std::vector<fs::path> corpus(const std::string& name) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(TORCHT1_SOURCE_DIR) / "fuzz" / "corpus" / name)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string bytesOf(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename Run>
void replay(const std::string& name, Run run) {
  const auto files = corpus(name);
  ASSERT_GE(files.size(), 5u) << "fuzz/corpus/" << name << " is committed";
  for (const auto& file : files) {
    const std::string bytes = bytesOf(file);
    try {
      const std::string summary = run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      std::cout << file.filename().string() << ": " << summary.substr(0, 160) << "\n";
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
    }
  }
}

TEST(FuzzCorpusReplay, DicomCorpusEndsInResults) { replay("dicom", fuzz::runDicomInput); }

TEST(FuzzCorpusReplay, ConfigCorpusEndsInResults) { replay("config", fuzz::runConfigInput); }

TEST(FuzzCorpusReplay, ASeriesSeedIsPreparedForTheFit) {
  const std::string bytes = bytesOf(fs::path(TORCHT1_SOURCE_DIR) / "fuzz" / "corpus" / "dicom" / "seed-series-explicit");
  EXPECT_EQ(fuzz::runDicomInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
            "8 files, 0 unreadable, 8 images, 0 series rejected, 1 prepared, 0 failed to load, 0 groups invalid, 0 skipped");
}

}  // namespace
}  // namespace torcht1

// What the config fuzzer (fuzz/ConfigFuzzer.cpp) found: every input is a ConfigError of one
// line naming where, never another exception.

#include <gtest/gtest.h>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/SeriesAssembler.h"

namespace torcht1 {
namespace {

std::string errorOf(const std::string& yaml, const std::map<std::string, std::string>& env = {}) {
  try {
    config::NodeConfig::fromYaml(yaml, "node.yaml", env);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(HostileConfig, ListsAndMappingsAsKeysAreConfigErrors) {
  // yaml-cpp's own "bad conversion" escaped before, without file, line or key.
  EXPECT_EQ(errorOf("{[a]: 1}"), "node.yaml:1:2: (section): a key must be a name, not a list or mapping");
  EXPECT_EQ(errorOf("node:\n  {port: 1}: 2\n"), "node.yaml:2:3: node: a key must be a name, not a list or mapping");
  EXPECT_EQ(errorOf("fit:\n  lm:\n    [x]: 1\n"), "node.yaml:3:5: fit.lm: a key must be a name, not a list or mapping");
}

TEST(HostileConfig, ErrorsAreOneLineWhateverTheValuesHold) {
  const std::string value = errorOf("node:\n  ae_title: \"A\\nB\"\n");
  EXPECT_EQ(value, "node.yaml:2:13: node.ae_title: 'A\\nB' has a character not allowed in an AE title");
  const std::string block = errorOf("fit:\n  solver: |\n    two\n    lines\n");
  EXPECT_EQ(block.find('\n'), std::string::npos) << block;
  const std::string variable = errorOf("", {{"TORCHT1_NODE\n__PORT", "1"}});
  EXPECT_EQ(variable.find('\n'), std::string::npos) << variable;
  EXPECT_NE(variable.find("TORCHT1_NODE\\n__PORT"), std::string::npos) << variable;
}

TEST(HostileConfig, DescriptionPatternsAreCheckedBeforeStdRegexSeesThem) {
  // A 19-digit repetition count overflowed a long inside libstdc++'s regex compiler
  // (undefined behaviour, found by UBSan in torcht1_config_fuzzer).
  EXPECT_EQ(errorOf("input:\n  description_pattern: 'a{1111111111111111111}'\n"),
            "node.yaml:2:24: input.description_pattern: 'a{1111111111111111111}' has a number of more than 6 digits");
  EXPECT_EQ(errorOf("input:\n  description_pattern: '" + std::string(300, 'a') + "'\n"),
            "node.yaml:2:24: input.description_pattern: '" + std::string(300, 'a') + "' is longer than 256 characters");
  EXPECT_EQ(errorOf("input:\n  description_pattern: 'molli|t1{2,10}'\n"), "no error");
  EXPECT_THROW(dicom::SeriesAssembler(dicom::SeriesSelection{"x{99999999}", 5, 0.5}), dicom::DicomError);
}

}  // namespace
}  // namespace torcht1

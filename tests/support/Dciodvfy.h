#pragma once

// Runs dicom3tools' dciodvfy on a file, for tests that judge the DICOM we write.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace torcht1::testing {

/// Everything dciodvfy printed about `file` (its IOD name, then any "Error -" and
/// "Warning -" lines).
inline std::string dciodvfy(const std::string& file) {
  const std::string command = "dciodvfy '" + file + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "could not run dciodvfy";
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  ::pclose(pipe);
  return output;
}

/// dciodvfy recognises `file` as `iod` and reports neither an error nor a warning.
inline void expectValid(const std::string& file, const std::string& iod) {
  const std::string out = dciodvfy(file);
  EXPECT_NE(out.find(iod), std::string::npos) << file << ": not recognised as " << iod << "\n" << out;
  EXPECT_EQ(out.find("Error"), std::string::npos) << file << "\n" << out;
  EXPECT_EQ(out.find("Warning"), std::string::npos) << file << "\n" << out;
}

}  // namespace torcht1::testing

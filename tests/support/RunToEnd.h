#pragma once

// Running a program (torcht1, storescu, echoscu, openssl) to its end in a test, and what the
// tests then look at: its exit state and output, and the files it left in a folder.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "ChildProcess.h"
#include "NodeLog.h"

namespace torcht1::testing {

struct Ran {
  std::string state;   // "exited with status N", ...
  std::string output;  // stdout and stderr
};

inline const std::string kExitedOk = "exited with status 0";

/// Runs a program to its end (at most `timeout`), its output in `outputFile`.
inline Ran runToEnd(const std::vector<std::string>& arguments, const std::filesystem::path& outputFile,
                    const std::vector<std::string>& environment = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  ChildProcess process(arguments, outputFile.string(), environment);
  if (!process.waitForExit(timeout)) {
    process.stop(std::chrono::seconds(1));
    return {"still running after " + std::to_string(timeout.count()) + " ms", readFile(outputFile)};
  }
  return {process.state(), readFile(outputFile)};
}

/// Regular files directly in `dir` (none when it does not exist), sorted.
inline std::vector<std::filesystem::path> filesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace torcht1::testing

#include "FuzzHarness.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "torcht1/config/ConfigError.h"
#include "torcht1/config/NodeConfig.h"
#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/SeriesAssembler.h"
#include "torcht1/mapping/FitError.h"
#include "torcht1/node/SeriesMapper.h"

namespace fs = std::filesystem;

namespace torcht1::fuzz {

namespace {

/// Pixels (images x rows x columns) of one series the harness decodes: the node takes up
/// to InputLimits::kMaxSeriesPixels, a fuzzer must stay fast.
constexpr int64_t kMaxFuzzPixels = int64_t{1} << 22;

std::vector<std::string_view> split(std::string_view all, std::string_view separator, size_t most) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < most) {
    const size_t at = all.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(all.substr(0, at));
    all.remove_prefix(at + separator.size());
  }
  parts.push_back(all);
  return parts;
}

/// Reasons and errors are one line (the node logs them as one field of one line).
void checkOneLine(const std::string& message) {
  if (message.find_first_of("\r\n") != std::string::npos) throw std::logic_error("a message of more than one line: " + message);
}

/// Where the input's files are written: one folder per process, removed at exit.
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("torcht1-fuzz-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& scratch() {
  static const Scratch folder;
  return folder.dir;
}

const node::SeriesMapper& mapper() {
  static const node::SeriesMapper instance = [] {
    mapping::FitOptions fit;
    fit.device = "cpu";
    return node::SeriesMapper(fit, config::OutputConfig::Output{}, "fuzz");
  }();
  return instance;
}

}  // namespace

std::string runDicomInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const bool triggerTimeFallback = size > 0 && (data[0] & 1) != 0;
  const auto parts = split(bytes, kFileSeparator, 64);
  std::vector<dicom::DicomInstance> instances;
  size_t unreadable = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string file = (scratch() / (std::to_string(i) + ".dcm")).string();
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(parts[i].data(), static_cast<std::streamsize>(parts[i].size()));
    try {
      for (auto& instance : dicom::DicomInstanceReader(triggerTimeFallback).read(file)) {
        instances.push_back(std::move(instance));
      }
    } catch (const dicom::DicomError& e) {
      checkOneLine(e.what());
      ++unreadable;
    }
  }
  const dicom::SeriesAssembler assembler(dicom::SeriesSelection{});
  const auto assembled = assembler.assemble(instances);
  for (const auto& rejected : assembled.rejected) checkOneLine(rejected.reason);
  size_t prepared = 0, failed = 0, invalid = 0, skipped = 0;
  std::string firstError;
  for (const auto& series : assembled.series) {
    int64_t pixels = 0;
    for (const auto& slice : series.slices) pixels += static_cast<int64_t>(slice.images.size()) * series.rows * series.cols;
    if (pixels > kMaxFuzzPixels) {
      ++skipped;
      continue;
    }
    try {
      const node::PreparedSeries p = mapper().prepare(series);
      ++prepared;
      for (const auto& group : p.groups) {
        try {
          group.input.validate(3);
        } catch (const mapping::FitError& e) {
          checkOneLine(e.what());
          if (firstError.empty()) firstError = e.what();
          ++invalid;
        }
      }
    } catch (const dicom::DicomError& e) {
      checkOneLine(e.what());
      if (firstError.empty()) firstError = e.what();
      ++failed;
    }
  }
  return std::to_string(parts.size()) + " files, " + std::to_string(unreadable) + " unreadable, " +
         std::to_string(instances.size()) + " images, " + std::to_string(assembled.rejected.size()) +
         " series rejected, " + std::to_string(prepared) + " prepared, " + std::to_string(failed) +
         " failed to load, " + std::to_string(invalid) + " groups invalid, " + std::to_string(skipped) + " skipped" +
         (firstError.empty() ? "" : " (" + firstError + ")");
}

std::string runConfigInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto parts = split(bytes, kEnvironmentSeparator, 2);
  std::map<std::string, std::string> environment;
  if (parts.size() == 2) {
    for (std::string_view line : split(parts[1], "\n", 16)) {
      const size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      std::string name(line.substr(0, eq));
      if (name.rfind("TORCHT1_", 0) != 0) name = "TORCHT1_" + name;
      environment[name] = std::string(line.substr(eq + 1));
    }
  }
  try {
    const config::Settings settings = config::NodeConfig::fromYaml(std::string(parts[0]), "fuzz.yaml", environment);
    const std::string described = config::NodeConfig::describe(settings);
    return "valid: " + std::to_string(described.size()) + " characters described";
  } catch (const config::ConfigError& e) {
    checkOneLine(e.what());
    return std::string("error: ") + e.what();
  }
}

}  // namespace torcht1::fuzz

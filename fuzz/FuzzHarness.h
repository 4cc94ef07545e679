#pragma once

// The code the fuzzers drive, kept apart from libFuzzer so that the normal build runs the
// committed corpus through the same functions (tests/fuzz/FuzzCorpusReplayTest.cpp).

#include <cstddef>
#include <cstdint>
#include <string>

namespace torcht1::fuzz {

/// Joins the DICOM files of one input: a series is several files.
inline constexpr char kFileSeparator[] = "\n--TORCHT1-NEXT-FILE--\n";
/// Between a configuration's YAML and its environment (NAME=value lines).
inline constexpr char kEnvironmentSeparator[] = "\n--TORCHT1-ENVIRONMENT--\n";

/// Bytes -> DICOM files (split at kFileSeparator, at most 64) -> DicomInstanceReader::read
/// -> SeriesAssembler::assemble -> SeriesMapper::prepare (PixelLoader::load of every image)
/// -> mapping::FitInput::validate, as the node's decode stage does. The first byte (in a
/// DICOM file, the preamble, which DCMTK does not read) turns on the TriggerTime fallback.
/// Errors the node reports (DicomError, FitError) are results; anything else escapes, and
/// so does a reason of more than one line (std::logic_error). Returns a one-line summary.
std::string runDicomInput(const uint8_t* data, size_t size);

/// Bytes -> YAML text and environment variables (after kEnvironmentSeparator, NAME=value
/// lines; "TORCHT1_" is prefixed when missing) -> NodeConfig::fromYaml -> describe().
/// ConfigError is a result (it must be one line); anything else escapes.
std::string runConfigInput(const uint8_t* data, size_t size);

}  // namespace torcht1::fuzz

#include "torcht1/dicom/SeriesAssembler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/InputLimits.h"

namespace torcht1::dicom {

namespace {

constexpr const char* kMrImageStorage = "1.2.840.10008.5.1.4.1.1.4";
constexpr const char* kEnhancedMrImageStorage = "1.2.840.10008.5.1.4.1.1.4.1";

std::vector<std::string> imageTypeValues(const std::string& imageType) {
  std::vector<std::string> values;
  std::stringstream in(imageType);
  std::string v;
  while (std::getline(in, v, '\\')) values.push_back(v);
  return values;
}

/// What the T1 pattern is matched against: a description is VR LO (64 characters), and
/// libstdc++'s regex recurses per character, so a hostile one is cut first.
std::string forMatching(const std::string& text) { return text.substr(0, 256); }

/// A reason is one line: it quotes what the files say (a modality, an image type, a
/// description), and a hostile file can put line breaks there.
std::string oneLine(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

std::string formatMs(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::vector<double> MolliSlice::inversionTimes() const {
  std::vector<double> t;
  for (const auto& image : images) t.push_back(*image.inversionTime);
  return t;
}

std::string descriptionPatternProblem(const std::string& pattern) {
  if (pattern.size() > 256) return "is longer than 256 characters";
  size_t digits = 0;
  for (char c : pattern) {
    digits = (c >= '0' && c <= '9') ? digits + 1 : 0;
    if (digits > 6) return "has a number of more than 6 digits";
  }
  try {
    std::regex check(pattern, std::regex::icase | std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::string("is not a valid regular expression (") + e.what() + ")";
  }
  return "";
}

namespace {

std::regex compiledPattern(const std::string& pattern) {
  if (const std::string problem = descriptionPatternProblem(pattern); !problem.empty()) {
    throw DicomError("description pattern '" + oneLine(pattern) + "' " + problem);
  }
  return std::regex(pattern, std::regex::icase | std::regex::ECMAScript);
}

}  // namespace

SeriesAssembler::SeriesAssembler(SeriesSelection selection)
    : selection_(std::move(selection)), pattern_(compiledPattern(selection_.descriptionPattern)) {}

SeriesAssembler::Result SeriesAssembler::assemble(const std::vector<DicomInstance>& instances) const {
  // Series in the order first seen.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const DicomInstance*>> bySeries;
  for (const auto& instance : instances) {
    auto& list = bySeries[instance.seriesInstanceUid];
    if (list.empty()) order.push_back(instance.seriesInstanceUid);
    list.push_back(&instance);
  }

  Result result;
  for (const auto& uid : order) {
    const auto& list = bySeries[uid];
    const DicomInstance& first = *list.front();
    auto reject = [&](const std::string& reason) {
      result.rejected.push_back({uid, first.seriesDescription, oneLine(reason)});
    };

    std::string problem;
    std::set<std::string> sops;
    for (const DicomInstance* d : list) {
      const auto type = imageTypeValues(d->imageType);
      if (d->modality != "MR") {
        problem = "not MR (modality '" + d->modality + "')";
      } else if (d->sopClassUid != kMrImageStorage && d->sopClassUid != kEnhancedMrImageStorage) {
        problem = "SOP class " + d->sopClassUid + " is not MR or Enhanced MR Image Storage";
      } else if (!type.empty() && type[0] == "DERIVED") {
        problem = "a derived series (ImageType " + d->imageType + "), never fitted";
      } else if (std::find(type.begin(), type.end(), "T1 MAP") != type.end()) {
        problem = "a T1 map, never fitted";
      } else if (std::find(type.begin(), type.end(), "P") != type.end() ||
                 std::find(type.begin(), type.end(), "PHASE") != type.end()) {
        problem = "phase images (ImageType " + d->imageType + "); magnitude images are needed";
      } else if (!d->problem.empty()) {
        problem = d->name() + ": " + d->problem;
      } else if (!d->hasPixelData) {
        problem = d->name() + " has no pixel data";
      } else if (d->rows < 1 || d->cols < 1 || d->rows > InputLimits::kMaxMatrix || d->cols > InputLimits::kMaxMatrix) {
        problem = d->name() + ": Rows x Columns " + std::to_string(d->rows) + " x " + std::to_string(d->cols) +
                  " is not an MR image (1 to " + std::to_string(InputLimits::kMaxMatrix) + " each)";
      } else if (!d->hasGeometry) {
        problem = d->name() + " has no image position, orientation or pixel spacing";
      } else if (d->rows != first.rows || d->cols != first.cols) {
        problem = "mixed matrix sizes (" + std::to_string(first.rows) + "x" + std::to_string(first.cols) + " and " +
                  std::to_string(d->rows) + "x" + std::to_string(d->cols) + ")";
      } else if (!d->inversionTime) {
        problem = d->name() + " has no inversion time (InversionTime, InversionTimes, 'TI <ms>' in ImageComments)";
      } else if (!sops.insert(d->sopInstanceUid + "/" + std::to_string(d->frame)).second) {
        problem = "SOP Instance UID " + d->sopInstanceUid + " appears in more than one file";
      }
      if (!problem.empty()) break;
    }
    if (problem.empty() && !selection_.descriptionPattern.empty() &&
        !std::regex_search(forMatching(first.seriesDescription), pattern_) &&
        !std::regex_search(forMatching(first.protocolName), pattern_)) {
      problem = "description '" + first.seriesDescription + "' / protocol '" + first.protocolName +
                "' does not match the T1 pattern '" + selection_.descriptionPattern + "'";
    }
    const int64_t pixels = static_cast<int64_t>(list.size()) * first.rows * first.cols;
    if (problem.empty() && pixels > InputLimits::kMaxSeriesPixels) {
      problem = std::to_string(list.size()) + " images of " + std::to_string(first.rows) + " x " +
                std::to_string(first.cols) + " are more than " + std::to_string(InputLimits::kMaxSeriesPixels) +
                " pixels for one fit";
    }
    if (!problem.empty()) {
      reject(problem);
      continue;
    }

    // Slices: same orientation, positions along the normal within the tolerance.
    std::vector<const DicomInstance*> sorted(list);
    std::sort(sorted.begin(), sorted.end(),
              [](const DicomInstance* a, const DicomInstance* b) { return a->normalPosition() < b->normalPosition(); });
    MolliSeries series;
    series.seriesInstanceUid = uid;
    series.description = first.seriesDescription;
    series.rows = first.rows;
    series.cols = first.cols;
    for (const DicomInstance* d : sorted) {
      bool sameOrientation = true;
      for (int k = 0; k < 6; ++k) sameOrientation = sameOrientation && std::abs(d->orientation[k] - first.orientation[k]) < 1e-3;
      if (!sameOrientation) {
        problem = "mixed image orientations";
        break;
      }
      if (series.slices.empty() ||
          d->normalPosition() - series.slices.back().images.back().normalPosition() > selection_.sliceTolerance) {
        series.slices.emplace_back();
      }
      series.slices.back().images.push_back(*d);
    }
    for (size_t s = 0; s < series.slices.size() && problem.empty(); ++s) {
      auto& images = series.slices[s].images;
      if (images.size() > static_cast<size_t>(InputLimits::kMaxInversionTimes)) {
        problem = "slice " + std::to_string(s + 1) + " has " + std::to_string(images.size()) + " images; at most " +
                  std::to_string(InputLimits::kMaxInversionTimes) + " inversion times are fitted";
        break;
      }
      std::sort(images.begin(), images.end(),
                [](const DicomInstance& a, const DicomInstance& b) { return *a.inversionTime < *b.inversionTime; });
      for (size_t i = 1; i < images.size(); ++i) {
        // The fit takes the times as floats: what a float cannot tell apart is one time.
        const double a = *images[i - 1].inversionTime, b = *images[i].inversionTime;
        if (b - a < 1e-3 || static_cast<float>(a) == static_cast<float>(b)) {
          problem = "slice " + std::to_string(s + 1) + " has two images at TI " + formatMs(b) + " ms (" +
                    images[i - 1].name() + ", " + images[i].name() + ")";
          break;
        }
      }
      if (problem.empty() && static_cast<int>(images.size()) < selection_.minInversionTimes) {
        problem = "slice " + std::to_string(s + 1) + " has " + std::to_string(images.size()) +
                  " inversion times; at least " + std::to_string(selection_.minInversionTimes) + " are needed";
      }
    }
    if (!problem.empty()) {
      reject(problem);
      continue;
    }
    static const std::regex post("post|\\bgd\\b|gad|contrast|\\+c", std::regex::icase);
    series.postContrast = !first.contrastBolusAgent.empty() || std::regex_search(first.seriesDescription, post);
    result.series.push_back(std::move(series));
  }
  return result;
}

}  // namespace torcht1::dicom

#include "torcht1/node/EcvPairer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace torcht1::node {

namespace {

const dicom::DicomInstance* firstImage(const dicom::MolliSlice& slice) {
  return slice.images.empty() ? nullptr : &slice.images.front();
}

bool sameOrientation(const dicom::DicomInstance& a, const dicom::DicomInstance& b) {
  double dotRow = 0, dotCol = 0;
  for (int k = 0; k < 3; ++k) {
    dotRow += a.orientation[k] * b.orientation[k];
    dotCol += a.orientation[3 + k] * b.orientation[3 + k];
  }
  return dotRow > 0.99 && dotCol > 0.99;  // within about 8 degrees
}

/// Acquisition order within a study: series date and time, then series number.
bool acquiredBefore(const dicom::MolliSeries& a, const dicom::MolliSeries& b) {
  const auto* ia = firstImage(a.slices.front());
  const auto* ib = firstImage(b.slices.front());
  if (!ia->seriesDateTime.empty() && !ib->seriesDateTime.empty() && ia->seriesDateTime != ib->seriesDateTime) {
    return ia->seriesDateTime < ib->seriesDateTime;
  }
  return ia->seriesNumber < ib->seriesNumber;
}

}  // namespace

EcvPairer::EcvPairer(mapping::EcvOptions options, std::string device) : calculator_(std::move(options), std::move(device)) {}

std::string EcvPairer::method() {
  return "ECV = (1 - Hct) (1/T1post - 1/T1native)myo / (1/T1post - 1/T1native)blood (Messroghli et al., JCMR "
         "2017;19:75)";
}

EcvPairing EcvPairer::pair(const FittedT1Series& post, const std::vector<const FittedT1Series*>& candidates) const {
  EcvPairing out;
  out.post = &post;
  out.nativeSlice.assign(post.series.slices.size(), -1);
  out.sliceReasons.assign(post.series.slices.size(), "");
  if (post.series.slices.empty() || !firstImage(post.series.slices.front())) {
    out.reason = "the post-contrast series has no slices";
    return out;
  }
  const std::string study = post.series.slices.front().images.front().studyInstanceUid;
  std::vector<const FittedT1Series*> natives;
  for (const auto* c : candidates) {
    if (c == nullptr || c == &post || c->series.postContrast || c->series.slices.empty() || !firstImage(c->series.slices.front())) continue;
    if (c->series.slices.front().images.front().studyInstanceUid != study) continue;
    natives.push_back(c);
  }
  if (natives.empty()) {
    out.reason = "no native T1 series of this study (yet)";
    return out;
  }
  // Native series acquired before the post-contrast one, latest first: one acquired after it
  // saw the contrast agent, whatever its description says.
  std::sort(natives.begin(), natives.end(),
            [](const FittedT1Series* a, const FittedT1Series* b) { return acquiredBefore(b->series, a->series); });
  std::vector<const FittedT1Series*> before;
  for (const auto* n : natives) {
    if (acquiredBefore(n->series, post.series)) before.push_back(n);
  }
  if (before.empty()) {
    out.reason = "no native T1 series of this study acquired before it (" + std::to_string(natives.size()) +
                 " acquired after it, by series time or number)";
    return out;
  }
  out.nativeOf.assign(post.series.slices.size(), nullptr);
  // Per post slice: the latest native series with a slice at its position (within the
  // tolerance, the same orientation); a slice only an earlier series has pairs with that one.
  int paired = 0;
  for (size_t s = 0; s < post.series.slices.size(); ++s) {
    const auto* p = firstImage(post.series.slices[s]);
    double nearestAny = 1e300;
    for (const auto* candidate : before) {
      double nearest = 1e300;
      int nearestSlice = -1;
      for (size_t k = 0; k < candidate->series.slices.size(); ++k) {
        const auto* n = firstImage(candidate->series.slices[k]);
        if (!n || !p || !sameOrientation(*n, *p)) continue;
        const double d = std::abs(n->normalPosition() - p->normalPosition());
        if (d < nearest) {
          nearest = d;
          nearestSlice = static_cast<int>(k);
        }
      }
      nearestAny = std::min(nearestAny, nearest);
      if (nearest <= options().sliceToleranceMm) {
        out.nativeOf[s] = candidate;
        out.nativeSlice[s] = nearestSlice;
        ++paired;
        if (std::find(out.natives.begin(), out.natives.end(), candidate) == out.natives.end()) out.natives.push_back(candidate);
        break;
      }
    }
    if (out.nativeOf[s] != nullptr) continue;
    char buffer[200];
    if (nearestAny < 1e300) {
      std::snprintf(buffer, sizeof buffer, "no native slice within %.1f mm (nearest %.1f mm away)", options().sliceToleranceMm, nearestAny);
    } else {
      std::snprintf(buffer, sizeof buffer, "no native slice of the same orientation");
    }
    out.sliceReasons[s] = buffer;
  }
  const FittedT1Series* latest = before.front();
  if (paired == 0) {
    out.reason = "no slice of native series " + latest->series.seriesInstanceUid + " (" + latest->series.description +
                 ")" + (before.size() > 1 ? " or " + std::to_string(before.size() - 1) + " earlier one(s)" : "") +
                 " matches: " + out.sliceReasons.front();
    return out;
  }
  std::sort(out.natives.begin(), out.natives.end(),
            [](const FittedT1Series* a, const FittedT1Series* b) { return acquiredBefore(b->series, a->series); });
  out.native = out.natives.front();
  if (out.natives.size() == 1 && before.size() > 1) {
    out.note = "paired with native series " + out.native->series.seriesInstanceUid + " (" + out.native->series.description +
               "), the latest of " + std::to_string(before.size()) + " native series before it";
    if (out.native != latest) out.note += " with these slices";
  } else if (out.natives.size() > 1) {
    out.note = "slices paired with " + std::to_string(out.natives.size()) + " native series, each with the latest that has it:";
    for (size_t s = 0; s < post.series.slices.size(); ++s) {
      if (out.nativeOf[s] == nullptr) continue;
      out.note += " slice " + std::to_string(s + 1) + " with " + out.nativeOf[s]->series.seriesInstanceUid + " (" +
                  out.nativeOf[s]->series.description + ")" + (s + 1 < post.series.slices.size() ? ";" : "");
    }
  }
  return out;
}

EcvOutcome EcvPairer::make(const EcvPairing& pairing, std::optional<double> measuredHct, int version) const {
  EcvOutcome out;
  if (pairing.native == nullptr || pairing.post == nullptr) return out;
  const auto& native = *pairing.native;
  const auto& post = *pairing.post;
  out.map.kind = "ECV";
  out.map.description = "ECV map";
  out.map.imageType = "DERIVED\\PRIMARY\\OTHER\\ECV";  // value 3 a defined term (dciodvfy)
  out.map.unit = "percent x 10";
  out.map.seriesNumberOffset = 150;
  out.map.windowCenter = 500;  // 0-100 %
  out.map.windowWidth = 1000;
  out.map.scale = 10;
  out.map.version = version;
  out.map.pairedSeriesUid = post.series.seriesInstanceUid;
  out.source.seriesInstanceUid = native.series.seriesInstanceUid;
  out.source.description = native.series.description;
  out.source.rows = native.series.rows;
  out.source.cols = native.series.cols;
  out.source.postContrast = false;
  std::string hctLabel;
  for (size_t s = 0; s < post.series.slices.size(); ++s) {
    const int k = pairing.nativeSlice[s];
    if (k < 0 || pairing.nativeOf.size() <= s || pairing.nativeOf[s] == nullptr) {
      out.slices.emplace_back();
      out.slices.back().reason = pairing.sliceReasons[s];
      continue;
    }
    const FittedT1Series& partner = *pairing.nativeOf[s];
    if (post.series.rows != partner.series.rows || post.series.cols != partner.series.cols) {
      out.slices.emplace_back();
      out.slices.back().reason = "the post-contrast images are " + std::to_string(post.series.rows) + "x" +
                                 std::to_string(post.series.cols) + ", the native ones " +
                                 std::to_string(partner.series.rows) + "x" + std::to_string(partner.series.cols);
      continue;
    }
    const auto& ni = partner.series.slices[static_cast<size_t>(k)].images.front();
    mapping::EcvSliceInput in;
    in.rows = partner.series.rows;
    in.cols = partner.series.cols;
    in.rowSpacingMm = ni.spacing[0] > 0 ? ni.spacing[0] : 1.0;
    in.colSpacingMm = ni.spacing[1] > 0 ? ni.spacing[1] : 1.0;
    in.nativeT1 = partner.t1[static_cast<size_t>(k)];
    in.postT1 = post.t1[s];
    in.fieldStrengthT = ni.magneticFieldStrength;
    in.measuredHematocrit = measuredHct;
    out.slices.push_back(calculator_.compute(in));
  }
  // One hematocrit for the study: without a measured one, the synthetic one from the median
  // of every slice's blood pool (blood is one fluid; its T1 differs by slice only by noise).
  if (!measuredHct) {
    std::vector<double> blood;
    for (const auto& e : out.slices) {
      if (e.made) blood.push_back(e.blood.nativeT1Ms);
    }
    if (blood.size() > 1) {
      std::sort(blood.begin(), blood.end());
      const double median = blood.size() % 2 ? blood[blood.size() / 2]
                                             : 0.5 * (blood[blood.size() / 2 - 1] + blood[blood.size() / 2]);
      std::string why;
      const double field = native.series.slices.front().images.front().magneticFieldStrength;
      if (const auto hct = mapping::Hematocrit::choose(options(), std::nullopt, median, field, why)) {
        for (auto& e : out.slices) mapping::EcvCalculator::applyHematocrit(e, *hct);
      }
    }
  }
  for (size_t s = 0; s < post.series.slices.size(); ++s) {
    const int k = pairing.nativeSlice[s];
    char buffer[512];
    const mapping::EcvSlice& e = out.slices[s];
    if (!e.made) {
      std::snprintf(buffer, sizeof buffer, "slice %zu: no ECV: %s", s + 1, e.reason.c_str());
      out.lines.push_back(buffer);
      continue;
    }
    ++out.made;
    hctLabel = e.hematocrit.label();
    out.source.slices.push_back(pairing.nativeOf[s]->series.slices[static_cast<size_t>(k)]);
    dicom::SliceMap slice;
    slice.values = e.ecvPercent;
    slice.alsoDerivedFrom = post.series.slices[s].images;
    slice.derivationNote = e.description();
    out.map.slices.push_back(std::move(slice));
    std::snprintf(buffer, sizeof buffer,
                  "slice %zu: ECV with native slice %d%s: blood T1 %.0f/%.0f ms (%lld voxels), %s, post %s%s, %lld voxels",
                  s + 1, k + 1,
                  pairing.natives.size() > 1 ? (" of " + pairing.nativeOf[s]->series.seriesInstanceUid).c_str() : "",
                  e.blood.nativeT1Ms, e.blood.postT1Ms, static_cast<long long>(e.blood.voxels),
                  e.hematocrit.label().c_str(),
                  e.registration.kept ? "registered " : "not registered",
                  e.registration.kept ? (std::to_string(e.registration.maxDisplacementMm).substr(0, 4) + " mm").c_str()
                                      : (": " + e.registration.reason).c_str(),
                  static_cast<long long>(e.validVoxels));
    out.lines.push_back(buffer);
  }
  if (!hctLabel.empty()) out.map.description = "ECV map (" + hctLabel + ")";
  if (version > 1) out.map.description += " (v" + std::to_string(version) + ")";  // as a re-fit's maps say
  return out;
}

}  // namespace torcht1::node

#include "SimulateCommand.h"

#include <algorithm>
#include <cstdio>

#include "torcht1/dicom/MolliSeriesWriter.h"
#include "torcht1/dicom/StoreClient.h"

namespace torcht1::server {

void SimulateCommand::registerWith(CLI::App& app) {
  command_ = app.add_subcommand("simulate", "Write a synthetic MOLLI study as DICOM, with its ground truth");
  command_->add_option("--out", out_, "Output folder")->required();
  command_->add_option("--size", options_.size, "Rows and columns")->check(CLI::Range(8, 2048));
  command_->add_option("--slices", options_.slices, "Slices")->check(CLI::Range(1, 256));
  command_->add_option("--snr", options_.snr, "Myocardium signal / noise sigma")->check(CLI::PositiveNumber);
  command_->add_flag("--post", options_.postContrast, "Post-contrast T1 values (scheme 4(1)3(1)2)");
  command_->add_option("--scheme", options_.scheme, "MOLLI scheme: 5(3)3, 4(1)3(1)2, 3(3)3(3)5, or 5(1)1(1)1 (alias shmolli: ShMOLLI, "
                                               "later inversions after one recovery beat, piecewise recovery)");
  command_->add_flag("--bright-fat", options_.brightFat,
                     "In-vivo 3 T contrast: fat and blood so bright that myocardium peaks at 6-10% of the fat");
  command_->add_option("--seed", options_.seed, "Random seed (also fixes the UIDs)");
  command_->add_option("--motion", options_.motionMm,
                       "Breathing drift, mm: a translation growing with acquisition time, this far from the key image "
                       "(longest TI), which holds the ground truth's position")
      ->check(CLI::Range(0.0, 50.0));
  command_->add_option("--gasp", options_.gaspMm, "A gasp, mm: the image acquired mid-breath-hold translated this much more")
      ->check(CLI::Range(0.0, 50.0));
  command_->add_option("--warp", options_.warpMm,
                       "Non-rigid squeeze around the heart, mm (peak), varying along the acquisition")
      ->check(CLI::Range(0.0, 50.0));
  command_->add_option("--hematocrit", options_.hematocrit,
                       "ECV study: the blood's hematocrit (0.1-0.7); post-contrast blood and myocardium T1 then follow "
                       "from their native T1, --ecv and --blood-post-t1 (simulate the native and the --post series with "
                       "one --seed: one study)")
      ->check(CLI::Range(0.1, 0.7));
  command_->add_option("--ecv", options_.myocardialEcv, "ECV study: the myocardium's ECV (fraction; a lateral scar has --scar-ecv)")
      ->check(CLI::Range(0.01, 0.99));
  command_->add_option("--scar-ecv", options_.scarEcv, "ECV study: the lateral-wall scar's ECV (fraction)")
      ->check(CLI::Range(0.01, 0.99));
  command_->add_option("--blood-post-t1", options_.bloodPostT1Ms, "ECV study: post-contrast blood T1, ms")
      ->check(CLI::Range(50.0, 1500.0));
  command_->add_option("--shift-x", options_.poseShiftXMm, "This breath-hold's anatomy shifted along the rows, mm")
      ->check(CLI::Range(-50.0, 50.0));
  command_->add_option("--shift-y", options_.poseShiftYMm, "This breath-hold's anatomy shifted down the columns, mm")
      ->check(CLI::Range(-50.0, 50.0));
  command_->add_option("--rotate", options_.poseRotationDeg, "This breath-hold's anatomy rotated about the image centre, degrees")
      ->check(CLI::Range(-45.0, 45.0));
  command_->add_option("--partial-volume", options_.partialVolume,
                       "Each pixel the mean signal of N x N points of its volume (edges mix tissues, as in real "
                       "images; truth/purity.f32 says which pixels are of one tissue); 1: point-sampled")
      ->check(CLI::Range(1, 8));
  // 8 bits and a rescale are outside the MR Image IOD (dciodvfy says so) but occur in
  // exports from the field: these flags make such input for testing readers.
  command_->add_option("--bits", encoding_.bitsStored, "Bits stored: 8 (non-standard for MR), 12 or 16")
      ->check(CLI::IsMember({8, 12, 16}));
  command_->add_flag("--signed", encoding_.isSigned, "Signed pixel values");
  command_->add_option("--send", send_, "Also send the study by C-STORE to HOST:PORT");
  command_->add_option("--aec", calledAe_, "Called AE title for --send");
  command_->add_option("--aet", callingAe_, "Calling AE title for --send");
  command_->add_flag("--enhanced", enhanced_, "One Enhanced MR (multi-frame) object instead of one file per image");
  command_->add_option("--rescale-slope", encoding_.rescaleSlope,
                       "Rescale slope written with the pixels (a standard extension for MR, as Philips writes)")
      ->check(CLI::PositiveNumber);
  command_->add_option("--rescale-intercept", encoding_.rescaleIntercept, "Rescale intercept written with the pixels");
}

int SimulateCommand::run() const {
  const phantom::Phantom ph = phantom::PhantomGenerator(options_).generate();
  const auto written = dicom::MolliSeriesWriter(options_, "torcht1-simulate", encoding_, enhanced_).write(ph, out_);
  std::printf("torcht1 simulate: %lld images (%lld slices x %lld inversion times, MOLLI %s) in %zu file(s) in %s\n",
              static_cast<long long>(ph.slices * ph.samples), static_cast<long long>(ph.slices),
              static_cast<long long>(ph.samples), ph.scheme.c_str(), written.files.size(), out_.c_str());
  std::printf("  series %s\n  ground truth in %s\n", written.seriesInstanceUid.c_str(), written.truthDir.c_str());
  if (options_.motionMm > 0 || options_.gaspMm > 0 || options_.warpMm > 0) {
    float largest = 0;
    for (const float d : ph.trueDisplacementMm) largest = std::max(largest, d);
    std::printf("  moving: drift %.1f mm, gasp %.1f mm, warp %.1f mm; largest displacement %.1f mm; truth in the position "
                "of each slice's longest-TI image\n",
                options_.motionMm, options_.gaspMm, options_.warpMm, largest);
  }
  if (send_.empty()) return 0;

  const auto colon = send_.rfind(':');
  int port = 0;
  try {
    port = colon == std::string::npos ? 0 : std::stoi(send_.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (colon == std::string::npos || colon == 0 || port < 1 || port > 65535) {
    std::fprintf(stderr, "torcht1 simulate: --send '%s': expected HOST:PORT\n", send_.c_str());
    return 2;
  }
  dicom::StorePeer peer;
  peer.host = send_.substr(0, colon);
  peer.port = port;
  peer.calledAeTitle = calledAe_;
  peer.callingAeTitle = callingAe_;
  const auto results = dicom::StoreClient(peer).send(written.files);
  int failed = 0;
  for (const auto& r : results) {
    if (!r.ok) {
      ++failed;
      std::fprintf(stderr, "torcht1 simulate: not stored: %s\n", r.error.c_str());
    }
  }
  std::printf("  sent %zu of %zu files to %s@%s\n", results.size() - static_cast<size_t>(failed), results.size(),
              calledAe_.c_str(), send_.c_str());
  return failed > 0 ? 1 : 0;
}

}  // namespace torcht1::server

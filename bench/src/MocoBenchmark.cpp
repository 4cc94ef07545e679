// torcht1-moco-bench: motion correction on moving MOLLI phantoms (the generator behind
// `torcht1 simulate --motion/--gasp/--warp`), without and with our MOCO, scored against the
// truth in the myocardium. Writes each case's images as a 2D+time MetaImage stack (and the
// truth, stacked to match) so that bench/run-moco can register them with elastix; then
// `--score` fits a stack registered elsewhere (elastix's result) the same way and scores it
// against the truth transformed into that stack's frame.
//
//   torcht1-moco-bench --out DIR [--size 256 --snr 60 --repeats 5]   -> DIR/<case>/..., one JSON line per case and method
//   torcht1-moco-bench --score CASE_DIR --registered R.mhd --truth-t1 T.mhd --labels L.mhd --method NAME --seconds S

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "torcht1/mapping/MapFitter.h"
#include "torcht1/mapping/MotionCorrector.h"
#include "torcht1/mapping/SchemeCatalog.h"
#include "torcht1/phantom/PhantomGenerator.h"
#include "torcht1/phantom/Tissue.h"

namespace fs = std::filesystem;
using namespace torcht1;

namespace {

struct Case {
  std::string name;
  double motionMm = 0, gaspMm = 0, warpMm = 0;
  std::string scheme;  // empty: MOLLI 5(3)3
};

// The three moving cases and the still one (MOLLI 5(3)3), then ShMOLLI 5(1)1(1)1 still
// and moving (its later inversions recover incompletely: piecewise Look-Locker recovery).
const std::vector<Case> kCases = {
    {"still", 0, 0, 0, ""},
    {"drift6", 6, 0, 0, ""},
    {"drift3_gasp8", 3, 8, 0, ""},
    {"drift4_gasp6_warp3", 4, 6, 3, ""},
    {"shmolli_still", 0, 0, 0, "shmolli"},
    {"shmolli_drift5_gasp6", 5, 6, 0, "shmolli"},
};

/// The acquisition scheme the catalogue picks for a slice with these inversion times.
const mapping::AcquisitionScheme& schemeFor(const mapping::SchemeCatalog& catalog, const std::vector<float>& times,
                                            bool shmolli) {
  mapping::SchemeEvidence evidence;
  evidence.description = shmolli ? "ShMOLLI" : "MOLLI";
  evidence.inversionTimes.emplace_back(times.begin(), times.end());
  const auto identified = catalog.identify(evidence);
  if (!identified.scheme) throw std::runtime_error("no acquisition scheme: " + identified.reason);
  return *identified.scheme;
}

/// A float stack [planes][rows][cols] as MetaImage (header + raw), pixel spacing in mm.
void writeStack(const fs::path& mhd, const std::vector<float>& values, int64_t planes, int64_t rows, int64_t cols,
                double spacingMm) {
  const fs::path raw = fs::path(mhd).replace_extension(".raw");
  std::ofstream data(raw, std::ios::binary);
  data.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  std::ofstream header(mhd);
  header << "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nCompressedData = False\n"
         << "ElementSpacing = " << spacingMm << " " << spacingMm << " 1\nDimSize = " << cols << " " << rows << " "
         << planes << "\nElementType = MET_FLOAT\nElementDataFile = " << raw.filename().string() << "\n";
  if (!data || !header) throw std::runtime_error("cannot write " + mhd.string());
}

/// Reads a float or short MetaImage stack (as elastix and transformix write them).
std::vector<float> readStack(const fs::path& mhd, int64_t expected) {
  std::ifstream header(mhd);
  if (!header) throw std::runtime_error("cannot read " + mhd.string());
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(header, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    fields[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  const std::string type = fields["ElementType"];
  const fs::path raw = mhd.parent_path() / fields["ElementDataFile"];
  std::ifstream data(raw, std::ios::binary);
  std::vector<float> out(static_cast<size_t>(expected));
  if (type == "MET_FLOAT") {
    data.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(expected * 4));
  } else if (type == "MET_SHORT") {
    std::vector<int16_t> s(static_cast<size_t>(expected));
    data.read(reinterpret_cast<char*>(s.data()), static_cast<std::streamsize>(expected * 2));
    std::copy(s.begin(), s.end(), out.begin());
  } else {
    throw std::runtime_error(mhd.string() + ": element type " + type + " not supported");
  }
  if (!data) throw std::runtime_error(raw.string() + ": fewer values than " + std::to_string(expected));
  return out;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  const auto i = static_cast<size_t>(std::min<double>(static_cast<double>(v.size() - 1), q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

struct Score {
  double within5 = 0, medianPct = 0, p95Pct = 0;
  int64_t voxels = 0;
};

/// T1 error in the myocardium (label), relative to the truth: share within 5%, median and
/// 95th percentile of |error| in %. Unfitted voxels count as wrong (error 100%).
Score score(const std::vector<float>& t1, const std::vector<float>& truth, const std::vector<float>& labels) {
  Score s;
  std::vector<double> err;
  for (size_t v = 0; v < labels.size(); ++v) {
    if (std::lround(labels[v]) != static_cast<long>(phantom::TissueLabel::Myocardium) || !(truth[v] > 0)) continue;
    const double e = std::isfinite(t1[v]) && t1[v] > 0 ? 100.0 * std::abs(t1[v] - truth[v]) / truth[v] : 100.0;
    err.push_back(e);
  }
  s.voxels = static_cast<int64_t>(err.size());
  if (err.empty()) return s;
  s.within5 = 100.0 * static_cast<double>(std::count_if(err.begin(), err.end(), [](double e) { return e <= 5.0; })) /
              static_cast<double>(err.size());
  s.medianPct = quantile(err, 0.5);
  s.p95Pct = quantile(err, 0.95);
  return s;
}

/// Raw T1 = T1* (B/A - 1) of slice 0 where the fit mapped it (0 elsewhere).
std::vector<float> t1Of(const mapping::FitResult& r, int64_t voxels) {
  const auto& t1 = r.map("T1");
  return {t1.begin(), t1.begin() + voxels};
}

void printResult(const std::string& caseName, const std::string& method, const Score& s, double msPerSlice,
                 const std::string& extra) {
  std::printf("{\"case\": \"%s\", \"method\": \"%s\", \"myo_within_5pct\": %.2f, \"median_err_pct\": %.3f, "
              "\"p95_err_pct\": %.3f, \"myo_voxels\": %lld, \"ms_per_slice\": %.2f%s}\n",
              caseName.c_str(), method.c_str(), s.within5, s.medianPct, s.p95Pct, static_cast<long long>(s.voxels),
              msPerSlice, extra.c_str());
  std::fflush(stdout);
}

double median(std::vector<double> v) { return quantile(std::move(v), 0.5); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Motion correction on moving MOLLI phantoms, scored against the truth", "torcht1-moco-bench"};
  std::string out = "build/moco-bench", device = "cpu", scoreDir, registered, truthPath, labelsPath, method;
  int size = 256, repeats = 5, slices = 1, threads = 0;
  double snr = 60, seconds = 0;
  uint64_t seed = 7;
  app.add_option("--out", out, "Output folder (one sub-folder per case)");
  app.add_option("--size", size, "Rows and columns");
  app.add_option("--slices", slices, "Slices per case (the stacks for elastix hold slice 0)");
  app.add_option("--snr", snr, "Myocardium signal / noise sigma");
  app.add_option("--seed", seed, "Random seed");
  app.add_option("--device", device, "cpu, cuda or auto");
  app.add_option("--threads", threads, "CPU threads (0: one per core)");
  app.add_option("--repeats", repeats, "Timed runs of MOCO + fit (the median is reported)");
  app.add_option("--score", scoreDir, "Score a stack registered elsewhere: the case folder");
  app.add_option("--registered", registered, "With --score: the registered image stack (MetaImage)");
  app.add_option("--truth-t1", truthPath, "With --score: the T1 truth in the registered stack's frame (MetaImage)");
  app.add_option("--labels", labelsPath, "With --score: the labels in the registered stack's frame (MetaImage)");
  app.add_option("--method", method, "With --score: the method's name");
  app.add_option("--seconds", seconds, "With --score: the registration's wall time per slice");
  mapping::FitOptions fo;
  auto& mo = fo.motion;
  app.add_option("--rounds", mo.rounds, "MOCO: model-based rounds");
  app.add_option("--affine-iterations", mo.affineIterations, "MOCO: affine Gauss-Newton iterations per level");
  app.add_option("--demons-iterations", mo.demonsIterations, "MOCO: demons iterations per level");
  app.add_option("--coarsest-level", mo.coarsestLevel, "MOCO: coarsest registration level");
  app.add_option("--finest-level", mo.finestLevel, "MOCO: finest registration level");
  app.add_option("--demons-finest-level", mo.demonsFinestLevel, "MOCO: finest level of the demons");
  app.add_option("--demons-rounds", mo.demonsRounds, "MOCO: the demons run in the last this-many rounds");
  app.add_option("--demons-sigma-mm", mo.demonsSigmaMm, "MOCO: demons regularisation sigma, mm");
  app.add_flag("!--affine-only", mo.nonRigid, "MOCO: no demons");
  app.add_option("--demons-step", mo.demonsStepPixels, "MOCO: demons largest step, pixels");
  app.add_option("--demons-noise", mo.demonsNoiseGradient, "MOCO: demons noise damping, sigmas");
  CLI11_PARSE(app, argc, argv);

  fo.device = device;
  fo.threads = threads;
  const mapping::MapFitter fitter(fo);
  const mapping::MotionCorrector corrector(fo.motion);
  const mapping::SchemeCatalog catalog(fo);

  if (!scoreDir.empty()) {
    // Elastix's result: fit it without MOCO, score it in the stack's own (elastix's) frame.
    std::ifstream meta(fs::path(scoreDir) / "meta.txt");
    int64_t k = 0, rows = 0, cols = 0;
    std::string caseName;
    meta >> caseName >> k >> rows >> cols;
    std::vector<float> times(static_cast<size_t>(k));
    for (auto& t : times) meta >> t;
    std::string schemeName = "molli";
    meta >> schemeName;
    if (!meta) throw std::runtime_error(scoreDir + "/meta.txt unreadable");
    const int64_t voxels = rows * cols;
    mapping::FitInput in{1, k, rows, cols, readStack(registered, k * voxels), times, {}, {}, {}};
    for (auto& p : in.pixels) p = std::max(p, 0.0f);  // B-spline resampling overshoots below 0
    const auto truthStack = readStack(truthPath, k * voxels);
    const auto labelStack = readStack(labelsPath, k * voxels);
    // The truth lives in the key image's position; transformix moved it (with the key image's
    // own transform) into the frame of the registered stack.
    const int64_t key = std::max_element(times.begin(), times.end()) - times.begin();
    const std::vector<float> truth(truthStack.begin() + key * voxels, truthStack.begin() + (key + 1) * voxels);
    const std::vector<float> labels(labelStack.begin() + key * voxels, labelStack.begin() + (key + 1) * voxels);
    const auto r = schemeFor(catalog, times, schemeName == "shmolli").fit(fitter, in);
    printResult(caseName, method, score(t1Of(r, voxels), truth, labels), 1e3 * (seconds + r.fitSeconds), "");
    return 0;
  }

  fs::create_directories(out);
  std::printf("# %dx%d, %d slice(s) per case, SNR %.0f, device %s, MOLLI 5(3)3 and ShMOLLI 5(1)1(1)1 native\n", size, size, slices, snr,
              fitter.device().c_str());
  for (const auto& c : kCases) {
    phantom::PhantomOptions po;
    po.size = size;
    po.slices = slices;
    po.snr = snr;
    po.seed = seed;
    po.motionMm = c.motionMm;
    po.gaspMm = c.gaspMm;
    po.warpMm = c.warpMm;
    po.scheme = c.scheme;
    const auto ph = phantom::PhantomGenerator(po).generate();
    const int64_t voxels = ph.voxelsPerSlice(), k = ph.samples;
    const mapping::FitInput input{ph.slices, k, ph.rows, ph.cols, ph.pixels, ph.times, {}, {}, {}};
    std::vector<float> labels(ph.labels.begin(), ph.labels.end());
    const std::vector<float> labels0(labels.begin(), labels.begin() + voxels);
    const std::vector<float> truth0(ph.t1.begin(), ph.t1.begin() + voxels);

    // The case for elastix: slice 0's images as a stack, the truth stacked k times (each
    // image's sub-transform moves its copy; the key image's copy lands in the result's frame).
    const fs::path dir = fs::path(out) / c.name;
    fs::create_directories(dir);
    writeStack(dir / "images.mhd", {ph.pixels.begin(), ph.pixels.begin() + k * voxels}, k, ph.rows, ph.cols,
               ph.pixelSpacingMm);
    std::vector<float> truthStack, labelStack;
    for (int64_t i = 0; i < k; ++i) {
      truthStack.insert(truthStack.end(), truth0.begin(), truth0.end());
      labelStack.insert(labelStack.end(), labels0.begin(), labels0.end());
    }
    writeStack(dir / "truth-t1.mhd", truthStack, k, ph.rows, ph.cols, ph.pixelSpacingMm);
    writeStack(dir / "labels.mhd", labelStack, k, ph.rows, ph.cols, ph.pixelSpacingMm);
    {
      std::ofstream meta(dir / "meta.txt");
      meta << c.name << " " << k << " " << ph.rows << " " << ph.cols;
      for (int64_t i = 0; i < k; ++i) meta << " " << ph.times[static_cast<size_t>(i)];
      meta << " " << (c.scheme.empty() ? "molli" : c.scheme) << "\n";
    }
    double trueMax = 0;
    for (int64_t i = 0; i < k; ++i) trueMax = std::max<double>(trueMax, ph.trueDisplacementMm[static_cast<size_t>(i)]);

    // The scheme (all slices of a phantom share it), as the node would pick it.
    const auto& scheme = schemeFor(catalog, {ph.times.begin(), ph.times.begin() + k}, !c.scheme.empty());
    // No MOCO.
    const auto plain = scheme.fit(fitter, input);
    printResult(c.name, "no MOCO", score(t1Of(plain, voxels), truth0, labels0),
                1e3 * plain.fitSeconds / static_cast<double>(ph.slices), "");

    // Ours: MOCO + the fit of its output, timed together (a warm-up first).
    mapping::MotionCorrection moco;
    mapping::FitResult fitted;
    std::vector<double> wall;
    std::map<std::string, double> stages;
    for (int r = 0; r <= repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      moco = corrector.correct(scheme, fitter, input, ph.pixelSpacingMm, ph.pixelSpacingMm);
      fitted = moco.fit;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (r == 0) continue;
      wall.push_back(s);
      for (const auto& [name, sec] : moco.stageSeconds) stages[name] += sec / repeats;
    }
    const double msPerSlice = 1e3 * median(wall) / static_cast<double>(ph.slices);
    std::printf("# %s displacement per image (TI order), ours / true mm:", c.name.c_str());
    for (int64_t i = 0; i < k; ++i) {
      std::printf(" %.1f/%.1f", moco.slices[0].imageDisplacementMm[static_cast<size_t>(i)],
                  ph.trueDisplacementMm[static_cast<size_t>(i)]);
    }
    std::printf("\n");
    std::ostringstream extra;
    extra << ", \"corrected\": " << (moco.slices[0].corrected ? "true" : "false") << ", \"reason\": \""
          << moco.slices[0].reason << "\", \"max_displacement_mm\": " << moco.slices[0].maxDisplacementMm
          << ", \"true_max_displacement_mm\": " << trueMax << ", \"min_jacobian\": " << moco.slices[0].minJacobian
          << ", \"fits\": " << moco.fits << ", \"stage_ms\": {";
    bool first = true;
    for (const auto& [name, sec] : stages) {
      extra << (first ? "" : ", ") << "\"" << name << "\": " << 1e3 * sec / static_cast<double>(ph.slices);
      first = false;
    }
    extra << "}";
    printResult(c.name, "TorchT1 MOCO", score(t1Of(fitted, voxels), truth0, labels0), msPerSlice, extra.str());
  }
  return 0;
}

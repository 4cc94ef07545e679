#include "torcht1/mapping/SchemeCatalog.h"

#include <regex>

#include "torcht1/mapping/MolliAcquisition.h"
#include "torcht1/mapping/ShmolliAcquisition.h"

namespace torcht1::mapping {

namespace {

/// T1 schemes that are not inversion-recovery Look-Locker: a MOLLI model does not describe them.
const char* unsupportedScheme(const SchemeEvidence& evidence) {
  struct Known {
    const char* pattern;
    const char* name;
  };
  static const Known known[] = {
      {"sasha", "SASHA (saturation recovery)"},
      {"sapphire", "SAPPHIRE (saturation/inversion hybrid)"},
      {"satrec|saturation.?recovery|\\bsr.?t1\\b|smart1", "saturation-recovery T1"},
      {"\\bvfa\\b|variable.?flip", "variable flip angle T1"},
  };
  for (const auto& k : known) {
    const std::regex pattern(k.pattern, std::regex::icase);
    if (std::regex_search(evidence.description.substr(0, 256), pattern) ||
        std::regex_search(evidence.protocolName.substr(0, 256), pattern)) {
      return k.name;
    }
  }
  return nullptr;
}

}  // namespace

SchemeCatalog::SchemeCatalog(const FitOptions& options) : molli_(std::make_unique<MolliAcquisition>(options)) {
  specific_.push_back(std::make_unique<ShmolliAcquisition>());
}

SchemeCatalog::Identification SchemeCatalog::identify(const SchemeEvidence& evidence) const {
  for (const auto& scheme : specific_) {
    if (!scheme->recognises(evidence)) continue;
    if (std::string reason = scheme->refusal(evidence); !reason.empty()) return {nullptr, reason};
    return {scheme.get(), ""};
  }
  if (const char* other = unsupportedScheme(evidence)) {
    return {nullptr, std::string(other) + " is not a MOLLI scheme; no model here describes it, not fitted"};
  }
  if (std::string reason = molli_->refusal(evidence); !reason.empty()) return {nullptr, reason};
  return {molli_.get(), ""};
}

const AcquisitionScheme* SchemeCatalog::byName(const std::string& name) const {
  if (molli_->name() == name) return molli_.get();
  for (const auto& scheme : specific_) {
    if (scheme->name() == name) return scheme.get();
  }
  return nullptr;
}

}  // namespace torcht1::mapping

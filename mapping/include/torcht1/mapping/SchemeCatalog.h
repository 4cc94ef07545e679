#pragma once

#include <memory>
#include <string>
#include <vector>

#include "torcht1/mapping/AcquisitionScheme.h"

namespace torcht1::mapping {

/// The schemes the node fits, and the decision which one a series is. In order: a series
/// that a specific scheme (ShMOLLI) recognises is that scheme, or refused with its reason; a
/// series whose description names a scheme nobody here fits (SASHA, SAPPHIRE, saturation
/// recovery) is refused; everything else is MOLLI. Never fits a series with a scheme that
/// does not describe it.
class SchemeCatalog {
 public:
  explicit SchemeCatalog(const FitOptions& options);

  struct Identification {
    const AcquisitionScheme* scheme = nullptr;  // null: refused
    std::string reason;                         // why refused, one line
  };
  Identification identify(const SchemeEvidence& evidence) const;

  /// By name ("MOLLI", "ShMOLLI"); null when unknown.
  const AcquisitionScheme* byName(const std::string& name) const;

 private:
  std::vector<std::unique_ptr<AcquisitionScheme>> specific_;
  std::unique_ptr<AcquisitionScheme> molli_;
};

}  // namespace torcht1::mapping

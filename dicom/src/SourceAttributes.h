#pragma once

// What a derived object takes over from its source image, checked so that it inherits no
// error: a value invalid for its VR or VM, or not one of the attribute's enumerated values,
// is not copied. A required (type 1) attribute then gets a stated fallback, a type 2 one is
// written empty, an optional one is left out. Body Part Examined and Laterality are made
// consistent with each other (General Series: Laterality only for a paired or unknown part).

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include <string>
#include <utility>
#include <vector>

#include "torcht1/dicom/DicomInstance.h"

namespace torcht1::dicom {

class SourceAttributes {
 public:
  /// DICOM attribute types: 1 (a value required), 2 (present, may be empty), 3 (optional).
  enum class Type { Required, Present, Optional };

  struct Rule {
    Rule(DcmTagKey tag_, Type type_, std::string vm_ = "1", std::vector<std::string> allowed_ = {},
         std::string fallback_ = "", bool keepAsIs_ = false)
        : tag(tag_), type(type_), vm(std::move(vm_)), allowed(std::move(allowed_)), fallback(std::move(fallback_)),
          keepAsIs(keepAsIs_) {}
    DcmTagKey tag;
    Type type;
    std::string vm;                     ///< value multiplicity the standard allows
    std::vector<std::string> allowed;   ///< enumerated or defined terms; empty: any valid value
    std::string fallback;               ///< for Required when the source's value is unusable
    bool keepAsIs;                      ///< copied verbatim even when invalid (the study's UID)
  };

  /// Loads the source image of `instance` again, without its pixel data.
  explicit SourceAttributes(const DicomInstance& instance);

  /// Patient and study: every object we derive belongs to the source's patient and study.
  static const std::vector<Rule>& patientAndStudy();
  /// Frame of reference, patient position and the acquisition that MR Image requires.
  static const std::vector<Rule>& mrImage();

  /// Copies `rules` into `to`, checked. Returns one line per value not inherited.
  std::vector<std::string> copy(DcmItem& to, const std::vector<Rule>& rules) const;
  /// Body Part Examined (uppercased when that makes it valid; a synonym such as THORAX
  /// becomes CHEST) and a consistent Laterality: none for an unpaired part or where the
  /// object has Frame Laterality, else the source's (R, L) or empty for unknown.
  void copyBodyPart(DcmItem& to, bool frameLaterality = false) const;

  /// Whether a Body Part Examined term is an unpaired structure, one that has no laterality.
  static bool unpaired(const std::string& bodyPart);
  /// The terms `unpaired` knows, each verified with dciodvfy.
  static const std::vector<std::string>& unpairedTerms();

  /// "<source> <suffix>" as a valid LO (64 characters, no backslash or control characters):
  /// the source part is shortened, never the suffix that says what the series is.
  static std::string describe(const std::string& source, const std::string& suffix);

  DcmDataset& dataset() const { return *file_.getDataset(); }

 private:
  /// The source's value of `rule` as it may be inherited; false if it may not.
  bool usable(const Rule& rule, OFString& value) const;

  mutable DcmFileFormat file_;
};

}  // namespace torcht1::dicom

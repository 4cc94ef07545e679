#pragma once

#include <string>

namespace torcht1::dicom {

/// A coded concept: code value, coding scheme designator, code meaning.
struct CodedConcept {
  std::string value, scheme, meaning;
};

/// What a map's values are, for the writers that say it in codes and words: the Parametric
/// Map's Real World Value Mapping and content identification, the colour pictures' type and
/// texts. One instance per quantity (T1, ECV); the writers read it, they do not compare names.
struct MapQuantity {
  std::string name;                  // "T1", "ECV": in labels and texts
  CodedConcept quantity;             // the Quantity Definition; optional: empty value = none
  CodedConcept measurementMethod;    // optional: empty value = none
  CodedConcept derivation;           // the frames' Derivation Code (CID 7203)
  CodedConcept unit;                 // UCUM
  std::string contentLabel;          // Content Label (CS: upper case, at most 16 characters)
  std::string contentDescription;    // Content Description
  std::string lutExplanation;        // what a value means, 0 included
  std::string colourImageType;       // ImageType of the colour pictures (Secondary Capture)

  /// T1 in ms from a MOLLI fit: quantity and derivation DCM 113063 "T1", measured by
  /// inversion recovery (DCM 126351).
  static MapQuantity t1();
  /// ECV in percent. DICOM has no code for the myocardial extracellular volume fraction (DCM
  /// 126314 "ve" is the extravascular extracellular fraction of tracer-kinetic models, which
  /// leaves out the plasma that ECV includes, and a private scheme is not a recognised
  /// designator for dciodvfy), so there is no Quantity Definition (type 3): the LUT label
  /// "ECV", its explanation and the unit say it; the derivation is DCM 113046 "Pixel by pixel
  /// division" (ECV is a ratio of R1 changes).
  static MapQuantity ecvPercent();
};

}  // namespace torcht1::dicom
